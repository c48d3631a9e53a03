"""Smaller variants of the same crop are resized from a bigger variant's pixels (Crop.source).

The plan names the source (a table, no pixels); render resizes the bigger crop's pixels instead of
cutting the decoded master again, and only where this master gives both the same crop; an
output's bytes are the same whichever of its siblings is stale.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import VARIANT_KEYS
from PIL import Image
from test_engines import in_child
from test_plan import article

from renditions import pipeline
from renditions.config import ENCODER_DEFAULTS, Encoder, Variant, load_config
from renditions.plan import Recipes, recipe_hash
from renditions.render import derivations, variant_geometry


def enc(fmt: str = "png") -> tuple[Encoder, ...]:
    return (Encoder(fmt, tuple(sorted(ENCODER_DEFAULTS[fmt].items()))),)


def variant(name: str, w: int, h: int, **kw) -> Variant:
    return Variant(name, name, f"/img/{name}/{{slug}}.png", w, h, encoders=enc(), **kw)


SINGLE = variant("single", 1600, 900)
CARD = variant("card", 800, 450)
THUMB = variant("thumb", 640, 360)
TALL = variant("tall", 800, 600)
TOP = variant("top", 400, 225, position="north")
SMART = variant("smart", 320, 180, position="attention")
PADDED = variant("padded", 480, 270, fit="contain")
ALL = (SINGLE, CARD, THUMB, TALL, TOP, SMART, PADDED)


def sources(variants=ALL, a=None) -> dict[str, tuple]:
    recipes = Recipes("test 1.0", variants)
    a = a or article("a")
    return {v.name: recipes.resolve(v, a, "png")[0].source for v in variants}


def test_the_same_crop_smaller_is_resized_from_a_bigger_size():
    assert sources() == {
        "single": (),  # the biggest: cut from the master
        "card": ((1600, 900),),
        "thumb": ((1600, 900), (800, 450)),  # biggest first: render takes the first this master serves
        "tall": (),  # another aspect ratio: another crop
        "top": (),  # another position: another crop
        "smart": (),  # a smart crop is decided by the pixels
        "padded": (),  # another fit
    }


def test_the_source_depends_on_the_config_alone():
    """A focus point or a master of another variant's own does not change how card is cut: two
    translations that differ only there still share card's output (ownership._same_bytes)."""
    plain = Recipes("test 1.0", ALL).resolve(CARD, article("a"), "png")
    focused = Recipes("test 1.0", ALL).resolve(CARD, article("a", focus=[("single", (0.1, 0.5))]), "png")
    own = replace(article("a"), masters=(("single", article("a").master.with_name("hero.png")),))
    assert plain == focused == Recipes("test 1.0", ALL).resolve(CARD, own, "png")
    assert sources(a=article("a", focus=[("card", (0.2, 0.3))]))["card"] == ((1600, 900),)


def test_extra_widths_are_resized_from_the_variants_but_are_no_source():
    wide = replace(SINGLE, widths=(2400, 1200))
    recipes = Recipes("test 1.0", (wide, CARD))
    assert recipes.resolve(CARD, article("a"), "png")[0].source == ((1600, 900),)  # not the 2400 width
    extra = recipes.resolve(replace(wide, width=1200, height=675, widths=()), article("a"), "png")[0]
    assert extra.source == ((1600, 900),)
    # a width or density added or dropped does not re-render the other variants
    assert Recipes("test 1.0", (SINGLE, CARD)).resolve(CARD, article("a"), "png") == recipes.resolve(CARD, article("a"), "png")


def test_the_source_is_in_the_recipe_and_nothing_else_changes():
    plain = Recipes("test 1.0", (CARD,)).resolve(CARD, article("a"), "png")
    derived = Recipes("test 1.0", (SINGLE, CARD)).resolve(CARD, article("a"), "png")
    bigger = Recipes("test 1.0", (replace(SINGLE, width=2000, height=1125), CARD)).resolve(CARD, article("a"), "png")
    assert plain[0].source == () and plain[2] == recipe_hash(plain[0], "png", plain[1], "test 1.0")
    assert len({plain[2], derived[2], bigger[2]}) == 3  # a new source re-renders the output
    alone = Recipes("test 1.0", (SINGLE,)).resolve(SINGLE, article("a"), "png")
    assert alone == Recipes("test 1.0", (SINGLE, CARD)).resolve(SINGLE, article("a"), "png")


@pytest.mark.parametrize(
    "master, upscale, derived",
    [
        ((1920, 1080), False, {"card": (1600, 900), "thumb": (1600, 900)}),
        ((1600, 1200), False, {"card": (1600, 900), "thumb": (1600, 900)}),  # the same 16:9 band of a 4:3 master
        ((1000, 600), True, {"thumb": (800, 450)}),  # 1600 would be enlarged: thumb takes the next size, card none
    ],
)
def test_render_resizes_only_where_the_master_gives_the_same_crop(master, upscale, derived):
    recipes = Recipes("e", ALL)
    crops = [replace(recipes.resolve(v, article("a"), "png")[0], upscale=upscale) for v in (CARD, THUMB, TALL)]
    found = derivations({c: variant_geometry(c, master) for c in crops}, master)
    assert {c.variant: (bigger.width, bigger.height) for c, (bigger, _g) in found.items()} == derived
    for crop, (bigger, geometry) in found.items():
        assert geometry.crop == variant_geometry(crop, master).crop and bigger.focus == crop.focus


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@in_child  # libvips' threads must not run in the test process (test_engines.in_child)
def resized_here(big, small, eng):
    """The small output's pixels are the big output's (lossless PNG: the pixels cut) resized."""
    if eng.name == "libvips":
        import pyvips

        got = eng.resize(pyvips.Image.new_from_file(str(big)), (800, 450))
        expected = np.ndarray(buffer=got.write_to_memory(), dtype=np.uint8, shape=(450, 800, got.bands))
    else:
        expected = np.asarray(eng.resize(Image.open(big).convert("RGB"), (800, 450)))
    assert (pixels(small) == expected).all()


def test_a_smaller_variant_is_the_bigger_ones_pixels_resized(site, engine):
    site.article("a")
    site.master("a", size=(2000, 1400), image=Image.effect_mandelbrot((2000, 1400), (-2, -1.2, 1, 1.2), 60).convert("RGB"))
    assert pipeline.build(site.root, engine=engine, jobs=1).ok
    resized_here(site.out("singleImage", "a"), site.out("image", "a"), eng=engine)
    # the 800×600 variant is another crop: cut from the master, whatever its size
    assert Image.open(site.out("MobileSingleImage", "a")).size == (800, 600)
    # one crop, one placeholder: the 16-px preview of the 1600×900 serves its smaller sizes
    entries = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    ph = {k: entries[VARIANT_KEYS[k].format(slug="a")]["placeholder"] for k in VARIANT_KEYS}
    assert ph["image"] == ph["mobile"] == ph["singleImage"] != ph["MobileSingleImage"]


def test_the_bytes_do_not_depend_on_which_sibling_is_stale(site):
    site.article("a")
    site.master("a", size=(2400, 1600), image=Image.effect_mandelbrot((2400, 1600), (-2, -1.2, 1, 1.2), 60).convert("RGB"))
    assert pipeline.build(site.root, jobs=1).ok
    before = {k: site.out(k, "a").read_bytes() for k in ("image", "mobile", "singleImage")}
    site.out("image", "a").unlink()
    site.out("mobile", "a").unlink()
    report = pipeline.build(site.root, jobs=1)
    assert report.ok and report.count("written") == 2 and report.count("up to date") == 2
    assert {k: site.out(k, "a").read_bytes() for k in before} == before


def test_changing_the_bigger_variant_re_renders_the_smaller_ones(site):
    site.article("a")
    site.master("a")
    assert pipeline.build(site.root, jobs=1).ok
    cfg = (site.root / "config" / "renditions.yaml").read_text()
    site.config(cfg.replace("width: 1600, height: 900", "width: 1280, height: 720"))
    assert [v.height for v in load_config(site.root).variants if v.name == "single"] == [720]
    report = pipeline.build(site.root, jobs=1)
    assert report.ok
    assert {r.path.rsplit("/", 2)[1] for r in report.outputs if r.status == "written"} == {
        "single-articles",
        "articles",
        "mobile-articles",
    }
    with Image.open(io.BytesIO(site.out("singleImage", "a").read_bytes())) as im:
        assert im.size == (1280, 720)


def test_a_variant_aimed_elsewhere_is_not_cut_from_the_other_variants_pixels(site):
    """single's focus at the far left; card keeps the centre: its pixels are its own crop (the
    bigger size cut for it alone, aimed as card is), not single's resized."""
    site.article("a", extra="focus:\n  single: [0.0, 0.5]")
    site.master("a", size=(3200, 1000))  # wider than 16:9: the crop slides left and right
    assert pipeline.build(site.root, jobs=1).ok
    card, single = pixels(site.out("image", "a")).mean(), pixels(site.out("singleImage", "a")).mean()
    centre = np.asarray(Image.open(site.sources / "a.png").convert("RGB"))[:, 711:2489].mean()  # the middle 16:9
    assert abs(card - centre) < 2 and single < centre - 20
