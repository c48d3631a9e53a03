"""Issue 13: the manifest tells the truth and an output's bytes depend only on its master, its
recipe and the engine: never on which other outputs are rendered with it, --jobs or --only."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from renditions import session as session_mod
from renditions.cli import main

CONFIG = """\
content: "content/**/*.md"
sources: source_images
public: public
manifest: renditions.lock.json
defaults: {also: [webp]}
variants:
  big:   {key: image, path: "/img/{slug}.jpg",   width: 600, height: 400}
  card:  {key: card,  path: "/img/c/{slug}.png", width: 120, height: 90}
  thumb: {key: thumb, path: "/img/t/{slug}.jpg", width: 24,  height: 24, position: west}
"""
KEYS = {"image": "/img/{slug}.jpg", "card": "/img/c/{slug}.png", "thumb": "/img/t/{slug}.jpg"}


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def files(site) -> dict[str, bytes]:
    return {str(p.relative_to(site.root)): p.read_bytes() for p in sorted(site.public.rglob("*")) if p.is_file()}


def detailed(size):
    """A master with detail at every scale (a sharp checkerboard over a gradient), so that decoding
    it at another scale shows in the output's bytes."""
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    px = im.load()
    for y in range(0, size[1], 3):
        for x in range((y // 3) % 2, size[0], 2):
            px[x, y] = (255, 30, 30)
    return im


@pytest.fixture
def site3(site, engine):
    site.config(CONFIG)
    for slug in ("a", "b"):
        site.article(slug, keys=KEYS)
        site.master(slug, ext="jpg", image=detailed((1800, 1200)))
    site.engine = engine
    return site


def test_deleting_one_output_and_rebuilding_gives_the_same_bytes(site3):
    site, engine = site3, site3.engine
    assert run(site, "build", "--engine", engine, "--jobs", "2").exit_code == 0
    full = files(site)
    assert len(full) == 12
    for path in full:
        (site.root / path).unlink()
        r = run(site, "build", "--engine", engine, "--jobs", "1")
        assert r.exit_code == 0 and "1 written" in r.output, r.output
        assert files(site) == full, path
    for p in list(full):
        if "/a." in p:  # every output of article a
            (site.root / p).unlink()
    assert run(site, "build", "--engine", engine, "--only", "a").exit_code == 0
    assert files(site) == full


def test_a_master_changed_while_it_was_rendered_writes_and_records_nothing(site, monkeypatch):
    site.config(CONFIG)
    site.article("a", keys=KEYS)
    site.master("a", (900, 600), colour=(10, 200, 10))
    plan = session_mod.Session.plan

    def swap_after_planning(self, force=False):
        result = plan(self, force)
        site.master("a", (900, 600), colour=(200, 10, 10))  # swapped between the plan and the render
        return result

    monkeypatch.setattr(session_mod.Session, "plan", swap_after_planning)
    r = run(site, "build", "--jobs", "1")
    assert r.exit_code == 1
    assert (
        "error: content/a.md: source_images/a.png: changed while it was being rendered: nothing of this article was written; "
        "run build again"
    ) in r.output.splitlines()
    assert files(site) == {}
    assert json.loads((site.root / "renditions.lock.json").read_text())["outputs"] == {}
    monkeypatch.undo()
    assert run(site, "build").exit_code == 0
    with Image.open(site.public / "img/c/a.png") as im:
        assert im.convert("RGB").getpixel((60, 45))[0] > 150  # cut from the master as it is now
