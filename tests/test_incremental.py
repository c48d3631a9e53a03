"""Incremental builds, the manifest, check and prune (issue 3's "done when")."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner
from conftest import VARIANT_KEYS, gradient
from PIL import Image

from renditions.cli import main
from renditions.engines import get_engine


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


@pytest.fixture
def built(site):
    for slug in ("one", "two", "three"):
        site.article(slug)
        site.master(slug, (1800, 1000))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    return site


def manifest(site):
    return json.loads((site.root / "renditions.lock.json").read_text())


def snapshot(site):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(site.public.rglob("*.png"))}


def test_second_build_writes_nothing(built):
    before = snapshot(built)
    r = run(built, "build")
    assert r.exit_code == 0
    assert "nothing to do: every output is up to date" in r.stdout
    assert "0 written, 12 up to date, 0 failed" in r.stdout
    assert snapshot(built) == before


def test_manifest_contents_and_stable_order(built):
    doc = manifest(built)
    assert doc["format"] == "renditions-manifest" and doc["version"] == 2
    keys = list(doc["outputs"])
    assert keys == sorted(keys) and len(keys) == 12
    e = doc["outputs"]["/img/artical/single-articles/two.png"]
    assert (e["article"], e["variant"], e["master"], e["format"]) == ("content/two.md", "single", "source_images/two.png", "png")
    assert (e["width"], e["height"]) == (1600, 900)
    assert e["bytes"] == built.out("singleImage", "two").stat().st_size
    assert len(e["master_hash"]) == 64 and len(e["hash"]) == 64 and e["recipe"] and e["engine"]
    text = (built.root / "renditions.lock.json").read_text()
    run(built, "build", "--force")
    assert (built.root / "renditions.lock.json").read_text() == text  # deterministic bytes


def test_replaced_master_same_name_same_mtime(built):
    m = built.sources / "two.png"
    st = m.stat()
    gradient((1800, 1000), colour=(200, 30, 30)).save(m)
    os.utime(m, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = run(built, "check")
    assert r.exit_code == 1
    stale = sorted(ln for ln in r.stdout.splitlines() if ln)
    assert stale == sorted(f"{t.format(slug='two')}: stale: its master changed" for t in VARIANT_KEYS.values())
    r = run(built, "build", "--dry-run")
    assert sorted(ln for ln in r.stdout.splitlines() if ln.startswith("render")) == sorted(
        f"render {t.format(slug='two')} (master changed)" for t in VARIANT_KEYS.values()
    )
    r = run(built, "build")
    assert "4 written, 8 up to date, 0 failed" in r.stdout
    with Image.open(built.out("image", "two")) as im:
        assert im.convert("RGB").getpixel((400, 225))[0] > 150
    assert run(built, "check").exit_code == 0


def test_changing_one_width_makes_that_variant_stale_everywhere(built):
    cfg = built.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace("width: 640,  height: 360", "width: 600,  height: 360"))
    r = run(built, "build", "--dry-run", "--json")
    doc = json.loads(r.stdout)
    stale = sorted(o["path"] for o in doc["outputs"] if o["status"] == "stale")
    assert stale == sorted(f"/img/artical/mobile-articles/{s}.png" for s in ("one", "two", "three"))
    assert {o["reason"] for o in doc["outputs"] if o["status"] == "stale"} == {"recipe changed"}
    r = run(built, "check")
    assert r.exit_code == 1 and r.stdout.count("stale: its variant settings changed") == 3
    r = run(built, "build")
    assert "3 written, 9 up to date, 0 failed" in r.stdout
    with Image.open(built.out("mobile", "one")) as im:
        assert im.size == (600, 360)


def test_a_stale_output_names_the_engine_that_made_it(site):
    site.article("one")
    site.master("one", (1800, 1000))
    assert run(site, "build", "--engine", "vips").exit_code == 0
    made, uses = (f"{e.name} {e.version}" for e in (get_engine("vips"), get_engine("pillow")))
    r = run(site, "check", "--engine", "pillow")
    assert r.exit_code == 1
    assert f"/img/artical/articles/one.png: stale: made by {made}, this run uses {uses}" in r.stdout.splitlines()
    assert r.stdout.count("stale: made by") == 4 and "variant settings" not in r.stdout
    doc = json.loads(run(site, "check", "--engine", "pillow", "--json").stdout)
    assert {o["reason"] for o in doc["outputs"]} == {"engine changed"}


def test_a_stale_output_names_a_focus_set_in_front_matter(built):
    built.article("two", extra="focus: [0.2, 0.5]")
    r = run(built, "check")
    assert r.exit_code == 1
    assert "/img/artical/articles/two.png: stale: its article's focus changed" in r.stdout.splitlines()
    assert r.stdout.count("stale: its article's focus changed") == 4 and "variant settings" not in r.stdout


def test_hand_edited_output_reported_as_modified(built):
    out = built.out("image", "one")
    Image.new("RGB", (800, 450), "red").save(out)
    r = run(built, "check")
    assert r.exit_code == 1
    assert "/img/artical/articles/one.png: modified by hand: its bytes differ from what renditions wrote" in r.stdout
    r = run(built, "build", "--dry-run")  # says what build does: keeps the edit and fails the article
    assert r.exit_code == 1 and "render /img/artical/articles/one.png" not in r.stdout
    assert "which was changed since renditions wrote it" in r.output
    r = run(built, "build", "--dry-run", "--force")
    assert "render /img/artical/articles/one.png (forced)" in r.stdout


def test_an_output_that_is_no_longer_a_readable_file_is_called_what_it_is(built, monkeypatch):
    """Not "modified by hand": a FIFO where a file was, or a file that can't be opened, and nothing
    hangs on the FIFO. The build still refuses to replace either."""
    fifo = built.out("mobile", "one")
    fifo.unlink()
    os.mkfifo(fifo)
    locked = built.out("image", "two")
    real_open = os.open

    def no_permission(path, flags, *a, **k):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", no_permission)
    shutil.rmtree(os.environ["RENDITIONS_CACHE_DIR"])  # as on a fresh clone: the bytes must be read
    r = run(built, "check")
    assert r.exit_code == 1
    assert (
        "/img/artical/mobile-articles/one.png: is not a regular file (renditions wrote a file there): "
        "move it away, then run `renditions build`"
    ) in r.stdout.splitlines()
    assert (
        "/img/artical/articles/two.png: cannot be read (Permission denied), so it can't be compared with what renditions wrote"
    ) in r.stdout.splitlines()
    assert "modified by hand" not in r.stdout
    monkeypatch.setattr(os, "open", real_open)
    refused = (
        "error: content/one.md:4: /img/artical/mobile-articles/one.png would replace "
        "public/img/artical/mobile-articles/one.png, which is not a file: move it away, then build again"
    )
    for args in (("build", "--dry-run"), ("build",)):  # the dry run says what the build does
        r = run(built, *args)
        assert r.exit_code == 1 and fifo.is_fifo() and refused in r.output.splitlines(), r.output


def test_check_missing_wrong_size_and_bad_reference(built):
    built.out("mobile", "two").unlink()
    built.article("three", keys={**VARIANT_KEYS, "image": "/img/../../../tmp/x.png"})
    built.article("four")
    r = run(built, "check")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert "/img/artical/mobile-articles/two.png: missing" in lines
    assert any(
        ln.startswith("content/three.md:") and "image: '/img/../../../tmp/x.png': the path contains a '..'" in ln for ln in lines
    )
    assert any(ln.startswith("content/four.md:") and "no master" in ln for ln in lines)
    assert not (built.root / "public" / "nothing").exists()


def test_check_reads_dimensions_from_the_header(built):
    out = built.out("singleImage", "one")
    # a file of the wrong size whose hash is then recorded: only the header check can catch it
    Image.new("RGB", (1600, 901)).save(out)
    doc = manifest(built)
    import hashlib

    doc["outputs"]["/img/artical/single-articles/one.png"]["hash"] = hashlib.sha256(out.read_bytes()).hexdigest()
    (built.root / "renditions.lock.json").write_text(json.dumps(doc))
    r = run(built, "check")
    assert r.exit_code == 1
    assert "/img/artical/single-articles/one.png: is 1600×901, but variant single is 1600×900" in r.stdout


def test_check_json_and_github_annotations(built):
    built.out("image", "three").unlink()
    r = run(built, "check", "--format", "github")
    assert r.exit_code == 1
    md = (built.root / "content" / "three.md").read_text().splitlines()
    line = next(i for i, ln in enumerate(md, 1) if ln.startswith("image:"))
    assert f"::error file=content/three.md,line={line}::/img/artical/articles/three.png: missing" in r.stdout
    doc = json.loads(run(built, "check", "--json").stdout)
    assert doc["ok"] is False and doc["problems"][0]["line"] == line


def test_orphans_warned_strict_fails_prune_deletes_only_own(built):
    built.sources.joinpath("three.png").rename(built.sources / "gone.png")
    (built.root / "content" / "three.md").unlink()
    foreign = built.public / "img" / "artical" / "articles" / "hand-made.png"
    Image.new("RGB", (8, 8)).save(foreign)
    r = run(built, "check")
    assert r.exit_code == 0
    assert "warning: /img/artical/articles/three.png: orphan: no article references it" in r.stdout
    assert "warning: /img/artical/articles/hand-made.png: orphan: no article references it (not in the manifest)" in r.stdout
    edited = built.out("mobile", "three")  # an orphan renditions wrote, changed since: prune keeps it, and check says so
    edited.write_bytes(edited.read_bytes() + b"\0")
    r = run(built, "check")
    assert (
        "warning: /img/artical/mobile-articles/three.png: orphan: no article references it (renditions wrote it, "
        "but it was changed since: `renditions prune` keeps it; delete it yourself if nothing needs it)" in r.stdout
    )
    assert (
        "/img/artical/articles/three.png: orphan: no article references it (renditions wrote it; `renditions prune` deletes it)"
        in r.stdout
    )
    edited.write_bytes(edited.read_bytes()[:-1])
    assert run(built, "check", "--strict").exit_code == 1
    r = run(built, "prune", "--dry-run")
    assert sorted(r.stdout.splitlines()[:-1]) == sorted(f"would delete {t.format(slug='three')}" for t in VARIANT_KEYS.values())
    assert built.out("image", "three").exists()
    r = run(built, "prune")
    assert r.exit_code == 0 and "4 orphaned outputs deleted" in r.stdout
    assert not any(p.exists() for p in built.outputs("three"))
    assert foreign.exists()
    assert not any("three" in k for k in manifest(built)["outputs"])
    assert run(built, "check", "--strict").exit_code == 1  # the foreign file is still an orphan


def test_fresh_clone_builds_nothing(built, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(built.root, clone)  # new inodes and mtimes, as after git clone
    for p in clone.rglob("*"):
        os.utime(p, (1, 1))
    r = CliRunner().invoke(main, ["build", "--root", str(clone)])
    assert "0 written, 12 up to date" in r.stdout


def test_only_limits_the_run(built):
    r = run(built, "build", "--force", "--only", "two")
    assert "4 written" in r.stdout
    r = run(built, "build", "--only", "nope")
    assert r.exit_code == 2 and "no article has the slug nope" in r.stderr


def test_only_names_a_draft_as_one(built):
    built.article("later", extra="draft: true")
    built.master("later", (1800, 1000))
    r = run(built, "build", "--only", "later")
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: --only: later is a draft: add --drafts to build it"
    r = run(built, "build", "--only", "later", "--only", "nope")
    assert r.stderr.strip() == "error: --only: no article has the slug nope; later is a draft: add --drafts to build it"
    r = run(built, "build", "--only", "later", "--drafts")
    assert r.exit_code == 0 and "4 written" in r.stdout


def test_only_compares_slugs_as_unicode_text(built):
    """A file macOS named café.md (decomposed, NFD) and --only café typed (composed, NFC)."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "café")
    built.article(nfd)
    built.master("café", (1800, 1000))  # the master in NFC: found for the NFD article, as the README says
    r = run(built, "build", "--only", "café")
    assert r.exit_code == 0 and "4 written" in r.stdout, r.output


def test_corrupt_manifest_one_message(built):
    (built.root / "renditions.lock.json").write_text('{"format": "renditions-manifest", "vers')
    for cmd in ("build", "check"):
        r = run(built, cmd)
        assert r.exit_code == 2
        assert r.stderr.strip().splitlines() == [
            "error: renditions.lock.json: the manifest is not valid JSON (truncated or hand-edited?): "
            "delete renditions.lock.json and run `renditions build` to write a new one (every output is rendered again; files holding the same bytes are kept)"
        ]
    (built.root / "renditions.lock.json").write_text('{"format": "renditions-manifest", "version": 99, "outputs": {}}')
    r = run(built, "check")
    assert r.exit_code == 2 and "manifest version 99" in r.stderr


def test_ctrl_c_leaves_complete_files_and_a_truthful_manifest(site):
    import hashlib
    import signal
    import subprocess
    import sys
    import time

    for i in range(8):
        site.article(f"a{i}")
        site.master(f"a{i}", (2400, 1600), ext="jpg")
    p = subprocess.Popen(
        [sys.executable, "-m", "renditions", "build", "--root", str(site.root), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # interrupt mid-build: once the first variant is on disk (a fixed sleep could land while a
    # loaded machine is still importing, which tests Python's start-up, not renditions)
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline and not list(site.public.rglob("*.png")):
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGINT)
    _out, err = p.communicate(timeout=120)
    assert p.returncode in (0, 130), err
    if p.returncode == 130:
        assert "interrupted: every file written so far is complete and recorded" in err
        assert "Traceback" not in err
    assert not list(site.public.rglob("*tmp*"))
    if (site.root / "renditions.lock.json").exists():
        for path, e in manifest(site)["outputs"].items():
            f = site.public / path.lstrip("/")
            assert hashlib.sha256(f.read_bytes()).hexdigest() == e["hash"]
    r = run(site, "build")
    assert r.exit_code == 0
    assert run(site, "check").exit_code == 0
