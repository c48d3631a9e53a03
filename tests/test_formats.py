"""One table of formats (renditions.formats), and everything that lists formats agrees with it:
master lookup, the sniffer, hints, output paths, messages, `build --help` and the README."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, features

from renditions import formats
from renditions.cli import main
from renditions.config import format_for, load_config
from renditions.discover import discover
from renditions.hints import master_names
from renditions.plan import sibling_path
from renditions.sniff import SIZE_READERS, sniff, sniff_file
from renditions.watch import kind_of

README = Path(__file__).resolve().parents[1] / "README.md"
REFUSED = [f for f in formats.FORMATS if not f.read]


def test_the_table_holds_together():
    names = [f.name for f in formats.FORMATS]
    assert len(names) == len(set(names))
    exts = [e for f in formats.FORMATS for e in f.master_exts]
    assert len(exts) == len(set(exts)) and all(e == e.lower() and e.startswith(".") for e in exts)
    assert {f.name for f in REFUSED} == {"bmp", "ico", "ppm"}
    assert {f.name for f in formats.READ} >= {"png", "jpeg", "webp", "tiff", "gif", "avif"}
    for f in formats.WRITTEN:  # a written format is read back, has a MIME type and a size reader
        assert f.read and f.mime and f.output_exts and f.name in SIZE_READERS, f.name
    assert set(SIZE_READERS) == {f.name for f in formats.WRITTEN}


@pytest.mark.parametrize("ext", formats.MASTER_EXTS)
def test_every_extension_in_the_table_finds_its_master(site, ext):
    for i, shown in enumerate((ext, ext.upper())):
        slug = f"m{i}"
        (site.root / "content" / f"{slug}.md").write_text(f"---\nslug: {slug}\n---\n")
        (site.sources / f"{slug}{shown}").write_bytes(b"x")
    cfg = load_config(site.root)
    found = {a.slug: a.master for a in discover(cfg)}
    assert found == {"m0": site.sources / f"m0{ext}", "m1": site.sources / f"m1{ext.upper()}"}
    assert master_names(site.sources) == sorted([f"m0{ext}", f"m1{ext.upper()}"])
    assert kind_of(cfg, site.root / "config" / "renditions.yaml", str(site.sources / f"m0{ext}")) == "master"


def _signed(signature: tuple[tuple[int, bytes], ...]) -> bytes:
    head = bytearray(64)
    for at, magic in signature:
        head[at : at + len(magic)] = magic
    return bytes(head)


@pytest.mark.parametrize("fmt", formats.FORMATS, ids=lambda f: f.name)
def test_every_signature_is_recognised_by_the_sniffer(fmt):
    for signature in fmt.signatures:
        assert formats.sniff_format(_signed(signature)) == fmt, signature
    assert formats.sniff_format(b"I am not an image") is None


#: Real files, written by Pillow, for every format of the table Pillow can write.
PILLOW_WRITES = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "tiff": "TIFF",
    "gif": "GIF",
    "bmp": "BMP",
    "ico": "ICO",
    "ppm": "PPM",
}
if features.check("avif"):
    PILLOW_WRITES["avif"] = "AVIF"


@pytest.mark.parametrize("name", sorted(PILLOW_WRITES))
def test_real_files_are_sniffed_as_their_format(name, tmp_path):
    path = tmp_path / "f"
    Image.new("RGB", (37, 21), (200, 30, 90)).save(path, PILLOW_WRITES[name])
    assert formats.sniff_format(path.read_bytes()[:64]).name == name
    if formats.BY_NAME[name].written:
        assert sniff_file(str(path)) == (name, 37, 21)
    else:
        assert sniff(path.read_bytes()) is None  # the sizes of formats never written aren't needed


def test_output_extensions_and_formats_come_from_the_table():
    for f in formats.WRITTEN:
        for ext in f.output_exts:
            assert format_for(f"/img/x{ext}") == f.name and format_for(f"/img/x{ext.upper()}") == f.name
        assert sibling_path("/img/x.png", f.name) == f"/img/x{f.ext}"
    for f in formats.FORMATS:
        if not f.written:
            assert all(format_for(f"/img/x{e}") is None for e in f.master_exts), f.name


def test_build_help_lists_the_tables_formats():
    text = " ".join(CliRunner().invoke(main, ["build", "--help"], terminal_width=200).output.split())
    for f in formats.FORMATS:
        for ext in f.master_exts:
            assert f" {ext[1:]}" in text, ext
        for ext in f.output_exts:
            assert f" {ext}" in text, ext


def _listed(text: str) -> list[str]:
    """ "a, b, c or d" → [a, b, c, d]."""
    return [w.strip("`") for w in re.split(r",\s*|\s+(?:or|and)\s+", " ".join(text.split()))]


def test_the_readmes_format_lists_match_the_table():
    text = " ".join(README.read_text().split())
    masters = re.search(r"`source_images/<slug>\.<ext>` for (.+?) \(extension in any case\)", text).group(1)
    assert _listed(masters) == [e[1:] for f in formats.READ for e in f.master_exts]
    refused = re.search(r"Masters named (.+?) are found too, and their article fails with \"not a supported image\"", text).group(
        1
    )
    assert _listed(refused) == [e[1:] for f in REFUSED for e in f.master_exts]
    outputs = re.search(r"The output format follows the extension of the front-matter path: (.+?)\. A query", text).group(1)
    assert _listed(outputs) == list(formats.OUTPUT_FORMATS)
    also = re.search(r"extra formats written beside the main one for `<picture>`, from (.+?) \|", text).group(1)
    assert _listed(also) == [f.name for f in formats.WRITTEN]
    read = re.search(r"\*\*What is read\.\*\* (.+?) masters are found and refused as \"not a supported image\"", text).group(1)
    for f in formats.READ:
        assert f.label in read.split(". ")[0], f.label
    assert _listed(read.split(". ")[-1]) == [f.label for f in REFUSED]


# -- through the CLI, with each engine ----------------------------------------------------------


def run_build(root: Path, engine: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "renditions", "build", "--root", str(root), "--engine", engine, "--jobs", "1"],
        capture_output=True,
        text=True,
    )


GIF_CONFIG = """\
variants:
  wide: {key: image, path: "/img/wide/{slug}.png", width: 160, height: 90}
  card: {key: card, path: "/img/card/{slug}.jpg", width: 64, height: 64, also: [webp]}
"""


@pytest.mark.parametrize("engine", ["vips", "pillow"])
def test_a_gif_master_is_found_and_built(site, engine):
    site.config(GIF_CONFIG)
    Image.linear_gradient("L").resize((320, 180)).convert("P").save(site.sources / "anim.gif")
    site.article("anim", keys={"image": "/img/wide/{slug}.png", "card": "/img/card/{slug}.jpg"})
    run = run_build(site.root, engine)
    assert run.returncode == 0, run.stderr
    for rel, size in (("wide/anim.png", (160, 90)), ("card/anim.jpg", (64, 64)), ("card/anim.webp", (64, 64))):
        with Image.open(io.BytesIO((site.public / "img" / rel).read_bytes())) as im:
            assert im.size == size, rel


@pytest.mark.parametrize("engine", ["vips", "pillow"])
def test_bmp_ico_and_ppm_masters_are_found_and_refused(site, engine):
    site.config(GIF_CONFIG)
    im = Image.new("RGB", (320, 180), (10, 120, 200))
    files = {
        f"x{i}": (ext, fmt)
        for i, (ext, fmt) in enumerate(
            [(".bmp", "BMP"), (".ico", "ICO"), (".ppm", "PPM"), (".pgm", "PPM"), (".pbm", "PPM"), (".PNM", "PPM")]
        )
    }
    for slug, (ext, fmt) in files.items():
        (im.convert("L") if ext == ".pgm" else im.convert("1") if ext == ".pbm" else im).save(site.sources / f"{slug}{ext}", fmt)
        site.article(slug, keys={"image": "/img/wide/{slug}.png", "card": "/img/card/{slug}.jpg"})
    site.master("good", size=(320, 180))
    site.article("good", keys={"image": "/img/wide/{slug}.png", "card": "/img/card/{slug}.jpg"})
    run = run_build(site.root, engine)
    assert run.returncode == 1, run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == len(files), run.stderr
    for slug, (ext, _) in files.items():
        [line] = [ln for ln in errors if ln.startswith(f"error: content/{slug}.md:")]
        assert f"source_images/{slug}{ext}" in line and "not a supported image" in line and "no master" not in line, line
    assert "Traceback" not in run.stderr
    assert (site.public / "img" / "wide" / "good.png").is_file()  # the other article still builds
    assert not (site.public / "img" / "wide" / "x0.png").exists()
    # check gives each article build's reason too (from the master's first bytes), beside its missing outputs
    check = subprocess.run(
        [sys.executable, "-m", "renditions", "check", "--root", str(site.root), "--engine", engine],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1, check.stderr
    for line in errors:
        assert line.removeprefix("error: ") in check.stdout.splitlines(), check.stdout
    assert "/img/wide/x0.png: missing" in check.stdout.splitlines()
    assert "content/good.md" not in check.stdout


def test_sniffing_finds_the_first_format_of_the_table_whose_signature_the_bytes_carry():
    """sniff_format's one expression says what a walk over the table says: each signature at its
    offsets, the first format in the table's order winning; a file cut short matches nothing."""
    from renditions.formats import FORMATS, sniff_format

    def walked(head: bytes):
        for f in FORMATS:
            for signature in f.signatures:
                if all(head[at : at + len(magic)] == magic for at, magic in signature):
                    return f
        return None

    heads = [b"", b"\x00" * 64, b"\n" * 64]
    for f in FORMATS:
        for signature in f.signatures:
            head = bytearray(b"\n" * 64)
            for at, magic in signature:
                head[at : at + len(magic)] = magic
            last = signature[-1][0] + len(signature[-1][1])
            heads += [bytes(head), bytes(head[:last]), bytes(head[: last - 1])]
            assert sniff_format(bytes(head)) is walked(bytes(head)) is not None
    assert [sniff_format(h) for h in heads] == [walked(h) for h in heads]
    assert sniff_format(b"\xff\xd8\xff\xe0").name == "jpeg" and sniff_format(b"RIFF\0\0\0\0WEBPVP8 ").name == "webp"
