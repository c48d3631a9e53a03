"""Output fidelity (issue 4), with both engines: colour, metadata, crop control, too-small
masters, alpha, encoders, animated masters and placeholders.

Every master is generated here, so the right answer is computed, not remembered. Wide-gamut
profiles come from two peer images (Pillow can't create Adobe RGB or Display P3 profiles).
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from _colour import delta_e76
from conftest import PEER_IMAGES, gradient
from PIL import Image, ImageChops, ImageCms, ImageStat, features

import renditions
from renditions.sniff import sniff_file

# Small variants keep both engines' builds fast; the four keys are the site's own.
KEYS = {
    "image": "/img/a/{slug}.png",
    "mobile": "/img/m/{slug}.png",
    "singleImage": "/img/s/{slug}.png",
    "MobileSingleImage": "/img/ms/{slug}.png",
}
SMALL = """\
{top}
defaults: {{{defaults}}}
variants:
  article:        {{key: image,             path: "/img/a/{{slug}}.png",  width: 400, height: 225}}
  mobile-article: {{key: mobile,            path: "/img/m/{{slug}}.png",  width: 320, height: 180}}
  single:         {{key: singleImage,       path: "/img/s/{{slug}}.png",  width: 800, height: 450}}
  mobile-single:  {{key: MobileSingleImage, path: "/img/ms/{{slug}}.png", width: 400, height: 300}}
"""
SIZES = {"image": (400, 225), "mobile": (320, 180), "singleImage": (800, 450), "MobileSingleImage": (400, 300)}


def small_config(site, defaults: str = "", top: str = "") -> None:
    site.config(SMALL.format(defaults=defaults, top=top))


def out(site, key: str, slug: str, ext: str | None = None) -> Path:
    path = site.public / KEYS[key].format(slug=slug).lstrip("/")
    return path.with_suffix(ext) if ext else path


def build(site, engine: str, **kw) -> renditions.Report:
    return renditions.build(site.root, engine=engine, jobs=1, **kw)


def mean_rgb(path: Path, box=None) -> tuple[float, float, float]:
    im = Image.open(path).convert("RGB")
    if box:
        im = im.crop(box)
    return tuple(ImageStat.Stat(im).mean)


def brightness(path: Path) -> float:
    """Mean red channel: the conftest gradient's red rises from left (0) to right (255)."""
    return mean_rgb(path)[0]


# -- colour ------------------------------------------------------------------------------------


def peer_profile(file: str) -> bytes:
    path = PEER_IMAGES / file
    if not path.is_file():
        pytest.skip(f"{path} not found (shared test data beside the clone)")
    return Image.open(path).info["icc_profile"]


PROFILES = {"adobe-rgb": "pillow/xmp_test.jpg", "display-p3": "pillow/frame_size.mpo"}
#: saturated, but inside sRGB, so their true sRGB value is representable
PATCHES = {"red": (205, 35, 45), "green": (40, 170, 60), "blue": (35, 60, 190), "orange": (235, 140, 20)}


def to_profile(rgb, icc: bytes) -> tuple[int, int, int]:
    """The pixel values a wide-gamut master stores for the sRGB colour `rgb`."""
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        "RGB",
        "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    return ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb), transform).getpixel((0, 0))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_wide_gamut_master_lands_within_delta_e_3_of_its_srgb_colour(site, engine, profile):
    icc = peer_profile(PROFILES[profile])
    small_config(site)
    stored = {}
    for name, rgb in PATCHES.items():
        stored[name] = to_profile(rgb, icc)
        # the test means something only if relabelling the pixels as sRGB would be visibly wrong
        assert delta_e76(stored[name], rgb) > 3, (name, stored[name])
        im = Image.new("RGB", (960, 540), stored[name])
        ext, fmt, extra = ("jpg", "JPEG", {"quality": 98, "subsampling": 0}) if name == "orange" else ("png", "PNG", {})
        im.save(site.sources / f"{profile}-{name}.{ext}", fmt, icc_profile=icc, **extra)
        site.article(f"{profile}-{name}", keys=KEYS)
    report = build(site, engine)
    assert report.ok, report.problems
    for name, rgb in PATCHES.items():
        for key in KEYS:
            got = mean_rgb(out(site, key, f"{profile}-{name}"), box=(20, 20, 120, 120))
            de = delta_e76(got, rgb)
            assert de < 3, f"{profile} {name} {key}: got {tuple(round(c) for c in got)}, want {rgb}: ΔE76 {de:.2f}"


def test_outputs_are_plain_srgb_without_a_foreign_profile(site, engine):
    icc = peer_profile(PROFILES["display-p3"])
    small_config(site)
    Image.new("RGB", (960, 540), to_profile(PATCHES["red"], icc)).save(site.sources / "p3.png", icc_profile=icc)
    site.article("p3", keys=KEYS)
    assert build(site, engine).ok
    for key in KEYS:
        kept = Image.open(out(site, key, "p3")).info.get("icc_profile")
        if kept:  # an sRGB tag is fine; the master's Display P3 profile is not
            assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(kept)))


# -- metadata ------------------------------------------------------------------------------------

SERIAL = "SN-8675309-SECRET"
COMMENT = b"private comment 4242"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Private Person</dc:creator>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def private_jpeg(path: Path) -> None:
    """A JPEG with GPS, a camera serial, XMP, IPTC and a comment: everything a site must not publish."""
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x0110] = "Camera Model X"
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.5)
    gps[3], gps[4] = "W", (0.0, 7.0, 39.9)
    buf = io.BytesIO()
    gradient((960, 540)).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    data = buf.getvalue()
    segment = lambda marker, body: b"\xff" + marker + (len(body) + 2).to_bytes(2, "big") + body  # noqa: E731
    xmp = segment(b"\xe1", b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    iptc = segment(b"\xed", b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0b\x1c\x02\x50\x00\x07Private")
    com = segment(b"\xfe", COMMENT)
    path.write_bytes(data[:2] + xmp + iptc + com + data[2:])
    check = Image.open(path)
    assert check.getexif().get_ifd(0x8825) and COMMENT in path.read_bytes()


def test_gps_exif_xmp_iptc_and_comments_never_reach_an_output(site, engine):
    avif = features.check("avif")  # without it Pillow can neither write AVIF nor read it back
    small_config(site, defaults="also: [webp, jpeg" + (", avif]" if avif else "]"))
    private_jpeg(site.sources / "private.jpg")
    site.article("private", keys=KEYS)
    report = build(site, engine)
    assert report.ok, report.problems
    files = sorted(p for p in site.public.rglob("*") if p.is_file())
    assert len(files) >= 12  # png + webp + jpg (+ avif) for four variants
    for path in files:
        raw = path.read_bytes()
        for secret in (
            b"Exif\x00\x00",
            SERIAL.encode(),
            b"Camera Model X",
            COMMENT,
            b"http://ns.adobe.com/xap",
            b"Private Person",
            b"Photoshop 3.0",
            b"8BIM",
        ):
            assert secret not in raw, f"{path.name} carries {secret!r}"
        if path.suffix != ".avif" or features.check("avif"):
            im = Image.open(path)
            assert not dict(im.getexif()), f"{path.name}: EXIF {dict(im.getexif())}"
            assert not {"exif", "xmp", "comment", "XML:com.adobe.xmp"} & set(im.info), f"{path.name}: {sorted(im.info)}"


# -- crop control ------------------------------------------------------------------------------------


def wide_master(site, slug: str) -> None:
    """1800×600 (3:1): wider than every variant, so every cover crop can move left or right."""
    site.master(slug, size=(1800, 600))


def test_focus_near_the_left_edge_moves_every_cover_crop_left(site, engine):
    small_config(site)
    wide_master(site, "centred")
    wide_master(site, "focused")
    site.article("centred", keys=KEYS)
    site.article("focused", extra="focus: [0.05, 0.5]", keys=KEYS)
    assert build(site, engine).ok
    for key in KEYS:
        centre, left = brightness(out(site, key, "centred")), brightness(out(site, key, "focused"))
        assert left < centre - 25, f"{key}: mean brightness {left:.0f} with focus, {centre:.0f} centred"


def test_per_variant_focus_beats_the_article_default(site, engine):
    small_config(site)
    wide_master(site, "split")
    site.article("split", extra="focus: {mobile-single: [0.05, 0.5], default: [0.95, 0.5]}", keys=KEYS)
    assert build(site, engine).ok
    for key in KEYS:
        b = brightness(out(site, key, "split"))
        if key == "MobileSingleImage":
            assert b < 90, f"{key}: {b:.0f}: its own focus (left) should win"
        else:
            assert b > 165, f"{key}: {b:.0f}: the default focus (right) should apply"


def test_article_focus_beats_the_variant_position_which_beats_centre(site, engine):
    small_config(site, defaults="position: east")
    wide_master(site, "east")
    wide_master(site, "focus")
    site.article("east", keys=KEYS)
    site.article("focus", extra="focus: [0.05, 0.5]", keys=KEYS)
    assert build(site, engine).ok
    for key in KEYS:
        assert brightness(out(site, key, "east")) > 165, key  # position: east over the default centre
        assert brightness(out(site, key, "focus")) < 90, key  # the article's focus over position


def test_focus_key_is_configurable(site, engine):
    small_config(site, top="focus_key: crop_point")
    wide_master(site, "renamed")
    site.article("renamed", extra="crop_point: [0.05, 0.5]\nfocus: [0.95, 0.5]", keys=KEYS)
    assert build(site, engine).ok
    assert brightness(out(site, "image", "renamed")) < 90


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


def xy_master(size: int = 600) -> Image.Image:
    """Red rises with x, green with y: a crop's mean colour says where it was taken."""
    ramp = bytes(i * 255 // (size - 1) for i in range(size))
    red = Image.frombytes("L", (size, size), ramp * size)
    green = Image.frombytes("L", (size, size), b"".join(bytes([v]) * size for v in ramp))
    return Image.merge("RGB", (red, green, Image.new("L", (size, size), 128)))


def test_the_nine_gravities_put_the_crop_where_they_say(site, engine):
    lines = ["variants:"]
    keys = {}
    for g in GRAVITY:  # a wide variant moves only vertically, a tall one only horizontally
        lines.append(f'  w-{g}: {{key: w_{g}, path: "/g/w-{g}/{{slug}}.png", width: 150, height: 50, position: {g}}}')
        lines.append(f'  t-{g}: {{key: t_{g}, path: "/g/t-{g}/{{slug}}.png", width: 50, height: 150, position: {g}}}')
        keys[f"w_{g}"], keys[f"t_{g}"] = f"/g/w-{g}/{{slug}}.png", f"/g/t-{g}/{{slug}}.png"
    site.config("\n".join(lines) + "\n")
    site.master("xy", image=xy_master())
    site.article("xy", keys=keys)
    report = build(site, engine)
    assert report.ok, report.problems
    for g, (ax, ay) in GRAVITY.items():
        # the crop is 600×200 (or 200×600); its centre sits at 100 + 400 × anchor
        want = 255 * (100 + 400 * ay) / 599
        got = mean_rgb(site.public / f"g/w-{g}/xy.png")[1]
        assert abs(got - want) < 6, f"{g} (wide): mean green {got:.0f}, expected {want:.0f}"
        want = 255 * (100 + 400 * ax) / 599
        got = mean_rgb(site.public / f"g/t-{g}/xy.png")[0]
        assert abs(got - want) < 6, f"{g} (tall): mean red {got:.0f}, expected {want:.0f}"


def busy_master() -> Image.Image:
    """Flat blue-grey, with a saturated high-contrast cluster in the right quarter."""
    import random

    im = Image.new("RGB", (600, 400), (120, 130, 140))
    rnd = random.Random(4)
    for _ in range(400):
        x, y = rnd.randrange(470, 590), rnd.randrange(100, 300)
        im.paste(rnd.choice([(230, 40, 30), (250, 220, 30), (20, 20, 20), (255, 255, 255)]), (x, y, x + 9, y + 9))
    return im


@pytest.mark.parametrize("position", ["attention", "entropy"])
def test_smart_positions_find_the_busy_part(site, engine, position):
    site.config(
        "variants:\n"
        f'  smart: {{key: image, path: "/s/{{slug}}.png", width: 100, height: 200, position: {position}}}\n'
        '  plain: {key: mobile, path: "/p/{slug}.png", width: 100, height: 200}\n'
    )
    site.master("busy", image=busy_master())
    site.article("busy", keys={"image": "/s/{slug}.png", "mobile": "/p/{slug}.png"})
    assert build(site, engine).ok
    smart = Image.open(site.public / "s/busy.png").convert("L")
    plain = Image.open(site.public / "p/busy.png").convert("L")
    assert ImageStat.Stat(plain).stddev[0] < 2  # the centre crop is flat
    assert ImageStat.Stat(smart).stddev[0] > 30, f"{position} crop missed the detail"


def test_contain_pads_with_the_background_colour(site, engine):
    small_config(site, defaults='fit: contain, background: "#ff0000"')
    wide_master(site, "wide")
    site.article("wide", keys=KEYS)
    assert build(site, engine).ok
    for key, (w, h) in SIZES.items():
        im = Image.open(out(site, key, "wide")).convert("RGB")
        assert im.size == (w, h)
        band = round((h - w / 3) / 2)  # the 3:1 master fills the width; the rest is padding
        assert band > 5
        for y in (1, h - 2):
            assert all(abs(c - e) <= 2 for c, e in zip(im.getpixel((w // 2, y)), (255, 0, 0))), (key, y, im.getpixel((w // 2, y)))
        assert im.getpixel((w // 2, h // 2))[1] > 50  # the picture itself, not padding


def test_contain_pads_transparent_masters_with_the_opaque_background(site, engine):
    small_config(site, defaults='fit: contain, background: "#0000ff"')
    im = Image.new("RGBA", (1800, 600), (200, 100, 0, 255))
    site.master("logo", image=im)
    site.article("logo", keys=KEYS)
    assert build(site, engine).ok
    px = Image.open(out(site, "image", "logo")).convert("RGBA").getpixel((200, 2))
    assert px == (0, 0, 255, 255), px


def test_inside_yields_a_smaller_output_of_the_same_aspect(site, engine):
    small_config(site, defaults="fit: inside")
    wide_master(site, "wide")
    site.article("wide", keys=KEYS)
    report = build(site, engine)
    assert report.ok
    for key, (w, _h) in SIZES.items():
        size = Image.open(out(site, key, "wide")).size
        assert size == (w, round(w / 3)), (key, size)
    assert renditions.check(site.root, engine=engine).ok


# -- too-small masters ------------------------------------------------------------------------------


def test_too_small_master_fails_naming_both_sizes_and_writes_nothing(site, engine):
    site.master("small", size=(640, 400))
    site.master("fine", size=(1600, 900))
    site.article("small")
    site.article("fine")
    report = build(site, engine)
    assert report.failed_articles == ("content/small.md",)
    [problem] = report.errors
    assert "master 640×400 is smaller than single (1600×900)" in problem.reason
    assert problem.reason == (
        "source_images/small.png: master 640×400 is smaller than single (1600×900), mobile-single (800×600)"
        " and article (800×450); use a larger master or set upscale: true"
    )
    assert not any(p.exists() for p in site.outputs("small"))
    assert all(p.exists() for p in site.outputs("fine"))


def test_upscale_true_allows_a_small_master(site, engine):
    text = (Path(site.root) / "config" / "renditions.yaml").read_text()
    site.config(text + "defaults: {upscale: true}\n")
    site.master("small", size=(640, 400))
    site.article("small")
    report = build(site, engine)
    assert report.ok, report.problems
    assert Image.open(site.out("singleImage", "small")).size == (1600, 900)


def test_upscale_per_variant(site, engine):
    site.config(
        "variants:\n"
        '  big:   {key: image,  path: "/b/{slug}.png", width: 800, height: 450, upscale: true}\n'
        '  small: {key: mobile, path: "/s/{slug}.png", width: 320, height: 180}\n'
    )
    site.master("m", size=(640, 360))
    site.article("m", keys={"image": "/b/{slug}.png", "mobile": "/s/{slug}.png"})
    assert build(site, engine).ok
    assert Image.open(site.public / "b/m.png").size == (800, 450)
    site.config(
        "variants:\n"
        '  big:   {key: image,  path: "/b/{slug}.png", width: 800, height: 450}\n'
        '  small: {key: mobile, path: "/s/{slug}.png", width: 320, height: 180}\n'
    )
    report = build(site, engine)
    assert [p.reason for p in report.errors] == [
        "source_images/m.png: master 640×360 is smaller than big (800×450); use a larger master or set upscale: true"
    ]


# -- alpha ------------------------------------------------------------------------------------------


def half_transparent() -> Image.Image:
    im = Image.new("RGBA", (960, 540), (30, 120, 200, 255))
    im.paste((0, 0, 0, 0), (0, 0, 480, 540))
    return im


def test_alpha_kept_in_png_webp_avif_and_flattened_on_background_in_jpeg(site, engine):
    avif = features.check("avif")
    if engine == "pillow" and not avif:
        pytest.skip("this Pillow has no AVIF codec")
    small_config(site, defaults='background: "#00ff00", also: [webp, jpeg' + (", avif]" if avif else "]"))
    site.master("alpha", image=half_transparent())
    site.article("alpha", keys=KEYS)
    report = build(site, engine)
    assert report.ok, report.problems
    exts = [".png", ".webp"] + ([".avif"] if avif else [])
    for key, (w, h) in SIZES.items():
        for ext in exts:
            im = Image.open(out(site, key, "alpha", ext)).convert("RGBA")
            assert im.getpixel((5, h // 2))[3] == 0, f"{key}{ext}: left half should stay transparent"
            right = im.getpixel((w - 5, h // 2))
            assert right[3] == 255 and abs(right[2] - 200) < 12, f"{key}{ext}: {right}"
        jpeg = Image.open(out(site, key, "alpha", ".jpg"))
        assert jpeg.mode == "RGB"
        left = jpeg.getpixel((5, h // 2))
        assert left[1] > 240 and left[0] < 15 and left[2] < 15, f"{key}: transparency flattened to {left}, expected #00ff00"


# -- encoders ---------------------------------------------------------------------------------------


def photo_like(size=(1600, 900)) -> Image.Image:
    """Many colours and fine detail, where palette PNG pays off (a smooth gradient would not)."""
    detail = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 100)
    return Image.merge("RGB", (detail, Image.linear_gradient("L").resize(size), Image.effect_noise(size, 20)))


def test_png_palette_quantises_and_saves_bytes(site, engine):
    small_config(site)
    site.master("g", image=photo_like((960, 540)))
    site.article("g", keys=KEYS)
    assert build(site, engine).ok
    truecolour = {k: out(site, k, "g").stat().st_size for k in KEYS}
    reference = {k: Image.open(out(site, k, "g")).convert("RGB") for k in KEYS}
    small_config(site, defaults="png: {palette: true}")
    report = build(site, engine)
    assert report.count("written") == 4  # palette changes the recipe: every output is redone
    for key in KEYS:
        im = Image.open(out(site, key, "g"))
        assert im.mode == "P", f"{key}: {im.mode}"
        assert len(im.convert("RGB").getcolors(1 << 16) or ()) <= 256
        assert out(site, key, "g").stat().st_size < truecolour[key]
        err = sum(ImageStat.Stat(ImageChops.difference(im.convert("RGB"), reference[key])).mean) / 3
        assert err < 8, f"{key}: palette output differs by {err:.1f} on average"


def test_also_writes_modern_siblings_tracked_by_manifest_and_check(site, engine):
    if engine == "pillow" and not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    small_config(site, defaults="also: [webp, avif]")
    site.master("x", size=(960, 540))
    site.article("x", keys=KEYS)
    report = build(site, engine)
    assert report.ok, report.problems
    assert report.count("written") == 12
    manifest = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    for key, (w, h) in SIZES.items():
        for ext, fmt in ((".png", "png"), (".webp", "webp"), (".avif", "avif")):
            path = out(site, key, "x", ext)
            assert sniff_file(str(path)) == (fmt, w, h), path
            site_path = KEYS[key].format(slug="x").replace(".png", ext)
            assert manifest[site_path]["format"] == fmt and manifest[site_path]["width"] == w
    assert renditions.check(site.root, engine=engine).ok
    out(site, "image", "x", ".avif").unlink()
    report = renditions.check(site.root, engine=engine)
    assert [(p.path, p.reason) for p in report.errors] == [("/img/a/x.avif", "missing")]
    report = build(site, engine)
    assert [o.path for o in report.outputs if o.status == "written"] == ["/img/a/x.avif"]


# -- animated and multi-page -------------------------------------------------------------------------


def test_animated_gif_uses_the_first_frame_and_the_report_says_so(site, engine):
    small_config(site)
    frames = [Image.new("RGB", (960, 540), c) for c in ((220, 20, 20), (20, 20, 220), (20, 220, 20))]
    path = site.sources / "anim.png"  # named .png on purpose: the content decides the format
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    site.article("anim", keys=KEYS)
    report = build(site, engine)
    assert report.ok, report.problems
    assert report.notes == ("content/anim.md: gif has 3 frames or pages: the first was used",)
    for key in KEYS:
        r, g, b = mean_rgb(out(site, key, "anim"))
        assert r > 200 and g < 40 and b < 40, (key, (r, g, b))
    entry = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]["/img/a/anim.png"]
    assert entry["notes"] == ["gif has 3 frames or pages: the first was used"]
    assert report.to_json()["notes"] == list(report.notes)


def test_multipage_tiff_uses_the_first_page(site, engine):
    small_config(site)
    pages = [Image.new("RGB", (960, 540), c) for c in ((20, 200, 20), (200, 20, 20))]
    pages[0].save(site.sources / "pages.tif", "TIFF", save_all=True, append_images=pages[1:])
    site.article("pages", keys=KEYS)
    report = build(site, engine)
    assert report.ok and report.notes == ("content/pages.md: tiff has 2 frames or pages: the first was used",)
    assert mean_rgb(out(site, "image", "pages"))[1] > 180


# -- placeholders ------------------------------------------------------------------------------------


def test_every_manifest_entry_has_a_dominant_colour_and_a_tiny_placeholder(site, engine):
    small_config(site, defaults="also: [webp]")
    site.master("plain", size=(960, 540), colour=(40, 90, 160))
    site.master("grad", size=(960, 540))
    site.article("plain", keys=KEYS)
    site.article("grad", keys=KEYS)
    report = build(site, engine)
    assert report.ok
    entries = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    assert len(entries) == 16
    for site_path, e in entries.items():
        assert re.fullmatch(r"#[0-9a-f]{6}", e["colour"]), site_path
        uri = e["placeholder"]
        assert uri.startswith("data:image/") and len(uri) <= 300, (site_path, len(uri))
        tiny = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert max(tiny.size) <= 32 and tiny.size[0] / tiny.size[1] == pytest.approx(e["width"] / e["height"], rel=0.35)
        if "/plain." in site_path:
            colour = tuple(int(e["colour"][i : i + 2], 16) for i in (1, 3, 5))
            assert delta_e76(colour, (40, 90, 160)) < 2, (site_path, e["colour"])
    for o in report.outputs:  # the --json report carries the same before anything reads the manifest
        assert o.colour == entries[o.path]["colour"] and o.placeholder == entries[o.path]["placeholder"]
