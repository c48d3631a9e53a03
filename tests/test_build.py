"""The core job end to end: articles in, four variants out, exit codes and messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO, SIZES, VARIANT_KEYS
from PIL import Image

from renditions.cli import main


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def test_every_article_gets_its_four_files(site, engine):
    for slug in ("alpha", "beta", "5-breakthroughs-transforming-pediatric-leukemia-treatment-in-2025"):
        site.article(slug)
        site.master(slug, (1920, 1080), ext="jpg")
    r = run(site, "build", "--engine", engine, "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "12 written, 0 up to date, 0 failed" in r.output
    for slug in ("alpha", "beta", "5-breakthroughs-transforming-pediatric-leukemia-treatment-in-2025"):
        for key in VARIANT_KEYS:
            with Image.open(site.out(key, slug)) as im:
                assert im.format == "PNG"
                assert im.size == SIZES[key]
                assert im.mode in ("RGB", "RGBA")
                assert not im.info.get("exif")


def test_paths_taken_exactly_as_written(site):
    site.article(
        "x",
        keys={
            "image": "/img/artical/articles/Some Odd Name.png",
            "mobile": "/img/artical/mobile-articles/x.jpg",
            "singleImage": "/img/artical/single-articles/x.webp",
            "MobileSingleImage": "/elsewhere/deep/x.avif",
        },
    )
    site.master("x")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    formats = {
        "img/artical/articles/Some Odd Name.png": "PNG",
        "img/artical/mobile-articles/x.jpg": "JPEG",
        "img/artical/single-articles/x.webp": "WEBP",
        "elsewhere/deep/x.avif": "AVIF",
    }
    for rel, fmt in formats.items():
        with Image.open(site.public / rel) as im:
            assert im.format == fmt


def test_missing_master_fails_that_article_only(site):
    for slug in ("good-one", "good-two", "lost"):
        site.article(slug)
    site.master("good-one")
    site.master("good-two")
    r = run(site, "build")
    assert r.exit_code == 1
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert errors == ["error: content/lost.md: no master: add source_images/lost.png (or .jpg, .webp, .avif, .tif, .gif, .heic)"]
    assert "8 written, 0 up to date, 1 failed" in r.stdout
    assert all(p.exists() for p in site.outputs("good-one") + site.outputs("good-two"))
    assert not any(p.exists() for p in site.outputs("lost"))


def test_bad_config_exit_2_before_anything_is_written(site):
    site.article("a")
    site.master("a")
    text = (site.root / "config" / "renditions.yaml").read_text().replace("width: 640", "width: wide")
    site.config(text)
    r = run(site, "build")
    assert r.exit_code == 2
    assert (
        'config/renditions.yaml: variants.mobile-article.width: expected a positive integer up to 65535, got "wide"' in r.stderr
    )
    assert not site.public.exists()


def test_master_found_by_front_matter_stem_and_ambiguity(site):
    site.article("long-title", keys={k: v.replace("{slug}", "short") for k, v in VARIANT_KEYS.items()})
    site.master("short")
    site.article("twice")
    site.master("twice", ext="png")
    site.master("twice", ext="JPG")
    r = run(site, "build")
    assert r.exit_code == 1
    assert site.out("image", "short").exists()
    assert (
        "content/twice.md: two masters for one article: source_images/twice.JPG and source_images/twice.png (keep one)"
        in r.stderr
    )


def test_two_front_matter_stems_with_a_master_each_are_named_not_chosen_between(site):
    """No master by the slug, and the paths' stems name two files: the article used to take the
    first one silently (the hero cut from the card's master) and call the other unused."""
    site.article(
        "t", keys={"image": "/img/artical/articles/card-pic.png", "singleImage": "/img/artical/single-articles/hero-pic.png"}
    )
    site.master("card-pic", colour=(0, 0, 255))
    site.master("hero-pic", colour=(255, 0, 0))
    for ext in ("png", "jpg", "webp", "tif"):
        site.master("many", ext=ext)
    site.article("many")
    r = run(site, "build")
    assert r.exit_code == 1
    assert (
        "content/t.md: two masters for one article: source_images/card-pic.png and source_images/hero-pic.png"
        " (keep one; a variant's own master is named under `masters:`)" in r.stderr
    )
    assert "content/many.md: four masters for one article: source_images/many.jpg, " in r.stderr
    assert not site.public.exists() or not any(site.public.rglob("*-pic.png"))


def test_slug_key_overrides_file_name(site):
    path = site.article("file-name", extra="slug: real-slug", keys={})
    site.master("real-slug")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "warning: content/file-name.md: no `image` key: using /img/artical/articles/real-slug.png" in r.stderr
    assert site.out("image", "real-slug").exists()
    assert path.read_text().count("real-slug") == 1  # the article is never rewritten by a plain build


def test_master_never_modified(site):
    site.article("m")
    master = site.master("m", ext="jpg")
    before = master.read_bytes(), master.stat().st_mtime_ns
    assert run(site, "build", "--force").exit_code == 0
    assert (master.read_bytes(), master.stat().st_mtime_ns) == before


def test_json_report(site):
    site.article("j")
    site.master("j")
    r = run(site, "build", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["totals"]["written"] == 4 and doc["ok"] is True
    out = {o["path"]: o for o in doc["outputs"]}
    single = out["/img/artical/single-articles/j.png"]
    assert (single["width"], single["height"], single["status"], single["reason"]) == (1600, 900, "written", "missing")
    assert single["bytes"] == (site.out("singleImage", "j")).stat().st_size
    assert single["placeholder"].startswith("data:image/") and single["colour"].startswith("#")


def test_console_script_and_module_entry_points(site, tmp_path):
    site.article("s")
    site.master("s")
    exe = Path(sys.executable).with_name("renditions")
    assert exe.exists(), "the console script is installed beside the interpreter"
    p = subprocess.run([str(exe), "build", "--root", str(site.root)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "4 written, 0 up to date, 0 failed" in p.stdout
    assert "\r" not in p.stderr  # no progress bar when stderr is not a terminal
    p = subprocess.run(
        [sys.executable, "-m", "renditions", "check", "--root", str(site.root)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_example_site_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "example"
    for part in ("config", "content", "source_images"):
        shutil.copytree(REPO / part, root / part)
    r = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert r.exit_code == 0, r.output
    articles = sorted((root / "content").glob("*.md"))
    assert len(articles) >= 3
    for md in articles:
        slug = md.stem
        for key, template in VARIANT_KEYS.items():
            assert f'{key}: "{template.format(slug=slug)}"' in md.read_text()
            with Image.open(root / "public" / template.format(slug=slug).lstrip("/")) as im:
                assert (im.format, im.size) == ("PNG", SIZES[key])
    for master in (root / "source_images").glob("*.jpg"):
        assert master.stat().st_size <= 3 * 1024 * 1024


def test_a_master_too_small_is_named_by_dry_run_and_check_as_build_names_it(site):
    """A 500×300 master for 1600×900 variants: the dry run said '0 failed' (exit 0) and check gave
    one 'missing' line per output, where build fails the article naming the master's size. All
    three now give build's line, read from the master's header."""
    site.article("tiny")
    site.master("tiny", (500, 300))
    root = ["--root", str(site.root)]
    dry = CliRunner().invoke(main, ["build", "--dry-run", *root])
    check = CliRunner().invoke(main, ["check", *root])
    real = CliRunner().invoke(main, ["build", *root])
    line = "content/tiny.md: source_images/tiny.png: master 500×300 is smaller than "
    for r in (dry, check, real):
        assert r.exit_code == 1, r.output
        assert [ln for ln in r.output.splitlines() if "tiny" in ln and "missing" in ln] == []
        assert sum(line in ln for ln in r.output.splitlines()) == 1, r.output
    assert dry.stdout.splitlines()[-1].endswith("1 failed (dry run: nothing written)")
    assert not any(site.public.rglob("*.*"))
