"""Every peer image (../shared/testdata/peer-images) fed in as a master, with both engines.

One site per engine holds every image of MANIFEST.tsv as an article, built once; each
test then reads what a user would: the report, the files on disk, their pixels.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from _colour import delta_e76
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

import renditions
from renditions.formats import MASTER_EXTS

PEER = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "peer-images"

pytestmark = pytest.mark.skipif(
    not (PEER / "MANIFEST.tsv").is_file(), reason=f"peer images not found at {PEER} (the shared/ folder beside the clone)"
)

#: variant name -> (front-matter key, extension, width, height, fit). Small sizes keep the
#: build fast; every format renditions writes is covered, and `inside` shows the aspect.
VARIANTS = {
    "a": ("image", "png", 160, 90, "cover"),
    "b": ("mobile", "jpg", 64, 36, "cover"),
    "c": ("singleImage", "webp", 120, 120, "cover"),
    "d": ("MobileSingleImage", "png", 80, 60, "cover"),
    "e": ("thumb", "png", 100, 100, "inside"),
}
CONFIG = "defaults: {upscale: true}\nvariants:\n" + "".join(
    f'  {n}: {{key: {k}, path: "/img/{n}/{{slug}}.{ext}", width: {w}, height: {h}, fit: {fit}}}\n'
    for n, (k, ext, w, h, fit) in VARIANTS.items()
)


def manifest_rows() -> list[dict]:
    if not (PEER / "MANIFEST.tsv").is_file():
        return []
    with open(PEER / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@dataclass
class PeerSite:
    engine: str
    root: Path
    report: renditions.Report
    slugs: dict[str, str]  # manifest file -> slug
    rows: dict[str, dict]  # manifest file -> row

    def article(self, file: str) -> str:
        return f"content/{self.slugs[file]}.md"

    def out(self, file: str, variant: str) -> Path:
        ext = VARIANTS[variant][1]
        return self.root / "public" / "img" / variant / f"{self.slugs[file]}.{ext}"

    def image(self, file: str, variant: str) -> Image.Image:
        im = Image.open(self.out(file, variant))
        im.load()
        return im

    def failed(self, file: str) -> bool:
        return self.article(file) in self.report.failed_articles

    def problems(self, file: str) -> list[str]:
        return [f"{p.path}: {p.reason}" for p in self.report.problems if p.path == self.article(file) and p.error]

    def notes(self, file: str) -> list[str]:
        return [n for n in self.report.notes if n.startswith(self.article(file) + ":")]


@pytest.fixture(scope="module", params=["vips", "pillow"])
def peer(request, tmp_path_factory) -> PeerSite:
    engine = request.param
    root = tmp_path_factory.mktemp(f"peer-{engine}")
    for d in ("config", "content", "source_images"):
        (root / d).mkdir()
    (root / "config" / "renditions.yaml").write_text(CONFIG)
    slugs, rows = {}, {}
    for i, row in enumerate(manifest_rows()):
        f = row["file"]
        slug = f"p{i:03d}"
        ext = os.path.splitext(f)[1].lower()
        if ext not in MASTER_EXTS:  # .mpo .apng .bin: the content decides the format
            ext = ".png"
        shutil.copy(PEER / f, root / "source_images" / f"{slug}{ext}")
        keys = "".join(f"{k}: /img/{n}/{slug}.{e}\n" for n, (k, e, *_) in VARIANTS.items())
        (root / "content" / f"{slug}.md").write_text(f"---\ntitle: {f}\n{keys}---\n")
        slugs[f], rows[f] = slug, row
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RENDITIONS_CACHE_DIR", str(root / "cache"))
        report = renditions.build(root, engine=engine, jobs=1)
    return PeerSite(engine, root, report, slugs, rows)


# -- helpers: colour science and comparisons -----------------------------------------------


def pixels(im: Image.Image) -> list[tuple[int, ...]]:
    data, n = im.tobytes(), len(im.getbands())
    return [tuple(data[i : i + n]) for i in range(0, len(data), n)]


def mean_delta_e(im1: Image.Image, im2: Image.Image, size=(16, 9)) -> float:
    """Mean CIE76 ΔE over a coarse grid: compares colour, not compression noise."""
    a, b = (pixels(im.convert("RGB").resize(size, Image.Resampling.BOX)) for im in (im1, im2))
    return sum(delta_e76(p, q) for p, q in zip(a, b)) / len(a)


def mean_abs_diff(im1: Image.Image, im2: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255, at im1's size."""
    a = im1.convert("RGB")
    b = im2.convert("RGB").resize(a.size, Image.Resampling.LANCZOS)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def _rendered(peer: PeerSite, file: str) -> None:
    if peer.failed(file):
        pytest.fail(f"{peer.engine}: {file} failed: {peer.problems(file)}")


# -- every row ends as expected ------------------------------------------------------------


def _check_outputs(peer: PeerSite, file: str) -> list[str]:
    """Everything wrong with a rendered article's outputs (empty when all is right)."""
    wrong = []
    for name, (_, ext, w, h, fit) in VARIANTS.items():
        path = peer.out(file, name)
        if not path.is_file():
            wrong.append(f"{name}: missing")
            continue
        try:
            im = Image.open(path)
            im.load()
        except Exception as exc:
            wrong.append(f"{name}: unreadable ({exc})")
            continue
        want_fmt = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[ext]
        if im.format != want_fmt:
            wrong.append(f"{name}: {im.format}, expected {want_fmt}")
        if fit == "cover" and im.size != (w, h):
            wrong.append(f"{name}: {im.size}, expected {(w, h)}")
        if fit == "inside" and (max(im.size) != 100 or min(im.size) < 1):
            wrong.append(f"{name}: {im.size}, expected to fit 100×100 with one side 100 (upscale: true)")
    return wrong


def test_every_row_ends_as_its_manifest_expects(peer):
    rows = peer.rows
    assert len(rows) >= 140, "MANIFEST.tsv lost rows"
    mismatches = []
    outcomes = {}
    for file, row in rows.items():
        failed = peer.failed(file)
        outcomes[file] = "fail" if failed else "render"
        expected = row["expected"]
        if failed:
            problems = peer.problems(file)
            files_left = [n for n in VARIANTS if peer.out(file, n).exists()]
            if expected == "render":
                mismatches.append(f"{file}: expected to render, failed: {problems}")
            if len(problems) != 1:
                mismatches.append(f"{file}: expected one problem, got {problems}")
            for p in problems:
                if "\n" in p or "Traceback" in p or not re.search(rf"source_images/{peer.slugs[file]}\.\w+: \S", p):
                    mismatches.append(f"{file}: unclear message {p!r}")
            if files_left:
                mismatches.append(f"{file}: failed but left outputs {files_left}")
        else:
            if expected == "fail":
                mismatches.append(f"{file}: expected to fail, rendered")
            mismatches += [f"{file}: {w}" for w in _check_outputs(peer, file)]
    assert not mismatches, "\n".join(mismatches)
    # the outcome counts are in the report of issue 4; print them for `pytest -s`
    counts: dict[tuple[str, str], int] = {}
    for file, row in rows.items():
        key = (row["expected"], outcomes[file])
        counts[key] = counts.get(key, 0) + 1
    print(f"\n{peer.engine}: " + ", ".join(f"{e}→{o}: {n}" for (e, o), n in sorted(counts.items())))


def test_every_output_is_in_the_report_with_a_placeholder(peer):
    written = [o for o in peer.report.outputs if o.status == "written"]
    rendered = [f for f in peer.rows if not peer.failed(f)]
    assert len(written) == len(rendered) * len(VARIANTS)
    for o in written:
        assert re.fullmatch(r"#[0-9a-f]{6}", o.colour), o
        assert o.placeholder.startswith("data:image/") and len(o.placeholder) <= 300, (o.path, len(o.placeholder))


def test_check_agrees_with_the_build(peer):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RENDITIONS_CACHE_DIR", str(peer.root / "cache"))
        report = renditions.check(peer.root, engine=peer.engine)
    stale = [o.path for o in report.outputs if o.status == "stale"]
    failed_slugs = {peer.slugs[f] for f in peer.rows if peer.failed(f)}
    assert all(re.search(r"/(p\d{3})\.", p).group(1) in failed_slugs for p in stale), stale
    assert report.count("up to date") == peer.report.count("written")


# -- metadata --------------------------------------------------------------------------------


def test_no_output_carries_exif_xmp_or_comments(peer):
    leaks = []
    for file in peer.rows:
        if peer.failed(file):
            continue
        for name in VARIANTS:
            im = Image.open(peer.out(file, name))
            keys = {k for k in im.info if k.lower() in ("exif", "xmp", "xml:com.adobe.xmp", "comment", "photoshop", "iptc")}
            if getattr(im, "text", None):
                keys.add("text chunks")
            if dict(im.getexif()):
                keys.add("getexif")
            raw = peer.out(file, name).read_bytes()
            if b"Exif\x00\x00" in raw[:65536] or b"http://ns.adobe.com/xap/1.0/" in raw:
                keys.add("raw EXIF/XMP bytes")
            if keys:
                leaks.append(f"{file} {name}: {sorted(keys)}")
    assert not leaks, "\n".join(leaks)


# -- colour ------------------------------------------------------------------------------------


def test_cmyk_master_colour_matches_its_rgb_twin(peer):
    _rendered(peer, "pillow/pil_sample_cmyk.jpg")
    for name in VARIANTS:
        cmyk = peer.image("pillow/pil_sample_cmyk.jpg", name)
        assert cmyk.mode in ("RGB", "RGBA"), f"{name}: {cmyk.mode}"
        de = mean_delta_e(cmyk, peer.image("pillow/pil_sample_rgb.jpg", name))
        assert de < 5, f"{name}: mean ΔE76 {de:.1f} between the CMYK and the RGB sample"


def test_cmyk_tiff_is_not_inverted(peer):
    _rendered(peer, "pillow/tiff_strip_cmyk_jpeg.tif")
    ref = Image.open(PEER / "pillow/tiff_strip_cmyk_jpeg.tif").convert("RGB")  # naive, but never inverted
    out = peer.image("pillow/tiff_strip_cmyk_jpeg.tif", "e")
    inverted = ImageChops.invert(ref)
    assert mean_delta_e(out, ref) < mean_delta_e(out, inverted) / 3


def samples16(file: str) -> list[int]:
    """The raw samples of a 16-bit greyscale master, read with Pillow."""
    im = Image.open(PEER / file)
    data = im.tobytes("raw", "I;16")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def test_16_bit_masters_are_scaled_not_clipped(peer):
    # 16bit.cropped.tif: grey16 (samples 291..694); tiff_16bit_RGB.tiff: rgb16. The reference
    # is the master's own 16-bit mean scaled to 8 bits (÷257); clipping would push it to 255.
    raw = samples16("pillow/16bit.cropped.tif")
    want_grey = sum(raw) / len(raw) / 257
    rgb16 = Image.open(PEER / "pillow/tiff_16bit_RGB.tiff").convert("RGB")  # Pillow keeps the high byte
    want_rgb = ImageStat.Stat(rgb16.convert("L")).mean[0]
    for file, want in (("pillow/16bit.cropped.tif", want_grey), ("pillow/tiff_16bit_RGB.tiff", want_rgb)):
        _rendered(peer, file)
        out = peer.image(file, "e").convert("L")
        got = ImageStat.Stat(out).mean[0]
        assert abs(got - want) < 1.5, f"{file}: mean {got:.2f}, expected {want:.2f}"
        white = out.histogram()[255] / (out.width * out.height)
        assert white < 0.5, f"{file}: {white:.0%} of pixels are white: clipped"


def test_16_bit_grey_colour_key_becomes_transparency(peer):
    # i_trns.png: 16-bit grey with samples 0..255 (so, scaled, nearly black) and tRNS key 255
    raw = samples16("pillow/i_trns.png")
    keyed = sum(1 for v in raw if v == 255) / len(raw)
    out = peer.image("pillow/i_trns.png", "e").convert("LA")
    lum, alpha = out.split()
    clear = alpha.histogram()[0] / (out.width * out.height)
    assert abs(clear - keyed) < 0.05, f"{clear:.1%} transparent, the key marks {keyed:.1%}"
    opaque_max = max(v for v, a in zip(lum.tobytes(), alpha.tobytes()) if a == 255)
    assert opaque_max <= 2, f"opaque samples reach {opaque_max}: 16-bit values were not scaled"


@pytest.mark.parametrize(
    "file", ["pillow/hopper_gray.jpg", "pillow/hopper_bw_500.png", "pillow/16bit.cropped.tif", "pillow/pport_g4.tif"]
)
def test_grey_masters_stay_neutral(peer, file):
    _rendered(peer, file)
    for name in VARIANTS:
        im = peer.image(file, name).convert("RGB")
        r, g, b = im.split()
        worst = max(ImageChops.difference(r, g).getextrema()[1], ImageChops.difference(g, b).getextrema()[1])
        assert worst <= 3, f"{file} {name}: a channel differs by {worst}: not neutral"


def test_bilevel_master_is_resampled_in_grey(peer):
    # hopper_bw_500.png is 1-bit: a smooth resample makes intermediate greys, nearest-neighbour doesn't
    out = peer.image("pillow/hopper_bw_500.png", "e").convert("L")
    greys = sum(out.histogram()[16:240])
    assert greys > out.width * out.height * 0.05


# -- orientation -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_all_exif_orientations_come_out_upright(peer, kind):
    ref = f"exif-orientation/{kind}_1.jpg"
    _rendered(peer, ref)
    far = []
    for n in [0] + list(range(2, 9)):
        file = f"exif-orientation/{kind}_{n}.jpg"
        _rendered(peer, file)
        for name in VARIANTS:
            got, want = peer.image(file, name), peer.image(ref, name)
            assert got.size == want.size, f"{file} {name}: {got.size} vs {want.size}"
            d = mean_abs_diff(got, want)
            if d > 6:
                far.append(f"{file} {name}: mean abs diff {d:.1f} from {kind}_1")
    assert not far, "\n".join(far)
    e = peer.image(ref, "e")
    assert (e.width > e.height) == (kind == "Landscape")


@pytest.mark.parametrize(
    "file",
    [
        "pillow/hopper_orientation_2.jpg",
        "pillow/hopper_orientation_6.jpg",
        "pillow/hopper_orientation_8.jpg",
        "pillow/hopper_orientation_6.webp",
    ],
)
def test_hopper_orientations_match_hopper(peer, file):
    _rendered(peer, file)
    for name in VARIANTS:
        d = mean_abs_diff(peer.image(file, name), peer.image("pillow/hopper.jpg", name))
        assert d < 8, f"{name}: mean abs diff {d:.1f} from hopper.jpg"


@pytest.mark.parametrize(
    "file,aspect",
    [
        ("pillow/orientation_rectangle.jpg", 1 / 2),
        ("pillow/g4_orientation_6.tif", 590 / 88),
        ("exif-orientation/Portrait_6.jpg", 2 / 3),
    ],
)
def test_rotated_masters_keep_their_upright_aspect(peer, file, aspect):
    # g4_orientation_6.tif stores an 88×590 raster of a line of text running bottom to top;
    # orientation 6 turns it 90° clockwise, so the text reads left to right: upright is
    # 590×88. (MANIFEST.tsv's detail says "portrait 88x590", which is the raster applied twice.)
    _rendered(peer, file)
    e = peer.image(file, "e")  # fit: inside keeps the aspect of the upright master
    want = (100, round(100 / aspect)) if aspect >= 1 else (round(100 * aspect), 100)
    assert abs(e.width - want[0]) <= 1 and abs(e.height - want[1]) <= 1, f"{e.size}, expected {want}"


@pytest.mark.parametrize("file", ["pillow/xmp_tags_orientation.png", "pillow/exif_imagemagick_orientation.png"])
def test_png_orientation_is_applied(peer, file, site):
    # xmp_tags_orientation.png says 3 (180°) only in XMP; exif_imagemagick_orientation.png in
    # ImageMagick's hex "Raw profile type exif" text chunk. The latter's picture is point-symmetric:
    # turned 180° it is the same picture one pixel off, which no downscaled variant can show. So the
    # orientation is judged on a variant at the master's own size, where no resampling blurs it.
    _rendered(peer, file)
    master = Image.open(PEER / file)
    raw = _in_srgb(master)  # xmp_tags_orientation.png is in ColorMatch RGB; the output in sRGB
    upright = ImageOps.exif_transpose(raw)
    if "xmp" in file:  # Pillow's exif_transpose reads the XMP of the master, not of the converted copy
        upright = raw.transpose(Image.Transpose.ROTATE_180)
    w, h = upright.size
    site.config(f'variants:\n  full: {{key: image, path: "/img/full/{{slug}}.png", width: {w}, height: {h}, fit: cover}}\n')
    shutil.copy(PEER / file, site.sources / "m.png")
    site.article("m", keys={"image": "/img/full/{slug}.png"})
    renditions.build(site.root, engine=peer.engine, jobs=1)
    out = Image.open(site.public / "img" / "full" / "m.png")
    assert out.size == (w, h)
    near, away = mean_abs_diff(out, upright), mean_abs_diff(out, raw)
    assert near < 1.5 and away > 5, f"diff to upright {near:.2f}, to unrotated {away:.2f}"
    if "imagemagick" in file:
        return
    for name in ("a", "e"):  # and the downscaled variants of the peer site
        small = peer.image(file, name)
        near = mean_abs_diff(small, ImageOps.fit(upright, small.size))
        away = mean_abs_diff(small, ImageOps.fit(raw, small.size))
        assert near < away / 2, f"{name}: diff to upright {near:.1f}, to unrotated {away:.1f}"


def _in_srgb(im: Image.Image) -> Image.Image:
    """The RGB pixels of `im` converted from its embedded profile to sRGB, as a browser shows them."""
    icc = im.info.get("icc_profile")
    rgb = im.convert("RGB")
    if not icc:
        return rgb
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.profileToProfile(
        rgb, src, ImageCms.createProfile("sRGB"), renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
    )


# -- alpha ---------------------------------------------------------------------------------


@pytest.mark.parametrize("file", ["pillow/transparent.png", "pillow/transparent.webp", "pillow/transparent.gif"])
def test_alpha_kept_in_png_and_webp_flattened_on_white_in_jpeg(peer, file):
    _rendered(peer, file)
    for name in ("a", "c", "d", "e"):  # png, webp, png, png
        im = peer.image(file, name)
        assert "A" in im.mode or "transparency" in im.info, f"{name}: {im.mode} lost its alpha"
        alpha = im.convert("RGBA").getchannel("A")
        assert alpha.getextrema() == (0, 255), f"{name}: alpha range {alpha.getextrema()}"
        assert alpha.getpixel((0, im.height - 1)) == 0  # the master's corners are transparent
    jpeg = peer.image(file, "b")
    assert jpeg.mode == "RGB"
    corner = jpeg.getpixel((1, jpeg.height - 2))
    assert min(corner) > 240, f"transparent corner flattened to {corner}, expected the white background"


def test_palette_transparency_has_no_dark_fringe(peer):
    # p_trns_single.png: one palette entry is transparent; premultiplying wrongly darkens edges
    _rendered(peer, "pillow/p_trns_single.png")
    master = Image.open(PEER / "pillow/p_trns_single.png").convert("RGBA")
    flat = Image.new("RGB", master.size, (255, 255, 255))
    flat.paste(master, mask=master.getchannel("A"))
    out = peer.image("pillow/p_trns_single.png", "b")
    d = mean_delta_e(out, ImageOps.fit(flat, out.size))
    assert d < 6, f"JPEG flattened on white is mean ΔE76 {d:.1f} from the master flattened on white"


# -- animated and multi-page ------------------------------------------------------------------


@pytest.mark.parametrize(
    "file",
    [
        "pillow/chi.gif",
        "pillow/iss634.gif",
        "pillow/iss634.webp",
        "pillow/iss634.apng",
        "pillow/multipage.tiff",
        "pillow/apng/dispose_op_previous.png",
        "pillow/sugarshack.mpo",
    ],
)
def test_animated_and_multipage_masters_use_the_first_frame_and_say_so(peer, file):
    _rendered(peer, file)
    notes = peer.notes(file)
    assert len(notes) == 1 and "the first was used" in notes[0], notes
    with Image.open(PEER / file) as master:
        master.seek(0)
        first = master.convert("RGBA")
        second = None
        if getattr(master, "n_frames", 1) > 1:
            master.seek(1)
            second = master.convert("RGBA")
    out = peer.image(file, "e").convert("RGBA")
    flat = lambda im: Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)  # noqa: E731
    near = mean_abs_diff(flat(out), flat(first))
    assert near < 10, f"mean abs diff {near:.1f} from the first frame"
    if second is not None and mean_abs_diff(flat(first), flat(second)) > 20:
        assert near < mean_abs_diff(flat(out), flat(second))
