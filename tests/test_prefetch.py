"""A cold hash cache (a fresh clone) is filled by helper processes ahead of need (Hasher.prefetch).

The helpers are only a way to spend the second core: every answer must be the one this process
would have found alone, a file changed after a helper read it is read again, and the helpers are
gone before a build forks its render workers (the fork rule, procs.py).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil

import pytest

from renditions import child, hashing, pipeline
from renditions.hashing import Hasher
from renditions.verify import check


@pytest.fixture
def helped(monkeypatch) -> list[str]:
    """Prefetch even for a small site, and record each hash this process took from a helper."""
    monkeypatch.setattr(hashing, "PREFETCH_MIN_BYTES", 0)
    taken: list[str] = []
    real = Hasher._prefetched

    def spy(self, key, sig):
        value = real(self, key, sig)
        if value is not None:
            taken.append(os.path.basename(key))
        return value

    monkeypatch.setattr(Hasher, "_prefetched", spy)
    return taken


def built_then_cloned(site, *slugs: str) -> None:
    """A site built in one process (--jobs 1 starts no helper), then seen as a fresh clone: without
    the caches outside the site."""
    for slug in slugs:
        site.article(slug)
        site.master(slug)
    assert pipeline.build(site.root, jobs=1).ok
    shutil.rmtree(os.environ["RENDITIONS_CACHE_DIR"], ignore_errors=True)


def test_a_fresh_clone_check_takes_its_hashes_from_helpers_and_finds_the_same(site, helped):
    built_then_cloned(site, "a", "b", "c")
    edited = site.out("mobile", "b")
    data = bytearray(edited.read_bytes())
    data[-3] ^= 0xFF  # same size, other bytes: only the hash can tell
    edited.write_bytes(bytes(data))
    report = check(site.root)
    # every master and output was hashed by a helper: 3 masters, 12 outputs
    assert sorted(helped) == sorted(["a.png", "b.png", "c.png"] + ["a.png", "b.png", "c.png"] * 4)
    assert not report.ok
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/mobile-articles/b.png", "modified by hand: its bytes differ from what renditions wrote")
    ]
    assert report.count("up to date") == 11
    assert multiprocessing.active_children() == []  # the helpers were stopped


def test_a_file_changed_after_a_helper_read_it_is_read_again(tmp_path, helped):
    path = tmp_path / "master.png"
    path.write_bytes(b"first version" * 1000)
    hasher = Hasher()
    hasher.prefetch([path])
    hasher._pending[str(path)].result()  # the helper has read the first version
    path.write_bytes(b"second version" * 1000)
    try:
        assert hasher(path) == hashlib.sha256(b"second version" * 1000).hexdigest()
    finally:
        hasher.close()
    assert helped == []  # the helper's answer was for other bytes: not taken


def test_helpers_are_stopped_before_the_render_workers_fork(site, helped, forks):
    built_then_cloned(site, "a", "b")
    forks.clear()  # the build above forked its render worker
    site.master("b", size=(1920, 1200))  # b is stale: its render workers fork after the plan
    report = pipeline.build(site.root, jobs=2)
    assert report.ok and report.count("written") == 4 and report.count("up to date") == 4, report.problems
    assert sorted(helped) == ["a.png"] * 5 + ["b.png"]  # a's master and outputs, b's master (its outputs are stale)
    assert len(forks) >= 3 and set(forks) == {1}  # two helpers, then workers: each forked single-threaded
    assert multiprocessing.active_children() == []


def test_outputs_of_a_changed_recipe_are_not_read_on_a_fresh_clone(site, helped, monkeypatch):
    """Their bytes can't make them fresh: hashing them would only cost the time."""
    built_then_cloned(site, "a", "b")
    config = site.root / "config" / "renditions.yaml"
    config.write_text(config.read_text().replace("width: 640,  height: 360", "width: 640,  height: 400"))
    sent: list[str] = []
    real = Hasher.prefetch
    monkeypatch.setattr(Hasher, "prefetch", lambda self, paths: real(self, [sent.append(str(p)) or p for p in paths]))
    report = check(site.root)
    assert [p.path for p in report.problems] == ["/img/artical/mobile-articles/a.png", "/img/artical/mobile-articles/b.png"]
    assert len(sent) == 8 and not any("mobile-articles" in p for p in sent)  # 2 masters, 3 unchanged variants each


HARNESS = """
import sys, time
from renditions import cli, hashing
hashing.PREFETCH_MIN_BYTES = 0
real = hashing._hash_batch
def slow(paths):  # the helpers are forked from here: they hash slowly enough to be interrupted
    open(sys.argv[2], "a").close()  # a helper is hashing
    time.sleep(0.5)
    return real(paths)
hashing._hash_batch = slow
hashing._BATCH_FILES = 1
cli.main(["check", "--root", sys.argv[1]])
"""


def _command(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:  # gone meanwhile
        return ""


def test_ctrl_c_during_a_fresh_clone_check_stops_the_helpers_quietly(site):
    import signal
    import subprocess
    import sys
    import time

    built_then_cloned(site, "a", "b", "c")
    hashing = site.root.parent / "hashing"
    p = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(site.root), str(hashing)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def group() -> list[str]:
        return subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True, text=True).stdout.split()

    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline and not hashing.exists():
        time.sleep(0.02)
    # the check and its two helpers, hashing (git's child may be ending: it is no helper, and
    # counting processes before the helpers hash caught it instead of them)
    assert hashing.exists()
    assert len([pid for pid in group() if _command(pid) != "git"]) == 3
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert err == "interrupted: nothing was written\n"  # one line: no helper's traceback
    time.sleep(0.2)
    assert group() == []


def test_a_build_with_jobs_1_hashes_in_its_own_process(site, helped, forks, monkeypatch):
    """--jobs 1 asks for one process: a fresh clone's hashing stays in it too (git's index is
    still read in a copy of it, child.py: that reads no file)."""
    built_then_cloned(site, "a", "b")
    forks.clear()  # the build above forked its render worker
    copies = []
    real = child._fork
    monkeypatch.setattr(child, "_fork", lambda body: copies.append(1) or real(body))
    report = pipeline.build(site.root, jobs=1)
    assert report.ok and report.count("up to date") == 8
    assert helped == [] and len(forks) == len(copies) == 1


def test_when_no_helper_can_be_started_the_check_hashes_alone(site, helped, monkeypatch):
    """Helpers are an optimisation: a process limit (fork failing with EAGAIN) costs only time."""
    built_then_cloned(site, "a", "b")

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    report = check(site.root)
    assert report.ok and report.count("up to date") == 8
    assert helped == [] and multiprocessing.active_children() == []


def test_ctrl_c_while_the_command_is_still_importing_ends_without_a_traceback():
    """The window before the CLI is imported: an import interrupted there (here, click's) ends
    like any other Ctrl-C. `import renditions` itself imports nothing heavy, so the window left
    uncovered is Python's own start."""
    import subprocess
    import sys

    script = (
        "import builtins, sys\n"
        "import renditions\n"
        "assert 'renditions.cli' not in sys.modules and 'click' not in sys.modules, sorted(sys.modules)\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *a, **k):\n"
        "    if name == 'click':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = interrupted\n"
        "from renditions.__main__ import main\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", script, "check"], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr, r.stdout) == (130, "interrupted: nothing was written\n", "")
