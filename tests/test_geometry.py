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


def test_decode_step_is_a_power_of_two_at_or_above_a_variants_own_need():
    from renditions.geometry import decode_step

    for out in ((800, 450), (640, 360), (120, 90), (24, 24)):
        g = plan_geometry("cover", (6000, 4000), out)
        step = decode_step(g)
        assert step >= decode_scale([g]) > step / 2 and (1 / step).is_integer()
    assert decode_step(plan_geometry("cover", (1000, 600), (800, 450))) == 1.0


def test_the_shared_decode_keeps_the_long_side_at_or_above_the_threshold():
    """render.SHARED_DECODE_SIDE: the coarsest power of two leaving at least `side` pixels, a
    function of the master alone (so no output's bytes depend on which siblings are stale)."""
    from renditions.geometry import shared_step

    assert shared_step((6000, 4000), 1600) == 0.5  # 3000 px; 1500 would be too few
    assert shared_step((4096, 4096), 1600) == 0.5
    assert shared_step((2400, 1600), 1600) == 1.0  # 1200 px would be too few
    assert shared_step((12800, 100), 1600) == 0.125
    assert shared_step((800, 600), 1600) == 1.0
    for side in (1, 500, 1600, 5000):
        for long_side in (1, 999, 1600, 3201, 12000):
            step = shared_step((long_side, min(long_side, 10)), side)
            assert long_side * step >= min(side, long_side)
            assert step == 1.0 or long_side * step / 2 < side
