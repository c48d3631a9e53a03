"""A site owner's install: the built wheel, in a fresh venv outside the source tree, runs a new site.

Dependencies come from pip's cache or the index, as on a site owner's machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import SIZES, VARIANT_KEYS, gradient, json_report
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "renditions"


def _run(cmd, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # as a release is built: an isolated environment with the build backend pyproject.toml names
    r = _run([sys.executable, "-m", "build", "--wheel", "--outdir", out, REPO], cwd=out)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob("renditions-*.whl")
    return whl


def test_wheel_holds_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        "renditions/" + p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    }
    assert wanted - names == set()
    assert any(n.startswith("renditions/schemas/") and n.endswith(".json") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_init_build_check_on_a_new_site(wheel, tmp_path):
    venv = tmp_path / "venv"
    r = _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pip = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-3000:]
    exe = venv / "bin" / "renditions"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["RENDITIONS_CACHE_DIR"] = str(tmp_path / "cache")
    work = tmp_path / "elsewhere"  # no source tree anywhere near: the installed package must stand alone
    work.mkdir()

    r = _run([exe, "--version"], cwd=work, env=env)
    assert r.returncode == 0 and r.stdout.strip().startswith("renditions, version ")

    # the import comes from the venv, not from this checkout
    r = _run([venv / "bin" / "python", "-c", "import renditions; print(renditions.__file__)"], cwd=work, env=env)
    assert r.returncode == 0 and str(venv) in r.stdout, r.stdout

    r = _run([exe, "init", "--root", "mysite"], cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    site = work / "mysite"
    assert (site / "config" / "renditions.yaml").is_file()
    lines = ["---", 'title: "Hello"'] + [f'{k}: "{v.format(slug="hello")}"' for k, v in VARIANT_KEYS.items()] + ["---", "", "Hi."]
    (site / "content" / "hello.md").write_text("\n".join(lines) + "\n")
    gradient((1920, 1080)).save(site / "source_images" / "hello.png")

    r = _run([exe, "build"], cwd=site, env=env)
    assert r.returncode == 0, r.stderr
    assert "4 written, 0 up to date, 0 failed" in r.stdout
    for key, template in VARIANT_KEYS.items():
        with Image.open(site / "public" / template.format(slug="hello").lstrip("/")) as im:
            assert im.size == SIZES[key]
    assert (site / "renditions.lock.json").is_file()

    r = _run([exe, "check"], cwd=site, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run([exe, "check", "--json"], cwd=site, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json_report(r.stdout)["ok"] is True  # the installed package's report, against the schema
    r = _run([exe, "preview"], cwd=site, env=env)
    assert r.returncode == 0, r.stderr
    assert (site / ".renditions" / "preview" / "index.html").is_file()

    (site / "source_images" / "hello.png").unlink()
    r = _run([exe, "check"], cwd=site, env=env)
    assert r.returncode == 1 and "content/hello.md" in r.stdout


@pytest.mark.slow
def test_the_readmes_install_line_installs_from_a_clone_of_this_repository(tmp_path):
    """`pip install "git+https://github.com/OWNER/renditions@REF"`, pointed at a clone and its commit."""
    import re
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    line = next(ln.strip() for ln in (REPO / "README.md").read_text().splitlines() if ln.strip().startswith('pip install "git+'))
    clone = tmp_path / "clone"
    assert _run(["git", "clone", "-q", REPO, clone], cwd=tmp_path).returncode == 0
    sha = _run(["git", "rev-parse", "HEAD"], cwd=clone).stdout.strip()
    args = re.fullmatch(r'pip install "git\+https://github\.com/OWNER/renditions@REF"\s+(#.*)?', line)
    assert args, line
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", venv], cwd=tmp_path).returncode == 0
    r = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", f"git+file://{clone}@{sha}"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    r = _run([venv / "bin" / "renditions", "--version"], cwd=tmp_path)
    assert r.returncode == 0 and "version" in r.stdout
    r = _run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.resources as r; print(r.files('renditions').joinpath('schemas/report.schema.json').is_file())",
        ],
        cwd=tmp_path,
    )
    assert r.stdout.strip() == "True", r.stderr


def test_make_setup_installs_the_versions_constraints_txt_pins():
    """Every dependency pyproject names, the test extras too, is pinned in constraints.txt for the
    Python that pins apply to, and that version is the one installed here (`make setup` applies
    the file): a fresh clone's `make test` runs on what CI last passed with."""
    import importlib.metadata as md

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        pytest.skip("constraints.txt pins Python 3.11's versions")
    pins: dict[str, Requirement] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
            if req.marker is None or req.marker.evaluate():
                pins[canonicalize_name(req.name)] = req
    if not pins:
        pytest.skip(f"constraints.txt pins nothing for Python {sys.version_info[0]}.{sys.version_info[1]}")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt: run `make constraints`"
        pinned = next(iter(pins[name].specifier)).version
        assert req.specifier.contains(pinned), f"constraints.txt pins {req.name} {pinned}, outside pyproject's {req.specifier}"
        assert md.version(req.name) == pinned, f"{req.name} {md.version(req.name)} is installed, constraints.txt pins {pinned}"
