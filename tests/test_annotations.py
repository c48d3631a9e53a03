"""`check --format github`: annotations land on files in the repository, and cannot be forged."""

from __future__ import annotations

import json
import subprocess

from click.testing import CliRunner
from conftest import Site

from renditions.cli import _escape_data, _escape_property, main


def run(site: Site, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)], env=env)


def annotations(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith("::")]


def test_escaping_follows_githubs_workflow_command_rules():
    assert _escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert _escape_property("a,line=9\n::x:y%") == "a%2Cline=9%0A%3A%3Ax%3Ay%25"


def test_paths_are_relative_to_the_git_top_for_a_site_in_a_subfolder(tmp_path, monkeypatch):
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    site = Site(tmp_path / "repo" / "sites" / "blog")
    for slug in ("one", "two"):
        site.article(slug)
        site.master(slug)
    assert run(site, "build").exit_code == 0
    site.out("image", "one").unlink()
    (site.root / "content" / "two.md").unlink()  # two's outputs become orphans the manifest knows
    r = run(site, "check", "--format", "github", "--strict")
    assert r.exit_code == 1
    md = (site.root / "content" / "one.md").read_text().splitlines()
    line = next(i for i, ln in enumerate(md, 1) if ln.startswith("image:"))
    got = annotations(r.stdout)
    assert f"::error file=sites/blog/content/one.md,line={line}::/img/artical/articles/one.png: missing" in got
    manifest = (site.root / "renditions.lock.json").read_text().splitlines()
    orphan = "/img/artical/articles/two.png"
    entry_line = next(i for i, ln in enumerate(manifest, 1) if ln.strip().startswith(json.dumps(orphan) + ":"))
    assert (
        f"::error file=sites/blog/renditions.lock.json,line={entry_line}::{orphan}: orphan: no article references it "
        "(renditions wrote it; `renditions prune` deletes it)"
    ) in got
    # GITHUB_WORKSPACE wins: paths are relative to the checkout GitHub resolves against
    r = run(site, "check", "--format", "github", env={"GITHUB_WORKSPACE": str(tmp_path / "repo" / "sites")})
    assert f"::error file=blog/content/one.md,line={line}::/img/artical/articles/one.png: missing" in annotations(r.stdout)


def test_an_orphan_the_manifest_does_not_know_points_at_the_file(site, monkeypatch):
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    site.article("one")
    site.master("one")
    assert run(site, "build").exit_code == 0
    stray = site.public / "img" / "artical" / "articles" / "stray.png"
    stray.write_bytes(site.out("image", "one").read_bytes())
    r = run(site, "check", "--format", "github")
    assert r.exit_code == 0  # orphans are warnings unless --strict
    assert annotations(r.stdout) == [
        "::warning file=public/img/artical/articles/stray.png::/img/artical/articles/stray.png: "
        "orphan: no article references it (not in the manifest)"
    ]


def test_a_file_name_with_a_newline_and_a_comma_cannot_inject_a_command_or_forge_the_line(site, monkeypatch):
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    evil = site.root / "content" / "a,line=1\n::error file=forged.md::pwned.md"
    evil.write_text('---\nslug: evil\nimage: "/img/artical/articles/evil.png"\n---\n')
    r = run(site, "check", "--format", "github")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert all(ln.startswith("::error ") or ln.startswith("::warning ") for ln in lines), lines
    assert not any(ln.startswith("::error file=forged.md") for ln in lines)
    # `::level props::message`: GitHub ends the properties at the first `::`, so none may hold a `:`
    assert not any(":" in ln[2:].split("::", 1)[0] for ln in lines)
    (ann,) = [ln for ln in lines if "no master" in ln]  # the missing-key lines are errors too (issue 15)
    assert "pwned.md: no master: add source_images/evil.png" in ann
    props = ann.split("::")[1]
    assert props.startswith("error file=content/a%2Cline=1%0A%3A%3Aerror file=forged.md%3A%3Apwned.md")
    assert props.count(",") <= 1 and props.count(",line=") <= 1  # only our own line property, if any
