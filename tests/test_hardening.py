"""Issue 14, part 2: hostile names, links and masters cost one article, in bounded time and memory.

Each case drives the real CLI on a fresh site and asserts the one line, the exit code, and that
the other articles were built (and nothing else written or lost).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import json_report
from test_robustness import SMALL_CONFIG, Site, error_lines, png_bomb, run_cli, snapshot

BAD = os.fsdecode(b"bad\xff")  # a name holding a byte that is not UTF-8


@pytest.fixture
def site(tmp_path) -> Site:
    s = Site(tmp_path / "site")
    s.article("good")
    s.master("good")
    return s


def _good_built(site: Site) -> None:
    for key in ("image", "mobile", "singleImage", "MobileSingleImage"):
        assert site.out(key, "good").stat().st_size > 0
    entries = json.loads((site.root / "renditions.lock.json").read_text())["outputs"]
    assert {e["article"] for e in entries.values()} == {"content/good.md"}


# -- 1. file names that are not UTF-8 ------------------------------------------------------------


def _bad_names(site: Site) -> None:
    """An article and a master whose names hold \\xff, and an article in a folder named with \\xfe."""
    good = (site.root / "content" / "good.md").read_bytes()
    (site.root / "content" / f"{BAD}.md").write_bytes(good.replace(b"good", b"bad"))
    folder = site.root / "content" / os.fsdecode(b"dir\xfe")
    folder.mkdir()
    (folder / "other.md").write_bytes(good.replace(b"good", b"other"))
    site.master(BAD)
    site.master("other")


def test_a_utf8_name_a_c_locale_cannot_read_says_to_change_the_locale(site):
    """Under LC_ALL=C without UTF-8 mode Python names files in ASCII: café.md is valid UTF-8 but
    can't be named here. The article fails with the fix (the locale), not "rename it"."""
    good = (site.root / "content" / "good.md").read_text()
    (site.root / "content" / "café.md").write_text(good.replace("good", "café"))
    site.master("café")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHON"))}
    env |= {"LC_ALL": "C", "PYTHONUTF8": "0", "RENDITIONS_CACHE_DIR": str(site.root.parent / "cache")}
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"], env=env, capture_output=True, text=True
    )
    if probe.stdout.strip() != "ascii":
        pytest.skip(f"this Python names files in {probe.stdout.strip()} under LC_ALL=C")
    r = subprocess.run([sys.executable, "-m", "renditions", "build", "--root", str(site.root)], env=env, capture_output=True)
    err = r.stderr.decode("utf-8", "backslashreplace")  # the name's own bytes, as a UTF-8 terminal shows them
    assert r.returncode == 1 and "Traceback" not in err, err
    assert "error: content/café.md: the file name is UTF-8, but this Python reads file names as ASCII" in err
    assert "run renditions with LC_ALL=C.UTF-8 or PYTHONUTF8=1" in err and "rename it" not in err
    _good_built(site)


def test_non_utf8_names_cost_their_own_article_and_the_manifest_is_saved(site):
    _bad_names(site)
    r = site.build()
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(error_lines(r.stderr)) == [
        r"error: content/bad\xff.md: the file name is not valid UTF-8: rename it",
        r"error: content/dir\xfe/other.md: the file name is not valid UTF-8: rename it",
    ]
    assert r.stdout.strip().endswith("4 written, 0 up to date, 2 failed")
    _good_built(site)
    files = sorted(str(p.relative_to(site.public)) for p in site.public.rglob("*") if p.is_file())
    assert len(files) == 4 and all("good" in f for f in files)


@pytest.mark.parametrize("command", [["check"], ["status"], ["preview"], ["build", "--write-front-matter"], ["build", "--json"]])
def test_non_utf8_names_never_stop_the_other_commands(site, command):
    assert site.build().returncode == 0
    _bad_names(site)
    before = snapshot(site.root / "content")
    r = run_cli(site.root, *command)
    assert "Traceback" not in r.stderr
    out = r.stdout + r.stderr
    assert r"content/bad\xff.md" in out or command == ["preview"]
    assert r.returncode == {"status": 0, "preview": 0}.get(command[0], 1), out
    assert snapshot(site.root / "content") == before  # --write-front-matter left the bad-named files alone
    if command == ["status"]:
        assert r"unused master: source_images/bad\xff.png" in r.stdout
    if command == ["preview"]:
        page = (site.root / ".renditions" / "preview" / "index.html").read_text("utf-8")  # its own folder (issue 13)
        assert r"content/bad\xff.md" in page and "the file name is not valid UTF-8: rename it" in page
    if command == ["build", "--json"]:
        doc = json_report(r.stdout)
        assert {p["path"] for p in doc["problems"]} == {r"content/bad\xff.md", r"content/dir\xfe/other.md"}


# -- 2a. each content file read once, however the content tree links ------------------------------


def test_symlink_loops_in_content_read_each_article_once(site):
    nested = site.root / "content" / "a" / "b"
    nested.mkdir(parents=True)
    (site.root / "content" / "good.md").rename(nested / "good.md")
    os.symlink("../..", nested / "up")  # back to content/: a loop
    os.symlink("..", site.root / "content" / "a" / "loop")  # a second loop
    os.symlink("b/good.md", site.root / "content" / "a" / "alias.md")  # one file, two names
    r = site.build("--json", timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json_report(r.stdout)
    assert {o["article"] for o in doc["outputs"]} == {"content/a/b/good.md"}
    assert (doc["totals"]["written"], doc["totals"]["up_to_date"], doc["totals"]["failed_articles"]) == (4, 0, 0)
    r = run_cli(site.root, "check", timeout=60)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.strip() == "all 4 outputs up to date"


def test_a_master_that_is_a_broken_link_is_named_as_one(site):
    """A master that is a symbolic link to a file since moved was 'not a regular file, not an
    image', and status listed it as well as an unused master, though its article's error names it."""
    site.article("moved")
    os.symlink("../photos/moved.png", site.sources / "moved.png")  # the photo library was moved
    r = site.build()
    assert r.returncode == 1 and "Traceback" not in r.stderr
    why = "master source_images/moved.png is a link to a missing file (../photos/moved.png): restore that file, or replace the link with the master"
    assert error_lines(r.stderr) == [f"error: content/moved.md: {why}"]
    r = run_cli(site.root, "status")
    assert f"content/moved.md: {why}" in r.stdout and "unused master" not in r.stdout, r.stdout
    assert os.path.islink(site.sources / "moved.png") and not os.path.exists(site.root / "photos")


# -- 2b. a time limit per article --------------------------------------------------------------


@pytest.mark.parametrize("engine", ["vips", "pillow"])
def test_an_article_over_the_time_limit_is_stopped_and_the_next_gets_a_fresh_worker(tmp_path, engine):
    """A master that takes seconds to decode (allowed by the config: 900 megapixels of RGB for libvips,
    169 for Pillow, whose own limit is 179) against `timeout: 1`: that article fails naming the
    limit; with one worker, the articles after it still build. RGB for both: Pillow 13 inflates and
    shrinks a 169-megapixel greyscale bomb in a third of a second."""
    config = SMALL_CONFIG + "timeout: 1\nmax_pixels: 1000000000\nmax_decoded_bytes: 4000000000\n"
    site = Site(tmp_path / "site", config)
    for slug in ("good", "later"):
        site.article(slug)
        site.master(slug)
    site.article("slow")
    # libvips streams a PNG through the shrink to its shared decode: 2.7 GB of RGB to inflate and convert
    site.master("slow", png_bomb(30000, 30000, bands=3) if engine == "vips" else png_bomb(13000, 13000, bands=3))
    r = site.build("-j", "1", "--engine", engine, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert error_lines(r.stderr) == [
        "error: content/slow.md: source_images/slow.png: rendering took longer than the `timeout` of 1 s: stopped"
    ]
    assert "8 written, 0 up to date, 1 failed" in r.stdout
    for slug in ("good", "later"):
        assert site.out("image", slug).stat().st_size > 0
    assert not site.out("image", "slow").exists()
    assert not [p for p in site.public.rglob("*") if "tmp" in p.name]


# -- 2c. watch re-attaches to folders made again ------------------------------------------------


@pytest.mark.slow
def test_watch_reattaches_to_a_masters_folder_deleted_and_made_again(site, monkeypatch, tmp_path):
    import shutil

    from test_watch import Watcher

    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    site.article("beta")  # its master arrives after the folder is made again
    spare = site.master("beta")
    dropped = tmp_path / "beta.png"
    shutil.move(spare, dropped)
    w = Watcher(site.root)
    try:
        ready = w.wait_for("watching", timeout=30)
        shutil.rmtree(site.sources)
        gone = w.wait_for("watching", after=ready + 1)
        assert "source_images/" not in w.lines[gone]  # it watches what is left
        site.sources.mkdir()
        back = w.wait_for("source_images/ came back: rebuilding everything", after=gone + 1)
        again = w.wait_for("watching", after=back + 1)
        assert "source_images/" in w.lines[again]
        shutil.copy(dropped, site.sources / "beta.png")
        built = w.wait_for("rebuilding beta", after=again + 1)
        w.wait_for("4 written", after=built)
        for key in ("image", "mobile", "singleImage", "MobileSingleImage"):
            assert site.out(key, "beta").stat().st_size > 0
    finally:
        code = w.stop()
    assert code == 0, w.lines
    assert "Traceback" not in "\n".join(w.lines)


# -- 3. bounded memory: decoded bytes, not only pixels -------------------------------------------


def png16(width: int, height: int) -> bytes:
    """A valid 16-bit RGBA PNG (8 bytes a pixel decoded by libvips): a gradient, raw-built."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(struct.pack(">HHHH", 65535 * x // width, 65535 * y // height, 30000, 65535) for x in range(width))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("engine", ["vips", "pillow"])
def test_max_decoded_bytes_counts_bands_and_bits_from_the_header(tmp_path, engine):
    """600×600 is far under max_pixels, but 16-bit RGBA decodes to 2.7 MB in libvips (1.4 MB in
    Pillow, which keeps 8 bits): over `max_decoded_bytes: 1048576`. An 8-bit 400×300 RGB fits."""
    site = Site(tmp_path / "site", SMALL_CONFIG + "max_decoded_bytes: 1048576\n")
    site.article("good")
    site.master("good")
    site.article("deep")
    site.master("deep", png16(600, 600))
    r = site.build("--engine", engine)
    assert r.returncode == 1, r.stderr
    bits, mb = ("16", "3") if engine == "vips" else ("8", "1")
    assert error_lines(r.stderr) == [
        f"error: content/deep.md: source_images/deep.png: master is 600×600 with 4 bands of {bits} bits: "
        f"{mb} MB decoded, over the max_decoded_bytes limit of 1 MB"
    ]
    assert "4 written, 0 up to date, 1 failed" in r.stdout
    assert site.out("image", "good").stat().st_size > 0 and not site.out("image", "deep").exists()
    r = run_cli(site.root, "preview", "--engine", engine)  # preview checks the same limit
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "max_decoded_bytes" in (site.root / ".renditions" / "preview" / "index.html").read_text()


def test_articles_sharing_a_master_decode_it_once(tmp_path, monkeypatch):
    """Three articles whose masters are one image (a copy and a link): one task, one decode, and
    every output byte-identical to rendering each article alone."""
    from renditions.engines import get_engine
    from renditions.render import Limits, render_job, render_jobs
    from renditions.session import open_session
    from renditions.workers import tasks_for

    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    site = Site(tmp_path / "site")
    for slug in ("a", "b", "c", "other"):
        site.article(slug)
    site.master("a")
    (site.sources / "b.png").write_bytes((site.sources / "a.png").read_bytes())
    os.symlink("a.png", site.sources / "c.png")
    site.master("other")
    s = open_session(site.root, engine="pillow")
    plan = s.plan()
    limits = Limits(s.config.max_bytes, s.config.max_pixels, s.config.max_decoded_bytes)
    tasks = tasks_for(plan.jobs, limits, "pillow", 1)
    assert sorted(sorted(j.slug for j in t.jobs) for t in tasks) == [["a", "b", "c"], ["other"]]

    engine = get_engine("pillow", threads=1)
    loads = []
    real_load = engine.load
    monkeypatch.setattr(engine, "load", lambda *a: loads.append(a[0]) or real_load(*a))

    [shared] = [t for t in tasks if len(t.jobs) == 3]
    results = list(render_jobs(shared.jobs, limits, engine))
    assert len(loads) == 1
    alone = [render_job(j, limits, get_engine("pillow", threads=1)) for j in shared.jobs]
    assert [[r.data for r in res.rendered] for res in results] == [[r.data for r in res.rendered] for res in alone]
    assert all(len(res.rendered) == 4 for res in results)
    r = site.build()  # and through the CLI's worker pool
    assert r.returncode == 0 and "16 written, 0 up to date, 0 failed" in r.stdout, r.stderr
    assert run_cli(site.root, "check").returncode == 0


# -- 4. safe slugs, Unicode-normalised master names -----------------------------------------------


@pytest.mark.parametrize(
    "slug, shown",
    [
        ('"a?v=2"', "'a?v=2'"),
        ('"x#top"', "'x#top'"),
        ('"100%"', "'100%'"),
        ('".hidden"', "'.hidden'"),
        ('"tab\\there"', "'tab\\there'"),
        ('"a/b"', "'a/b'"),
    ],
)
def test_a_slug_that_is_not_one_safe_path_segment_fails_its_article(site, slug, shown):
    text = (site.root / "content" / "good.md").read_text()
    (site.root / "content" / "bad.md").write_text(
        text.replace("---\ntitle", f"---\nslug: {slug}\ntitle", 1).replace("good", "bad")
    )
    site.master("bad")
    r = site.build()
    assert r.returncode == 1, r.stderr
    assert error_lines(r.stderr) == [
        "error: content/bad.md: slug: expected a name without / or \\ (nor ?, #, %, a control character "
        f"or a leading dot: it is one segment of a URL), got {shown}"
    ]
    assert "4 written, 0 up to date, 1 failed" in r.stdout
    _good_built(site)
    written = [p.name for p in site.public.rglob("*") if p.is_file()]
    assert len(written) == 4 and not any(c in n for n in written for c in "?#%\t")


def test_a_file_name_that_makes_an_unsafe_slug_fails_its_article(site):
    text = (site.root / "content" / "good.md").read_text()
    (site.root / "content" / "c#.md").write_text(text.replace("good", "cee"))
    site.master("cee")
    r = site.build()
    assert r.returncode == 1
    assert error_lines(r.stderr) == [
        "error: content/c#.md: the file name makes the slug 'c#', not a safe name for a URL: rename the file or set `slug:`"
    ]
    _good_built(site)


def test_a_master_named_in_decomposed_unicode_is_found(site):
    import unicodedata

    site.article("café")  # NFC, as YAML and most editors write it
    master = site.master("cafe")
    master.rename(site.sources / (unicodedata.normalize("NFD", "café") + ".png"))  # as macOS names files
    r = site.build()
    assert r.returncode == 0, r.stderr
    assert "8 written, 0 up to date, 0 failed" in r.stdout
    assert site.out("image", "café").stat().st_size > 0
    r = run_cli(site.root, "status")
    assert r.returncode == 0
    assert "unused master" not in r.stdout and "no master" not in r.stdout, r.stdout
    assert run_cli(site.root, "check").returncode == 0


def test_watch_reports_a_non_utf8_article_by_its_escaped_name(site):
    """What watch prints for a batch holding a non-UTF-8 name: escaped, never a crash."""
    from renditions.config import load_config
    from renditions.watch import affected, changed_articles, config_file

    _bad_names(site)
    cfg, cfile = load_config(site.root), config_file(site.root, None)
    changed = {str(site.root / "content" / f"{BAD}.md"), str(site.root / "content" / "good.md")}
    articles = changed_articles(cfg, cfile, changed)
    assert {a.rel: a.errors for a in articles} == {
        r"content/bad\xff.md": ("the file name is not valid UTF-8: rename it",),
        "content/good.md": (),
    }
    targets = affected(cfg, cfile, articles, changed)
    assert targets.why == (r"content/bad\xff.md", "content/good.md")
    assert "good" in targets.slugs
