"""The libvips engine: strict decode, shrink-on-load, one decode shared by every variant."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import pyvips

from . import formats
from .engine import (
    Encoded,
    Placeholder,
    Probe,
    exif_orientation,
    is_grey,
    mpo_frames,
    png_frames,
    raw_profile_exif,
    xmp_orientation,
)
from .errors import RenderError
from .geometry import SMART_POSITIONS, Geometry
from .sniff import content_label

_CODE = re.compile(r"\(\d+\.\d+\)")


def _error(exc: Exception) -> str:
    """libvips' most specific line: its messages end with the cause, start with the call. libheif
    puts its error code on a line of its own, "(2.100)", after the cause: not a reason."""
    text = str(exc).strip().splitlines()
    lines = [ln.strip() for ln in text if ln.strip() and not ln.startswith("unable to call") and not _CODE.fullmatch(ln.strip())]
    return lines[-1] if lines else "corrupt or unreadable data"


#: Bytes per sample of each libvips band format.
_SAMPLE_BYTES = {
    "uchar": 1,
    "char": 1,
    "ushort": 2,
    "short": 2,
    "uint": 4,
    "int": 4,
    "float": 4,
    "double": 8,
    "complex": 8,
    "dpcomplex": 16,
}


@dataclass
class VipsLoaded:
    image: pyvips.Image
    width: int
    height: int
    opaque: bool = False  # has an alpha band that is 255 everywhere


class VipsEngine:
    name = "libvips"

    def __init__(self, threads: int | None = None):
        self.version = "{}.{}.{}".format(*(pyvips.version(i) for i in range(3)))
        self._is_srgb: dict[bytes, bool] = {}  # embedded profile -> does it map sRGB onto itself
        pyvips.cache_set_max(0)  # every master is read once; the cache would only hold memory
        if threads:
            pyvips.concurrency_set(threads)

    # -- reading -----------------------------------------------------------------------
    def _open(self, path: str, data: bytes | None = None, **kw) -> pyvips.Image:
        try:
            if data is not None:
                img = pyvips.Image.new_from_buffer(data, "", fail_on="error", **kw)
            else:
                img = pyvips.Image.new_from_file(path, fail_on="error", **kw)
            if img.get("vips-loader").startswith("uhdrload"):
                # an Ultra HDR JPEG: its primary image is a plain SDR JPEG, which is what the web shows
                if data is not None:
                    img = pyvips.Image.jpegload_buffer(data, fail_on="error", **kw)
                else:
                    img = pyvips.Image.jpegload(path, fail_on="error", **kw)
            return img
        except pyvips.Error as exc:
            msg = _error(exc)
            if "not a known file format" in msg or "not in a known format" in msg:  # from a file / from memory
                msg = formats.unidentified(formats.VIPS, content_label(path))
            else:
                msg = f"cannot decode the image: {msg}"
            raise RenderError(path, msg) from None

    def probe(self, path: str, data: bytes | None = None) -> Probe:
        img = self._open(path, data)
        found = formats.by_vips_loader(img.get("vips-loader"))
        if found is None or formats.VIPS not in found.read_by:
            raise RenderError(path, formats.unsupported(formats.VIPS, f"{img.get('vips-loader')} content"))
        fmt = found.name
        if fmt == "heif" and "avif" in str(img.get("heif-compression") if img.get_typeof("heif-compression") else ""):
            fmt = "avif"
        fields = set(img.get_fields())
        orientation = img.get("orientation") if "orientation" in fields else None
        if orientation is None:
            orientation = xmp_orientation(img.get("xmp-data") if "xmp-data" in fields else None)
        if orientation is None:  # ImageMagick's PNGs keep EXIF in a hex text chunk libvips doesn't parse
            raw = next((f for f in fields if f.startswith("png-comment-") and f.endswith("Raw profile type exif")), None)
            orientation = exif_orientation(raw_profile_exif(img.get(raw))) if raw else None
        orientation = orientation or 1
        if not 1 <= orientation <= 8:
            orientation = 1
        pages = img.get("n-pages") if "n-pages" in fields else 1
        if fmt == "png" and pages == 1:
            pages = png_frames(path, data=data)  # libvips reads only an APNG's default image and doesn't count frames
        elif fmt == "jpeg" and pages == 1:
            pages = mpo_frames(path, data=data)
        w, h = img.width, img.height
        if "page-height" in fields and pages > 1:
            h = img.get("page-height")
        if orientation >= 5:
            w, h = h, w
        return Probe(
            format=fmt,
            width=w,
            height=h,
            pages=pages,
            orientation=orientation,
            bands=img.bands,
            sample_bytes=_SAMPLE_BYTES.get(img.format, 8),
        )

    def load(self, path: str, probe: Probe, scale: float, data: bytes | None = None) -> VipsLoaded:
        kw: dict = {"access": "sequential"}
        if probe.format == "jpeg" and scale < 1:
            shrink = 1
            while shrink < 8 and 1 / (shrink * 2) >= scale:
                shrink *= 2
            if shrink > 1:
                kw["shrink"] = shrink
        elif probe.format == "webp" and scale < 1:
            kw["scale"] = scale
        img = self._open(path, data, **kw)
        try:
            raw_w = probe.height if probe.orientation >= 5 else probe.width
            have = img.width / raw_w
            if have > scale * 1.25:  # reduce big masters while streaming, before holding them
                img = self._reduce(img, scale / have)
            if probe.orientation != 1:  # rotating needs random access: hold the decoded pixels first
                img = img.copy_memory()
            img = self._upright(self._to_srgb(img, self._is_srgb), probe.orientation).copy_memory()
            opaque = img.hasalpha() and img[img.bands - 1].min() >= 255
        except pyvips.Error as exc:
            raise RenderError(path, f"cannot decode the image: {_error(exc)}") from None
        return VipsLoaded(img, img.width, img.height, opaque)

    @staticmethod
    def _reduce(img: pyvips.Image, factor: float) -> pyvips.Image:
        """Lanczos, with alpha premultiplied (as `cut` does): otherwise the colour hidden under
        transparent pixels bleeds into the edges of what is visible. 8-bit masters are resized
        premultiplied in 8 bits (half the CPU of float; composited, within 4 levels of it)."""
        if not img.hasalpha():
            return img.resize(factor, kernel="lanczos3")
        fmt, interp, n = img.format, img.interpretation, img.bands - 1
        if fmt != "uchar":
            return img.premultiply().resize(factor, kernel="lanczos3").unpremultiply().rint().cast(fmt)
        premultiplied = img.premultiply().rint().cast("uchar")  # one operation: c × a / 255 in float, rounded
        small = premultiplied.copy(interpretation=interp).resize(factor, kernel="lanczos3")
        alpha = small[n]
        colour = (alpha > 0).ifthenelse(small.extract_band(0, n=n) * 255.0 / alpha, 0)
        colour = (colour > 255).ifthenelse(255, colour)  # ringing can lift a colour above its alpha
        return colour.rint().cast("uchar").bandjoin(alpha).copy(interpretation=interp)

    @staticmethod
    def _upright(img: pyvips.Image, orientation: int) -> pyvips.Image:
        if orientation in (2, 4, 5, 7):
            img = img.fliphor()
        rot = {3: "d180", 4: "d180", 5: "d270", 6: "d90", 7: "d90", 8: "d270"}.get(orientation)
        if rot:
            img = img.rot(rot)
        return img

    @staticmethod
    def _to_srgb(img: pyvips.Image, known: dict[bytes, bool] | None = None) -> pyvips.Image:
        """Colour-manage through the embedded profile; 16-bit is scaled, greys stay grey.
        An 8-bit RGB master tagged with an sRGB profile (most camera and editor exports) is
        already what the web shows: the transform would change no pixel and cost more than
        decoding the master (56 ms against 36 ms at 2400×1600), so it is skipped."""
        interp = img.interpretation
        grey = interp in ("b-w", "grey16") or (img.bands in (1, 2) and interp not in ("cmyk", "lab", "labs", "labq"))
        if img.get_typeof("icc-profile-data") and not grey and _maps_srgb_onto_itself(img, known if known is not None else {}):
            img = img.colourspace("srgb")
        elif img.get_typeof("icc-profile-data") and not grey:
            try:
                img = img.icc_transform("srgb", embedded=True, intent="relative", depth=8)
            except pyvips.Error:
                img = img.colourspace("srgb")  # an unusable profile: treat the pixels as sRGB
        elif grey:
            img = img.colourspace("b-w")
        elif interp == "cmyk" and img.bands >= 4:
            img = VipsEngine._naive_cmyk(img)
        else:
            img = img.colourspace("srgb")
        if img.format != "uchar":
            img = img.cast("uchar") if img.format == "char" else img.colourspace(img.interpretation)
            if img.format != "uchar":
                img = img.cast("uchar")
        return img

    @staticmethod
    def _naive_cmyk(img: pyvips.Image) -> pyvips.Image:
        """Untagged CMYK as browsers and Pillow show it: (1 - C)(1 - K). libvips' default
        press profile would shift every colour (ΔE ~15 on Pillow's CMYK sample)."""
        top = 65535.0 if img.format == "ushort" else 255.0
        ink = img.extract_band(0, n=3)
        k = img.extract_band(3)
        rgb = ((top - ink) * (top - k) / (top * top / 255.0) + 0.5).cast("uchar")
        if img.bands > 4:
            rgb = rgb.bandjoin((img.extract_band(4) * (255.0 / top)).cast("uchar"))
        return rgb.copy(interpretation="srgb")

    # -- cutting -------------------------------------------------------------------------
    def cut(self, img: VipsLoaded, geometry: Geometry, master: tuple[int, int], position: str, background) -> pyvips.Image:
        im = img.image
        sx, sy = img.width / master[0], img.height / master[1]
        left, top, cw, ch = geometry.crop
        w, h = geometry.size
        cw_i = max(1, min(im.width, round(cw * sx)))
        ch_i = max(1, min(im.height, round(ch * sy)))
        if position in SMART_POSITIONS and (cw_i, ch_i) != (im.width, im.height):
            im = im.smartcrop(cw_i, ch_i, interesting=position, premultiplied=False)
        else:
            x = min(max(0, round(left * sx)), im.width - cw_i)
            y = min(max(0, round(top * sy)), im.height - ch_i)
            if (x, y, cw_i, ch_i) != (0, 0, im.width, im.height):
                im = im.crop(x, y, cw_i, ch_i)
        # an all-opaque alpha needs no premultiplying: the 8-bit resize is 3x faster than the float one;
        # nor does a crop that is not resized, whose pixels are kept exactly
        alpha = im.hasalpha() and not img.opaque and (im.width, im.height) != (w, h)
        if alpha:
            im = im.premultiply()
        if (im.width, im.height) != (w, h):
            im = im.resize(w / im.width, vscale=h / im.height, kernel="lanczos3")
        if alpha:
            im = im.unpremultiply()
        if im.format in ("float", "double"):
            im = im.rint()  # round, don't truncate: truncation darkens by half a level and doubles PNG bytes
        im = im.cast("uchar")
        if (im.width, im.height) != (w, h):
            im = im.gravity("centre", w, h, extend="copy")
        if geometry.canvas != geometry.size:
            cw2, ch2 = geometry.canvas
            ox, oy = geometry.offset
            if im.bands < 3 and not is_grey(background):  # a grey image padded with a colour
                grey = im.extract_band(0)
                im = grey.bandjoin([grey, grey] + ([im.extract_band(1)] if im.hasalpha() else [])).copy(interpretation="srgb")
            bg = list(background) if im.bands >= 3 else [background[0]]
            if im.hasalpha():
                bg = bg + [255]  # `contain` pads with the background colour, opaque, as documented
            im = im.embed(ox, oy, cw2, ch2, extend="background", background=bg)
        return im.copy_memory()  # evaluated once: the placeholder and every encode reuse it

    def resize(self, pixels: pyvips.Image, size: tuple[int, int]) -> pyvips.Image:
        w, h = pixels.width, pixels.height
        opaque = pixels.hasalpha() and pixels[pixels.bands - 1].min() >= 255
        whole = Geometry((0.0, 0.0, float(w), float(h)), size, size)
        return self.cut(VipsLoaded(pixels, w, h, opaque), whole, (w, h), "centre", (255, 255, 255))

    # -- writing -------------------------------------------------------------------------
    @staticmethod
    def _flatten(im: pyvips.Image, background) -> pyvips.Image:
        """Alpha composited onto the background by the rule both engines share (encoders.flatten)."""
        if not im.hasalpha():
            return im
        from .encoders import flatten  # imported here: a no-op build needs no Pillow

        flat = flatten(_to_pillow(im), background)
        bands = len(flat.getbands())
        out = pyvips.Image.new_from_memory(flat.tobytes(), im.width, im.height, bands, "uchar")
        return out.copy(interpretation="srgb" if bands >= 3 else "b-w")

    def encode(self, im: pyvips.Image, fmt: str, options: dict, background) -> Encoded:
        try:
            if fmt == "jpeg":
                im = self._flatten(im, background)
                data = im.jpegsave_buffer(
                    Q=options["quality"], interlace=options["progressive"], optimize_coding=True, keep="none"
                )
            elif fmt == "png" and options["palette"]:
                data = im.pngsave_buffer(
                    compression=options["compression"],
                    filter="all" if options["filter"] else "none",
                    keep="none",
                    palette=True,
                    Q=options["quality"],
                    bitdepth=8 if options["colours"] > 16 else 4,
                )
            elif fmt == "png":  # lossless: our writer, half libpng's CPU for fewer bytes (see pngenc)
                from .encoders import png_bytes  # imported here: a no-op build needs no Pillow

                data = png_bytes(im.write_to_memory(), im.width, im.height, im.bands, options)
            elif fmt == "webp":
                from .encoders import webp_bytes

                data = webp_bytes(_to_pillow(im), options)
            elif fmt == "avif":
                data = im.heifsave_buffer(Q=options["quality"], effort=options["effort"], compression="av1", keep="none")
            else:
                raise ValueError(fmt)
        except pyvips.Error as exc:
            raise RenderError("", f"cannot encode {fmt}: {_error(exc)}") from None
        return Encoded(bytes(data), im.width, im.height, fmt)

    def placeholder(self, im: pyvips.Image, background) -> Placeholder:
        im = self._flatten(im, background)
        if im.bands < 3:
            im = im.colourspace("srgb")
        factor = max(1.0, max(im.width, im.height) / 16)
        small = im.shrink(factor, factor).cast("uchar")  # a box filter is all a 16-pixel preview needs
        from .encoders import placeholder_from

        return placeholder_from(_to_pillow(small))


def _lattice() -> pyvips.Image:
    """33³ colours, every channel at 0, 8, ..., 248, 255: a probe of a whole colour transform."""
    steps = bytes(range(0, 256, 8)) + b"\xff"
    n = len(steps)
    data = bytearray(3 * n**3)
    data[0::3] = bytes(v for v in steps for _ in range(n * n))
    data[1::3] = bytes(v for v in steps for _ in range(n)) * n
    data[2::3] = steps * (n * n)
    return pyvips.Image.new_from_memory(bytes(data), n**3, 1, 3, "uchar").copy(interpretation="srgb")


def _maps_srgb_onto_itself(img: pyvips.Image, known: dict[bytes, bool]) -> bool:
    """True when the embedded profile of this 8-bit RGB image transforms every colour of a
    33³ lattice to itself (an sRGB profile): transforming the master would change nothing.
    Decided once per profile for the engine's life (a probe costs about a millisecond)."""
    if img.format != "uchar" or img.bands not in (3, 4) or img.interpretation != "srgb":
        return False
    profile = img.get("icc-profile-data")
    if profile not in known:
        try:
            probe = _lattice().copy()
            probe.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
            out = probe.icc_transform("srgb", embedded=True, intent="relative", depth=8)
            known[profile] = out.bands == 3 and out.format == "uchar" and out.write_to_memory() == probe.write_to_memory()
        except pyvips.Error:
            known[profile] = False  # an unusable profile: the transform's own fallback handles it
    return known[profile]


def _to_pillow(im: pyvips.Image):
    """The same 8-bit pixels as a Pillow image (one copy), for the encoders taken from Pillow."""
    from .encoders import from_raw

    return from_raw(im.write_to_memory(), im.width, im.height, im.bands)


def default_threads(jobs: int) -> int:
    return max(1, math.floor((os.cpu_count() or 1) / max(1, jobs)))
