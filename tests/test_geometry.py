"""Pure crop arithmetic: master size × variant × position/focus → crop box, without a pixel."""

from __future__ import annotations

import pytest

from renditions.geometry import GRAVITY, Geometry, TooSmall, decode_scale, plan_geometry, scale_for

# master, variant, position, focus → crop (left, top, width, height)
COVER = [
    # same aspect: the whole master, whatever the position or focus
    ((1920, 1080), (800, 450), "centre", None, (0, 0, 1920, 1080)),
    ((1920, 1080), (800, 450), "west", (0.0, 0.0), (0, 0, 1920, 1080)),
    # 16:9 master into 4:3: full height, 1440 wide, placed by the gravity
    ((1920, 1080), (800, 600), "centre", None, (240, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "west", None, (0, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "east", None, (480, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "northwest", None, (0, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "southeast", None, (480, 0, 1440, 1080)),
    # portrait master into a landscape variant: full width, moved vertically
    ((1800, 2700), (1600, 900), "centre", None, (0, 843.75, 1800, 1012.5)),
    ((1800, 2700), (1600, 900), "north", None, (0, 0, 1800, 1012.5)),
    ((1800, 2700), (1600, 900), "south", None, (0, 1687.5, 1800, 1012.5)),
    ((1800, 2700), (1600, 900), "northeast", None, (0, 0, 1800, 1012.5)),
    ((1800, 2700), (1600, 900), "southwest", None, (0, 1687.5, 1800, 1012.5)),
    # a focal point is centred in the crop when the frame allows...
    ((1920, 1080), (800, 600), "centre", (0.5, 0.5), (240, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "centre", (0.45, 0.5), (144, 0, 1440, 1080)),
    ((1800, 2700), (1600, 900), "centre", (0.5, 0.3), (0, 303.75, 1800, 1012.5)),
    # ...and the crop stops at the master's edge when it doesn't
    ((1920, 1080), (800, 600), "centre", (0.05, 0.5), (0, 0, 1440, 1080)),
    ((1920, 1080), (800, 600), "centre", (1.0, 0.5), (480, 0, 1440, 1080)),
    ((1800, 2700), (1600, 900), "centre", (0.5, 0.0), (0, 0, 1800, 1012.5)),
    ((1800, 2700), (1600, 900), "centre", (0.5, 0.99), (0, 1687.5, 1800, 1012.5)),
    # a focal point overrides the gravity
    ((1920, 1080), (800, 600), "east", (0.05, 0.5), (0, 0, 1440, 1080)),
]


@pytest.mark.parametrize("master,out,position,focus,crop", COVER)
def test_cover_crop_box(master, out, position, focus, crop):
    g = plan_geometry("cover", master, out, GRAVITY[position], focus)
    assert g.crop == pytest.approx(crop)
    assert g.size == out and g.canvas == out


@pytest.mark.parametrize(
    "master,out,size,offset",
    [
        ((1800, 600), (400, 300), (400, 133), (0, 83)),
        ((600, 1800), (400, 300), (100, 300), (150, 0)),
        ((1600, 900), (800, 450), (800, 450), (0, 0)),
    ],
)
def test_contain_fits_inside_and_centres_on_the_canvas(master, out, size, offset):
    g = plan_geometry("contain", master, out)
    assert g.crop == (0, 0, *master)
    assert (g.size, g.canvas, g.offset) == (size, out, offset)


@pytest.mark.parametrize(
    "master,out,size",
    [((1800, 600), (400, 300), (400, 133)), ((600, 1800), (400, 300), (100, 300)), ((300, 200), (400, 300), (300, 200))],
)
def test_inside_output_is_the_fitted_size(master, out, size):
    g = plan_geometry("inside", master, out)
    assert g.size == g.canvas == size


@pytest.mark.parametrize("fit", ["cover", "contain"])
def test_too_small_raises_unless_upscale(fit):
    with pytest.raises(TooSmall, match="master 640×400 is smaller than 1600×900"):
        plan_geometry(fit, (640, 400), (1600, 900))
    g = plan_geometry(fit, (640, 400), (1600, 900), upscale=True)
    assert g.canvas == (1600, 900)


def test_inside_never_enlarges_without_upscale_and_does_with_it():
    assert plan_geometry("inside", (640, 400), (1600, 900)).size == (640, 400)
    assert plan_geometry("inside", (640, 400), (1600, 900), upscale=True).size == (1440, 900)


def test_exact_size_master_is_not_too_small():
    assert plan_geometry("cover", (1600, 900), (1600, 900)).crop == (0, 0, 1600, 900)


def test_scale_for_cover_and_contain():
    assert scale_for("cover", (1920, 1080), (800, 600)) == pytest.approx(600 / 1080)
    assert scale_for("contain", (1920, 1080), (800, 600)) == pytest.approx(800 / 1920)


def test_decode_scale_keeps_headroom_for_the_largest_variant():
    gs = [plan_geometry("cover", (6000, 4000), o) for o in [(800, 450), (1600, 900), (640, 360)]]
    # 1600 px from a 6000 px wide crop needs 0.27 of the master; 1.5 times that is decoded
    assert decode_scale(gs) == pytest.approx(1.5 * 1600 / 6000)
    assert decode_scale([plan_geometry("cover", (1000, 600), (800, 450))]) == 1.0


def test_every_gravity_has_a_position_in_the_unit_square():
    assert set(GRAVITY) == {"centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest"}
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in GRAVITY.values())
    assert isinstance(plan_geometry("cover", (10, 10), (5, 5)), Geometry)


def test_the_shared_decode_keeps_the_long_side_at_the_threshold():
    """render.SHARED_DECODE_SIDE: the scale leaving the long side at `side` pixels, never above 1,
    a function of the master alone (so no output's bytes depend on which siblings are stale)."""
    from renditions.geometry import shared_scale

    assert shared_scale((6000, 4000), 2400) == 0.4
    assert shared_scale((4096, 4096), 2048) == 0.5
    assert shared_scale((3000, 4800), 2400) == 0.5  # portrait: the long side is the height
    assert shared_scale((2400, 1600), 2400) == 1.0
    assert shared_scale((800, 600), 2400) == 1.0  # never enlarged
    for side in (1, 500, 2400, 5000):
        for long_side in (1, 999, 2400, 3201, 12000):
            scale = shared_scale((long_side, min(long_side, 10)), side)
            assert 0 < scale <= 1 and round(long_side * scale, 6) == min(side, long_side)


def test_step_up_is_the_smallest_power_of_two_at_or_above():
    from renditions.geometry import step_up

    for scale in (0.01, 0.1, 0.125, 0.3, 0.4, 0.5, 0.586, 0.99):
        step = step_up(scale)
        assert step >= scale > step / 2 and (1 / step).is_integer()
    assert step_up(1.0) == step_up(1.7) == 1.0


@pytest.mark.parametrize("engine", ["libvips", "pillow"])
@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_every_1600_px_landscape_variant_shares_the_decode_of_a_landscape_master(engine, fmt):
    """With geometry.DECODE_MARGIN's headroom, the shared decode serves the wallpaper and blog
    configs' variants (up to 1600×900) of any landscape master: one decode per master, whatever
    the engine rounds scales to."""
    from renditions.engine import Probe
    from renditions.engines import get_engine
    from renditions.geometry import shared_scale
    from renditions.plan import Crop
    from renditions.render import SHARED_DECODE_SIDE, decode_scales, load_scale, variant_geometry

    def crop(name: str, w: int, h: int) -> Crop:
        return Crop(
            variant=name, width=w, height=h, fit="cover", position="centre", focus=None, background=(255, 255, 255), upscale=False
        )

    eng = get_engine(engine)
    for master in ((6000, 4000), (5120, 2880), (4096, 4096), (3840, 2160), (3640, 2400), (2560, 1600), (1920, 1080)):
        probe = Probe(format=fmt, width=master[0], height=master[1], pages=1, orientation=1, bands=3, sample_bytes=1)
        shared = load_scale(eng.name, fmt, shared_scale(master, SHARED_DECODE_SIDE))
        assert shared * max(master) >= min(SHARED_DECODE_SIDE, max(master)) - 1e-6
        crops = [crop("v", w, h) for w, h in ((1600, 900), (800, 450), (640, 360), (800, 600))]
        scales = decode_scales(eng, probe, {c: variant_geometry(c, master) for c in crops})
        assert set(scales.values()) == {shared}, (master, scales)
    # a variant that needs more pixels than the shared decode has gets a finer decode of its own
    probe = Probe(format=fmt, width=6000, height=4000, pages=1, orientation=1, bands=3, sample_bytes=1)
    big, small = crop("big", 3200, 1800), crop("small", 800, 450)
    scales = decode_scales(eng, probe, {c: variant_geometry(c, (6000, 4000)) for c in (big, small)})
    assert scales[big] == load_scale(eng.name, fmt, 0.8) > scales[small] == load_scale(eng.name, fmt, 0.4)
