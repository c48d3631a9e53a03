"""A site built as 3 shards and merged equals one build: same output bytes, same manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from renditions.cli import main
from renditions.shard import in_shard

SLUGS = [f"post-{i}" for i in range(7)]
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200), (200, 30, 200), (90, 90, 90)]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def tree(public: Path) -> dict[str, bytes]:
    return {str(p.relative_to(public)): p.read_bytes() for p in sorted(public.rglob("*")) if p.is_file()}


def make_site(site) -> None:
    for i, slug in enumerate(SLUGS):
        site.article(slug)
        site.master(slug, size=(1700, 950), ext="jpg" if i % 2 else "png", colour=None if i % 3 else COLOURS[i])


def build_sharded(site_root: Path, runners: Path, n: int = 3) -> tuple[Path, Path]:
    """What a CI matrix does: N runners each build a copy of the repo with --shard K/N; a last
    job copies their public/ trees together and merges their manifests."""
    manifests, combined = [], runners / "combined"
    shutil.copytree(site_root, combined)  # the checkout the final job starts from
    for k in range(1, n + 1):
        runner = runners / f"runner-{k}"
        shutil.copytree(site_root, runner)
        r = run("build", "--root", str(runner), "--shard", f"{k}/{n}", "--jobs", "1", "--json")
        assert r.exit_code == 0, r.output
        manifests.append(str(runner / "renditions.lock.json"))
        assert json.loads(Path(manifests[-1]).read_text())["shard"] == f"{k}/{n}"
        # each runner uploads the files its build wrote (its clone also holds every shard's old files)
        for o in json.loads(r.stdout)["outputs"]:
            if o["status"] == "written":
                dest = combined / "public" / o["path"].lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(runner / "public" / o["path"].lstrip("/"), dest)
    r = run("merge", str(combined / "renditions.lock.json"), *manifests)
    assert r.exit_code == 0, r.output
    return combined, combined / "renditions.lock.json"


def test_three_shards_merge_to_one_build(site, tmp_path):
    make_site(site)
    owners = {k: [s for s in SLUGS if in_shard(f"content/{s}.md", (k, 3))] for k in (1, 2, 3)}
    assert sum(len(v) for v in owners.values()) == len(SLUGS)
    assert sum(1 for v in owners.values() if v) >= 2, owners  # the split really splits

    combined, merged = build_sharded(site.root, tmp_path / "ci")

    single = tmp_path / "single"
    shutil.copytree(site.root, single)
    r = run("build", "--root", str(single), "--jobs", "1")
    assert r.exit_code == 0, r.output

    assert len(tree(single / "public")) == 4 * len(SLUGS)
    assert tree(combined / "public") == tree(single / "public")
    assert merged.read_bytes() == (single / "renditions.lock.json").read_bytes()
    assert "shard" not in json.loads(merged.read_text())
    r = run("check", "--root", str(combined))
    assert r.exit_code == 0, r.output


def test_incremental_shards_from_a_committed_manifest(site, tmp_path):
    """Runners start from a clone with committed outputs + manifest; one master changes."""
    make_site(site)
    assert run("build", "--root", str(site.root), "--jobs", "1").exit_code == 0
    site.master(SLUGS[3], size=(1700, 950), ext="jpg", colour=(10, 120, 250))

    combined, merged = build_sharded(site.root, tmp_path / "ci")

    single = tmp_path / "single"
    shutil.copytree(site.root, single)
    r = run("build", "--root", str(single), "--jobs", "1")
    assert "4 written" in r.output
    assert tree(combined / "public") == tree(single / "public")
    assert merged.read_bytes() == (single / "renditions.lock.json").read_bytes()


def test_merge_needs_every_shard(site, tmp_path):
    make_site(site)
    paths = []
    for k in (1, 3):
        runner = tmp_path / f"r{k}"
        shutil.copytree(site.root, runner)
        assert run("build", "--root", str(runner), "--shard", f"{k}/3", "--jobs", "1").exit_code == 0
        paths.append(str(runner / "renditions.lock.json"))
    r = run("merge", str(tmp_path / "out.json"), *paths)
    assert r.exit_code == 2
    assert "missing shard 2/3" in r.output
    assert not (tmp_path / "out.json").exists()


def test_merge_refuses_a_manifest_without_shard(site, tmp_path):
    make_site(site)
    assert run("build", "--root", str(site.root), "--jobs", "1").exit_code == 0
    r = run("merge", str(tmp_path / "out.json"), str(site.root / "renditions.lock.json"))
    assert r.exit_code == 2
    assert "not a shard manifest" in r.output


def test_an_article_moved_then_built_in_shards_merges(site, tmp_path):
    """A moved article's outputs stay up to date; the shard that now builds it must not re-record
    them under the new path while the other shard still carries the old entry: merge would see
    two records of one output and refuse. The build after the merge records the move."""
    make_site(site)
    assert run("build", "--root", str(site.root)).exit_code == 0
    slug = SLUGS[0]
    old = f"content/{slug}.md"
    k_old = next(k for k in (1, 2) if in_shard(old, (k, 2)))
    folder = next(f"news{i}" for i in range(100) if not in_shard(f"content/news{i}/{slug}.md", (k_old, 2)))
    (site.root / "content" / folder).mkdir()
    (site.root / old).rename(site.root / "content" / folder / f"{slug}.md")
    combined, merged = build_sharded(site.root, tmp_path / "runners", 2)
    r = run("build", "--root", str(combined))
    assert r.exit_code == 0, r.output
    articles = {e["article"] for e in json.loads(merged.read_text())["outputs"].values()}
    assert f"content/{folder}/{slug}.md" in articles and old not in articles


def test_a_split_merge_would_refuse_is_refused_before_building(site):
    """`build --shard 1/1025` built and wrote a manifest that `merge` then refused (more slices
    than any build writes): a CI matrix learnt it after every runner had built (a user's trial)."""
    site.article("a")
    site.master("a")
    result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--shard", "1/1025"])
    assert result.exit_code == 2
    assert "--shard: expected N ≤ 1024 (more runners than a CI matrix has), got 1/1025" in result.output
    assert not (site.root / "renditions.lock.json").exists() and not site.public.exists()
    assert CliRunner().invoke(main, ["build", "--root", str(site.root), "--shard", "1/1024"]).exit_code == 0
