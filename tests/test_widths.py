"""Extra widths and densities per variant: files beside the front-matter path, recorded, checked, pruned."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

from renditions.cli import main

CONFIG = """
variants:
  card:   {key: image,  path: "/img/{slug}.png", width: 640, height: 360, widths: [320, 480], densities: [1, 2, 3], also: [webp]}
  mobile: {key: mobile, path: "/img/m/{slug}.png", width: 400, height: 400}
"""


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def size_of(path):
    with Image.open(path) as im:
        return im.format, im.size


def test_widths_and_densities_write_files_of_the_variants_shape(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    site.master("a", (1600, 1200))  # serves 2× (1280×720) but not 3× (1920×1080)
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    img = site.public / "img"
    expected = {"a.png": (640, 360), "a-320w.png": (320, 180), "a-480w.png": (480, 270), "a-1280w.png": (1280, 720)}
    for name, size in expected.items():
        assert size_of(img / name) == ("PNG", size)
        assert size_of(img / name.replace(".png", ".webp")) == ("WEBP", size)
    assert not (img / "a-1920w.png").exists()
    assert (
        "warning: content/a.md:" in r.stderr
        and "/img/a-1920w.png skipped: the master (1600×1200) is too small for 1920×1080" in r.stderr
    )
    manifest = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    assert {"/img/a-320w.png", "/img/a-480w.png", "/img/a-1280w.png", "/img/a-1280w.webp"} <= set(manifest)
    assert manifest["/img/a-480w.png"]["width"] == 480 and manifest["/img/a-480w.png"]["variant"] == "card"
    # no-op: nothing rewritten, check passes
    r = run(site, "build")
    assert "nothing to do" in r.stdout, r.output
    assert run(site, "check").exit_code == 0


def test_upscale_true_serves_every_width(site):
    site.config(CONFIG.replace("also: [webp]}", "upscale: true}"))
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    site.master("a", (1600, 1200))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert size_of(site.public / "img" / "a-1920w.png") == ("PNG", (1920, 1080))
    assert "skipped" not in r.stderr


def test_a_width_file_is_checked_and_pruned_with_its_article(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    extra = site.public / "img" / "a-480w.png"
    Image.new("RGB", (480, 270), "red").save(extra)
    r = run(site, "check")
    assert r.exit_code == 1
    assert "/img/a-480w.png: modified by hand" in r.stdout
    assert run(site, "build").exit_code == 1  # a hand-edited output is not replaced (issue 13) ...
    assert run(site, "build", "--force").exit_code == 0  # ... unless asked
    assert run(site, "check").exit_code == 0
    # the variant drops its widths: the files become orphans that prune deletes
    site.config(CONFIG.replace(" widths: [320, 480], densities: [1, 2, 3],", ""))
    assert run(site, "build").exit_code == 0
    r = run(site, "check", "--strict")
    assert r.exit_code == 1 and "/img/a-480w.png: orphan" in r.stdout
    r = run(site, "prune")
    assert r.exit_code == 2 and "more than half" in r.output  # 6 of 9 outputs: prune asks first (issue 13)
    r = run(site, "prune", "--yes")
    assert r.exit_code == 0, r.output
    assert not extra.exists() and not (site.public / "img" / "a-1280w.webp").exists()
    assert (site.public / "img" / "a.png").exists()
    assert run(site, "check", "--strict").exit_code == 0


def test_widths_under_defaults_and_bad_values(site):
    site.config("defaults: {widths: [200]}\n" + CONFIG.replace(" widths: [320, 480], densities: [1, 2, 3],", ""))
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    assert size_of(site.public / "img" / "a-200w.png") == ("PNG", (200, 113))
    assert size_of(site.public / "img" / "m" / "a-200w.png") == ("PNG", (200, 200))
    site.config(CONFIG.replace("widths: [320, 480]", 'widths: ["wide"]').replace("densities: [1, 2, 3]", "densities: [0, 2]"))
    r = run(site, "build")
    assert r.exit_code == 2
    assert "variants.card.widths: expected a list of widths in pixels, like [480, 960]" in r.stderr
    assert "variants.card.densities: expected a list of pixel densities from 0 to 8, like [1, 2]" in r.stderr


def test_a_width_a_smaller_new_master_cannot_serve_is_an_orphan_that_prune_deletes(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.png"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    wide = site.public / "img" / "a-1280w.png"
    assert wide.exists()
    site.master("a", (1000, 750))  # serves 640 and 480, no longer 1280
    r = run(site, "build")
    assert r.exit_code == 0 and "/img/a-1280w.png skipped" in r.stderr
    r = run(site, "check", "--strict")
    assert r.exit_code == 1 and "/img/a-1280w.png: orphan: no article references it (renditions wrote it" in r.stdout
    r = run(site, "prune")
    assert "deleted /img/a-1280w.png" in r.stdout and not wide.exists()
    assert (site.public / "img" / "a-480w.png").exists()
    assert run(site, "check", "--strict").exit_code == 0
