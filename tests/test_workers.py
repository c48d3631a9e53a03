"""The fork rule: no worker is forked from a build process that runs another thread.

A process forked while another thread holds a lock (libvips' pool, numpy's, a progress
bar's monitor) can deadlock; breaking this once hung the test suite. procs.start_method
owns the rule; these tests watch os.fork itself, so they fail if any path forks anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

from conftest import SIZES
from PIL import Image

from renditions import pipeline, procs


def test_a_thread_started_before_the_pool_means_no_fork(site, forks):
    for slug in ("one", "two"):
        site.article(slug)
        site.master(slug)
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait, name="test-blocker", daemon=True)
    waiter.start()
    try:
        assert procs.threads_running() >= 2
        assert procs.start_method() == "forkserver"
        report = pipeline.build(site.root, jobs=2)
    finally:
        stop.set()
        waiter.join()
    assert forks == []  # the workers came from the fork server, not from this threaded process
    assert report.ok and report.count("written") == 8, report.problems
    for slug in ("one", "two"):
        for key, path in zip(SIZES, site.outputs(slug)):
            with Image.open(path) as im:
                assert im.size == SIZES[key]


def test_a_single_threaded_build_forks_its_workers(site):
    """The measured fast path stays: a fresh build process is single-threaded and forks."""
    for slug in ("one", "two"):
        site.article(slug)
        site.master(slug)
    script = textwrap.dedent(
        """
        import json, os, sys
        from renditions import pipeline, procs
        seen, real = [], os.fork
        def fork():
            seen.append(procs.threads_running())
            return real()
        os.fork = fork
        method = procs.start_method()
        report = pipeline.build(sys.argv[1], jobs=2)
        print(json.dumps({"method": method, "forks": seen, "written": report.count("written"), "ok": report.ok}))
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(site.root)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RENDITIONS_CACHE_DIR": str(site.root.parent / "cache")},
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["ok"] and got["written"] == 8
    assert got["method"] == "fork"
    assert got["forks"] and set(got["forks"]) == {1}  # every fork happened single-threaded


def _api_script(site, guarded: bool) -> subprocess.CompletedProcess:
    """The README's API use, as a script file that runs another thread: unguarded, or under
    `if __name__ == "__main__":` as the README says."""
    body = textwrap.dedent(
        f"""
        import threading, time
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        report = renditions.build({str(site.root)!r}, jobs=2)
        print(report.summary())
        for problem in report.problems:
            print(problem)
        """
    )
    if guarded:
        body = 'if __name__ == "__main__":\n' + textwrap.indent(body, "    ")
    script = site.root.parent / "make_images.py"
    script.write_text("import renditions\n" + body)
    env = {**os.environ, "RENDITIONS_CACHE_DIR": str(site.root.parent / "cache")}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)


def test_a_worker_that_cannot_start_is_not_called_a_decoder_crash(site):
    for slug in ("one", "two"):
        site.article(slug)
        site.master(slug)
    r = _api_script(site, guarded=False)  # each worker runs the script again, and its build finds the lock
    lines = r.stdout.splitlines()
    assert lines[0] == "0 written, 0 up to date, 2 failed", r.stdout + r.stderr
    assert "decoder crashed" not in r.stdout
    assert (
        "content/one.md: source_images/one.png: a worker process could not start (it exited with code 1); "
        'a script that calls renditions needs `if __name__ == "__main__":` around that call (README: Recipes)'
    ) in lines
    r = _api_script(site, guarded=True)  # as the README says
    assert r.stdout.splitlines() == ["8 written, 0 up to date, 0 failed"], r.stdout + r.stderr


def test_ctrl_c_while_an_article_is_recorded_ends_the_build_at_once(site, monkeypatch):
    """Ctrl-C landing while the build process records an article a worker just finished (here:
    raised by the first output's recording): the worker's task is counted done, so the build
    stops with the KeyboardInterrupt (the CLI's exit 130) instead of waiting for that idle worker
    until the article time limit passes, then failing on its count. A CI run caught it once,
    the build still there 120 s after the interrupt. The next build and check come out whole."""
    import pytest

    from renditions.hashing import Hasher
    from renditions.verify import check

    site.config(site.root.joinpath("config", "renditions.yaml").read_text() + "timeout: 5\n")
    for slug, colour in (("a", (200, 40, 40)), ("b", (40, 200, 40)), ("c", (40, 40, 200))):
        site.article(slug)
        site.master(slug, (1700, 1000), ext="jpg", colour=colour)  # masters of their own: a task each, one article long
    real = Hasher.remember
    calls = []

    def interrupted(self, path, value):
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(self, path, value)

    monkeypatch.setattr(Hasher, "remember", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.build(site.root, jobs=2)
    monkeypatch.setattr(Hasher, "remember", real)
    again = pipeline.build(site.root, jobs=2)
    assert again.ok and again.count("written") + again.count("adopted") + again.count("up to date") == 12
    assert check(site.root).ok
