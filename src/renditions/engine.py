"""The one seam between renditions and its imaging libraries.

Two engines implement the same small protocol: libvips (engine_vips) and Pillow
(engine_pillow). Nothing outside those two modules imports pyvips or Pillow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from .geometry import Geometry

#: Input formats renditions accepts as masters, judged by content, not by name.
MASTER_FORMATS = ("jpeg", "png", "webp", "tiff", "gif", "heif", "avif")

_XMP_ORIENTATION = re.compile(rb"tiff:Orientation(?:>|=\s*[\"'])\s*([1-8])")


def xmp_orientation(xmp: bytes | None) -> int | None:
    """Orientation from an XMP packet (`tiff:Orientation`), which some tools write instead of EXIF."""
    if not xmp:
        return None
    m = _XMP_ORIENTATION.search(xmp)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Probe:
    """What a master's header says, read without decoding its pixels."""

    format: str
    width: int  # upright: after the orientation is applied
    height: int
    pages: int = 1
    orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class Placeholder:
    colour: str  # dominant colour, "#rrggbb"
    data_uri: str  # a tiny blurred image to show while the real one loads


class Loaded(Protocol):
    """A master decoded into memory: upright, sRGB (or grey), 8 bits, alpha kept."""

    width: int
    height: int


class Engine(Protocol):
    name: str
    version: str

    def probe(self, path: str) -> Probe:
        """Read the header only. Raises RenderError for unknown or unsupported content."""

    def load(self, path: str, probe: Probe, scale: float) -> Loaded:
        """Decode strictly, at no less than `scale` of the upright master's size."""

    def cut(self, img: Loaded, geometry: Geometry, master: tuple[int, int], position: str, background: tuple[int, int, int]) -> Any:
        """The variant's pixels: crop (or smart crop), resize, pad for `contain`."""

    def encode(self, pixels: Any, fmt: str, options: dict, background: tuple[int, int, int]) -> Encoded:
        """Encode with no metadata; JPEG flattens alpha onto `background`."""

    def placeholder(self, pixels: Any, background: tuple[int, int, int]) -> Placeholder:
        """Dominant colour and a tiny blurred data URI."""


def get_engine(name: str | None = None, threads: int | None = None) -> Engine:
    """libvips unless asked otherwise or unavailable; Pillow as the fallback."""
    if name in (None, "auto", "vips", "libvips"):
        try:
            from .engine_vips import VipsEngine
        except Exception:  # pragma: no cover - depends on the machine
            if name in ("vips", "libvips"):
                raise
        else:
            return VipsEngine(threads=threads)
    if name in (None, "auto", "pillow"):
        from .engine_pillow import PillowEngine

        return PillowEngine()
    raise ValueError(f"unknown engine {name!r} (expected vips or pillow)")
