"""Issue 15: two branches that each add an article merge in git with no hand work.

Real git, a real built site: each branch adds an article (adjacent slugs) and builds; after the
merge, `renditions build` resolves whatever git left in the manifest without rendering anything,
and `renditions check` passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from renditions.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MANIFEST = "renditions.lock.json"


def run(site, *args):
    jobs = ["--jobs", "1"] if args[0] == "build" else []
    return CliRunner().invoke(main, [*args, "--root", str(site.root), *jobs])


def git(site, *args, check=True):
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "merge.conflictstyle=diff3",
            *args,
        ],
        cwd=site.root,
        capture_output=True,
        text=True,
        check=check,
    )


def snapshot(site):
    return {
        str(p.relative_to(site.public)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(site.public.rglob("*"))
        if p.is_file()
    }


def branches_that_each_add_an_article(site, base, one, two, attributes=""):
    for slug in base:
        site.article(slug)
        site.master(slug, (1600, 900))
    assert run(site, "build").exit_code == 0
    (site.root / ".gitignore").write_text(".renditions.lock\n")
    if attributes:
        (site.root / ".gitattributes").write_text(attributes)
    git(site, "init", "-q", "-b", "main")
    git(site, "add", "-A")
    git(site, "commit", "-qm", "built site")
    for branch, slug, colour in (("one", one, (200, 40, 40)), ("two", two, (40, 40, 200))):
        git(site, "checkout", "-q", "-b", branch, "main")
        site.article(slug)
        site.master(slug, (1600, 900), colour=colour)
        r = run(site, "build")
        assert r.exit_code == 0 and "4 written" in r.stdout, r.output
        git(site, "add", "-A")
        git(site, "commit", "-qm", f"add {slug}")
    git(site, "checkout", "-q", "main")
    git(site, "merge", "-q", "one")
    return git(site, "merge", "two", "--no-edit", check=False)


def test_a_conflicted_manifest_is_resolved_by_build_with_nothing_rendered(site):
    merged = branches_that_each_add_an_article(site, ["post-a", "post-c"], "post-b1", "post-b2")
    assert merged.returncode != 0 and MANIFEST in merged.stdout  # git could not merge it alone
    text = (site.root / MANIFEST).read_text()
    assert "<<<<<<< " in text and "|||||||" in text
    assert json.loads(git(site, "show", "one:" + MANIFEST).stdout)  # each side is a valid manifest

    r = run(site, "check")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {MANIFEST}: merge conflict in the manifest: run `renditions build` to resolve it (it re-checks each entry against the files)"
    ]

    before = snapshot(site)
    assert len(before) == 16
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "0 written, 16 up to date, 0 failed" in r.stdout
    assert snapshot(site) == before  # no output's bytes or mtime changed
    doc = json.loads((site.root / MANIFEST).read_text())
    assert "<<<<<<<" not in (site.root / MANIFEST).read_text()
    assert len(doc["outputs"]) == 16
    assert {e["article"] for e in doc["outputs"].values()} == {
        f"content/{s}.md" for s in ("post-a", "post-b1", "post-b2", "post-c")
    }
    assert run(site, "check").exit_code == 0
    git(site, "add", MANIFEST)
    git(site, "commit", "-qm", "merge two")  # and the merge can be committed as is
    r = run(site, "build")
    assert "0 written, 16 up to date" in r.stdout and git(site, "status", "--porcelain").stdout == ""


def test_with_the_union_attribute_git_merges_it_alone(site):
    """At the end of the file both sides' last lines lack a comma: the reader heals that too."""
    merged = branches_that_each_add_an_article(site, ["post-a"], "zz-1", "zz-2", attributes=f"{MANIFEST} merge=union\n")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    before = snapshot(site)
    r = run(site, "check")
    assert r.exit_code == 0, r.output
    r = run(site, "build")
    assert r.exit_code == 0 and "0 written, 12 up to date, 0 failed" in r.stdout, r.output
    assert snapshot(site) == before
    assert len(json.loads((site.root / MANIFEST).read_text())["outputs"]) == 12


def test_both_branches_rebuilt_one_output_the_file_on_disk_decides(site):
    """A union merge keeps both branches' lines for an output both re-rendered; the entry whose
    hash is the file's on disk (the one the merge kept) wins, and nothing is rendered."""
    merged = branches_that_each_add_an_article(site, ["post-a"], "zz-1", "zz-2", attributes=f"{MANIFEST} merge=union\n")
    assert merged.returncode == 0
    text = (site.root / MANIFEST).read_text()
    key = "/img/artical/articles/post-a.png"
    line = next(line for line in text.splitlines() if line.startswith(f'  "{key}"'))
    forged = json.loads("{" + line.rstrip(",") + "}")[key]
    forged["hash"] = "0" * 64  # what another branch recorded for a file this checkout doesn't have
    text = text.replace(line, line.rstrip(",") + ",\n  " + json.dumps(key) + ": " + json.dumps(forged, sort_keys=True) + ",", 1)
    (site.root / MANIFEST).write_text(text)
    # no conflict markers, no conflict git reported: check says what the union merge left (a user's trial)
    assert (
        'error: renditions.lock.json: the manifest records "/img/artical/articles/post-a.png" twice, differently'
        " (a merge=union merge of two branches leaves it so): run `renditions build` to keep the one that matches the file"
    ) in run(site, "check").stderr
    before = snapshot(site)
    r = run(site, "build")
    assert r.exit_code == 0 and "0 written" in r.stdout, r.output
    assert snapshot(site) == before
    assert json.loads((site.root / MANIFEST).read_text())["outputs"][key]["hash"] != "0" * 64
    assert run(site, "check").exit_code == 0
