"""The engine seam, directly: both engines read, convert, cut and encode the same way.

Masters are made here with Pillow; each test states what either engine must return.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import traceback

import pytest
from PIL import Image

from renditions.engine import exif_orientation, mpo_frames, png_frames, raw_profile_exif, xmp_orientation
from renditions.engines import get_engine
from renditions.errors import RenderError
from renditions.geometry import plan_geometry

WHITE = (255, 255, 255)


def in_child(test):
    """Run the test in a forked child, with its engine made there.

    libvips' worker threads don't survive fork(), and renditions.build forks its workers: a
    test process that has run libvips operations itself would deadlock every later build in
    the suite. The child does the libvips work and reports back through a pipe."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(r)
            code, msg = 0, b""
            try:
                if "eng" in kwargs:
                    kwargs["eng"] = get_engine(kwargs["eng"], threads=1)
                test(*args, **kwargs)
            except pytest.skip.Exception as exc:
                code, msg = 2, str(exc).encode()
            except BaseException:
                code, msg = 1, traceback.format_exc().encode()
            with os.fdopen(w, "wb") as fh:
                fh.write(msg)
            os._exit(code)
        os.close(w)
        with os.fdopen(r, "rb") as fh:
            msg = fh.read().decode(errors="replace")
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status == 2:
            pytest.skip(msg)
        if status != 0:
            pytest.fail(f"in the child process (exit {status}):\n{msg}", pytrace=False)

    return wrapper


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = "Model"
    return exif.tobytes()


# -- the small parsers in engine.py ------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_reads_ifd0(orientation):
    raw = exif_bytes(orientation)
    assert exif_orientation(raw) == orientation
    assert exif_orientation(raw[6:] if raw.startswith(b"Exif") else raw) == orientation


def test_exif_orientation_big_endian_and_malformed():
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    big = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\x00" * 4
    assert exif_orientation(big) == 6
    for bad in (
        None,
        b"",
        b"junk",
        b"II*\x00\xff\xff\xff\xff",
        big[:14],
        b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 9, 0),
    ):
        assert exif_orientation(bad) is None


def test_raw_profile_exif_is_imagemagicks_hex_text():
    hexed = "\nexif\n      32\n4578696600004d4d002a00000008000101120003000000010003000000000000\n"
    assert exif_orientation(raw_profile_exif(hexed)) == 3
    assert raw_profile_exif("\nexif\n 4\nzzzz\n") is None
    assert raw_profile_exif("\niptc\n 2\n0000\n") is None


def test_xmp_orientation_both_spellings():
    assert xmp_orientation(b'<rdf:Description tiff:Orientation="6"/>') == 6
    assert xmp_orientation(b"<tiff:Orientation>8</tiff:Orientation>") == 8
    assert xmp_orientation(b"<x/>") is None and xmp_orientation(None) is None


def test_png_frames_counts_an_apngs_frames(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "green", "blue")]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "still.png")
    assert png_frames(str(tmp_path / "a.png")) == 3
    assert png_frames(str(tmp_path / "still.png")) == 1
    assert png_frames(str(tmp_path / "missing.png")) == 1


@in_child
def test_mpo_frames_counts_a_multi_picture_jpeg(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "green")]
    frames[0].save(tmp_path / "pair.mpo", "MPO", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "plain.jpg")
    assert mpo_frames(str(tmp_path / "pair.mpo")) == 2
    assert mpo_frames(str(tmp_path / "plain.jpg")) == 1
    for eng in (get_engine("vips"), get_engine("pillow")):
        probe = eng.probe(str(tmp_path / "pair.mpo"))
        assert (probe.format, probe.pages) == ("jpeg", 2)


# -- both engines --------------------------------------------------------------------------------


@pytest.fixture(params=["vips", "pillow"])
def eng(request):
    """The engine's name; @in_child swaps in the engine itself, made in the child."""
    return request.param


def render(eng, path, out=(60, 40), fit="cover", position="centre", fmt="png", options=None):
    probe = eng.probe(str(path))
    g = plan_geometry(fit, (probe.width, probe.height), out, upscale=True)
    img = eng.load(str(path), probe, 1.0)
    pixels = eng.cut(img, g, (probe.width, probe.height), position, WHITE)
    opts = (
        options
        or {
            "png": {"compression": 6, "filter": True, "palette": False, "quality": 90, "colours": 256},
            "jpeg": {"quality": 90, "progressive": False},
            "webp": {"quality": 90, "effort": 2, "lossless": False},
            "avif": {"quality": 60, "effort": 2},
        }[fmt]
    )
    enc = eng.encode(pixels, fmt, opts, WHITE)
    return probe, Image.open(io.BytesIO(enc.data)), pixels


@pytest.mark.parametrize("ext", ["jpg", "tif"])
@pytest.mark.parametrize("orientation", range(1, 9))
@in_child
def test_probe_reports_the_upright_size_and_load_turns_the_pixels(eng, tmp_path, orientation, ext):
    # a 300×200 raster, red in its top-left corner; for every orientation, the marked corner of
    # the upright image is where the tag says the raster's top-left goes. (Pillow turns TIFFs
    # itself while loading them; the engine must not turn them twice.)
    im = Image.new("RGB", (300, 200), (0, 0, 200))
    im.paste((220, 0, 0), (0, 0, 60, 60))
    path = tmp_path / f"o{orientation}.{ext}"
    im.save(path, **({"quality": 95} if ext == "jpg" else {"compression": "tiff_lzw"}), exif=exif_bytes(orientation))
    probe = eng.probe(str(path))
    upright = (200, 300) if orientation >= 5 else (300, 200)
    assert (probe.width, probe.height, probe.orientation) == (*upright, orientation)
    loaded = eng.load(str(path), probe, 1.0)
    assert (loaded.width, loaded.height) == upright
    corner = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}[orientation]
    g = plan_geometry("contain", upright, upright)
    pixels = eng.cut(loaded, g, upright, "centre", WHITE)
    out = Image.open(
        io.BytesIO(
            eng.encode(
                pixels, "png", {"compression": 1, "filter": False, "palette": False, "quality": 90, "colours": 256}, WHITE
            ).data
        )
    ).convert("RGB")
    w, h = out.size
    at = {"tl": (10, 10), "tr": (w - 11, 10), "br": (w - 11, h - 11), "bl": (10, h - 11)}[corner]
    assert out.getpixel(at)[0] > 180, f"orientation {orientation}: the red corner should be {corner}"


@in_child
def test_untagged_cmyk_converts_like_a_browser(eng, tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (120, 80), (0, 200, 200, 30)).save(path, quality=95)
    want = Image.open(path).convert("RGB").getpixel((60, 40))  # (1 - C)(1 - K), as browsers show it
    _, out, _ = render(eng, path)
    got = out.convert("RGB").getpixel((30, 20))
    assert all(abs(a - b) <= 4 for a, b in zip(got, want)), (got, want)


@pytest.mark.parametrize("level", [0, 3000, 32896, 65535])
@in_child
def test_16_bit_grey_png_is_scaled_to_8_bits(eng, tmp_path, level):
    path = tmp_path / "g16.png"
    Image.new("I;16", (64, 48), level).save(path)
    _, out, _ = render(eng, path, out=(32, 24))
    assert out.convert("L").getpixel((16, 12)) == pytest.approx(level / 257, abs=1)


@in_child
def test_grey_stays_grey_and_alpha_stays(eng, tmp_path):
    path = tmp_path / "la.png"
    im = Image.new("LA", (100, 100), (90, 255))
    im.paste((90, 0), (0, 0, 50, 100))
    im.save(path)
    _, out, _ = render(eng, path, out=(50, 50))
    rgba = out.convert("RGBA")
    assert rgba.getpixel((5, 25))[3] == 0 and rgba.getpixel((45, 25)) == (90, 90, 90, 255)


@pytest.mark.parametrize("bits", [8, 16])
@in_child
def test_a_master_reduced_while_loading_keeps_transparent_colour_out_of_its_edges(eng, tmp_path, bits):
    # a big logo-like master: opaque green beside a transparent area whose hidden colour is red.
    # Loaded at a quarter of its size (reduced while decoding), the edge's half-transparent
    # pixels must be green: resizing without premultiplying alpha bleeds the hidden red into them
    path = tmp_path / "logo.png"
    im = Image.new("RGBA", (1200, 600), (255, 0, 0, 0))
    im.paste((0, 160, 0, 255), (0, 0, 601, 600))
    im.save(path)
    if bits == 16:
        import pyvips

        v = pyvips.Image.new_from_file(str(path)).cast("ushort") * 257
        v.cast("ushort").copy(interpretation="rgb16").pngsave(str(path), bitdepth=16)
        assert path.read_bytes()[24] == 16  # the IHDR bit depth
    probe = eng.probe(str(path))
    img = eng.load(str(path), probe, 0.25)
    master = (probe.width, probe.height)
    pixels = eng.cut(img, plan_geometry("cover", master, (300, 150)), master, "centre", WHITE)
    opts = {"compression": 6, "filter": True, "palette": False, "quality": 90, "colours": 256}
    out = Image.open(io.BytesIO(eng.encode(pixels, "png", opts, WHITE).data)).convert("RGBA")
    edge = [out.getpixel((x, y)) for x in range(140, 160) for y in (10, 75, 140)]
    seen = [p for p in edge if p[3] >= 8]
    assert any(8 <= p[3] < 248 for p in seen), edge  # the edge is there, half-transparent
    assert all(p[0] <= 6 and abs(p[1] - 160) <= 6 for p in seen), edge


@in_child
def test_jpeg_encode_flattens_alpha_on_the_background(eng, tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGBA", (100, 60), (10, 20, 30, 0)).save(path)
    probe = eng.probe(str(path))
    img = eng.load(str(path), probe, 1.0)
    pixels = eng.cut(img, plan_geometry("cover", (100, 60), (50, 30)), (100, 60), "centre", (0, 128, 255))
    enc = eng.encode(pixels, "jpeg", {"quality": 95, "progressive": True}, (0, 128, 255))
    px = Image.open(io.BytesIO(enc.data)).convert("RGB").getpixel((25, 15))
    assert all(abs(a - b) <= 3 for a, b in zip(px, (0, 128, 255))), px


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "avif"])
@in_child
def test_encode_writes_no_metadata(eng, tmp_path, fmt):
    if fmt == "avif" and eng.name == "pillow":
        from PIL import features

        if not features.check("avif"):
            pytest.skip("this Pillow has no AVIF codec")
    path = tmp_path / "m.jpg"
    exif = Image.Exif()
    exif[0x0110] = "SECRET-CAMERA"
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 1.0)
    Image.new("RGB", (120, 80), (200, 100, 50)).save(path, exif=exif.tobytes(), comment=b"SECRET-COMMENT")
    _, _, pixels = render(eng, path)
    data = eng.encode(
        pixels,
        fmt,
        {
            "png": {"compression": 6, "filter": True, "palette": False, "quality": 90, "colours": 256},
            "jpeg": {"quality": 80, "progressive": True},
            "webp": {"quality": 80, "effort": 2, "lossless": False},
            "avif": {"quality": 50, "effort": 2},
        }[fmt],
        WHITE,
    ).data
    assert b"SECRET" not in data and b"Exif\x00\x00" not in data


@in_child
def test_placeholder_is_tiny_and_its_colour_dominant(eng, tmp_path):
    path = tmp_path / "noise.png"
    Image.merge("RGB", [Image.effect_noise((800, 600), 80)] * 3).save(path)
    _, _, pixels = render(eng, path, out=(800, 600))
    ph = eng.placeholder(pixels, WHITE)
    assert ph.data_uri.startswith("data:image/") and len(ph.data_uri) <= 300
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 100), (12, 200, 99)).save(flat)
    _, _, pixels = render(eng, flat)
    assert eng.placeholder(pixels, WHITE).colour == "#0cc863"


@pytest.mark.parametrize(
    "exc",
    [TypeError("Missing dimensions"), ValueError("bad"), struct.error("unpack"), SyntaxError("x"), OSError("decoder error -2")],
)
def test_pillow_decoder_errors_of_any_type_become_render_errors(tmp_path, monkeypatch, exc):
    eng = get_engine("pillow")
    path = tmp_path / "x.png"
    Image.new("RGB", (10, 10)).save(path)
    probe = eng.probe(str(path))

    def boom(self, *a, **k):
        raise exc

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", boom)
    with pytest.raises(RenderError) as e:
        eng.load(str(path), probe, 1.0)
    assert e.value.reason.startswith("cannot decode the image: ") and "\n" not in e.value.reason
    monkeypatch.setattr("PIL.Image.open", lambda *a, **k: (_ for _ in ()).throw(exc))
    with pytest.raises(RenderError):
        eng.probe(str(path))


@in_child
def test_unsupported_content_is_named(eng, tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (10, 10)).save(path, "BMP")
    with pytest.raises(RenderError) as e:
        eng.probe(str(path))
    assert e.value.reason.startswith("not a supported image")


@pytest.mark.parametrize("lossless", [False, True])
@in_child
def test_webp_keeps_colour_alpha_and_grey(eng, tmp_path, lossless):
    # both engines encode WebP through Pillow's libwebp; what comes back is what went in
    path = tmp_path / "a.png"
    im = Image.new("RGBA", (64, 40), (200, 30, 90, 255))
    im.paste((10, 120, 250, 0), (0, 0, 32, 40))  # left half transparent
    im.save(path)
    _, out, _ = render(eng, path, out=(64, 40), fmt="webp", options={"quality": 90, "effort": 4, "lossless": lossless})
    assert out.format == "WEBP" and out.size == (64, 40)
    rgba = out.convert("RGBA")
    assert rgba.getpixel((5, 20))[3] == 0 and rgba.getpixel((60, 20))[3] == 255
    tol = 0 if lossless else 12
    assert all(abs(a - b) <= tol for a, b in zip(rgba.getpixel((60, 20))[:3], (200, 30, 90))), rgba.getpixel((60, 20))
    grey = tmp_path / "g.png"
    Image.new("L", (64, 40), 77).save(grey)
    _, out, _ = render(eng, grey, out=(64, 40), fmt="webp", options={"quality": 90, "effort": 4, "lossless": lossless})
    px = out.convert("RGB").getpixel((30, 20))
    assert max(abs(c - 77) for c in px) <= (0 if lossless else 2), px


@in_child
def test_a_webp_wider_than_libwebp_allows_is_named(eng, tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (17000, 4), (1, 2, 3)).save(path)
    with pytest.raises(RenderError, match="16383"):
        render(eng, path, out=(17000, 4), fmt="webp")


def test_an_srgb_tagged_master_gives_the_pixels_of_the_untagged_one(site):
    """libvips skips the sRGB → sRGB transform (it cost more than the decode): nothing may move,
    and a master with any other profile is still converted."""
    import pyvips
    from conftest import PEER_IMAGES, gradient
    from PIL import ImageCms

    import renditions
    from renditions.engine_vips import _maps_srgb_onto_itself

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    noisy = Image.effect_noise((1920, 1080), 60).convert("RGB")
    master = Image.blend(gradient((1920, 1080)), noisy, 0.3)
    master.save(site.sources / "plain.png")
    master.save(site.sources / "tagged.png", icc_profile=srgb)
    for slug in ("plain", "tagged"):
        site.article(slug)
    r = renditions.build(site.root, engine="vips")
    assert r.ok, r.problems
    for key in ("image", "singleImage"):
        assert site.out(key, "tagged").read_bytes() == site.out(key, "plain").read_bytes()
    # the probe: sRGB maps onto itself; Display P3 doesn't
    p3 = Image.open(PEER_IMAGES / "pillow" / "frame_size.mpo").info["icc_profile"]
    for profile, expected in ((srgb, True), (p3, False)):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (200, 40, 40)).save(buf, "PNG", icc_profile=profile)
        assert _maps_srgb_onto_itself(pyvips.Image.new_from_buffer(buf.getvalue(), ""), {}) is expected
