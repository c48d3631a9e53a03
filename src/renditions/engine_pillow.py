"""The Pillow engine: the fallback where libvips can't be imported, and `--engine pillow`."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageCms, ImageFile, ImageFilter, ImageStat, features
from PIL import __version__ as PIL_VERSION

from . import encoders, formats
from .engine import Encoded, Placeholder, Probe, is_grey
from .errors import RenderError
from .geometry import SMART_POSITIONS, Geometry
from .sniff import content_label

_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}
_SRGB = ImageCms.createProfile("sRGB")


def _image(im: Image.Image | None) -> Image.Image:
    """ImageCms returns None only when asked to convert in place, which renditions never does."""
    if im is None:
        raise RenderError("master", "the colour conversion returned no image")
    return im


def _orientation(im: Image.Image) -> int:
    """EXIF (or XMP) orientation; a broken EXIF block counts as 1, never as an error."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


_UNSUPPORTED = formats.unsupported(formats.PILLOW)


def _reason(exc: BaseException) -> str:
    """One line for any decoder exception: Pillow's plugins raise OSError, ValueError,
    TypeError, SyntaxError, struct.error... and every one of them costs only its article."""
    if isinstance(exc, Image.DecompressionBombError):
        return f"too many pixels ({str(exc).split(',')[0]})"
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if "cannot identify" in msg:
        return _UNSUPPORTED
    if not isinstance(exc, OSError):
        msg = f"{msg} ({type(exc).__name__})"
    return f"cannot decode the image: {msg}"


def _open(path: str, data: bytes | None = None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(path if data is None else io.BytesIO(data))
    except Exception as exc:
        reason = _reason(exc)
        if reason == _UNSUPPORTED:
            reason = formats.unidentified(formats.PILLOW, content_label(path))
        raise RenderError(path, reason) from None


def _sample_bytes(mode: str) -> int:
    """Bytes per sample of a Pillow mode: 16-bit modes keep two, I and F four, the rest one."""
    if mode.startswith("I;16"):
        return 2
    return 4 if mode in ("I", "F") else 1


@dataclass
class PillowLoaded:
    image: Image.Image
    width: int
    height: int


class PillowEngine:
    name = "pillow"
    version = PIL_VERSION

    def probe(self, path: str, data: bytes | None = None) -> Probe:
        im = _open(path, data)
        with im, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = formats.by_pillow_name(im.format)
            if found is None or formats.PILLOW not in found.read_by:
                raise RenderError(path, formats.unsupported(formats.PILLOW, found.label if found else im.format))
            fmt = found.name
            w, h = im.size
            orientation = _orientation(im)
            if fmt == "tiff":  # raw size: Pillow ≥ 11 reports a TIFF's size already transposed
                w, h = im.tag_v2.get(256, w), im.tag_v2.get(257, h)  # type: ignore[attr-defined]  # a TiffImageFile
            if not (isinstance(w, int) and isinstance(h, int)) or w <= 0 or h <= 0:
                raise RenderError(path, "the image has no pixels")
            try:
                pages = int(getattr(im, "n_frames", 1) or 1)
            except Exception as exc:
                raise RenderError(path, _reason(exc)) from None
            bands, sample_bytes = len(im.getbands()), _sample_bytes(im.mode)
        if orientation >= 5:
            w, h = h, w
        return Probe(format=fmt, width=w, height=h, pages=pages, orientation=orientation, bands=bands, sample_bytes=sample_bytes)

    def load(self, path: str, probe: Probe, scale: float, data: bytes | None = None) -> PillowLoaded:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        im = _open(path, data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = (probe.height, probe.width) if probe.orientation >= 5 else (probe.width, probe.height)
                if im.format == "JPEG" and scale < 1:
                    im.draft(
                        im.mode if im.mode in ("RGB", "L", "CMYK") else "RGB",
                        (math.ceil(raw[0] * scale), math.ceil(raw[1] * scale)),
                    )
                # Pillow (≥ 6.2) applies a TIFF's orientation itself while loading it
                oriented_by_pillow = im.format == "TIFF"
                im.load()  # decode before anything reads EXIF: a swallowed EXIF error must not hide a bad stream
                icc = im.info.get("icc_profile")
                im = self._to_srgb(im, icc)
                factor = int(im.width / ((probe.width if oriented_by_pillow else raw[0]) * scale))
                if factor >= 2:
                    im = im.reduce(factor)
                for op in [] if oriented_by_pillow else _TRANSPOSE.get(probe.orientation, []):
                    im = im.transpose(op)
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError(path, _reason(exc)) from None
        im.info = {}
        return PillowLoaded(im, im.width, im.height)

    @staticmethod
    def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
        """sRGB (or grey) at 8 bits per channel, alpha kept; 16-bit and float are scaled, not clipped."""
        mode = im.mode
        if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            key = im.info.get("transparency")
            im = im.convert("I") if mode != "I" else im
            lo, hi = cast("tuple[float, float]", im.getextrema())  # one band: (min, max)
            if lo < 0 or hi > 65535:  # 32-bit integers: stretch what is there
                span = (hi - lo) or 1
                return im.point(lambda v: (v - lo) * (255 / span) + 0.5).convert("L")
            # a 16-bit sample s is s / 257 in 8 bits, even when every sample is dark
            grey = im.point([(v + 128) // 257 for v in range(65536)], "L")
            if isinstance(key, int):  # a tRNS colour key becomes transparency
                grey.putalpha(im.point([0 if v == key else 255 for v in range(65536)], "L"))
            return grey
        if mode == "F":
            lo, hi = cast("tuple[float, float]", im.getextrema())  # one band: (min, max)
            span = (hi - lo) or 1
            return im.point(lambda v: (v - lo) * (255 / span)).convert("L")
        if mode == "LAB":
            lab = ImageCms.createProfile("LAB")
            return _image(ImageCms.applyTransform(im, ImageCms.buildTransform(lab, _SRGB, "LAB", "RGB")))
        if mode == "1":
            return im.convert("L")
        if mode in ("P", "PA"):
            im = im.convert("RGBA") if ("transparency" in im.info or mode == "PA") else im.convert("RGB")
            mode = im.mode
        elif mode == "La":
            im, mode = im.convert("LA"), "LA"
        elif mode == "RGBa":
            im, mode = im.convert("RGBA"), "RGBA"
        elif mode in ("L", "RGB") and "transparency" in im.info:
            im = im.convert("LA" if mode == "L" else "RGBA")
            mode = im.mode
        if icc and mode in ("RGB", "RGBA", "CMYK"):
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                out = "RGBA" if mode == "RGBA" else "RGB"
                return _image(
                    ImageCms.profileToProfile(
                        im, src, _SRGB, outputMode=out, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
                    )
                )
            except Exception:
                pass  # an unusable profile: treat the pixels as sRGB
        if mode in ("L", "LA", "RGB", "RGBA"):
            return im
        return im.convert("RGBA" if "A" in mode else "RGB")

    def cut(self, img: PillowLoaded, geometry: Geometry, master: tuple[int, int], position: str, background) -> Image.Image:
        im = img.image
        sx, sy = img.width / master[0], img.height / master[1]
        left, top, cw, ch = geometry.crop
        box = (left * sx, top * sy, (left + cw) * sx, (top + ch) * sy)
        if position in SMART_POSITIONS:
            box = self._smart_box(im, cw * sx, ch * sy)
        alpha = im.mode in ("RGBA", "LA")
        whole = cast("tuple[int, int, int, int]", tuple(round(c) for c in box))
        if whole == box and geometry.size == (whole[2] - whole[0], whole[3] - whole[1]):
            out = im.crop(whole)  # nothing to resample: the pixels as they are, alpha or not
        else:
            work = im.convert("RGBa" if im.mode == "RGBA" else "La") if alpha else im
            out = work.resize(geometry.size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
            if alpha:
                out = out.convert(im.mode)
        if geometry.canvas != geometry.size:
            if out.mode in ("L", "LA") and not is_grey(background):
                out = out.convert("RGBA" if alpha else "RGB")  # a grey image padded with a colour
            fill = tuple(background) if out.mode.startswith("RGB") else background[0]
            if alpha:  # `contain` pads with the background colour, opaque, as documented
                fill = (*fill, 255) if isinstance(fill, tuple) else (fill, 255)
            canvas = Image.new(out.mode, geometry.canvas, fill)
            canvas.paste(out, geometry.offset)
            out = canvas
        return out

    def resize(self, pixels: Image.Image, size: tuple[int, int]) -> Image.Image:
        w, h = pixels.size
        return self.cut(
            PillowLoaded(pixels, w, h), Geometry((0.0, 0.0, float(w), float(h)), size, size), (w, h), "centre", (255, 255, 255)
        )

    @staticmethod
    def _smart_box(im: Image.Image, cw: float, ch: float) -> tuple[float, float, float, float]:
        """Slide the crop window over a small edge map and keep the busiest position."""
        scale = min(1.0, 128 / max(im.width, im.height))
        small = im.convert("L").resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        edges = small.filter(ImageFilter.FIND_EDGES)
        ww, wh = max(1, round(cw * scale)), max(1, round(ch * scale))
        best, best_xy = -1.0, (0, 0)
        steps_x = range(0, max(1, edges.width - ww + 1), max(1, (edges.width - ww) // 16 or 1))
        steps_y = range(0, max(1, edges.height - wh + 1), max(1, (edges.height - wh) // 16 or 1))
        for x in steps_x:
            for y in steps_y:
                score = ImageStat.Stat(edges.crop((x, y, x + ww, y + wh))).sum[0]
                if score > best:
                    best, best_xy = score, (x, y)
        x0, y0 = min(best_xy[0] / scale, im.width - cw), min(best_xy[1] / scale, im.height - ch)
        return (x0, y0, x0 + cw, y0 + ch)

    def encode(self, im: Image.Image, fmt: str, options: dict, background) -> Encoded:
        buf = io.BytesIO()
        im.info = {}
        try:
            if fmt == "jpeg":
                im = encoders.flatten(im, background)
                # full chroma from quality 90, as libvips does: the engines then agree on colour edges
                full = {"subsampling": 0} if options["quality"] >= 90 else {}
                im.save(buf, "JPEG", quality=options["quality"], progressive=options["progressive"], optimize=True, **full)
            elif fmt == "png":
                if options["palette"]:
                    method = Image.Quantize.LIBIMAGEQUANT if features.check("libimagequant") else Image.Quantize.FASTOCTREE
                    src = im if im.mode in ("RGB", "RGBA") else im.convert("RGBA" if "A" in im.mode else "RGB")
                    if src.mode == "RGBA" and method != Image.Quantize.LIBIMAGEQUANT:
                        method = Image.Quantize.FASTOCTREE
                    im = src.quantize(options["colours"], method=method)
                    im.save(buf, "PNG", compress_level=options["compression"])
                else:  # lossless: the same writer as the libvips engine (see pngenc)
                    if im.mode not in ("L", "LA", "RGB", "RGBA"):
                        im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
                    data = encoders.png_bytes(im.tobytes(), im.width, im.height, len(im.getbands()), options)
                    return Encoded(data, im.width, im.height, fmt)
            elif fmt == "webp":
                return Encoded(encoders.webp_bytes(im, options), im.width, im.height, fmt)
            elif fmt == "avif":
                if not features.check("avif"):
                    raise RenderError("", "this Pillow has no AVIF encoder")
                im.save(buf, "AVIF", quality=options["quality"], speed=max(0, 10 - options["effort"]))
            else:
                raise ValueError(fmt)
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError("", f"cannot encode {fmt}: {exc}") from None
        return Encoded(buf.getvalue(), im.width, im.height, fmt)

    def placeholder(self, im: Image.Image, background) -> Placeholder:
        small = encoders.flatten(im, background).convert("RGB")
        small.thumbnail((16, 16), Image.Resampling.BILINEAR)
        return encoders.placeholder_from(small)
