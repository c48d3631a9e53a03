"""`build --write-front-matter`: exactly the missing keys are added; every other byte stays."""
from __future__ import annotations

from click.testing import CliRunner

from renditions.cli import main
from renditions.fmsync import insert_keys

ORIGINAL = (
    b"---\r\n"
    b"# a comment the sync must keep\r\n"
    b"title:   'Single quotes, odd spacing'\r\n"
    b"singleImage: /img/artical/single-articles/crlf.png   # unquoted, with a comment\r\n"
    b"image: \"/img/artical/articles/crlf.png\"\r\n"
    b"tags: [a, b]\r\n"
    b"---\r\n"
    b"\r\n"
    b"Body text \xc3\xa9, untouched.\r\n"
)
ADDED = (
    b'mobile: "/img/artical/mobile-articles/crlf.png"\r\n'
    b'MobileSingleImage: "/img/artical/mobile-single-articles/crlf.png"\r\n'
)


def test_adds_exactly_the_two_missing_lines_crlf(site):
    site.master("crlf")
    path = site.root / "content" / "crlf.md"
    path.write_bytes(ORIGINAL)
    path.chmod(0o640)
    result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert result.exit_code == 0, result.output
    assert "content/crlf.md: added mobile, MobileSingleImage" in result.output
    closing = ORIGINAL.index(b"---\r\n", 3)
    assert path.read_bytes() == ORIGINAL[:closing] + ADDED + ORIGINAL[closing:]
    assert path.stat().st_mode & 0o777 == 0o640
    # the build used the written keys: no "no `mobile` key" warning, and all four outputs exist
    assert "no `mobile` key" not in result.output
    assert all(p.exists() for p in site.outputs("crlf"))
    again = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert "added" not in again.output and path.read_bytes() == ORIGINAL[:closing] + ADDED + ORIGINAL[closing:]


def test_dry_run_writes_nothing(site):
    site.master("lf")
    path = site.article("lf", keys={"image": "/img/artical/articles/{slug}.png"})
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter", "--dry-run"])
    assert "would add mobile, singleImage, MobileSingleImage" in result.output
    assert path.read_bytes() == before


def test_lf_bom_and_dots_terminator():
    raw = b"\xef\xbb\xbf---\ntitle: x\n...\nbody\n"
    out = insert_keys(raw, (("image", "/img/a b.png"),))
    assert out == b'\xef\xbb\xbf---\ntitle: x\nimage: "/img/a b.png"\n...\nbody\n'


def test_unparseable_article_is_left_alone(site):
    site.master("bad")
    path = site.root / "content" / "bad.md"
    path.write_bytes(b"---\ntitle: [unclosed\n---\n")
    CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert path.read_bytes() == b"---\ntitle: [unclosed\n---\n"
