"""One flatten-onto-background rule, the same pixels from both engines.

The rule is the browser's: straight alpha over the 8-bit sRGB values, out = a·fg + (1 − a)·bg,
a = alpha / 255, rounded. The oracle below computes it with exact fractions, independently of
renditions' own code; each master goes through the real CLI with each engine.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import json_report
from PIL import Image

from renditions.encoders import flatten

W, H = 64, 32
RED, DARK = (255, 0, 0), (64, 64, 64)
#: JPEG at quality 100 (quantisation step 1, full chroma in both engines from quality 90) still
#: rounds twice, RGB → YCbCr → RGB, and its DCT rounds once more: about ±1 level each, so 3.
JPEG_TOLERANCE = 3


def expected(fg: tuple[int, ...], alpha: int, bg: tuple[int, ...]) -> tuple[int, ...]:
    a = Fraction(alpha, 255)
    return tuple(math.floor(a * f + (1 - a) * b + Fraction(1, 2)) for f, b in zip(fg, bg))


def alpha_at(x: int, y: int) -> int:
    """Top half 50 % (128), bottom half a gradient from fully transparent to opaque."""
    return 128 if y < H // 2 else round(255 * x / (W - 1))


def master(colour: tuple[int, ...]) -> Image.Image:
    mode = "LA" if len(colour) == 1 else "RGBA"
    im = Image.new(mode, (W, H))
    im.putdata([(*colour, alpha_at(x, y)) for y in range(H) for x in range(W)])
    return im


MASTERS = {"grey": (128,), "colour": (30, 200, 90)}
VARIANTS = {  # name: (key, extension, fit, height, background)
    "flat": ("flat", "jpg", "cover", H, "#ff0000"),
    "flatdark": ("flatdark", "jpg", "cover", H, "#404040"),
    "pad": ("pad", "png", "contain", 2 * H, "#ff0000"),
    "paddark": ("paddark", "png", "contain", 2 * H, "#404040"),
}
CONFIG = "defaults: {jpeg: {quality: 100}}\nvariants:\n" + "".join(
    f'  {n}: {{key: {k}, path: "/img/{n}/{{slug}}.{ext}", width: {W}, height: {h}, fit: {fit}, background: "{bg}"}}\n'
    for n, (k, ext, fit, h, bg) in VARIANTS.items()
)


ENGINES = ("vips", "pillow")


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """One site per engine, built through the CLI: (root, the --json report)."""
    return {engine: build(engine, tmp_path_factory.mktemp(f"flatten-{engine}")) for engine in ENGINES}


def build(engine: str, root: Path) -> tuple[Path, dict]:
    for d in ("config", "content", "source_images"):
        (root / d).mkdir()
    (root / "config" / "renditions.yaml").write_text(CONFIG)
    masters = {slug: master(colour) for slug, colour in MASTERS.items()}
    masters["uniform"] = Image.new("LA", (W, H), (128, 128))
    for slug, im in masters.items():
        im.save(root / "source_images" / f"{slug}.png")
        keys = "".join(f"{k}: /img/{n}/{slug}.{ext}\n" for n, (k, ext, *_) in VARIANTS.items())
        (root / "content" / f"{slug}.md").write_text(f"---\n{keys}---\n")
    run = subprocess.run(
        [sys.executable, "-m", "renditions", "build", "--root", str(root), "--engine", engine, "--jobs", "1", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "RENDITIONS_CACHE_DIR": str(root / "cache")},
    )
    assert run.returncode == 0, run.stderr
    return root, json_report(run.stdout)


def output(root: Path, variant: str, slug: str) -> Image.Image:
    ext = VARIANTS[variant][1]
    im = Image.open(io.BytesIO((root / "public" / "img" / variant / f"{slug}.{ext}").read_bytes()))
    im.load()
    return im


def rgb_pixels(im: Image.Image) -> list[tuple[int, ...]]:
    return list(zip(*[iter(im.tobytes())] * 3))


def test_the_rule_on_a_few_pixels():
    # a transparent grey over #ff0000 is #ff0000 (the engines used to give grey 85 and grey 76)
    la = Image.new("LA", (3, 1))
    la.putdata([(128, 0), (128, 128), (128, 255)])
    flat = flatten(la, RED)
    assert flat.mode == "RGB" and rgb_pixels(flat) == [RED, expected((128,) * 3, 128, RED), (128, 128, 128)]
    flat = flatten(la, DARK)
    assert flat.mode == "L" and list(flat.tobytes()) == [64, expected((128,), 128, (64,))[0], 128]
    rgba = Image.new("RGBA", (256, 1))
    rgba.putdata([(30, 200, 90, a) for a in range(256)])
    flat = flatten(rgba, (255, 0, 10))
    assert flat.mode == "RGB" and rgb_pixels(flat) == [expected((30, 200, 90), a, (255, 0, 10)) for a in range(256)]
    opaque = Image.new("RGB", (2, 2), (1, 2, 3))
    assert flatten(opaque, RED) is opaque


def test_the_rule_holds_for_every_level_alpha_and_background():
    """All 256³ (fg, alpha, bg), grey and colour: out = floor((fg·a + bg·(255 − a)) / 255 + 1/2)."""
    fg = np.tile(np.arange(256, dtype=np.int64), (256, 1))  # x: the colour
    alpha = fg.T  # y: the alpha
    grey = Image.merge("LA", [Image.fromarray(fg.astype(np.uint8)), Image.fromarray(alpha.astype(np.uint8))])
    bands = np.stack([fg, 255 - fg, fg // 3], axis=2)  # every level in the first two bands
    colour = Image.merge("RGBA", [*(Image.fromarray(b) for b in bands.transpose(2, 0, 1).astype(np.uint8)), grey.getchannel(1)])

    def rule(c, bg):
        return (2 * (c * alpha + bg * (255 - alpha)) + 255) // 510

    for bg in range(256):
        got = np.asarray(flatten(grey, (bg, bg, bg)), dtype=np.int64)
        assert np.array_equal(got, rule(fg, bg)), f"grey over {bg}: {int((got != rule(fg, bg)).sum())} values off"
        rgb = (bg, 255 - bg, bg // 2)
        got = np.asarray(flatten(colour, rgb), dtype=np.int64)
        want = np.stack([rule(bands[..., i], rgb[i]) for i in range(3)], axis=2)
        assert np.array_equal(got, want), f"colour over {rgb}: {int((got != want).sum())} values off"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("slug", sorted(MASTERS))
def test_jpeg_flattens_by_the_rule_in_both_engines(sites, engine, slug):
    root, _ = sites[engine]
    fg = MASTERS[slug]
    for variant, bg, mode in (("flat", RED, "RGB"), ("flatdark", DARK, "L" if len(fg) == 1 else "RGB")):
        im = output(root, variant, slug)
        assert im.size == (W, H) and im.mode == mode, (variant, im.size, im.mode)
        want_bg = bg[:1] if mode == "L" else bg
        worst = 0
        for y in range(H):
            for x in range(W):
                got = im.getpixel((x, y))
                got = (got,) if mode == "L" else got
                want = expected(fg * (len(want_bg) // len(fg)), alpha_at(x, y), want_bg)
                worst = max(worst, *(abs(g - w) for g, w in zip(got, want)))
        assert worst <= JPEG_TOLERANCE, f"{engine} {variant} {slug}: off by {worst} levels"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("slug", sorted(MASTERS))
def test_contain_pads_with_the_background_and_keeps_the_pixels_exactly(sites, engine, slug):
    root, _ = sites[engine]
    fg = MASTERS[slug]
    for variant, bg in (("pad", RED), ("paddark", DARK)):
        im = output(root, variant, slug)
        grey = len(fg) == 1 and bg == DARK
        assert im.size == (W, 2 * H) and im.mode == ("LA" if grey else "RGBA"), (engine, variant, im.mode)
        colour = fg if grey else fg * (3 // len(fg))
        pad = (bg[0], 255) if grey else (*bg, 255)
        top = H // 2
        want = [pad] * (W * top) + [(*colour, alpha_at(x, y)) for y in range(H) for x in range(W)] + [pad] * (W * top)
        assert list(zip(*[iter(im.tobytes())] * len(pad))) == want, f"{engine} {variant} {slug}"


@pytest.mark.parametrize("engine", ENGINES)
def test_placeholder_colour_is_the_flattened_colour(sites, engine):
    _, report = sites[engine]
    colours = {o["variant"]: o["colour"] for o in report["outputs"] if o["path"].endswith("/uniform.jpg")}
    want = {"flat": expected((128,) * 3, 128, RED), "flatdark": expected((128,) * 3, 128, DARK)}
    assert colours == {v: "#{:02x}{:02x}{:02x}".format(*c) for v, c in want.items()}, engine


def test_both_engines_write_the_same_pixels(sites):
    (a, _), (b, _) = sites["vips"], sites["pillow"]
    for slug in MASTERS:
        for variant in ("pad", "paddark"):
            assert output(a, variant, slug).tobytes() == output(b, variant, slug).tobytes(), (variant, slug)
        for variant in ("flat", "flatdark"):
            ja, jb = output(a, variant, slug).tobytes(), output(b, variant, slug).tobytes()
            diff = max(abs(p - q) for p, q in zip(ja, jb))
            assert len(ja) == len(jb) and diff <= JPEG_TOLERANCE, f"{variant} {slug}: the engines' JPEGs differ by {diff} levels"
