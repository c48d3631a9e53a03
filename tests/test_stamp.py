"""A no-op build or a passing check is answered from stats (stamp.py) only while nothing it read changed.

Every change a user makes between two runs must reach the second run's answer: each is made after
a clean run recorded its stamp, and the next CLI run must report it exactly as a full run does.
The one-second "racy" margin is set to zero here (a change is then trusted to show in the stat as
soon as the run that recorded the stamp has ended); its own test puts it back.
"""

from __future__ import annotations

import json
import marshal
import os

import pytest
from click.testing import CliRunner
from conftest import Site

from renditions import session as session_mod
from renditions import stamp
from renditions.cli import main


def run(site: Site, *args: str):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


@pytest.fixture
def full_runs(monkeypatch) -> list[str]:
    """Each time build or check does the work (opens a session), rather than replaying a stamp."""
    calls: list[str] = []
    real = session_mod.open_session

    def counted(*args, **kwargs):
        calls.append("run")
        return real(*args, **kwargs)

    monkeypatch.setattr(session_mod, "open_session", counted)
    return calls


@pytest.fixture
def built(site, monkeypatch) -> Site:
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    for slug in ("alpha", "beta"):
        site.article(slug)
        site.master(slug, (1700, 1000))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    return site


def test_a_second_no_op_build_and_check_are_answered_without_reading_the_site(built, full_runs):
    first_build, first_check = run(built, "build", "--json"), run(built, "check", "--json")
    assert len(full_runs) == 2  # the work was done, and a stamp recorded
    again_build, again_check = run(built, "build", "--json"), run(built, "check", "--json")
    assert len(full_runs) == 2, "the stamp was not used"
    assert again_build.exit_code == first_build.exit_code == 0
    assert again_check.exit_code == first_check.exit_code == 0
    assert json.loads(again_build.output) == json.loads(first_build.output)
    assert json.loads(again_check.output) == json.loads(first_check.output)
    assert json.loads(again_check.output)["totals"]["up_to_date"] == 8
    # and the words a designer reads are the same
    assert run(built, "check").output == "all 8 outputs up to date\n"


def test_the_python_api_gets_the_same_report_back(built, full_runs):
    import renditions

    full = renditions.check(built.root)
    assert len(full_runs) == 1
    assert renditions.check(built.root) == full
    assert len(full_runs) == 1


def _rewrite_same_size(path) -> None:
    """A hand edit that keeps the size and puts the modification time back: only ctime tells."""
    st = os.stat(path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _new_article(site: Site) -> str:
    site.article("gamma")  # no master
    return "content/gamma.md: no master"


def _article_in_new_folder(site: Site) -> str:
    site.article("delta")
    (site.root / "content" / "2025").mkdir()
    (site.root / "content" / "delta.md").rename(site.root / "content" / "2025" / "delta.md")
    return "content/2025/delta.md: no master"


def _master_edit(site: Site) -> str:
    _rewrite_same_size(site.sources / "alpha.png")
    return "stale: its master changed"


def _master_renamed(site: Site) -> str:
    (site.sources / "beta.png").rename(site.sources / "beta-old.png")
    return "content/beta.md: no master"


def _output_edit(site: Site) -> str:
    _rewrite_same_size(site.out("image", "alpha"))
    return "modified by hand"


def _output_deleted(site: Site) -> str:
    site.out("mobile", "beta").unlink()
    return "/img/artical/mobile-articles/beta.png: missing"


def _config_edit(site: Site) -> str:
    cfg = site.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace("width: 800", "width: 801", 1))
    return "stale: its variant settings changed"


def _manifest_edit(site: Site) -> str:
    path = site.root / "renditions.lock.json"
    doc = json.loads(path.read_text())
    doc["outputs"].pop("/img/artical/articles/alpha.png")
    path.write_text(json.dumps(doc, indent=1))
    return "renditions did not write it"


def _key_renamed(site: Site) -> str:
    art = site.root / "content" / "beta.md"
    art.write_text(art.read_text().replace("mobile:", "mobil:"))
    return "mobil"


def _folder_linked_out(site: Site) -> str:
    """The same files, moved out of the web root and linked back: every file's own stat is unchanged."""
    folder = site.public / "img" / "artical"
    away = site.root.parent / "elsewhere"
    away.mkdir()
    folder.rename(away / "artical")
    folder.symlink_to(away / "artical")
    return "leads outside the web root (through a symbolic link)"


CHANGES = {
    "new article": _new_article,
    "new article in a new folder": _article_in_new_folder,
    "master edited (same size, mtime put back)": _master_edit,
    "master renamed": _master_renamed,
    "output edited (same size, mtime put back)": _output_edit,
    "output deleted": _output_deleted,
    "config edited": _config_edit,
    "manifest edited": _manifest_edit,
    "front-matter key renamed": _key_renamed,
    "output folder moved out and linked back": _folder_linked_out,
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_change_reaches_the_next_check(built, change, tmp_path):
    assert run(built, "check").exit_code == 0
    assert run(built, "check").exit_code == 0  # answered by the stamp
    expected = CHANGES[change](built)
    after = run(built, "check")
    # the same answer a full run gives with no stamp at all
    (tmp_path / "cache").rename(tmp_path / "cache-moved")
    full = run(built, "check")
    assert (after.exit_code, after.output) == (full.exit_code, full.output)
    assert expected in after.output + full.output


def test_an_orphan_dropped_into_an_output_folder_is_seen(built):
    assert run(built, "check").exit_code == 0
    orphan = built.public / "img" / "artical" / "articles" / "old.png"
    orphan.write_bytes(built.out("image", "alpha").read_bytes())
    r = run(built, "check", "--strict")
    assert r.exit_code == 1 and "/img/artical/articles/old.png: orphan" in r.output
    r = run(built, "check")
    assert r.exit_code == 0 and "warning: /img/artical/articles/old.png: orphan" in r.output


def test_an_orphan_dropped_beside_a_draft_s_output_is_seen(built, full_runs):
    """A draft's folder is one check lists for orphans (its own output is none), so the stamp
    watches it too: a file dropped there reaches the next check."""
    built.article("later", extra="draft: true", keys={"image": "/img/drafts/{slug}.png"})
    built.master("later", (1700, 1000))
    assert run(built, "build", "--drafts").exit_code == 0
    assert (built.public / "img" / "drafts" / "later.png").is_file()
    assert run(built, "check").exit_code == 0 and run(built, "check").exit_code == 0
    assert len(full_runs) == 2  # the build, then one check: the second was the stamp's
    (built.public / "img" / "drafts" / "stray.png").write_bytes(built.out("image", "alpha").read_bytes())
    r = run(built, "check")  # the same command and options as the stamp's
    assert "warning: /img/drafts/stray.png: orphan" in r.output, r.output
    assert len(full_runs) == 3


def test_a_build_after_a_change_does_the_work(built, full_runs):
    run(built, "build")
    run(built, "build")
    assert len(full_runs) == 1
    built.out("image", "beta").unlink()
    r = run(built, "build")
    assert r.exit_code == 0 and "1 written, 7 up to date" in r.output
    assert built.out("image", "beta").exists()


def test_options_that_change_the_answer_are_never_replayed(built, full_runs):
    run(built, "build")
    run(built, "check")
    assert len(full_runs) == 2
    for args in (["build", "--force"], ["build", "--dry-run"], ["build", "--only", "alpha"], ["build", "--drafts"]):
        run(built, *args)
    assert len(full_runs) == 6
    r = run(built, "check", "--engine", "pillow")  # another engine: other recipes, so every output is stale
    assert len(full_runs) == 7 and r.exit_code == 1 and "stale: made by libvips" in r.output


def test_a_file_changed_just_before_the_run_is_not_trusted_to_its_stat(built, full_runs, monkeypatch):
    monkeypatch.setattr(stamp, "RACY_NS", 10**15)  # every file is "just changed"
    run(built, "check")
    run(built, "check")
    assert len(full_runs) == 2
    assert not stamp._file(built.root, "check").exists()


def _signed(body: bytes) -> bytes:
    """A stamp file's bytes: the body's digest, then the body."""
    return stamp._digest(body) + body


def _bad_code() -> bytes:
    """A marshalled code object CPython 3.11 refuses to rebuild, with SystemError (more
    positional-only arguments than arguments): not one of the errors marshal documents."""
    raw = bytearray(marshal.dumps(compile("1", "", "exec")))
    raw[5] = 5
    return bytes(raw)


def test_a_stamp_damaged_anywhere_is_ignored(built, full_runs):
    """A flipped bit anywhere in a real stamp, the site unchanged, is caught by its digest
    before marshal reads it: in a list's length (marshal would allocate for billions of items),
    or in the report's text (it would unmarshal, and a wrong report would be replayed)."""
    assert run(built, "check").exit_code == 0
    path = stamp._file(built.root, "check")
    good = path.read_bytes()
    assert run(built, "check").output == "all 8 outputs up to date\n" and len(full_runs) == 1  # replayed
    text = good.index(b"/img/artical/articles/alpha.png", 32)  # a path in the report
    for at in (0, 31, 32, 33, len(good) // 2, text + 5, len(good) - 1):
        damaged = bytearray(good)
        damaged[at] ^= 0x40
        path.write_bytes(bytes(damaged))
        runs = len(full_runs)
        r = run(built, "check")
        assert r.exit_code == 0 and r.output == "all 8 outputs up to date\n"
        assert len(full_runs) == runs + 1  # the work was done again, not replayed


def test_the_stat_comparison_is_signatures(tmp_path):
    """replay's loop (`_unchanged`) answers what comparing each path's `signature` answers: files,
    folders, links (12 fields), dangling links and missing paths ([-errno]), a file become a link."""
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "f")
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    (tmp_path / "was-a-file").write_text("y")
    file_sig = stamp.signature(str(tmp_path / "was-a-file"))
    (tmp_path / "was-a-file").unlink()
    (tmp_path / "was-a-file").symlink_to(tmp_path / "f")
    paths = [str(tmp_path / n) for n in ("f", "d", "link", "dangling", "missing", "was-a-file")]
    for p in paths:
        own = stamp.signature(p)
        wrong = [own[0] + 1, *own[1:]], own[:-1] + [own[-1] ^ 1]
        for sig in (own, own[:5], own[:6], own + [0], *wrong, file_sig, [-2], tuple(own), "x"):
            assert stamp._unchanged([p], [sig]) == (stamp.signature(p) == sig), (p, sig)
    assert stamp._unchanged(paths, [stamp.signature(p) for p in paths])
    assert not stamp._unchanged([*paths, 5], [*(stamp.signature(p) for p in paths), [1]])


def test_a_report_marshal_cannot_keep_costs_the_stamp_not_the_run(built, monkeypatch):
    class Text(str):  # a str subclass: marshal refuses it, JSON took it
        pass

    real = stamp.to_record
    monkeypatch.setattr(stamp, "to_record", lambda report: {**real(report), "engine": Text(report.engine)})
    r = run(built, "check")
    assert r.exit_code == 0 and r.output == "all 8 outputs up to date\n"
    assert not stamp._file(built.root, "check").exists()


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{",
        b"[]",
        b'{"key": 1}',
        json.dumps({"paths": 1}).encode(),
        b"\xff" * 100,
        marshal.dumps([1, 2]),
        marshal.dumps({"key": 1}),
        marshal.dumps({"paths": 1})[:-3],  # cut short
        _signed(marshal.dumps([1, 2])),  # a digest that fits: marshal's answer is still checked
        _signed(marshal.dumps({"key": 1})),
        _signed(marshal.dumps({"paths": 1})[:-3]),
        _signed(_bad_code()),  # unmarshalling it raises SystemError
    ],
)
def test_a_damaged_stamp_is_ignored(built, garbage):
    assert run(built, "check").exit_code == 0
    path = stamp._file(built.root, "check")
    assert path.exists()
    path.write_bytes(garbage)
    built.out("image", "alpha").unlink()
    r = run(built, "check")
    assert r.exit_code == 1 and "/img/artical/articles/alpha.png: missing" in r.output


def test_a_stamp_whose_report_was_tampered_with_is_ignored(built):
    assert run(built, "check").exit_code == 0
    path = stamp._file(built.root, "check")
    raw = path.read_bytes()
    assert raw[:32] == stamp._digest(raw[32:])
    doc = marshal.loads(raw[32:])
    doc["report"]["outputs"] = [["/x.png"]]  # a row of the wrong shape
    path.write_bytes(_signed(marshal.dumps(doc)))
    assert run(built, "check").output == "all 8 outputs up to date\n"


def test_what_happens_beside_the_site_does_not_matter(built, full_runs, tmp_path):
    run(built, "check")
    (tmp_path / "another-site").mkdir()  # the folder holding the site changes; the site does not
    (tmp_path / "notes.txt").write_text("x")
    r = run(built, "check")
    assert len(full_runs) == 1 and r.output == "all 8 outputs up to date\n"


def test_a_stamped_check_imports_none_of_the_work(built, full_runs):
    """The stamp answers in a fresh process without importing what the work needs: the engines,
    the plan, the process pool, or the temporary files a write makes (each import is time a no-op
    pays: `tempfile` and `concurrent.futures` alone cost 17 ms of a 0.24 s check)."""
    import subprocess
    import sys

    assert run(built, "check").exit_code == 0 and full_runs == ["run"]  # the stamp is recorded
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "renditions", "check", "--root", str(built.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "all 8 outputs up to date\n" in r.stderr, r.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "renditions.stamp" in imported  # the trace is read right
    work = {"renditions.session", "renditions.plan", "pyvips", "PIL", "concurrent.futures", "tempfile", "multiprocessing"}
    assert imported & work == set()
