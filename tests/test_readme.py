"""Issue 16: the README is true. Every command line it shows a user is run here, for real (the
installed `renditions` console script in a child process, in a site made by `renditions init` with
real masters and articles), or by a named test elsewhere; a command line with no entry in COVERAGE,
or an entry the README no longer shows, fails. Every benchmark figure it quotes is BENCHMARKS.md's."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from conftest import gradient, json_report
from PIL import Image
from test_ship import actionlint  # noqa: F401 (the fixture)

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BENCHMARKS = REPO / "BENCHMARKS.md"

# what the README's placeholders stand for in these tests
PLACEHOLDERS = {"SLUG": "beta"}
SLUGS = ("alpha", "beta", "gamma")
MASTER_SIZE = (1700, 950)

# -- what the README shows ------------------------------------------------------------------------

COMMAND = re.compile(r"(renditions|make|pipx? install)(\s|$)")


def code_lines(markdown: str) -> list[str]:
    """Every line of the fenced (```) and indented (4 spaces or a tab, after a blank line) code blocks."""
    lines, fenced, indented, previous_blank = [], False, False, True
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced, indented = not fenced, False
        elif fenced:
            lines.append(line)
        elif line.startswith(("    ", "\t")) and (previous_blank or indented):
            indented = True
            lines.append(line)
        else:
            indented = False
        previous_blank = not line.strip()
    return lines


def readme_commands(markdown: str) -> list[str]:
    """The command lines a user is shown, once each, in order, without their trailing `# comment`."""
    found: dict[str, None] = {}
    for line in code_lines(markdown):
        line = re.sub(r"\s+#(\s.*)?$", "", line.strip())
        if COMMAND.match(line):
            found[line] = None
    return list(found)


def argv(line: str) -> list[str]:
    """A README line as the argv a shell would run, placeholders filled in, through the console script."""
    words = [PLACEHOLDERS.get(w, w) for w in shlex.split(line)]
    assert words[0] == "renditions", line
    exe = Path(sys.executable).parent / "renditions"  # the console script `pip install` puts on PATH
    return [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "renditions"]), *words[1:]]


# -- a realistic throwaway site -------------------------------------------------------------------


class Sites:
    """Sites made the README's way: `renditions init`, real PNG masters, one article per master.

    `unbuilt()` and `built()` are copies of templates made once per module (building is the slow part)."""

    def __init__(self, tmp_path: Path, templates: Path):
        self.tmp = tmp_path
        self.templates = templates
        self.env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_WORKSPACE", "GITHUB_ACTIONS")}
        self.env["RENDITIONS_CACHE_DIR"] = str(tmp_path / "cache")
        self.env["PYTHONUNBUFFERED"] = "1"

    def run(self, root: Path, line: str, *more: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a README command line in `root`, as a user in that folder would."""
        assert line in readme_commands(README.read_text(encoding="utf-8")), f"the README does not show {line!r}"
        return subprocess.run([*argv(line), *more], cwd=root, env=self.env, capture_output=True, text=True, timeout=timeout)

    def copy(self, name: str, into: Path | None = None) -> Path:
        dest = into if into is not None else self.tmp / name
        shutil.copytree(self.templates / name, dest, symlinks=True)
        return dest

    def unbuilt(self, into: Path | None = None) -> Path:
        return self.copy("unbuilt", into)

    def built(self, into: Path | None = None) -> Path:
        return self.copy("built", into)


def variants(root: Path) -> dict[str, tuple[str, str, int, int]]:
    """name → (front-matter key, path template, width, height), read from the site's own config."""
    cfg = yaml.safe_load((root / "config" / "renditions.yaml").read_text(encoding="utf-8"))
    return {name: (v["key"], v["path"], v["width"], v["height"]) for name, v in cfg["variants"].items()}


def add_article(root: Path, slug: str, extra: str = "", keys: bool = True, master: bool = True) -> Path:
    lines = ["---", f"title: {slug.title()}"]
    if keys:
        lines += [f'{key}: "{path.format(slug=slug)}"' for key, path, _, _ in variants(root).values()]
    lines += [extra] if extra else []
    article = root / "content" / f"{slug}.md"
    article.write_text("\n".join([*lines, "---", "", f"About {slug}.", ""]), encoding="utf-8")
    if master:
        gradient(MASTER_SIZE, None if slug != "gamma" else (40, 90, 160)).save(root / "source_images" / f"{slug}.png")
    return article


def outputs(root: Path, slug: str) -> dict[Path, tuple[int, int]]:
    """Each output file of an article → the size the config asks for."""
    return {root / "public" / path.format(slug=slug).lstrip("/"): (w, h) for _, path, w, h in variants(root).values()}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("readme-sites")
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(base / "cache"))
    for name in ("unbuilt", "built"):
        init = subprocess.run([*argv("renditions init"), "--root", name], cwd=base, env=env, capture_output=True, text=True)
        assert init.returncode == 0, init.stderr
        for slug in SLUGS:
            add_article(base / name, slug)
    r = subprocess.run(argv("renditions build"), cwd=base / "built", env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return base


@pytest.fixture
def sites(tmp_path, templates) -> Sites:
    return Sites(tmp_path, templates)


# -- one check per README command -----------------------------------------------------------------


def version_(s: Sites, line: str) -> None:
    r = s.run(s.tmp, line)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"renditions, version {version('renditions')}"


def init(s: Sites, line: str) -> None:
    root = s.tmp / "newsite"
    root.mkdir()
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    config = (root / "config" / "renditions.yaml").read_text(encoding="utf-8")
    assert sum(1 for ln in config.splitlines() if "#" in ln) >= len(variants(root))  # commented
    assert (root / "content").is_dir() and (root / "source_images").is_dir()
    assert ".renditions.lock" in (root / ".gitignore").read_text().splitlines()
    assert "created config/renditions.yaml" in r.stdout.splitlines() and "next: put articles in content/" in r.stdout
    again = s.run(root, line)  # never overwrites the config
    assert (root / "config" / "renditions.yaml").read_text(encoding="utf-8") == config, again.stdout + again.stderr


def build(s: Sites, line: str) -> None:
    root = s.unbuilt()
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "12 written, 0 up to date, 0 failed"
    for slug in SLUGS:
        for path, size in outputs(root, slug).items():
            with Image.open(path) as im:
                assert (im.format, im.size) == ("PNG", size), path
    manifest = (root / "renditions.lock.json").read_bytes()
    r = s.run(root, line)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "0 written, 12 up to date, 0 failed", r.stdout
    assert (root / "renditions.lock.json").read_bytes() == manifest  # a no-op build rewrites nothing


def check(s: Sites, line: str) -> None:
    root = s.built()
    r = s.run(root, line)
    assert (r.returncode, r.stdout, r.stderr.strip()) == (0, "", "all 12 outputs up to date")
    edited = next(iter(outputs(root, "alpha")))
    edited.write_bytes(edited.read_bytes() + b"\0")  # hand-edited
    (root / "source_images" / "beta.png").unlink()  # a missing master
    gradient(MASTER_SIZE, (200, 60, 60)).save(root / "source_images" / "gamma.png")  # a new master: stale outputs
    r = s.run(root, line)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "/img/artical/articles/alpha.png" in r.stdout and "content/beta.md" in r.stdout, r.stdout
    stale = [ln for ln in r.stdout.splitlines() if "gamma.png" in ln and "stale" in ln]
    assert len(stale) == 4, r.stdout


def build_dry_run(s: Sites, line: str) -> None:
    root = s.unbuilt()
    before = tree(root)
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    assert tree(root) == before and not (root / "public").exists()  # writes nothing, not even the manifest
    for slug in SLUGS:
        for _, path, _, _ in variants(root).values():
            assert f"render {path.format(slug=slug)} (missing)" in r.stdout.splitlines()
    assert r.stdout.strip().splitlines()[-1] == "12 to render, 0 up to date, 0 failed (dry run: nothing written)"


def build_force(s: Sites, line: str) -> None:
    root = s.built()
    before = tree(root / "public")
    edited = next(iter(outputs(root, "alpha")))
    edited.write_bytes(edited.read_bytes() + b"\0")  # changed by hand since it was written
    r = s.run(root, "renditions build")  # refuses to overwrite it, and names the fix
    assert r.returncode == 1 and "renditions build --force" in r.stderr, r.stdout + r.stderr
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "12 written, 0 up to date, 0 failed"  # everything rendered
    assert tree(root / "public") == before  # the hand edit is gone; the rest is byte for byte the same
    assert s.run(root, "renditions check").returncode == 0


def build_only(s: Sites, line: str) -> None:
    root = s.unbuilt()
    r = s.run(root, line)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "4 written, 0 up to date, 0 failed", r.stdout
    for slug in SLUGS:
        assert all(p.exists() == (slug == PLACEHOLDERS["SLUG"]) for p in outputs(root, slug)), slug
    r = s.run(root, line, "--only", "gamma")  # repeatable
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "4 written, 4 up to date, 0 failed", r.stdout
    assert all(p.exists() for p in outputs(root, "gamma")) and not any(p.exists() for p in outputs(root, "alpha"))


def build_json(s: Sites, line: str) -> None:
    root = s.unbuilt()
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    doc = json_report(r.stdout)
    assert doc["ok"] is True and doc["totals"]["written"] == 12 and doc["totals"]["failed"] == 0
    sizes = {path.format(slug=slug): (w, h) for slug in SLUGS for _, path, w, h in variants(root).values()}
    assert {o["path"]: (o["width"], o["height"]) for o in doc["outputs"]} == sizes
    assert all(o["status"] == "written" and (root / "public" / o["path"].lstrip("/")).is_file() for o in doc["outputs"])


def build_drafts(s: Sites, line: str) -> None:
    root = s.built()
    add_article(root, "delta", extra="draft: true")
    r = s.run(root, "renditions build")
    assert r.returncode == 0 and not any(p.exists() for p in outputs(root, "delta")), r.stdout + r.stderr
    r = s.run(root, line)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "4 written, 12 up to date, 0 failed", r.stdout
    for path, size in outputs(root, "delta").items():
        with Image.open(path) as im:
            assert im.size == size


def write_front_matter(s: Sites, line: str) -> None:
    root = s.built()
    article = add_article(root, "delta", keys=False)  # a master, no variant key yet
    before = article.read_text(encoding="utf-8")
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    after = article.read_text(encoding="utf-8")
    added = [f'{key}: "{path.format(slug="delta")}"' for key, path, _, _ in variants(root).values()]
    assert after == before.replace("title: Delta\n", "title: Delta\n" + "".join(a + "\n" for a in added))
    assert all(p.is_file() for p in outputs(root, "delta"))
    assert s.run(root, "renditions check").returncode == 0


def in_a_repo(s: Sites) -> tuple[Path, Path]:
    """A git repository whose site lives in the subfolder `site` (annotations must still land on files)."""
    repo = s.tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo, s.built(repo / "site")


def check_format_github(s: Sites, line: str) -> None:
    repo, root = in_a_repo(s)
    next(iter(outputs(root, "alpha"))).unlink()
    r = s.run(root, line)
    assert r.returncode == 1, r.stdout + r.stderr
    key_line = next(
        i for i, ln in enumerate((root / "content" / "alpha.md").read_text().splitlines(), 1) if ln.startswith("image:")
    )
    assert r.stdout.splitlines() == [
        f"::error file=site/content/alpha.md,line={key_line}::/img/artical/articles/alpha.png: missing"
    ]
    assert (repo / "site" / "content" / "alpha.md").is_file()  # file= is relative to the repository's top


def check_staged(s: Sites, line: str) -> None:
    repo, root = in_a_repo(s)
    git(repo, "add", "site/config", "site/content", "site/source_images", "site/renditions.lock.json", "site/.gitignore")
    unstaged = next(iter(outputs(root, "beta")))
    git(repo, "add", "site/public")
    git(repo, "rm", "-q", "--cached", str(unstaged.relative_to(repo)))  # the commit lacks one new output
    r = s.run(root, line)
    assert r.returncode == 1, r.stdout + r.stderr
    rel = unstaged.relative_to(repo)
    site_path = "/" + str(unstaged.relative_to(root / "public"))
    assert r.stdout.splitlines() == [f"{site_path}: not in the commit: {rel} is untracked; run `git add -- {rel}`"]
    assert s.run(root, "renditions check").returncode == 0  # the working tree itself is fine
    git(repo, "add", "--", str(rel))  # the fix the message names
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr


def check_strict(s: Sites, line: str) -> None:
    root = s.built()
    (root / "content" / "gamma.md").unlink()  # its four outputs are orphans now
    r = s.run(root, "renditions check")
    assert r.returncode == 0 and r.stdout.count("orphan: no article references it") == 4, r.stdout + r.stderr
    r = s.run(root, line)
    assert r.returncode == 1, r.stdout + r.stderr
    orphans = {"/" + str(p.relative_to(root / "public")) for p in outputs(root, "gamma")}
    assert {ln.split(": ")[0] for ln in r.stdout.splitlines() if "orphan" in ln} == orphans


def prune_dry_run(s: Sites, line: str) -> None:
    root = s.built()
    (root / "content" / "gamma.md").unlink()
    before = tree(root)
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = {ln.removeprefix("would delete ") for ln in r.stdout.splitlines() if ln.startswith("would delete ")}
    assert listed == {"/" + str(p.relative_to(root / "public")) for p in outputs(root, "gamma")}
    assert tree(root) == before  # lists and keeps


def prune(s: Sites, line: str) -> None:
    root = s.built()
    (root / "content" / "gamma.md").unlink()
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "4 orphaned outputs deleted"
    assert not any(p.exists() for p in outputs(root, "gamma"))
    assert all(p.is_file() for slug in ("alpha", "beta") for p in outputs(root, slug))
    assert "gamma" not in (root / "renditions.lock.json").read_text()
    assert s.run(root, "renditions check").returncode == 0


class Watching:
    """A never-ending command in a child process, its output read line by line, stopped with Ctrl-C."""

    def __init__(self, s: Sites, root: Path, line: str):
        assert line in readme_commands(README.read_text(encoding="utf-8"))
        self.proc = subprocess.Popen(argv(line), cwd=root, env=s.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(ln.rstrip("\n") for ln in self.proc.stdout or ()), daemon=True).start()

    def until(self, what: Callable[[], bool], timeout: float = 120) -> None:
        end = time.monotonic() + timeout  # a bound for a hung watcher, not a speed asserted
        while not what():
            assert self.proc.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < end, "gave up waiting; the watcher printed:\n" + "\n".join(self.lines)
            time.sleep(0.1)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def watch(s: Sites, line: str, preview: bool = False) -> None:
    root = s.built()
    page = root / ".renditions" / "preview" / "index.html"
    w = Watching(s, root, line)
    try:
        w.until(lambda: any("watching" in ln for ln in w.lines))
        assert any("0 written, 12 up to date, 0 failed" in ln for ln in w.lines), w.lines  # the first build
        if preview:
            w.until(page.is_file)
            assert "live.js" in page.read_text(encoding="utf-8")
        add_article(root, "delta")  # a designer saves an article and drops its master in
        done = outputs(root, "delta")
        w.until(lambda: all(p.is_file() for p in done) and any("4 written" in ln for ln in w.lines))
        if preview:
            w.until(lambda: "delta" in page.read_text(encoding="utf-8"))
    finally:
        code = w.stop()
    assert code == 0, w.lines  # Ctrl-C exits 0
    for path, size in done.items():
        with Image.open(path) as im:
            assert im.size == size


def watch_preview(s: Sites, line: str) -> None:
    watch(s, line, preview=True)


def preview(s: Sites, line: str) -> None:
    root = s.built()
    add_article(root, "delta", master=False)  # a problem the page must show
    before = tree(root / "public")
    r = s.run(root, line)
    assert r.returncode == 0, r.stdout + r.stderr
    page = (root / ".renditions" / "preview" / "index.html").read_text(encoding="utf-8")
    for slug in (*SLUGS, "delta"):
        assert slug in page
    assert all(name in page for name in variants(root))
    assert "no master" in page and "<script" not in page  # the problem as text; plain HTML
    assert tree(root / "public") == before  # never in the web root


LONG = "a-" + "very-" * 16 + "long-slug"


def status_site(s: Sites) -> Path:
    root = s.built()
    add_article(root, LONG)  # not built yet: its row says missing
    gradient((64, 64)).save(root / "source_images" / "unused.png")
    return root


def status(s: Sites, line: str) -> None:
    root = status_site(s)
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 100, "\n".join(lines)  # fits 100 columns
    rows = {ln.split()[0]: ln for ln in lines if ln.split() and ln.split()[0] in SLUGS}
    assert set(rows) == set(SLUGS) and all(row.count("up to date") == 4 for row in rows.values()), lines
    long_row = next(ln for ln in lines if "…" in ln.split()[0])
    assert long_row.count("missing") >= 1 and LONG not in r.stdout
    assert "unused master: source_images/unused.png" in r.stdout


def status_wide(s: Sites, line: str) -> None:
    root = status_site(s)
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith(LONG))
    assert row.split()[1:] == ([f"{LONG}.png", "1700×950"] + ["missing"] * 4), row  # every column in full
    assert len(row) > 100


def status_json(s: Sites, line: str) -> None:
    root = status_site(s)
    r = s.run(root, line)
    assert r.returncode == 0, r.stderr
    doc = json_report(r.stdout)
    assert {a["slug"] for a in doc["articles"]} == {*SLUGS, LONG}
    assert doc["unused_masters"] == ["source_images/unused.png"]
    assert doc["totals"]["up_to_date"] == 12 and doc["totals"]["missing"] == 4


def make_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # `make test` runs us


def make_demo(s: Sites, line: str) -> None:
    """On a fresh clone: creates .venv, installs renditions, builds the example site into public/."""
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("make or git is not installed")
    clone = s.tmp / "clone"
    git(s.tmp, "clone", "-q", str(REPO), str(clone))
    r = subprocess.run(shlex.split(line), cwd=clone, env=make_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (clone / ".venv" / "bin" / "renditions").is_file()
    written = next(ln for ln in r.stdout.splitlines() if ln.endswith(" failed"))
    assert re.fullmatch(r"(\d+) written, 0 up to date, 0 failed", written) and int(written.split()[0]) > 0, written
    slugs = [p.stem for p in (clone / "content").glob("*.md")]
    assert slugs
    for slug in slugs:
        for path, size in outputs(clone, slug).items():
            with Image.open(path) as im:
                assert im.size == size, path
    assert (clone / "renditions.lock.json").is_file()


def make_dry(target: str, expect: str) -> Callable[[Sites, str], None]:
    """A make target that cannot run inside a test (it is this test suite, or a 30-minute benchmark):
    `make -n` proves the target exists and what it runs."""

    def run(s: Sites, line: str) -> None:
        if shutil.which("make") is None:
            pytest.skip("make is not installed")
        assert shlex.split(line) == ["make", target]
        r = subprocess.run(["make", "-n", target], cwd=REPO, env=make_env(), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert expect in r.stdout, r.stdout

    return run


@dataclass(frozen=True)
class Elsewhere:
    """Run by another test: `test` in `file`, whose source must show `mentions`."""

    file: str
    test: str
    mentions: str
    why: str


INSTALL = Elsewhere(
    "tests/test_install.py",
    "test_the_readmes_install_line_installs_from_a_clone_of_this_repository",
    'pip install "git+',
    "reads this README line and pip-installs a clone of this repository at its commit into a fresh venv",
)

COVERAGE: dict[str, Callable[[Sites, str], None] | Elsewhere] = {
    'pipx install "git+https://github.com/OWNER/renditions@REF"': Elsewhere(
        INSTALL.file,
        INSTALL.test,
        INSTALL.mentions,
        "pipx installs this same requirement with pip into a venv of its own; pipx itself is not run "
        "(not on the test machine): the pip line's test installs the same requirement",
    ),
    'pip install "git+https://github.com/OWNER/renditions@REF"': INSTALL,
    "renditions --version": version_,
    "renditions init": init,
    "renditions build": build,
    "renditions check": check,
    "make demo": make_demo,
    "make test": make_dry("test", "-m pytest -q"),
    "renditions build --dry-run": build_dry_run,
    "renditions build --force": build_force,
    "renditions build --only SLUG": build_only,
    "renditions build --json": build_json,
    "renditions build --drafts": build_drafts,
    "renditions build --write-front-matter": write_front_matter,
    "renditions check --format github": check_format_github,
    "renditions check --staged": check_staged,
    "renditions check --strict": check_strict,
    "renditions prune --dry-run": prune_dry_run,
    "renditions prune": prune,
    "make bench": make_dry("bench", "bench/run.py"),
    "renditions watch": watch,
    "renditions watch --preview": watch_preview,
    "renditions preview": preview,
    "renditions status": status,
    "renditions status --wide": status_wide,
    "renditions status --json": status_json,
}

SLOW = {"make demo", "renditions watch", "renditions watch --preview"}


def _cases() -> list:
    return [
        pytest.param(line, id=line, marks=[pytest.mark.slow] if line in SLOW else [])
        for line in readme_commands(README.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize("line", _cases())
def test_readme_command(line, sites):
    entry = COVERAGE.get(line)
    assert entry is not None, f"the README shows {line!r} and no entry of COVERAGE in tests/test_readme.py runs it"
    if isinstance(entry, Elsewhere):
        source = (REPO / entry.file).read_text(encoding="utf-8")
        assert f"def {entry.test}(" in source, f"{entry.file} has no test {entry.test} ({line!r})"
        assert entry.mentions in source, f"{entry.file} no longer mentions {entry.mentions!r}"
        return
    entry(sites, line)


def test_every_coverage_entry_is_still_in_the_readme():
    shown = set(readme_commands(README.read_text(encoding="utf-8")))
    assert not set(COVERAGE) - shown, f"entries the README no longer shows: {sorted(set(COVERAGE) - shown)}"


def test_the_extraction_reads_fenced_and_indented_blocks_only():
    markdown = (
        "Run `renditions build --prose` here.\n\n"
        "    renditions init       # a comment\n"
        "    pipx install x\n\n"
        "```\nrenditions status --wide   # cut\nnot a command\n```\n\n"
        "```make\nimages:\n\trenditions build\n```\n"
        "- a list item\n  renditions in a list continuation\n"
    )
    assert readme_commands(markdown) == ["renditions init", "pipx install x", "renditions status --wide", "renditions build"]


# -- figures ----------------------------------------------------------------------------------------

# A figure is a number with a decimal point (0.51, 2.99, 0.168.0) or a number right before a unit
# (163 MB, 6000 px, 12000×8000, 3 s): each end of 0.8-1.7 s is one; the 2 of "2 cores" is not. It
# must appear in BENCHMARKS.md as written (0.60 is not 0.6). Quoted from the benchmarks: everything
# in the README's Performance section, and each clause elsewhere that cites BENCHMARKS.md.
FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)+|(?<![\d.])\d+(?=\s?(?:MB|GB|KB|MP|px|ms|s\b|×|%))")


def quoted_from_benchmarks(readme: str) -> str:
    perf = re.search(r"^## Performance\n(.*?)(?=^## )", readme, re.S | re.M)
    assert perf, "the README has no Performance section"
    rest = readme.replace(perf.group(1), "")
    clauses = re.split(r"(?<=[;.])\s+", " ".join(rest.split()))
    return perf.group(1) + "\n" + "\n".join(c for c in clauses if "BENCHMARKS.md" in c)


def figures_missing(readme: str, benchmarks: str) -> list[str]:
    """The benchmark figures the README quotes that BENCHMARKS.md does not have, as written."""
    recorded = set(FIGURE.findall(benchmarks)) | set(re.findall(r"(?<![\d.])\d+(?:\.\d+)*", benchmarks))
    return sorted({f for f in FIGURE.findall(quoted_from_benchmarks(readme)) if f not in recorded})


def test_every_benchmark_figure_in_the_readme_is_in_benchmarks_md():
    readme = README.read_text(encoding="utf-8")
    quoted = FIGURE.findall(quoted_from_benchmarks(readme))
    assert len(quoted) > 40  # the tables are in scope
    assert figures_missing(readme, BENCHMARKS.read_text(encoding="utf-8")) == []


def test_a_figure_benchmarks_md_does_not_record_is_caught():
    readme = "## Performance\n\nA peak of 163 MB, 0.51× sharp's wall, 2 cores.\n\n## Next\n\nNot quoted: 35 MB.\n"
    assert figures_missing(readme, "| big-png | 157 |\n0.51 / 0.60\n") == ["163"]
    assert figures_missing(readme, "peak 163 MB; 0.51") == []
    cited = "## Performance\n\nx\n\n## Watch\n\nIt takes 0.9 s (see BENCHMARKS.md); 100 ms apart.\n"
    assert figures_missing(cited, "") == ["0.9"]


# -- the sharded CI workflow the README points to (BENCHMARKS.md#splitting-a-build-across-ci-runners) --


def sharding_workflow() -> dict:
    section = BENCHMARKS.read_text(encoding="utf-8").split("## Splitting a build across CI runners", 1)[1]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def test_every_job_of_the_sharding_workflow_installs_renditions_before_running_it():
    assert "BENCHMARKS.md#splitting-a-build-across-ci-runners" in README.read_text(encoding="utf-8")
    for name, job in sharding_workflow()["jobs"].items():
        runs = [step.get("run", "") for step in job["steps"]]
        uses = [i for i, r in enumerate(runs) if re.search(r"^\s*renditions ", r, re.M)]
        installs = [i for i, r in enumerate(runs) if r.startswith('pip install "git+https://github.com/OWNER/renditions@REF"')]
        assert uses and installs and installs[0] < uses[0], f"job {name} runs renditions without installing it first"
        assert not any("pip install renditions" in r for r in runs)  # no such package on the index


def test_the_sharding_workflow_passes_actionlint(actionlint, tmp_path):  # noqa: F811 (the imported fixture)
    workflow = tmp_path / "images.yml"
    workflow.write_text(yaml.safe_dump({"name": "images", "on": {"push": {"branches": ["main"]}}, **sharding_workflow()}))
    r = actionlint(workflow)
    assert r.returncode == 0, r.stdout + r.stderr
