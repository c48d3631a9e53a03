"""Pure arithmetic of crops and sizes: which part of the upright master becomes each variant.

Kept apart from the engines so that every crop can be tested without a pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Where each gravity puts the crop, as fractions of the free space (x, y).
#: Positions where the crop is chosen from the pixels when rendering (libvips' smartcrop), not by a gravity.
SMART_POSITIONS = ("attention", "entropy")

GRAVITY = {
    "centre": (0.5, 0.5),
    "north": (0.5, 0.0),
    "northeast": (1.0, 0.0),
    "east": (1.0, 0.5),
    "southeast": (1.0, 1.0),
    "south": (0.5, 1.0),
    "southwest": (0.0, 1.0),
    "west": (0.0, 0.5),
    "northwest": (0.0, 0.0),
}

#: Headroom kept above the largest variant when decoding at reduced size. From 1.5× the output
#: size the variants keep as much detail as sharp's on the corpus, where shrink-on-load bites
#: hardest; 2× kept a little more for ~15 % more build time (measured in BENCHMARKS.md).
DECODE_MARGIN = 1.5


@dataclass(frozen=True)
class Geometry:
    """crop: (left, top, width, height) in upright-master pixels; size: resized crop;
    canvas: the output's size (bigger than size only for `contain`, centred)."""

    crop: tuple[float, float, float, float]
    size: tuple[int, int]
    canvas: tuple[int, int]

    @property
    def offset(self) -> tuple[int, int]:
        return ((self.canvas[0] - self.size[0]) // 2, (self.canvas[1] - self.size[1]) // 2)


class TooSmall(ValueError):
    pass


def scale_for(fit: str, master: tuple[int, int], out: tuple[int, int]) -> float:
    (mw, mh), (w, h) = master, out
    return max(w / mw, h / mh) if fit == "cover" else min(w / mw, h / mh)


def plan_geometry(
    fit: str,
    master: tuple[int, int],
    out: tuple[int, int],
    anchor: tuple[float, float] = (0.5, 0.5),
    focus: tuple[float, float] | None = None,
    upscale: bool = False,
) -> Geometry:
    """Crop and size for one variant.

    `anchor` is a gravity as fractions of the free space; `focus` is a point of the master
    (fractions of its width and height) that the crop keeps as near its centre as it can.
    Raises TooSmall when the variant would need enlarging and `upscale` is off.
    """
    mw, mh = master
    w, h = out
    s = scale_for(fit, master, out)
    if s > 1 and not upscale:
        if fit == "inside":
            s = 1.0
        else:
            raise TooSmall(f"master {mw}×{mh} is smaller than {w}×{h}")
    if fit == "cover":
        cw, ch = min(mw, w / s), min(mh, h / s)
        if focus is not None:
            left = min(max(focus[0] * mw - cw / 2, 0.0), mw - cw)
            top = min(max(focus[1] * mh - ch / 2, 0.0), mh - ch)
        else:
            left, top = (mw - cw) * anchor[0], (mh - ch) * anchor[1]
        return Geometry((left, top, cw, ch), (w, h), (w, h))
    size = (max(1, min(w, round(mw * s))), max(1, min(h, round(mh * s))))
    canvas = (w, h) if fit == "contain" else size
    return Geometry((0.0, 0.0, float(mw), float(mh)), size, canvas)


def decode_scale(geometries: list[Geometry]) -> float:
    """The smallest scale of the master that still serves every variant with margin (≤ 1)."""
    need = 0.0
    for g in geometries:
        need = max(need, g.size[0] / g.crop[2], g.size[1] / g.crop[3])
    return min(1.0, need * DECODE_MARGIN)


def step_up(scale: float) -> float:
    """The smallest power-of-two scale (1, 1/2, 1/4, ...) at or above `scale`: the scales a JPEG
    decodes at without a resampling pass (shrink-on-load), and at which other formats are either
    kept whole or reduced once while streaming."""
    if scale >= 1:
        return 1.0
    return 2.0 ** -math.floor(math.log2(1 / scale))


def shared_scale(master: tuple[int, int], side: int) -> float:
    """The scale that leaves the master's long side at `side` pixels (1 for a smaller master):
    the decode a master's variants share. A function of the master alone, so that no output's
    bytes depend on which of its siblings are stale."""
    return min(1.0, side / max(master))
