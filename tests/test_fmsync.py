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
    b'image: "/img/artical/articles/crlf.png"\r\n'
    b"tags: [a, b]\r\n"
    b"---\r\n"
    b"\r\n"
    b"Body text \xc3\xa9, untouched.\r\n"
)
ADDED = (
    b'mobile: "/img/artical/mobile-articles/crlf.png"\r\nMobileSingleImage: "/img/artical/mobile-single-articles/crlf.png"\r\n'
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
    # the build's "no `mobile` key: using ..." warnings are what the would-add line says: not repeated
    assert "key: using" not in result.output
    plain = CliRunner().invoke(main, ["build", "--root", str(site.root), "--dry-run"])
    assert "warning: content/lf.md: no `mobile` key: using /img/artical/mobile-articles/lf.png" in plain.output


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


TOML = (
    b"+++\r\n"
    b"title = 'TOML, as hugo new writes it'  # a comment\r\n"
    b'image = "/img/artical/articles/toml.png"\r\n'
    b"[params]\r\n"
    b"subtitle = 'a page parameter, no variant key'\r\n"
    b"+++\r\n"
    b"Body \xe9 in Latin-1.\r\n"
)
JSON = b'{\n    "title": "JSON, as Hugo accepts it",\n    "image": "/img/artical/articles/json.png"\n}\nBody { with braces }.\n'


def test_toml_and_json_get_keys_in_their_own_format(site):
    """Keys land at the top level of each format (TOML: before [params]); every other byte stays."""
    for slug, raw in (("toml", TOML), ("json", JSON)):
        site.master(slug)
        (site.root / "content" / f"{slug}.md").write_bytes(raw)
    result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert result.exit_code == 0, result.output
    toml = (site.root / "content" / "toml.md").read_bytes()
    at = TOML.index(b"[params]")
    assert (
        toml
        == TOML[:at]
        + (
            b'mobile = "/img/artical/mobile-articles/toml.png"\r\n'
            b'singleImage = "/img/artical/single-articles/toml.png"\r\n'
            b'MobileSingleImage = "/img/artical/mobile-single-articles/toml.png"\r\n'
        )
        + TOML[at:]
    )
    json_ = (site.root / "content" / "json.md").read_bytes()
    at = JSON.index(b"\n}")
    assert (
        json_
        == JSON[:at]
        + (
            b',\n    "mobile": "/img/artical/mobile-articles/json.png"'
            b',\n    "singleImage": "/img/artical/single-articles/json.png"'
            b',\n    "MobileSingleImage": "/img/artical/mobile-single-articles/json.png"'
        )
        + JSON[at:]
    )
    assert "no `mobile` key" not in result.output
    assert all(p.exists() for slug in ("toml", "json") for p in site.outputs(slug))
    check = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert check.exit_code == 0, check.output


def test_nothing_is_written_when_the_build_refuses_to_run(site):
    """`hugo new content` writes drafts. A user's trial: on a site of drafts alone, the build
    added every key and then stopped with exit 2 ("nothing was done"). Now nothing is written
    when the build will refuse; with --drafts the keys are added and the draft is built; beside
    a published article, a draft gets its keys too (ready for the day it is published)."""
    draft = site.root / "content" / "first-post.md"
    original = b'+++\ntitle = "First post"\ndraft = true\n+++\n\nText.\n'
    draft.write_bytes(original)
    site.master("first-post")
    refused = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert refused.exit_code == 2
    assert "only 1 draft (`--drafts` includes them)" in refused.stderr
    assert draft.read_bytes() == original and "added" not in refused.output
    built = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter", "--drafts"])
    assert built.exit_code == 0, built.output
    assert "content/first-post.md: added image, mobile, singleImage, MobileSingleImage" in built.stderr
    assert draft.read_bytes().startswith(
        b'+++\ntitle = "First post"\ndraft = true\nimage = "/img/artical/articles/first-post.png"\n'
    )
    assert all(p.exists() for p in site.outputs("first-post"))
    only = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter", "--only", "nosuch"])
    assert only.exit_code == 2 and "added" not in only.output
    second = site.root / "content" / "second-post.md"
    second.write_bytes(original.replace(b"First", b"Second"))
    site.master("second-post")
    site.article("published", keys={})
    site.master("published")
    both = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert both.exit_code == 0, both.output
    assert "content/second-post.md: added image, mobile, singleImage, MobileSingleImage" in both.stderr
    assert "content/published.md: added image, mobile, singleImage, MobileSingleImage" in both.stderr


def test_keys_are_written_under_the_lock_and_only_in_the_shard(site):
    """The sync writes users' articles, so it runs as the build writes: under the site's lock (a
    second build refuses and touches no article) and within --shard (the jobs of a CI matrix each
    touch their own articles, never another's at the same moment)."""
    from renditions.lock import site_lock
    from renditions.shard import in_shard

    slugs = [f"post-{i}" for i in range(8)]
    paths = {}
    for slug in slugs:
        site.master(slug)
        paths[slug] = site.article(slug, keys={"image": "/img/artical/articles/{slug}.png"})
    before = {slug: p.read_bytes() for slug, p in paths.items()}
    with site_lock(site.root):
        locked = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert locked.exit_code != 0 and "another renditions build is running" in locked.stderr
    assert "Traceback" not in locked.output and "added" not in locked.output
    assert {slug: p.read_bytes() for slug, p in paths.items()} == before
    first = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter", "--shard", "1/2"])
    assert first.exit_code == 0, first.output
    mine = {slug for slug in slugs if in_shard(f"content/{slug}.md", (1, 2))}
    assert 0 < len(mine) < len(slugs)  # both shards have articles, so the test can fail
    for slug in slugs:
        changed = paths[slug].read_bytes() != before[slug]
        assert changed == (slug in mine), slug
        assert (f"content/{slug}.md: added" in first.stderr) == (slug in mine)
    second = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter", "--shard", "2/2"])
    assert second.exit_code == 0, second.output
    assert all(b'mobile: "/img/artical/mobile-articles/' in p.read_bytes() for p in paths.values())


def test_a_toml_string_holding_a_bracket_line_is_text_and_an_unknown_layout_is_refused(site):
    """--write-front-matter took a line starting with `[` inside a TOML multi-line string for a
    table and wrote the keys into the string (the description changed, the keys were never
    read, each run added four more lines); it appended block lines to a one-line YAML `{...}`
    mapping, which no longer parsed, and Hugo then refused the whole site (a user's trial).
    The keys now go after the string, and any insertion that would not read back as the old
    front matter plus exactly the new keys is refused, the file untouched."""
    import tomllib

    toml = (
        b"+++\n"
        b"title = 'Note'\n"
        b'description = """\nA note:\n[not a table]\nend"""\n'
        b"quote = '''\n[[nor this]]\n'''\n"
        b"[params]\n"
        b"tag = 'x'\n"
        b"+++\n"
        b"body\n"
    )
    flow = b"---\n{title: Flowy, tags: [a, b]}\n---\nbody\n"
    site.master("note")
    site.master("flowy")
    (site.root / "content" / "note.md").write_bytes(toml)
    (site.root / "content" / "flowy.md").write_bytes(flow)
    for _ in range(2):  # the second run finds nothing to add to the note, and still refuses flowy
        result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
        assert result.exit_code == 0, result.output
        assert (
            "warning: content/flowy.md: cannot add image, mobile, singleImage, MobileSingleImage as new lines without"
            " changing what the rest of its front matter says (a layout such as a one-line {...} mapping): add them by"
            " hand, nothing was written"
        ) in result.output
    assert (site.root / "content" / "flowy.md").read_bytes() == flow
    written = (site.root / "content" / "note.md").read_bytes()
    data = tomllib.loads(written.split(b"+++\n")[1].decode())
    assert data["description"] == "A note:\n[not a table]\nend" and data["quote"] == "[[nor this]]\n"
    assert data["params"] == {"tag": "x"}
    assert data["mobile"] == "/img/artical/mobile-articles/note.png" and written.count(b"mobile = ") == 1
    assert written.replace(written[written.index(b"image = ") : written.index(b"[params]")], b"") == toml


def test_hugo_params_name_the_image_the_page_shows(site):
    """Hugo reads a page's custom keys from `params` (`[params]` in TOML) over the top-level ones:
    renditions ignored them, built the top-level or template path, and check passed while the
    page showed `[params] image`, a file nobody wrote (a user's trial on a real Hugo site)."""
    from PIL import Image

    toml = b"+++\ntitle = 'Trip'\n[params]\n  image = '/img/cards/trip-card.png'\n+++\nbody\n"
    yaml_ = b'---\ntitle: Walk\nimage: "/img/artical/articles/old-walk.png"\nparams:\n  image: /img/cards/walk-card.png\n---\n'
    site.master("trip")
    site.master("walk")
    (site.root / "content" / "trip.md").write_bytes(toml)
    (site.root / "content" / "walk.md").write_bytes(yaml_)
    for _ in range(2):  # the second run reads the front matter from the cache
        result = CliRunner().invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
        assert result.exit_code == 0, result.output
        for slug in ("trip", "walk"):
            with Image.open(site.public / "img" / "cards" / f"{slug}-card.png") as im:
                assert im.size == (800, 450)  # the `image` variant's size
        assert not (site.public / "img" / "artical" / "articles" / "old-walk.png").exists()
        assert not (site.public / "img" / "artical" / "articles" / "trip.png").exists()
        check = CliRunner().invoke(main, ["check", "--root", str(site.root)])
        assert check.exit_code == 0, check.output
    written = (site.root / "content" / "trip.md").read_bytes()
    assert b"\nimage = " not in written and written.count(b"mobile = ") == 1  # the other keys, at the top level
