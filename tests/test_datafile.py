"""The data file for templates: every front-matter reference → src, size, srcset, sources, placeholder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote

from click.testing import CliRunner
from PIL import Image

from renditions.cli import main

CONFIG = """
data: data/renditions.json
variants:
  card:   {key: image,  path: "/img/{slug}.png", width: 640, height: 360, densities: [1, 2], widths: [320], also: [avif, webp]}
  mobile: {key: mobile, path: "/img/m/{slug}.jpg", width: 400, height: 400}
"""


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def built(site, *slugs: str, config: str = CONFIG, drafts: tuple[str, ...] = ()) -> Path:
    """A site of articles with both variant keys and a master each, built: its data file. With
    `drafts`, those articles are drafts too, built with `--drafts` (as watch builds)."""
    site.config(config)
    keys = {"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"}
    for slug in slugs + drafts:
        site.article(slug, keys=keys, extra="draft: true" if slug in drafts else "")
        site.master(slug, (1600, 1200))
    assert run(site, "build", *(["--drafts"] if drafts else [])).exit_code == 0
    return site.root / "data" / "renditions.json"


def test_data_file_keyed_by_reference_as_written(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png?v=2", "mobile": "/img/m/{slug}.jpg"})
    site.master("a", (1600, 1200))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    data = json.loads((site.root / "data" / "renditions.json").read_text())
    card = data["/img/a.png?v=2"]
    assert "/img/a.png" not in data
    assert card["src"] == "/img/a.png?v=2"
    assert (card["width"], card["height"], card["type"]) == (640, 360, "image/png")
    assert card["srcset"] == "/img/a-320w.png?v=2 320w, /img/a.png?v=2 640w, /img/a-1280w.png?v=2 1280w"
    assert card["sources"] == [
        {"type": "image/avif", "srcset": "/img/a-320w.avif?v=2 320w, /img/a.avif?v=2 640w, /img/a-1280w.avif?v=2 1280w"},
        {"type": "image/webp", "srcset": "/img/a-320w.webp?v=2 320w, /img/a.webp?v=2 640w, /img/a-1280w.webp?v=2 1280w"},
    ]
    assert card["bytes"] == os.path.getsize(site.public / "img" / "a.png")
    assert card["placeholder"].startswith("data:image/webp;base64,")
    assert card["colour"].startswith("#") and len(card["colour"]) == 7
    # every URL in every srcset is a file of the width it claims
    for srcset in [card["srcset"]] + [s["srcset"] for s in card["sources"]]:
        for item in srcset.split(", "):
            url, w = item.split(" ")
            with Image.open(site.public / url.split("?")[0].lstrip("/")) as im:
                assert f"{im.width}w" == w
    mobile = data["/img/m/a.jpg"]
    assert (mobile["width"], mobile["height"], mobile["type"], mobile["sources"]) == (400, 400, "image/jpeg", [])
    assert mobile["srcset"] == "/img/m/a.jpg 400w"


def test_data_file_not_rewritten_when_unchanged_and_never_over_a_foreign_file(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    data = site.root / "data" / "renditions.json"
    before = os.stat(data).st_ino
    r = run(site, "build")
    assert "nothing to do" in r.stdout
    assert os.stat(data).st_ino == before  # an atomic write would have replaced the inode
    # a new article changes it
    site.article("b", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"})
    site.master("b", (1600, 1200))
    assert run(site, "build", "--only", "b").exit_code == 0
    doc = json.loads(data.read_text())
    assert "/img/a.png" in doc and "/img/b.png" in doc  # --only still writes every article's entry
    # a data file renditions did not write is left alone
    data.write_text('{"mine": 1}\n')
    r = run(site, "build", "--force")
    assert r.exit_code == 1
    assert "error: data/renditions.json: not written by renditions, so it is left alone" in r.stderr
    assert data.read_text() == '{"mine": 1}\n'


def test_a_width_the_new_master_cannot_serve_leaves_the_srcset(site):
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    data = site.root / "data" / "renditions.json"
    assert "/img/a-1280w.png 1280w" in json.loads(data.read_text())["/img/a.png"]["srcset"]
    site.master("a", (1000, 750))  # too small for the 2× width now
    r = run(site, "build")
    assert r.exit_code == 0 and "/img/a-1280w.png skipped" in r.stderr
    assert json.loads(data.read_text())["/img/a.png"]["srcset"] == "/img/a-320w.png 320w, /img/a.png 640w"


def test_every_url_is_percent_encoded_so_a_srcset_splits_into_url_and_width(site):
    """A space ends a srcset URL and a comma ends a candidate: both must reach the file encoded."""
    site.config(CONFIG)
    site.article("summer picnic", keys={"image": "/img/{slug}.png?v=a b", "mobile": "/img/m/{slug}.jpg"})
    site.article("salt, pepper", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"})
    # already encoded in the front matter: decoded to the file, encoded once again in the data file
    site.article("tea", keys={"image": "/img/Tea%20Cups%25.png", "mobile": "/img/m/tea%2Ccups.jpg"})
    for slug in ("summer picnic", "salt, pepper", "tea"):
        site.master(slug, (1600, 1200))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    data = json.loads((site.root / "data" / "renditions.json").read_text())
    card = data["/img/summer picnic.png?v=a b"]  # keyed by the reference as the article writes it
    assert card["src"] == "/img/summer%20picnic.png?v=a%20b"
    assert card["srcset"].startswith("/img/summer%20picnic-320w.png?v=a%20b 320w, ")
    assert data["/img/salt, pepper.png"]["src"] == "/img/salt%2C%20pepper.png"
    assert (site.public / "img" / "Tea Cups%.png").is_file()
    assert data["/img/Tea%20Cups%25.png"]["src"] == "/img/Tea%20Cups%25.png"
    assert data["/img/m/tea%2Ccups.jpg"]["srcset"] == "/img/m/tea%2Ccups.jpg 400w"
    for entry in data.values():
        if not isinstance(entry, dict):
            continue
        srcsets = [entry["srcset"]] + [s["srcset"] for s in entry["sources"]]
        assert len(srcsets) == (3 if entry["variant"] == "card" else 1)
        urls = [entry["src"]]
        for srcset in srcsets:
            for candidate in srcset.split(","):  # as a browser splits it
                url, width = candidate.split()  # exactly one URL and one descriptor
                urls.append(url)
                with Image.open(site.public / unquote(url.split("?")[0]).lstrip("/")) as im:
                    assert f"{im.width}w" == width
        for url in urls:
            assert " " not in url and "," not in url, url


def _git(root, *args):
    import subprocess

    env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@b")
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)


def test_two_branches_each_adding_an_article_merge_and_the_build_rewrites_the_data_file(site):
    """git leaves the data file conflicted (both branches added lines at one place): build used to
    call it 'not written by renditions' and leave it, and check passed while templates read
    conflict markers. Now check names it, and build writes it again whole."""
    site.config(CONFIG)
    keys = {"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"}
    site.article("a", keys=keys)
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    assert run(site, "check").exit_code == 0
    (site.root / ".gitignore").write_text(".renditions.lock\n.renditions.journal\n")
    assert _git(site.root, "init", "-q", "-b", "main").returncode == 0
    _git(site.root, "add", "-A")
    assert _git(site.root, "commit", "-qm", "a").returncode == 0
    for branch, slug in (("one", "b"), ("two", "c")):
        _git(site.root, "checkout", "-q", "-b", branch, "main")
        site.article(slug, keys=keys)
        site.master(slug, (1600, 1200))
        assert run(site, "build").exit_code == 0
        _git(site.root, "add", "-A")
        assert _git(site.root, "commit", "-qm", slug).returncode == 0
    _git(site.root, "checkout", "-q", "main")
    assert _git(site.root, "merge", "-q", "one").returncode == 0
    merged = _git(site.root, "merge", "-q", "two", "-m", "m")
    data = site.root / "data" / "renditions.json"
    assert merged.returncode != 0 and "<<<<<<< " in data.read_text()  # the conflict this is about
    conflicted = data.read_text()
    r = run(site, "build")  # the manifest's conflict is resolved as before, the data file's now too
    assert r.exit_code == 0, r.output
    doc = json.loads(data.read_text())
    assert {"/img/a.png", "/img/b.png", "/img/c.png"} <= doc.keys()
    assert run(site, "check").exit_code == 0
    data.write_text(conflicted)  # committed as git left it: check fails it
    r = run(site, "check")
    assert r.exit_code == 1 and "data/renditions.json: a merge conflict in it: templates can't read it" in r.output


def test_check_fails_a_data_file_that_is_missing_cut_short_or_foreign_but_not_one_listing_drafts_too(site):
    data = built(site, "a", drafts=("d",))  # as watch builds: the draft listed too
    assert "/img/d.png" in json.loads(data.read_text())
    r = run(site, "check")
    assert r.exit_code == 0, r.output
    whole = data.read_text()
    data.write_text(whole[: len(whole) // 2])  # cut short (a full disk, an editor's crash)
    r = run(site, "check")
    assert r.exit_code == 1 and "data/renditions.json: not valid JSON (cut short?): templates can't read it" in r.output
    data.write_text('{"mine": 1}\n')
    r = run(site, "check")
    assert r.exit_code == 1 and "data/renditions.json: not written by renditions" in r.output
    doc = json.loads(whole)
    data.write_text(json.dumps(doc))  # the same document, laid out otherwise: still renditions' and whole
    assert run(site, "check").exit_code == 0
    data.unlink()
    r = run(site, "check")
    assert r.exit_code == 1 and "data/renditions.json: missing: `renditions build` writes it" in r.output


def test_a_conflict_between_someone_s_file_and_renditions_is_left_alone(site):
    """renditions' mark only inside a conflicted hunk, the other side someone else's file: not
    renditions' to settle (the build says so and leaves it), as a file without the mark is."""
    site.config(CONFIG)
    site.article("a", keys={"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"})
    site.master("a", (1600, 1200))
    assert run(site, "build").exit_code == 0
    data = site.root / "data" / "renditions.json"
    mixed = '<<<<<<< HEAD\n{"mine": 1}\n=======\n' + data.read_text() + ">>>>>>> theirs\n"
    data.write_text(mixed)
    r = run(site, "build", "--force")
    assert r.exit_code == 1 and "data/renditions.json: not written by renditions" in r.output, r.output
    assert data.read_text() == mixed


def test_check_fails_a_data_file_an_older_build_wrote(site):
    """A new master built and committed, the data file not: the outputs and the manifest are
    right, but the pages read the old sizes and srcsets from the data file. check says so."""
    data = built(site, "a")
    old = data.read_bytes()
    site.master("a", (1600, 1200), colour=(10, 200, 30))  # another picture: new bytes, placeholder, colour
    assert run(site, "build").exit_code == 0
    assert data.read_bytes() != old
    assert run(site, "check").exit_code == 0
    data.write_bytes(old)  # the old copy, as a commit that left it out has it
    r = run(site, "check")
    assert r.exit_code == 1
    assert "data/renditions.json: out of date: what it says of an image differs from what the manifest records" in r.output
    assert "renditions build` writes it again" in r.output
    assert run(site, "build").exit_code == 0  # and build puts it right
    assert run(site, "check").exit_code == 0


def test_an_article_moved_keeps_its_entries_in_the_data_file(site):
    """content/a.md moved to content/news/a.md (or index.md renamed index.en.md for a translation):
    same slug, master and paths, so nothing is rendered again; the manifest used to keep naming
    the old file, and the data file, which lists an output for the article the manifest names,
    dropped the moved article's images while check passed."""
    data = built(site, "a")
    assert {"/img/a.png", "/img/m/a.jpg"} <= json.loads(data.read_text()).keys()
    (site.root / "content" / "news").mkdir()
    (site.root / "content" / "a.md").rename(site.root / "content" / "news" / "a.md")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "0 written" in r.stdout  # the same outputs: nothing rendered again
    doc = json.loads(data.read_text())
    assert {"/img/a.png", "/img/m/a.jpg"} <= doc.keys()
    assert doc["/img/a.png"]["width"] == 640
    manifest = json.loads((site.root / "renditions.lock.json").read_text())
    assert {e["article"] for e in manifest["outputs"].values()} == {"content/news/a.md"}
    assert run(site, "check").exit_code == 0
    assert "nothing to do" in run(site, "build").stdout  # recorded once: the next build rewrites nothing


def test_check_passes_a_moved_article_before_the_build_records_it(site):
    """git mv content/a.md content/news/a.md in a pull request: the outputs and the data file are
    already what the next build leaves (it only records the move in the manifest), so CI's check
    passes, where a correct site must."""
    data = built(site, "a")
    before = data.read_bytes()
    (site.root / "content" / "news").mkdir()
    (site.root / "content" / "a.md").rename(site.root / "content" / "news" / "a.md")
    r = run(site, "check")
    assert r.exit_code == 0, r.output
    assert run(site, "build").exit_code == 0
    assert data.read_bytes() == before


def test_a_draft_rebuilt_with_only_stays_in_the_data_file(site):
    """watch rebuilds one article at a time (build --drafts --only): the data file kept only the
    published articles then, and a draft's page lost its images at the next save."""
    data = built(site, "a", drafts=("d",))
    site.master("d", (1600, 1200), colour=(10, 200, 30))
    assert run(site, "build", "--drafts", "--only", "d").exit_code == 0
    assert {"/img/a.png", "/img/d.png"} <= json.loads(data.read_text()).keys()
    assert run(site, "check").exit_code == 0


def test_a_translation_made_a_draft_leaves_the_published_page_its_entry(site):
    """trip.md and trip.fr.md share /img/trip.png, recorded under trip.fr.md; trip.fr.md becomes
    a draft. The draft keeps the record (it still names the path), and the data file, built
    without drafts, must still list the path for trip.md: its page would lose its srcset."""
    site.config("languages: [fr]\n" + CONFIG)
    keys = {"image": "/img/{slug}.png", "mobile": "/img/m/{slug}.jpg"}
    site.article("trip", keys=keys)
    fr = site.root / "content" / "trip.fr.md"
    fr.write_text((site.root / "content" / "trip.md").read_text())
    site.master("trip", (1600, 1200))
    assert run(site, "build").exit_code == 0
    data = site.root / "data" / "renditions.json"
    assert {"/img/trip.png", "/img/m/trip.jpg"} <= json.loads(data.read_text()).keys()
    fr.write_text(fr.read_text().replace('title: "trip"', 'title: "trip"\ndraft: true'))
    assert run(site, "build").exit_code == 0
    assert {"/img/trip.png", "/img/m/trip.jpg"} <= json.loads(data.read_text()).keys()
    assert run(site, "check").exit_code == 0


def test_entries_of_a_deleted_article_show_nothing_wrong(site):
    """An article deleted (git rm), then pruned: the data file still lists its images until the
    next build, but no page reads them. check used to fail it as out of date, before and after prune."""
    built(site, "a", "b")
    (site.root / "content" / "b.md").unlink()
    r = run(site, "check")
    assert "data/renditions.json" not in r.output, r.output
    assert run(site, "prune").exit_code == 0
    r = run(site, "check")
    assert r.exit_code == 0, r.output
    assert run(site, "build").exit_code == 0
    assert "/img/b.png" not in json.loads((site.root / "data" / "renditions.json").read_text())


def test_translations_writing_one_reference_two_ways_both_get_entries(site):
    """trip.md references /img/trip.png, trip.fr.md /img/trip.png?v=2: one shared output, recorded
    under one of them. The other page had no entry (no srcset), and since extra keys pass check,
    an edited entry under its key passed too. Each reference gets the file's entry."""
    site.config("languages: [fr]\n" + CONFIG)
    site.article("trip", keys={"image": "/img/trip.png", "mobile": "/img/m/trip.jpg"})
    fr = site.root / "content" / "trip.fr.md"
    fr.write_text((site.root / "content" / "trip.md").read_text().replace('"/img/trip.png"', '"/img/trip.png?v=2"'))
    site.master("trip", (1600, 1200))
    assert run(site, "build").exit_code == 0
    data = site.root / "data" / "renditions.json"
    doc = json.loads(data.read_text())
    assert doc["/img/trip.png"]["width"] == doc["/img/trip.png?v=2"]["width"] == 640
    assert doc["/img/trip.png?v=2"]["src"] == "/img/trip.png?v=2"
    assert run(site, "check").exit_code == 0
    doc["/img/trip.png"]["width"] = 9999
    data.write_text(json.dumps(doc))
    r = run(site, "check")
    assert r.exit_code == 1 and "data/renditions.json: out of date" in r.output


def test_a_build_that_renders_nothing_but_writes_the_data_file_says_so(site):
    """A user's trial: with `data:` turned on after the images were built, the build printed only
    "nothing to do: every output is up to date", though it wrote the data file."""
    data = built(site, "a")
    data.unlink()
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert data.exists()
    assert "note: data/renditions.json: written (the templates' data)" in r.stderr.splitlines()
    assert "nothing to do: every output is up to date" in r.stdout  # of the images, still true
    again = run(site, "build")  # nothing written: no note, and none replayed from a stamp
    assert again.exit_code == 0 and "written (the templates' data)" not in again.output
    stamped = run(site, "build")
    assert stamped.exit_code == 0 and "written (the templates' data)" not in stamped.output
    assert "note:" not in run(site, "build", "--json").stderr
