"""discover: a front-matter value of the wrong shape costs its article, with the key and the line."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from renditions.cli import main
from renditions.config import load_config
from renditions.discover import discover, path_slug, read_all
from renditions.errors import ConfigError
from renditions.gather import gather
from renditions.manifest import Manifest
from renditions.plan import make_plan


def articles(site):
    cfg = load_config(site.root)
    return cfg, {a.slug: a for a in discover(cfg)}


def write(site, name: str, raw: bytes):
    path = site.root / "content" / name
    path.write_bytes(raw)
    return path


def test_wrong_types_name_the_key_and_line(site):
    write(
        site,
        "lists.md",
        b"---\ntitle: t\nimage: [/img/a.png, /img/b.png]\nmobile: 42\nsingleImage:\nMobileSingleImage: {p: 1}\n---\n",
    )
    _cfg, found = articles(site)
    a = found["lists"]
    by_variant = {t.variant: t for t in a.targets}
    assert by_variant["article"].error == "image: expected a path string like /img/x.png, got list"
    assert by_variant["article"].line == 3
    assert by_variant["mobile-article"].error == "mobile: expected a path string like /img/x.png, got int"
    assert by_variant["single"].error == "singleImage: expected a path string like /img/x.png, got nothing"
    assert by_variant["mobile-single"].error == "MobileSingleImage: expected a path string like /img/x.png, got dict"
    assert by_variant["mobile-single"].line == 6


def test_bad_slug_and_focus_are_errors_not_crashes(site):
    write(site, "s1.md", b"---\nslug: [a, b]\n---\n")
    write(site, "s2.md", b"---\nslug: ../../etc\n---\n")
    write(site, "s3.md", b"---\nslug: s3\nfocus: [2, -1]\n---\n")
    write(site, "s4.md", b"---\nslug: s4\nfocus: {nosuch: [0.5, 0.5]}\n---\n")
    write(site, "s5.md", b"---\nslug: s5\nfocus: centre\n---\n")
    _, found = articles(site)
    assert "slug: expected a name without / or \\" in found["s1"].errors[0]
    assert "slug: expected a name without / or \\" in found["s2"].errors[0]
    assert "expected [x, y] with fractions from 0 to 1" in found["s3"].errors[0]
    assert "focus.nosuch: not a variant" in found["s4"].errors[0]
    assert "focus: expected [x, y]" in found["s5"].errors[0]


def test_broken_front_matter_becomes_one_problem_with_line(site):
    write(site, "dup.md", b"---\nimage: /img/a.png\nimage: /img/b.png\n---\n")
    write(site, "crlf.md", b"\xef\xbb\xbf---\r\nslug: crlf\r\n---\r\n")
    site.master("crlf", size=(1600, 900))
    cfg, found = articles(site)
    assert found["dup"].errors == ("front matter is not valid YAML: duplicate key 'image'",)
    assert found["dup"].error_line == 3
    assert found["crlf"].errors == ()
    arts, man = list(found.values()), Manifest(cfg.manifest)
    plan = make_plan(cfg, arts, man, gather(cfg, arts, man, lambda p: "h", "test"), "test")
    assert plan.failed_articles == ("content/dup.md",)
    [p] = [p for p in plan.problems if p.error]
    assert (p.path, p.line) == ("content/dup.md", 3)
    assert [j.slug for j in plan.jobs] == ["crlf"]


def test_unreadable_things_matching_the_glob(site):
    (site.root / "content" / "folder.md").mkdir()  # a folder is not an article
    os.mkfifo(site.root / "content" / "fifo.md")  # nor is a pipe (reading it would hang)
    os.symlink("/nonexistent/x.md", site.root / "content" / "dangling.md")
    write(site, "ok.md", b"---\nslug: ok\nimage: /img/ok.png\n---\n")  # a key: an image article
    _, found = articles(site)
    assert list(found) == ["ok"]


def test_pages_without_images_and_readmes_cost_nothing(site):
    """Home and section pages, an about page and a README: no key and no master, so not articles."""
    (site.root / "content" / "posts").mkdir()
    write(site, "_index.md", b"+++\ntitle = 'Home'\n+++\n")
    write(site, "posts/_index.md", b"---\ntitle: Posts\n---\n")
    write(site, "about.md", b"---\ntitle: About\n---\n")
    write(site, "README.md", b"# How to write for this site\n")
    write(site, "withmaster.md", b"---\ntitle: t\n---\n")
    site.master("withmaster")
    write(site, "keyed.md", b"---\nimage: /img/keyed.png\n---\n")
    cfg = load_config(site.root)
    assert [a.slug for a in discover(cfg)] == ["keyed", "withmaster"]
    pages = {a.rel: a for a in read_all(cfg) if not a.images}
    assert set(pages) == {"content/_index.md", "content/posts/_index.md", "content/about.md", "content/README.md"}
    assert all(not a.errors for a in pages.values())
    r = CliRunner().invoke(main, ["status", "--root", str(site.root)])
    assert r.exit_code == 0
    assert "page without images: content/about.md" in r.output
    assert "page without images: content/README.md" in r.output


SCRATCH_CONFIG = """\
content: "content/**/*.*"
variants:
  card: {key: image, path: "/img/{slug}.png", width: 64, height: 48}
"""


def test_editors_lock_autosave_and_backup_files_are_not_articles(site):
    """Emacs beside content/posts/city/index.md while it is edited: a lock (a dangling symlink),
    an autosave and a backup, each naming other paths. Hugo and Jekyll skip them; so does renditions, silently."""
    site.config(SCRATCH_CONFIG)
    city = site.root / "content" / "posts" / "city"
    city.mkdir(parents=True)
    (city / "index.md").write_text('---\nimage: "/img/city.png"\n---\n')
    (city / "index.md~").write_text('---\nimage: "/img/city-old.png"\n---\n')
    (city / "#index.md#").write_text('---\nimage: "/img/city-autosave.png"\n---\n')
    os.symlink("me@host.4242:1700000000", city / ".#index.md")
    site.master("city", (160, 120))
    runs = {cmd: CliRunner().invoke(main, [cmd, "--root", str(site.root)]) for cmd in ("build", "check", "status")}
    assert sorted(p.name for p in (site.public / "img").iterdir()) == ["city.png"]
    for cmd, r in runs.items():
        assert r.exit_code == 0, (cmd, r.output)
        assert "~" not in r.output and "#" not in r.output and "index.md" not in r.output, (cmd, r.output)
    assert runs["build"].output.splitlines()[-1].startswith("1 written")
    assert [ln.split()[0] for ln in runs["status"].output.splitlines()[2:] if ln.strip()] == ["city"]


def test_content_takes_a_list_of_globs_and_exclude(site):
    for folder in ("posts", "_posts", "drafts"):
        (site.root / folder).mkdir()
        (site.root / folder / "a.md").write_bytes(f"---\nslug: {folder}-a\nimage: /img/{folder}.png\n---\n".encode())
    cfg_file = site.root / "config" / "renditions.yaml"
    text = cfg_file.read_text().replace(
        'content: "content/**/*.md"', 'content: ["posts/*.md", "_posts/*.md", "drafts/*.md"]\nexclude: ["drafts/**"]'
    )
    cfg_file.write_text(text)
    assert [a.slug for a in discover(load_config(site.root))] == ["_posts-a", "posts-a"]
    cfg_file.write_text(text.replace('exclude: ["drafts/**"]', "exclude: drafts"))
    with pytest.raises(ConfigError, match="exclude: expected a list of non-empty strings"):
        load_config(site.root)


def test_globs_over_one_tree_list_each_folder_once(site, monkeypatch):
    """A Jekyll site's `**/*.md`, `**/*.markdown` and `_site/**`: one walk's worth of listings (a
    second content glob costs no second walk of the site), and the stamp's folders listed once."""
    from renditions import walk
    from renditions.discover import article_files

    for folder, name in (
        ("_posts", "2025-01-02-a.md"),
        ("_posts", "2025-01-03-b.markdown"),
        ("_site", "c.md"),
        ("notes", "d.md"),
    ):
        (site.root / folder).mkdir(exist_ok=True)
        (site.root / folder / name).write_text(f"---\nimage: /img/{name}.png\n---\n")
    cfg_file = site.root / "config" / "renditions.yaml"
    cfg_file.write_text(
        cfg_file.read_text().replace('content: "content/**/*.md"', 'content: ["**/*.md", "**/*.markdown"]\nexclude: ["_site/**"]')
    )
    scanned = []
    real = os.scandir
    monkeypatch.setattr(walk.os, "scandir", lambda path: scanned.append(path) or real(path))
    listed: list[str] = []
    found = article_files(load_config(site.root), listed)
    rel = sorted(os.path.relpath(f, site.root) for f in found)
    assert "_posts/2025-01-02-a.md" in rel and "_posts/2025-01-03-b.markdown" in rel and "notes/d.md" in rel
    assert not any(r.startswith("_site") for r in rel)
    assert len(scanned) == len(set(scanned)) and len(listed) == len(set(listed))
    assert {str(site.root / "_site"), str(site.root / "_posts")} <= set(scanned)


@pytest.mark.parametrize(
    "rel, languages, slug",
    [
        ("content/posts/my-trip/index.md", (), "my-trip"),
        ("content/posts/my-trip/_index.md", (), "my-trip"),
        ("content/posts/my-trip/index.fr.md", ("fr",), "my-trip"),
        ("_posts/2024-05-01-old-friends.md", (), "old-friends"),
        ("_posts/2024-05-01-old-friends.de.md", ("fr", "de"), "old-friends"),
        ("content/trip.fr.md", ("fr",), "trip"),
        ("content/trip.zh-Hans.md", ("zh-hans",), "trip"),  # Hugo matches the code in any case
        ("content/trip.ZH-HANS.md", ("zh-hans",), "trip"),
        ("content/trip.fr.md", (), "trip.fr"),  # not a listed language: part of the name
        ("content/v1.2.md", ("fr",), "v1.2"),
        ("content/2024-05-01.md", (), "2024-05-01"),  # only a date: the date is the name
        ("content/index.md", (), "content"),
    ],
)
def test_slug_as_generators_derive_it(rel, languages, slug):
    assert path_slug(rel, languages) == slug


def test_slug_key_wins_and_bundles_find_their_master(site):
    (site.root / "content" / "my-trip").mkdir()
    write(site, "my-trip/index.md", b"---\ntitle: t\n---\n")
    write(site, "2024-05-01-old-friends.md", b"---\ntitle: t\n---\n")
    write(site, "renamed.md", b"---\nslug: chosen\n---\n")
    for slug in ("my-trip", "old-friends", "chosen"):
        site.master(slug)
    _, found = articles(site)
    assert {s: a.master.name for s, a in found.items()} == {
        "my-trip": "my-trip.png",
        "old-friends": "old-friends.png",
        "chosen": "chosen.png",
    }


@pytest.mark.parametrize(
    "key, meant",
    [
        ("singleimage", "singleImage"),
        ("MobileSingleImg", "MobileSingleImage"),
        ("Image", "image"),
        ("mobil", "mobile"),
        ("SingleImages", "singleImage"),
    ],
)
def test_a_near_miss_key_is_an_error_with_did_you_mean(site, key, meant):
    write(site, "typo.md", f"---\ntitle: t\n{key}: /img/x.png\n---\n".encode())
    _, found = articles(site)
    a = found["typo"]
    assert a.errors == (f'{key}: not a variant key; did you mean "{meant}"?',)
    assert a.error_line == 3


def test_generator_keys_and_unrelated_keys_are_not_typos(site):
    write(site, "fine.md", b"---\ntitle: t\nimages: [/img/og.png]\nmobileMenu: true\nimage: /img/fine.png\n---\n")
    _, found = articles(site)
    assert found["fine"].errors == ()


def test_drafts_are_skipped_unless_asked(site):
    write(site, "d1.md", b"---\ndraft: true\nimage: /img/d1.png\n---\n")
    write(site, "d2.md", b"---\npublished: false\nimage: /img/d2.png\n---\n")
    write(site, "live.md", b"---\ndraft: false\nimage: /img/live.png\n---\n")
    (site.root / "content" / "_drafts").mkdir()
    write(site, "_drafts/d3.md", b"---\nimage: /img/d3.png\n---\n")  # Jekyll's drafts folder
    write(site, "_drafts/d4.md", b"---\nimage: [\n---\n")  # its errors wait for --drafts too
    cfg = load_config(site.root)
    assert [a.slug for a in discover(cfg)] == ["live"]
    assert [a.slug for a in discover(cfg, drafts=True)] == ["d3", "d4", "d1", "d2", "live"]


def test_a_page_starting_with_a_template_tag_is_not_json(site):
    """Only `{"` or `{}` opens JSON front matter; `{{< shortcode >}}` and `{% include %}` are body text."""
    write(site, "shortcode.md", b'{{< figure src="/x.png" >}}\n')
    write(site, "liquid.md", b"{% include header.html %}\n")
    cfg = load_config(site.root)
    pages = [a for a in read_all(cfg) if not a.images]
    assert sorted(a.rel for a in pages) == ["content/liquid.md", "content/shortcode.md"]
    assert all(not a.errors for a in pages)


def test_an_article_read_in_short_pieces_says_the_same(site, monkeypatch):
    """A network or FUSE file system may return fewer bytes per read than asked: the article is
    read until its front matter is all there, and says what it says in one read."""
    site.article("alpha", extra="focus: [0.25, 0.75]\nslug: alpha-one", body="x" * 9000)
    whole = read_all(load_config(site.root))
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, min(n, 7)))
    pieces = read_all(load_config(site.root))
    assert pieces == whole
    (a,) = pieces
    assert a.slug == "alpha-one" and a.focus == (("*", (0.25, 0.75)),) and not a.errors
    folders = ("articles", "mobile-articles", "single-articles", "mobile-single-articles")
    assert [t.site_path for t in a.targets] == [f"/img/artical/{d}/alpha.png" for d in folders]


def test_articles_come_in_path_order_part_by_part(site):
    """`a/b.md` before `a-b.md`: folders sort by name, as Path orders them, not as the strings do."""
    for rel in ("a-b.md", "a/b.md", "a.md", "a/c/d.md", "a0.md", "A.md"):
        (site.root / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (site.root / "content" / rel).write_text("---\ntitle: x\n---\n")
    cfg = load_config(site.root)
    found = [os.path.relpath(a.file, site.root / "content") for a in read_all(cfg)]
    assert found == ["A.md", "a/b.md", "a/c/d.md", "a-b.md", "a.md", "a0.md"]


def test_empty_front_matter_is_a_page_or_an_article_with_no_keys(site):
    """`---` twice (Jekyll's page with no variables): without a master, a page that build and
    check pass over; with one, an article whose outputs take the config's paths, and
    --write-front-matter fills the empty block with their keys."""
    from PIL import Image

    (site.root / "content" / "about.md").write_text("---\n---\n# About\n")
    (site.root / "content" / "hello.md").write_text("---\n---\nHello.\n")
    site.master("hello")
    runner = CliRunner()
    build = runner.invoke(main, ["build", "--root", str(site.root), "--write-front-matter"])
    assert build.exit_code == 0, build.output
    assert "about.md" not in build.output and "front matter is empty" not in build.output
    assert Image.open(site.out("image", "hello")).size == (800, 450)
    written = (site.root / "content" / "hello.md").read_text()
    assert written.startswith("---\n") and written.endswith("---\nHello.\n")
    assert "image: /img/artical/articles/hello.png" in written or 'image: "/img/artical/articles/hello.png"' in written
    assert (site.root / "content" / "about.md").read_text() == "---\n---\n# About\n"
    check = runner.invoke(main, ["check", "--root", str(site.root)])
    assert check.exit_code == 0, check.output
    status = runner.invoke(main, ["status", "--root", str(site.root)])
    assert "page without images: content/about.md" in status.output, status.output


def test_a_page_whose_template_path_would_be_too_long_stays_a_page(site):
    """A text-only page (no key, no master) with a long file name: its template path would be too
    long, but nothing is built for it, so nothing is wrong (it used to fail check and build)."""
    site.article("p" * 252, keys={})  # its own file name fits (255 bytes); its template paths (.png: 256) would not
    site.article("a")
    site.master("a")
    (arts,) = [[a for a in read_all(load_config(site.root)) if a.slug.startswith("p")]]
    assert [a.images for a in arts] == [False] and not arts[0].errors
