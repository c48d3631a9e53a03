"""A fresh clone's articles read in two processes (child.Forked, discover.read_all): the same
articles, stats and cached answers as one process reads, and one process's answer whenever the
copy can't help."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from renditions import child, discover, fmcache
from renditions.cli import main
from renditions.config import load_config
from renditions.discover import front_matter_cache, read_all
from renditions.hashing import cache_file


def _zombies() -> list[int]:
    """This process's children that have exited and were never reaped."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                found.append(int(pid))
    return found


def test_a_copy_answers_with_what_its_work_returned_and_shared_objects_as_they_are():
    shared = [Path("/a/b.md"), Path("/c/d.png")]
    copy = child.Forked(lambda: {"pid": os.getpid(), "paths": [shared[1], Path("/e")], "big": b"x" * 3_000_000}, shared)
    assert copy.started
    done, answer = copy.result()
    assert done
    assert answer["pid"] != os.getpid()  # worked out in the copy
    assert answer["paths"][0] is shared[1]  # sent by its index, not rebuilt
    assert answer["paths"][1] == Path("/e")
    assert len(answer["big"]) == 3_000_000  # more than the pipe holds
    assert _zombies() == []


def test_a_copy_that_fails_is_no_answer():
    def fails():
        raise ValueError("boom")

    copy = child.Forked(fails)
    assert copy.result() == (False, None)
    assert _zombies() == []


def test_a_copy_not_needed_is_stopped():
    copy = child.Forked(lambda: time.sleep(60))
    pid = copy.copy.pid
    started = time.monotonic()
    copy.close()
    assert time.monotonic() - started < 10
    assert not os.path.exists(f"/proc/{pid}")  # killed and reaped
    assert copy.result() == (False, None)


@pytest.mark.parametrize("kind", ["Forked", "Child"])
def test_ctrl_c_while_waiting_for_a_copy_stops_it(kind, monkeypatch):
    """The copy drops Ctrl-C (it is the main process's to answer): the main process, told while it
    waits, stops the copy and goes on with the KeyboardInterrupt at once."""
    if kind == "Forked":
        waiting = child.Forked(lambda: time.sleep(30))
        pid, wait = waiting.copy.pid, waiting.result
    else:
        monkeypatch.setattr(child, "_call", lambda fd, *args: time.sleep(30))
        waiting = child.Child("renditions.sniff", "_ahead", "/nonexistent", "/nonexistent")
        pid, wait = waiting.proc.pid, waiting.output
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        wait()
    timer.join()
    assert time.monotonic() - started < 10
    assert not os.path.exists(f"/proc/{pid}")  # killed and reaped


def test_no_copy_while_another_thread_runs():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        copy = child.Forked(lambda: 1)
        assert not copy.started
        assert copy.result() == (False, None)
    finally:
        stop.set()
        t.join()


def test_no_copy_off_linux(monkeypatch):
    monkeypatch.setattr(child.sys, "platform", "darwin")
    assert not child.Forked(lambda: 1).started


def _answers(monkeypatch) -> list[bool]:
    """Whether each copy read_all started answered (its articles taken from it)."""
    answered: list[bool] = []
    real = child.Forked.result

    def spy(self):
        done, value = real(self)
        answered.append(done)
        return done, value

    monkeypatch.setattr(child.Forked, "result", spy)
    return answered


def _varied_site(site) -> None:
    """Articles of every kind read_article tells apart: with and without a master, drafts, pages
    without images, broken front matter, a bad path, art direction, a typo'd key."""
    for i in range(12):
        site.article(f"a{i:02d}")
        if i % 3:
            site.master(f"a{i:02d}", size=(64, 36))
    site.article("draft", extra="draft: true")
    site.article("typo", extra='imgae: "/img/x.png"')
    site.article("badpath", keys={"image": "/img/../../etc/x.png"})
    site.article("art", extra="masters:\n  mobile-article: art-mobile.png")
    site.master("art", size=(64, 36))
    (site.sources / "art-mobile.png").write_bytes((site.sources / "art.png").read_bytes())
    (site.root / "content" / "page.md").write_text("---\ntitle: no images\n---\n")
    (site.root / "content" / "broken.md").write_text("---\nimage: [unclosed\n---\n")
    (site.root / "content" / "readme.md").write_text("no front matter\n")


@pytest.fixture(autouse=True)
def _cache_new_files(monkeypatch):
    """Files written a moment ago are cached too (fmcache leaves out those of the last 2 s)."""
    monkeypatch.setattr(fmcache, "RACY_NS", -(10**12))


def _read(cfg, cache_path):
    cache = front_matter_cache(cfg, cache_path)
    lstats: dict = {}
    walked: list = []
    calls = []
    found = read_all(cfg, cache, walked, lstats, lambda: calls.append(1))
    assert calls == [1]  # `meanwhile` runs once either way
    return found, lstats, walked, cache.entries


def test_two_processes_read_what_one_reads(site, monkeypatch, tmp_path):
    _varied_site(site)
    cfg = load_config(site.root)
    monkeypatch.setattr(discover, "SPLIT_MIN", 10**9)
    alone = _read(cfg, tmp_path / "one.json")
    answered = _answers(monkeypatch)
    monkeypatch.setattr(discover, "SPLIT_MIN", 2)
    split = _read(cfg, tmp_path / "two.json")
    assert answered == [True]  # the copy's answer was taken, not its share read again here
    files = discover.article_files(cfg)
    masters = {p: p for found in discover.master_index(cfg.sources).values() for p in found}
    for a, f in zip(split[0], files, strict=True):
        assert a.file == f
    taken = split[0][int(len(files) * (1 - discover.SPLIT_SHARE)) + 1 :]  # read by the copy
    assert any(a.master is not None for a in taken) and all(a.master is None or a.master in masters for a in taken)
    assert len(alone[0]) == 19
    assert split[0] == alone[0]  # every article, field for field, in path order
    assert [a.rel for a in split[0]] == sorted(a.rel for a in split[0])
    assert {k: tuple(v) for k, v in split[1].items()} == {k: tuple(v) for k, v in alone[1].items()}  # masters' lstats
    assert split[2] == alone[2]
    assert split[3] == alone[3] and split[3]  # the front-matter cache's answers, the copy's too
    assert _zombies() == []


def test_a_failed_copy_costs_nothing_but_time(site, monkeypatch, tmp_path):
    _varied_site(site)
    cfg = load_config(site.root)
    monkeypatch.setattr(discover, "SPLIT_MIN", 10**9)
    alone = _read(cfg, None)
    here = os.getpid()
    real = discover.read_article

    def dies_in_the_copy(*args, **kwargs):
        if os.getpid() != here:
            os._exit(3)  # as if killed
        return real(*args, **kwargs)

    monkeypatch.setattr(discover, "read_article", dies_in_the_copy)
    monkeypatch.setattr(discover, "SPLIT_MIN", 2)
    assert _read(cfg, None)[0] == alone[0]
    assert _zombies() == []


def test_a_fresh_clones_check_reads_in_two_processes_and_still_names_each_problem(site, monkeypatch):
    """The whole check, its articles read by two processes: the same report as by one."""
    for slug in ("one", "two", "three"):
        site.article(slug)
        site.master(slug, size=(1700, 1000))
    site.article("lost")  # no master
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--root", str(site.root)]).exit_code == 1  # lost has no master
    (site.out("mobile", "two")).write_bytes(b"not an image")
    answered = _answers(monkeypatch)
    results = {}
    for split_min in (10**9, 2):
        monkeypatch.setattr(discover, "SPLIT_MIN", split_min)
        for kind in ("stat", "fm"):
            cache_file(load_config(site.root).root, kind).unlink(missing_ok=True)
        for stamp in cache_file(load_config(site.root).root).parent.glob("stamp-*"):
            stamp.unlink()
        r = runner.invoke(main, ["check", "--root", str(site.root)])
        results[split_min] = (r.exit_code, r.stdout)
    assert results[2] == results[10**9]
    code, out = results[2]
    assert code == 1
    assert code == 1
    assert out.splitlines() == [
        "content/lost.md: no master: add source_images/lost.png (or .jpg, .webp, .avif, .tif, .gif, .heic)",
        "/img/artical/mobile-articles/two.png: modified by hand: its bytes differ from what renditions wrote",
    ]
    assert answered == [True]  # the second check's reading was split, and the copy answered


def test_a_bad_manifest_still_stops_the_run_after_only_is_checked(site, monkeypatch):
    """The manifest is loaded while the copy reads; its error is raised where it always was:
    after --only's slugs are checked."""
    site.article("one")
    site.master("one", size=(1700, 1000))
    (site.root / "renditions.lock.json").write_text("{not json")
    monkeypatch.setattr(discover, "SPLIT_MIN", 1)
    runner = CliRunner()
    r = runner.invoke(main, ["build", "--root", str(site.root), "--only", "nosuch"])
    assert r.exit_code == 2
    assert "no article has the slug nosuch" in r.stderr
    r = runner.invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 2
    assert "renditions.lock.json" in r.stderr and "Traceback" not in r.stderr


def test_a_warm_cache_is_read_in_one_process(site, monkeypatch, tmp_path):
    """With answers cached (no fresh clone), reading is cheap: no copy is made."""
    _varied_site(site)
    cfg = load_config(site.root)
    monkeypatch.setattr(discover, "SPLIT_MIN", 2)
    path = tmp_path / "fm.json"
    first = front_matter_cache(cfg, path)
    read_all(cfg, first)
    first.save()
    forks = []
    real = child.os.fork
    monkeypatch.setattr(child.os, "fork", lambda: forks.append(1) or real())
    _read(cfg, path)
    assert forks == []
