"""The one table of image formats: what finds a master, what content is read, what is written.

Master lookup, the content sniffer, the did-you-mean hints, output paths, messages, `--help`
and the README all derive their format lists from FORMATS, so they cannot disagree.
A master is found by its extension but judged by its content: a format found here but not
`read` (BMP, ICO, PPM) is refused as "not a supported image", never reported as missing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

#: The engines, by their `name`.
VIPS, PILLOW = "libvips", "pillow"


@dataclass(frozen=True)
class Format:
    name: str  # what the manifest, `also:` and the encoder settings call it
    label: str  # how messages and the README write it
    master_exts: tuple[str, ...]  # extensions (lower case) that find a master; the first is the one suggested
    signatures: tuple[tuple[tuple[int, bytes], ...], ...]  # content: any one signature, all of its (offset, bytes)
    read_by: tuple[str, ...] = ()  # engines that decode it as a master; () = found, then refused
    written_by: tuple[str, ...] = ()  # engines that encode it; () = never written
    output_exts: tuple[str, ...] = ()  # extensions a front-matter path may end in; the first is written for `also:`
    mime: str | None = None  # of an output
    vips_loaders: tuple[str, ...] = ()  # libvips' `vips-loader` names for it
    pillow_names: tuple[str, ...] = ()  # Pillow's `Image.format` names for it
    scales_on_load: tuple[str, ...] = ()  # engines whose decoder hits any scale while decoding (else powers of two)

    @property
    def read(self) -> bool:
        return bool(self.read_by)

    @property
    def written(self) -> bool:
        return bool(self.written_by)

    @property
    def ext(self) -> str | None:
        """The extension renditions writes for this format (a sibling from `also:`)."""
        return self.output_exts[0] if self.output_exts else None


def _ftyp(*brands: bytes) -> tuple[tuple[tuple[int, bytes], ...], ...]:
    return tuple(((4, b"ftyp"), (8, brand)) for brand in brands)


#: In the order lists are shown: the formats renditions writes first, then the rest it reads,
#: then those it finds and refuses.
BOTH = (VIPS, PILLOW)
FORMATS: tuple[Format, ...] = (
    Format(
        "png",
        "PNG",
        (".png",),
        (((0, b"\x89PNG\r\n\x1a\n"),),),
        read_by=BOTH,
        written_by=BOTH,
        output_exts=(".png",),
        mime="image/png",
        vips_loaders=("pngload",),
        pillow_names=("PNG",),
    ),
    Format(
        "jpeg",
        "JPEG",
        (".jpg", ".jpeg"),
        (((0, b"\xff\xd8"),),),
        read_by=BOTH,
        written_by=BOTH,
        output_exts=(".jpg", ".jpeg"),
        mime="image/jpeg",
        vips_loaders=("jpegload",),
        pillow_names=("JPEG", "MPO"),
    ),
    Format(
        "webp",
        "WebP",
        (".webp",),
        (((0, b"RIFF"), (8, b"WEBP")),),
        read_by=BOTH,
        written_by=BOTH,
        output_exts=(".webp",),
        mime="image/webp",
        vips_loaders=("webpload",),
        pillow_names=("WEBP",),
        scales_on_load=(VIPS,),  # libwebp scales while it decodes
    ),
    # mif1 is the generic HEIF brand; the only HEIF renditions writes is AVIF, so it counts as AVIF.
    # libvips reads AVIF with heifload (see heif), and the engine tells the two apart by compression.
    Format(
        "avif",
        "AVIF",
        (".avif",),
        _ftyp(b"avif", b"avis", b"mif1"),
        read_by=BOTH,
        written_by=BOTH,
        output_exts=(".avif",),
        mime="image/avif",
        pillow_names=("AVIF",),
    ),
    Format(
        "tiff",
        "TIFF",
        (".tif", ".tiff"),
        (((0, b"II*\x00"),), ((0, b"MM\x00*"),), ((0, b"II+\x00"),), ((0, b"MM\x00+"),)),
        read_by=BOTH,
        vips_loaders=("tiffload",),
        pillow_names=("TIFF",),
    ),
    Format(
        "gif",
        "GIF",
        (".gif",),
        (((0, b"GIF87a"),), ((0, b"GIF89a"),)),
        read_by=BOTH,
        vips_loaders=("gifload",),
        pillow_names=("GIF",),
    ),
    # HEVC-coded HEIF: only where libvips' libheif has an HEVC decoder (the bundled one has none)
    Format(
        "heif",
        "HEIC",
        (".heic", ".heif"),
        _ftyp(b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"),
        read_by=(VIPS,),
        vips_loaders=("heifload",),
    ),
    # found as masters so that their article says "not a supported image", never "no master"
    Format("bmp", "BMP", (".bmp",), (((0, b"BM"),),)),
    Format("ico", "ICO", (".ico",), (((0, b"\x00\x00\x01\x00"),), ((0, b"\x00\x00\x02\x00"),))),
    Format("ppm", "PPM", (".ppm", ".pgm", ".pbm", ".pnm"), tuple(((0, b"P%d" % d),) for d in range(1, 8))),
)

BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}

#: Every extension that finds a master (read or refused), lower case.
MASTER_EXTS: tuple[str, ...] = tuple(e for f in FORMATS for e in f.master_exts)

#: Formats a master may be; the rest are found only to be refused.
READ: tuple[Format, ...] = tuple(f for f in FORMATS if f.read)

#: Formats renditions writes, and the output extension of each front-matter path.
WRITTEN: tuple[Format, ...] = tuple(f for f in FORMATS if f.written)
OUTPUT_FORMATS: dict[str, str] = {e: f.name for f in WRITTEN for e in f.output_exts}
OUTPUT_EXT: dict[str, str] = {f.name: f.ext for f in WRITTEN if f.ext}


def listed(items: list[str] | tuple[str, ...], last: str = "or") -> str:
    """ "a, b, c or d": how every format list reads in a message."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


def output_for(path: str) -> str | None:
    """The format a site path's extension asks for; None if renditions doesn't write it."""
    return OUTPUT_FORMATS.get(os.path.splitext(path)[1].lower())


def master_choices(stem: str) -> str:
    """ "x.png (or .jpg, .webp, ...)": the names a missing master may take, one per format read."""
    first, *rest = (f.master_exts[0] for f in READ)
    return f"{stem}{first} (or {', '.join(rest)})"


def help_text() -> str:
    """The formats paragraph of `renditions build --help`."""
    read = [e[1:] for f in READ for e in f.master_exts]
    refused = [e[1:] for f in FORMATS if not f.read for e in f.master_exts]
    return (
        f"Masters: <slug>.<ext> in the sources folder, ext {listed(read)} (any case); the content decides "
        f"the format, and {listed(refused, 'and')} masters are refused as not a supported image. "
        f"Outputs: the format of each front-matter path's extension, {listed(tuple(OUTPUT_FORMATS))}."
    )


def readable_by(engine: str) -> tuple[Format, ...]:
    return tuple(f for f in FORMATS if engine in f.read_by)


#: A master of 0 bytes (a copy interrupted at its start): render's reason, and check's.
EMPTY_MASTER = "the master is an empty file (0 bytes)"


def unsupported(engine: str, found: str | None = None) -> str:
    """The one "not a supported image" reason, naming what this engine reads (and what came)."""
    labels = listed([f.label for f in readable_by(engine)])
    came = f", found {found}" if found else ""
    return f"not a supported image (expected {labels} content{came})"


def unidentified(engine: str, found: str | None) -> str:
    """Why a decoder could not tell what a file is: content whose signature is a format this
    engine reads is corrupt (a TIFF whose header is broken), anything else is not supported."""
    if found in {f.label for f in readable_by(engine)}:
        return f"cannot decode the image: the {found} content is corrupt or truncated"
    return unsupported(engine, found)


def by_vips_loader(loader: str) -> Format | None:
    """The format of a libvips loader name (`pngload`, `pngload_source`, ...)."""
    base = loader.removesuffix("_source").removesuffix("_buffer")
    return next((f for f in FORMATS if base in f.vips_loaders), None)


def by_pillow_name(name: str | None) -> Format | None:
    return next((f for f in FORMATS if name in f.pillow_names), None) if name else None


def _signature_pattern(signature: tuple[tuple[int, bytes], ...]) -> bytes:
    """One signature as a regular expression anchored at the file's start: its bytes at their offsets."""
    parts, at = [], 0
    for offset, magic in sorted(signature):
        parts.append(b".{%d}" % (offset - at) + re.escape(magic))
        at = offset + len(magic)
    return b"".join(parts)


#: Every signature of the table in one expression, a group per format, in the table's order: the
#: first format whose signature matches wins, as a loop over the table finds it (`check` sniffs
#: thousands of outputs, and the loop was a fifth of a header's reading).
_SIGNATURES = re.compile(
    b"(?s)" + b"|".join(b"(?P<%s>%s)" % (f.name.encode(), b"|".join(map(_signature_pattern, f.signatures))) for f in FORMATS)
)
_BY_NAME = {f.name: f for f in FORMATS}


def sniff_format(head: bytes) -> Format | None:
    """The format whose signature the first bytes of a file carry (None if none does)."""
    m = _SIGNATURES.match(head)
    return _BY_NAME[m.lastgroup] if m is not None and m.lastgroup is not None else None
