"""Art direction: `masters: {variant: file}` cuts chosen variants from another master, with its own focus."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

from renditions.cli import main

CONFIG = """
variants:
  wide:   {key: image,  path: "/img/{slug}.png",   width: 800, height: 450, widths: [400]}
  mobile: {key: mobile, path: "/img/m/{slug}.png", width: 300, height: 400, widths: [150]}
"""
RED, BLUE = (220, 20, 20), (20, 20, 220)


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def mean(path):
    with Image.open(path) as im:
        return tuple(round(c) for c in im.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)))


def portrait() -> Image.Image:
    """Top half red, bottom half blue: the focus decides which the mobile crop shows."""
    im = Image.new("RGB", (600, 1600), RED)
    im.paste(BLUE, (0, 800, 600, 1600))
    return im


def write(site, masters: str, focus: str = ""):
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"}, extra=masters + focus)


def test_a_variant_cut_from_its_own_master_with_its_own_focus(site):
    site.config(CONFIG)
    write(site, "masters: {mobile: a-portrait.png}\n", "focus: {mobile: [0.5, 0.9]}\n")
    site.master("a", (1600, 900), colour=(30, 200, 30))  # green landscape
    site.master("a-portrait", image=portrait())
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert mean(site.public / "img" / "a.png") == (30, 200, 30)
    assert mean(site.public / "img" / "a-400w.png") == (30, 200, 30)
    # the focus at 90 % of the portrait's height: the mobile crop is all blue
    for name in ("a.png", "a-150w.png"):
        r_, g_, b_ = mean(site.public / "img" / "m" / name)
        assert b_ > 200 and r_ < 40, (name, (r_, g_, b_))
    manifest = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    assert manifest["/img/m/a.png"]["master"] == "source_images/a-portrait.png"
    assert manifest["/img/a.png"]["master"] == "source_images/a.png"
    assert run(site, "build").stdout.startswith("nothing to do")
    assert run(site, "check").exit_code == 0

    # a changed portrait re-renders the mobile outputs only
    site.master("a-portrait", image=portrait().transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    r = run(site, "check")
    assert r.exit_code == 1 and "/img/m/a.png: stale: its master changed" in r.stdout and "/img/a.png:" not in r.stdout
    r = run(site, "build", "--json")
    written = sorted(o["path"] for o in json.loads(r.stdout)["outputs"] if o["status"] == "written")
    assert written == ["/img/m/a-150w.png", "/img/m/a.png"]
    r_, g_, b_ = mean(site.public / "img" / "m" / "a.png")
    assert r_ > 200 and b_ < 40  # now the bottom is red


def test_bad_masters_entries_fail_the_article_with_one_line_each(site):
    site.config(CONFIG)
    site.master("a", (1600, 900))
    site.master("b", (1600, 900))
    site.article("b", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    for entry, reason in (
        ("masters: {mobile: nope.jpg}", "masters.mobile: no master source_images/nope.jpg"),
        ("masters: {tablet: a.png}", "masters.tablet: not a variant (expected one of mobile, wide)"),
        (
            "masters: {mobile: ../a.png}",
            "masters.mobile: expected the name of a file in source_images/, like portrait.jpg, got '../a.png'",
        ),
        ("masters: portrait.jpg", "masters: expected a mapping of variant to a file in source_images/, got str"),
    ):
        write(site, entry + "\n")
        r = run(site, "build")
        assert r.exit_code == 1, r.output
        assert f"error: content/a.md: {reason}" in r.stderr.splitlines(), r.stderr
        assert (site.public / "img" / "b.png").exists()  # other articles still build
        assert not (site.public / "img" / "a.png").exists()


def test_a_too_small_art_directed_master_names_itself(site):
    site.config(CONFIG)
    write(site, "masters: {mobile: small.png}\n")
    site.master("a", (1600, 900))
    site.master("small", (100, 100))
    r = run(site, "build")
    assert r.exit_code == 1
    assert "error: content/a.md: source_images/small.png: master 100×100 is smaller than mobile (300×400)" in r.stderr
    assert not (site.public / "img" / "a.png").exists()  # all or nothing per article


def test_a_variant_s_own_master_named_like_its_path_is_no_second_candidate(site):
    """No master by the slug: the card's master comes from its path's stem, and the hero's is named
    under `masters:` (its file also matches its path's stem). Counting that file as a second
    candidate for the article failed it with 'two masters for one article'."""
    site.config(CONFIG)
    site.article(
        "t", keys={"image": "/img/card-pic.png", "mobile": "/img/m/hero-pic.png"}, extra="masters: {mobile: hero-pic.png}"
    )
    site.master("card-pic", (1600, 900), colour=BLUE)
    Image.new("RGB", (600, 800), RED).save(site.sources / "hero-pic.png")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert mean(site.public / "img/card-pic.png") == BLUE and mean(site.public / "img/m/hero-pic.png") == RED


def test_the_article_s_master_may_also_be_named_for_one_variant(site):
    """No master by the slug; both paths' stems name beach.png, which `masters:` also names for
    the mobile variant (redundant, but valid): the article's master is beach.png, not missing."""
    site.config(CONFIG)
    site.article("trip", keys={"image": "/img/beach.png", "mobile": "/img/m/beach.png"}, extra="masters: {mobile: beach.png}")
    Image.new("RGB", (1600, 1200), BLUE).save(site.sources / "beach.png")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert mean(site.public / "img/beach.png") == BLUE and mean(site.public / "img/m/beach.png") == BLUE


def test_a_dry_run_and_check_stop_at_the_first_master_build_would_fail_at(site):
    """The article's own master cut short (build fails on it first), its portrait master too
    small for mobile: the dry run and check named the portrait's size, never the broken file."""
    site.config(CONFIG)
    write(site, "masters: {mobile: a-portrait.png}\n")
    own = site.master("a", (1600, 900))
    own.write_bytes(own.read_bytes()[:40])
    site.master("a-portrait", (200, 300))
    for args in (("build", "--dry-run"), ("check",)):
        r = run(site, *args)
        assert "a-portrait.png: master 200×300 is smaller" not in r.output, (args, r.output)
    r = run(site, "build")
    assert r.exit_code == 1 and "source_images/a.png:" in r.output and "smaller" not in r.output
