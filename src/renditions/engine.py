"""The one seam between renditions and its imaging libraries.

Two engines implement the same small protocol: libvips (engine_vips) and Pillow
(engine_pillow). This module holds the protocol and the plain data and metadata readers they
share, and imports neither engine: `engines.get_engine` chooses one, `encoders` holds the
encoders both use. Nothing but those modules imports pyvips or Pillow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .geometry import Geometry

_XMP_ORIENTATION = re.compile(rb"tiff:Orientation(?:>|=\s*[\"'])\s*([1-8])")


def xmp_orientation(xmp: bytes | None) -> int | None:
    """Orientation from an XMP packet (`tiff:Orientation`), which some tools write instead of EXIF."""
    if not xmp:
        return None
    m = _XMP_ORIENTATION.search(xmp)
    return int(m.group(1)) if m else None


def _ifd0_value(tiff: bytes, tag: int) -> int | None:
    """A SHORT or LONG tag's value from IFD0 of a TIFF-structured block (EXIF, MPF).

    A few lines instead of a library: only IFD0 is read, and anything malformed is None."""
    order: Literal["little", "big"] | None = {b"II": "little", b"MM": "big"}.get(tiff[:2])  # type: ignore[assignment]
    if order is None or len(tiff) < 8:
        return None
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return None
    for i in range(int.from_bytes(tiff[ifd : ifd + 2], order)):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            return None
        if int.from_bytes(entry[0:2], order) == tag:
            kind = int.from_bytes(entry[2:4], order)
            return int.from_bytes(entry[8:10] if kind == 3 else entry[8:12], order)
    return None


def exif_orientation(exif: bytes | None) -> int | None:
    """The Orientation tag (0x0112) of a raw EXIF block ("Exif\\0\\0" header optional)."""
    if not exif:
        return None
    value = _ifd0_value(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif, 0x0112)
    return value if value is not None and 1 <= value <= 8 else None


def _head(path: str, limit: int, data: bytes | None) -> bytes | None:
    """The first `limit` bytes of the master: from memory when it was read already."""
    if data is not None:
        return data[:limit]
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def mpo_frames(path: str, limit: int = 1 << 16, data: bytes | None = None) -> int:
    """Images an MPO (multi-picture JPEG: stereo pairs, previews) declares in its APP2 MPF
    segment; 1 for a plain JPEG. libvips reads only the first and doesn't count them."""
    head = _head(path, limit, data)
    if head is None:
        return 1
    i = head.find(b"\xff\xe2\x00")
    while i >= 0:
        if head[i + 4 : i + 8] == b"MPF\x00":
            count = _ifd0_value(head[i + 8 :], 0xB001)  # NumberOfImages
            return count if count and count > 1 else 1
        i = head.find(b"\xff\xe2\x00", i + 2)
    return 1


def raw_profile_exif(text: str | None) -> bytes | None:
    """EXIF from ImageMagick's legacy PNG text chunk "Raw profile type exif" (name, length, hex)."""
    if not text:
        return None
    parts = text.split()
    if len(parts) < 3 or parts[0] != "exif":
        return None
    try:
        return bytes.fromhex("".join(parts[2:]))
    except ValueError:
        return None


def png_frames(path: str, limit: int = 1 << 20, data: bytes | None = None) -> int:
    """Frames an APNG declares (its acTL chunk comes before the first IDAT); 1 for a still PNG."""
    head = _head(path, limit, data)
    if head is None:
        return 1
    i = 8
    while i + 8 <= len(head):
        length = int.from_bytes(head[i : i + 4], "big")
        kind = head[i + 4 : i + 8]
        if kind == b"acTL" and i + 12 <= len(head):
            return max(1, int.from_bytes(head[i + 8 : i + 12], "big"))
        if kind in (b"IDAT", b"IEND"):
            break
        i += 12 + length
    return 1


def is_grey(colour: tuple[int, int, int]) -> bool:
    """A grey image stays grey over a grey background; over any other colour it becomes RGB,
    in both engines, for `contain` padding and for flattening alike."""
    return colour[0] == colour[1] == colour[2]


@dataclass(frozen=True)
class Probe:
    """What a master's header says, read without decoding its pixels."""

    format: str
    width: int  # upright: after the orientation is applied
    height: int
    pages: int = 1
    orientation: int = 1
    bands: int = 3  # samples per pixel as the decoder produces them (alpha included)
    sample_bytes: int = 1  # 2 for a 16-bit image the decoder keeps 16-bit

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """The memory the decoded first frame takes: what a hostile master costs a worker."""
        return self.pixels * self.bands * self.sample_bytes


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

    def probe(self, path: str, data: bytes | None = None) -> Probe:
        """Read the header only (of `data`, the master's bytes, when given: `path` then only names
        it). Raises RenderError for unknown or unsupported content."""

    def load(self, path: str, probe: Probe, scale: float, data: bytes | None = None) -> Loaded:
        """Decode strictly, at no less than `scale` of the upright master's size (from `data` when
        given, so that the bytes decoded are the bytes hashed)."""

    def cut(self, img: Any, geometry: Geometry, master: tuple[int, int], position: str, background: tuple[int, int, int]) -> Any:
        """The variant's pixels: crop (or smart crop), resize, pad for `contain`."""

    def resize(self, pixels: Any, size: tuple[int, int]) -> Any:
        """`cut`'s pixels made smaller as `cut` resizes (alpha premultiplied): those of a smaller
        variant of the same crop (plan.Crop.source), for a fraction of cutting them again."""

    def encode(self, pixels: Any, fmt: str, options: dict, background: tuple[int, int, int]) -> Encoded:
        """Encode with no metadata; JPEG flattens alpha onto `background`."""

    def placeholder(self, pixels: Any, background: tuple[int, int, int]) -> Placeholder:
        """Dominant colour and a tiny blurred data URI."""
