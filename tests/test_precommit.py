"""The pre-commit hook checks what is being committed, with real git and real pre-commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import Site

from renditions.cli import main

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def hook_entry() -> str:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "renditions-check")
    assert hook["language"] == "python" and hook["pass_filenames"] is False and hook["always_run"] is True
    return hook["entry"]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Site:
    """A site that is a git repository, everything built and committed."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    site = Site(tmp_path / "site")
    git(site.root, "init", "-q", "-b", "main")
    git(site.root, "config", "user.email", "site@example.invalid")
    git(site.root, "config", "user.name", "Site Owner")
    git(site.root, "config", "commit.gpgsign", "false")
    site.article("alpha")
    site.master("alpha")
    assert CliRunner().invoke(main, ["build", "--root", str(site.root)]).exit_code == 0
    git(site.root, "add", "-A")
    git(site.root, "commit", "-q", "-m", "site")
    return site


def staged(site: Site) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "renditions"), *hook_entry().split()[1:], "--root", str(site.root)], capture_output=True, text=True
    )


def new_article(site: Site, slug: str = "beta") -> None:
    site.article(slug)
    site.master(slug, colour=(200, 40, 40))
    assert CliRunner().invoke(main, ["build", "--root", str(site.root)]).exit_code == 0


def test_passes_when_everything_is_committed_or_staged(repo):
    assert staged(repo).returncode == 0
    new_article(repo)
    git(repo.root, "add", "-A")
    r = staged(repo)
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_untracked_output_fails_naming_the_file_and_the_git_add(repo):
    new_article(repo)
    left_out = repo.out("mobile", "beta")
    for p in (
        "content/beta.md",
        "source_images/beta.png",
        "renditions.lock.json",
        *(str(o.relative_to(repo.root)) for o in repo.outputs("beta") if o != left_out),
    ):
        git(repo.root, "add", "--", p)
    r = staged(repo)
    assert r.returncode == 1
    rel = left_out.relative_to(repo.root).as_posix()
    assert r.stdout.splitlines() == [
        f"/img/artical/mobile-articles/beta.png: not in the commit: {rel} is untracked; run `git add -- {rel}`"
    ]
    git(repo.root, "add", "--", rel)
    assert staged(repo).returncode == 0


def test_an_unstaged_change_to_the_manifest_or_an_output_fails(repo):
    new_article(repo)
    git(repo.root, "add", "-A")
    repo.master("beta", colour=(10, 200, 10))  # a new master: the build changes four outputs and the manifest
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0
    git(repo.root, "add", "--", "source_images/beta.png")
    r = staged(repo)
    assert r.returncode == 1
    assert (
        "renditions.lock.json: not in the commit as on disk: renditions.lock.json differs from what is staged; "
        "run `git add -- renditions.lock.json`" in r.stdout
    )
    assert sum("differs from what is staged" in ln for ln in r.stdout.splitlines()) == 5


def test_a_master_left_out_of_the_commit_fails(repo):
    """The outputs and the manifest staged, the master not: CI's check of the commit would say
    "no master" (untracked) or find the outputs cut from another picture (unstaged)."""
    new_article(repo)
    git(repo.root, "add", "-A")
    git(repo.root, "rm", "-q", "--cached", "--", "source_images/beta.png")
    r = staged(repo)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "source_images/beta.png: not in the commit: source_images/beta.png is untracked; run `git add -- source_images/beta.png`"
    ]
    git(repo.root, "add", "--", "source_images/beta.png")
    assert staged(repo).returncode == 0
    repo.master("alpha", colour=(10, 200, 10))  # a new picture, built, everything staged but it
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0
    git(repo.root, "add", "-A")
    repo.master("alpha", colour=(10, 10, 200))  # changed again after staging: the outputs are stale,
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0  # rebuilt, not staged
    git(repo.root, "add", "--", "public", "renditions.lock.json")
    r = staged(repo)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "source_images/alpha.png: not in the commit as on disk: source_images/alpha.png differs from what is "
        "staged; run `git add -- source_images/alpha.png`"
    ]
    # a master git ignores (a site that keeps its masters out of git) is not needed
    (repo.root / ".gitignore").write_text("/source_images/\n")
    git(repo.root, "rm", "-r", "-q", "-f", "--cached", "source_images")
    git(repo.root, "add", "--", ".gitignore")
    r = staged(repo)
    assert r.returncode == 0, r.stdout


def test_masters_in_a_submodule_are_committed_there(repo, tmp_path):
    """Masters kept in a repository of their own, a submodule of the site: the site's commit
    holds the submodule's commit, not the files. The hook used to stop every commit (exit 2,
    git check-ignore refusing a path inside a submodule)."""
    masters = tmp_path / "masters"
    masters.mkdir()
    git(masters, "init", "-q", "-b", "main")
    git(masters, "config", "user.email", "m@example.invalid")
    git(masters, "config", "user.name", "M")
    shutil.copy(repo.sources / "alpha.png", masters / "alpha.png")
    git(masters, "add", "-A")
    git(masters, "commit", "-q", "-m", "masters")
    git(repo.root, "rm", "-r", "-q", "--cached", "source_images")
    shutil.rmtree(repo.sources)
    git(repo.root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(masters), "source_images")
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0
    git(repo.root, "add", "-A")
    r = staged(repo)
    assert r.returncode == 0, r.stdout + r.stderr


def test_outputs_git_ignores_are_not_needed(repo):
    (repo.root / ".gitignore").write_text("/public/\n")
    git(repo.root, "rm", "-r", "-q", "--cached", "public")
    new_article(repo)
    git(repo.root, "add", "-A")
    r = staged(repo)
    assert r.returncode == 0, r.stdout


def test_outside_git_it_says_so(site):
    site.article("alpha")
    site.master("alpha")
    CliRunner().invoke(main, ["build", "--root", str(site.root)])
    r = staged(site)
    assert r.returncode == 2 and "is not inside a git repository" in r.stderr


@pytest.mark.slow
def test_real_pre_commit_blocks_a_commit_that_leaves_a_new_output_unstaged(repo, tmp_path):
    """pre-commit installed as a git hook; `git commit` runs the shipped hook's entry."""
    pre_commit = BIN / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    (repo.root / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {
                "repos": [
                    {
                        "repo": "local",
                        "hooks": [
                            {
                                "id": "renditions-check",
                                "name": "renditions check",
                                "entry": hook_entry(),
                                "language": "system",
                                "pass_filenames": False,
                                "always_run": True,
                            }
                        ],
                    }
                ]
            }
        )
    )
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([str(pre_commit), "install"], cwd=repo.root, env=env, check=True, capture_output=True)
    git(repo.root, "add", ".pre-commit-config.yaml")

    def commit(msg: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "commit", "-m", msg], cwd=repo.root, env=env, capture_output=True, text=True)

    r = commit("hook config")
    assert r.returncode == 0, r.stdout + r.stderr
    new_article(repo)
    left_out = repo.out("singleImage", "beta").relative_to(repo.root).as_posix()
    git(repo.root, "add", "-A")
    git(repo.root, "reset", "-q", "--", left_out)
    r = commit("beta")
    assert r.returncode != 0
    assert f"run `git add -- {left_out}`" in r.stdout + r.stderr
    assert git(repo.root, "log", "--format=%s").stdout.splitlines()[0] == "hook config"  # nothing was committed
    git(repo.root, "add", "--", left_out)
    r = commit("beta")
    assert r.returncode == 0, r.stdout + r.stderr
    assert git(repo.root, "status", "--porcelain").stdout == ""
    # the manifest left unstaged: pre-commit hides it while the hook runs, so the commit's outputs
    # are unrecorded there; the line says to stage the manifest (`renditions build` would do nothing)
    new_article(repo, "gamma")
    git(repo.root, "add", "-A")
    git(repo.root, "reset", "-q", "--", "renditions.lock.json")
    r = commit("gamma")
    assert r.returncode != 0
    said = r.stdout + r.stderr
    assert (
        f"/{repo.out('image', 'gamma').relative_to(repo.public).as_posix()}: exists, but renditions did not "
        "write it (the manifest does not record it): `renditions build` takes it if it holds exactly the bytes the build "
        "makes; else move it away; if the build wrote it, the manifest was left out of the commit: "
        "run `git add -- renditions.lock.json`"
    ) in said.splitlines()
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).output.startswith("nothing to do")
    git(repo.root, "add", "--", "renditions.lock.json")
    r = commit("gamma")
    assert r.returncode == 0, r.stdout + r.stderr
    assert git(repo.root, "status", "--porcelain").stdout == ""
    # a new master, built, the master and the manifest staged, the outputs not: pre-commit hides
    # the new outputs, so the commit's are the old bytes; the line said "modified by hand" and
    # sent the user to `build --force` (a user's trial): it says to stage them
    repo.master("gamma", colour=(250, 20, 20))
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0
    git(repo.root, "add", "--", "source_images", "renditions.lock.json")
    r = commit("gamma's new master")
    assert r.returncode != 0
    image = repo.out("image", "gamma").relative_to(repo.root).as_posix()
    assert (
        f"/{repo.out('image', 'gamma').relative_to(repo.public).as_posix()}: its bytes differ from what the manifest records: "
        f"if a build rewrote it, it was left out of the commit: run `git add -- {image}` (else it was changed by hand)"
    ) in (r.stdout + r.stderr).splitlines(), r.stdout + r.stderr
    git(repo.root, "add", "-A")
    r = commit("gamma's new master")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_the_shipped_hook_from_a_clone_of_this_repository(repo, tmp_path):
    """As the README says: `repo:` this repository (a clone here), `rev:` a commit sha; pre-commit
    installs renditions into its own environment from that commit and runs the shipped hook."""
    pre_commit = BIN / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    clone = tmp_path / "renditions-clone"
    git(tmp_path, "clone", "-q", str(REPO), str(clone))
    sha = git(clone, "rev-parse", "HEAD").stdout.strip()
    (repo.root / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": str(clone), "rev": sha, "hooks": [{"id": "renditions-check"}]}]})
    )
    git(repo.root, "add", ".pre-commit-config.yaml")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    env.pop("VIRTUAL_ENV", None)

    def hook() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(pre_commit), "run", "renditions-check"], cwd=repo.root, env=env, capture_output=True, text=True, timeout=900
        )

    r = hook()
    assert r.returncode == 0, r.stdout + r.stderr
    new_article(repo)
    left_out = repo.out("mobile", "beta").relative_to(repo.root).as_posix()
    git(repo.root, "add", "-A")
    git(repo.root, "reset", "-q", "--", left_out)
    r = hook()
    assert r.returncode == 1
    assert f"{left_out} is untracked; run `git add -- {left_out}`" in r.stdout


def test_staged_problems_annotate_the_file_itself(repo, monkeypatch):
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    new_article(repo)
    git(repo.root, "add", "-A")
    left_out = repo.out("image", "beta").relative_to(repo.root).as_posix()
    git(repo.root, "reset", "-q", "--", left_out)
    r = subprocess.run(
        [str(BIN / "renditions"), "check", "--staged", "--format", "github", "--root", str(repo.root)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"::error file={left_out}::/img/artical/articles/beta.png: not in the commit: {left_out} is untracked; "
        f"run `git add -- {left_out}`"
    ]


def test_a_data_file_left_out_of_the_commit_says_to_stage_it(repo):
    """As pre-commit leaves the tree (unstaged changes stashed while the hook runs): the data
    file the commit carries is the old one. Its line says to stage it, not only to build."""
    cfg = repo.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text() + "data: data/renditions.json\n")
    assert CliRunner().invoke(main, ["build", "--root", str(repo.root)]).exit_code == 0
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "data")
    new_article(repo)
    git(repo.root, "add", "-A")
    git(repo.root, "reset", "-q", "--", "data/renditions.json")
    git(repo.root, "stash", "push", "-q", "--keep-index")  # what pre-commit does before its hooks
    try:
        r = staged(repo)
    finally:
        git(repo.root, "stash", "pop", "-q")
    assert r.returncode == 1
    line = next(x for x in r.stdout.splitlines() if x.startswith("data/renditions.json: out of date"))
    assert line.endswith("if the build wrote it, it was left out of the commit: run `git add -- data/renditions.json`")
