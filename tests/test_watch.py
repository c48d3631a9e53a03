"""`renditions watch`: a dropped-in master is built within 2 s; an edit rebuilds only its article."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from renditions.config import load_config
from renditions.discover import discover
from renditions.watch import affected, config_file, kind_of, left_behind, watched_paths


class Watcher:
    """`renditions watch` in a child process, its output collected line by line."""

    def __init__(self, root: Path):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "renditions", "watch", "--root", str(root), "-j", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, after: int = 0, timeout: float = 15) -> int:
        """Index of the first line from `after` on that contains `text`."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, line in enumerate(self.lines[after:], start=after):
                if text in line:
                    return i
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in the watcher's output:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def signature(paths):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


@pytest.mark.slow
def test_new_master_then_focus_edit(site, tmp_path):
    site.article("alpha")
    site.master("alpha")
    site.article("beta")
    site.master("beta")
    site.article("gamma")  # its master is dropped in while watching
    spare = site.master("gamma", size=(1920, 1080))
    dropped = tmp_path / "gamma.png"
    shutil.move(spare, dropped)

    w = Watcher(site.root)
    try:
        ready = w.wait_for("watching", timeout=30)
        assert any("8 written" in line for line in w.lines[:ready]), w.lines  # the initial build
        assert not any(p.exists() for p in site.outputs("gamma"))

        start = time.monotonic()
        shutil.copy(dropped, site.sources / "gamma.png")
        deadline = start + 10
        while not all(p.exists() for p in site.outputs("gamma")) and time.monotonic() < deadline:
            time.sleep(0.02)
        took = time.monotonic() - start
        assert all(p.exists() for p in site.outputs("gamma")), w.lines
        print(f"new master → 4 variants in {took:.2f} s")  # measured, not asserted: see BENCHMARKS.md
        done = w.wait_for("4 written", after=ready)
        assert "rebuilding gamma" in "\n".join(w.lines[ready:done])

        others = site.outputs("beta") + site.outputs("gamma")
        before = signature(others)
        alpha_before = signature(site.outputs("alpha"))
        alpha_bytes = {p: p.read_bytes() for p in site.outputs("alpha")}
        site.article("alpha", extra="focus: [0.1, 0.5]")
        done = w.wait_for("rebuilding alpha", after=done + 1)
        built = w.wait_for(" written,", after=done)
        assert "4 written, 0 up to date" in w.lines[built]  # only alpha's four outputs were planned
        time.sleep(0.5)
        assert signature(others) == before
        after = signature(site.outputs("alpha"))
        changed = {p for p in after if p.read_bytes() != alpha_bytes[p]}
        # the three 16:9 variants of a 16:9 master are the whole master, whatever the focus; the 4:3 one moves
        assert changed == {site.out("MobileSingleImage", "alpha")}
        # a changed output is rewritten; one whose bytes came out the same is left alone (issue 13: no churn)
        assert all((after[p] != alpha_before[p]) == (p in changed) for p in after)
    finally:
        code = w.stop()
    assert code == 0, w.lines
    assert "Traceback" not in "\n".join(w.lines)


@pytest.mark.slow
def test_errors_are_printed_and_watching_goes_on(site):
    site.article("alpha")
    site.master("alpha")
    w = Watcher(site.root)
    try:
        ready = w.wait_for("watching", timeout=30)
        (site.sources / "alpha.png").write_bytes(b"not an image")
        w.wait_for("error: ", after=ready)
        n = len(w.lines)
        site.master("alpha", size=(1920, 1080), colour=(200, 10, 10))
        n = w.wait_for("4 written", after=n)
        cfg = site.root / "config" / "renditions.yaml"
        cfg.write_text(cfg.read_text() + "# a comment\n")
        n = w.wait_for("rebuilding everything", after=n)
        w.wait_for("0 written, 4 up to date", after=n)
        assert w.proc.poll() is None
    finally:
        assert w.stop() == 0


@pytest.mark.slow
def test_a_config_that_widens_content_builds_once_and_sigterm_stops_cleanly(site):
    """A config change that adds a content folder rebuilt everything, re-attached to the wider
    folder, called it 'come back' and rebuilt everything again; SIGTERM (a process manager)
    killed the watcher without a word, exit 143 (a user's trial)."""
    site.article("alpha")
    site.master("alpha")
    w = Watcher(site.root)
    try:
        n = w.wait_for("watching config/, source_images/, content/", timeout=30)
        (site.root / "articles").mkdir()
        cfg = site.root / "config" / "renditions.yaml"
        text = cfg.read_text()
        assert "\ncontent: " in text
        cfg.write_text(re.sub(r"\ncontent: [^\n]*", '\ncontent: ["content/**/*.md", "articles/**/*.md"]', text))
        n = w.wait_for("changed config/renditions.yaml: rebuilding everything", after=n)
        n = w.wait_for("watching ./ (Ctrl-C to stop)", after=n)
        # a `git checkout` deletes the config and writes it again: not a site that needs `init`
        saved = cfg.read_text()
        cfg.unlink()
        n = w.wait_for("error: config/renditions.yaml: the config is gone: nothing is rebuilt until it is back", after=n)
        cfg.write_text(saved)
        n = w.wait_for("0 written, 4 up to date", after=n)
        time.sleep(1)
        w.proc.send_signal(signal.SIGTERM)
        assert w.proc.wait(timeout=15) == 0
        time.sleep(0.3)  # the reader thread takes the last lines
    finally:
        w.stop()
    after = [ln for ln in w.lines if not ln.startswith("warning")]
    assert not any("came back" in ln for ln in after), after
    assert sum("0 written, 4 up to date" in ln for ln in after) == 2, after  # the widened config, the restored one
    assert not any("renditions init" in ln for ln in after), after
    assert after[-1] == "stopped watching" and "Traceback" not in "\n".join(w.lines)


def test_what_a_change_rebuilds(site):
    site.article("alpha")
    site.article("beta", extra="slug: beta-slug")
    site.master("alpha")
    cfg = load_config(site.root)
    cf = config_file(site.root, None)
    articles = discover(cfg)
    src, content = site.sources, site.root / "content"
    assert kind_of(cfg, cf, str(site.root / "config" / "renditions.yaml")) == "config"
    assert kind_of(cfg, cf, str(src / "x.JPG")) == "master"
    assert kind_of(cfg, cf, str(src / "LICENSES.md")) is None
    assert kind_of(cfg, cf, str(content / "a.md")) == "article"
    assert kind_of(cfg, cf, str(site.public / "img" / "x.png")) is None
    assert kind_of(cfg, cf, str(src / ".x.png.abc.renditions-tmp")) is None
    # an editor's lock, autosave and backup files and hidden folders: not articles, made or removed
    os.symlink("me@host.4242:1700000000", content / ".#alpha.md")  # Emacs's lock: a dangling link
    scratch = [content / n for n in (".#alpha.md", "#alpha.md#", "alpha.md~", ".obsidian/alpha.md")]
    assert [kind_of(cfg, cf, str(p)) for p in scratch] == [None] * 4
    t = affected(cfg, cf, articles, {str(p) for p in scratch})
    assert t.empty and not t.notes and not t.why

    t = affected(cfg, cf, articles, {str(src / "alpha.png")})
    assert t.slugs == {"alpha"} and not t.everything
    t = affected(cfg, cf, articles, {str(src / "beta-slug.webp")})  # a new master: matched by slug, not file name
    assert t.slugs == {"beta-slug"}
    t = affected(cfg, cf, articles, {str(content / "beta.md"), str(src / "alpha.png")})
    assert t.slugs == {"alpha", "beta-slug"}
    t = affected(cfg, cf, articles, {str(site.root / "config" / "renditions.yaml")})
    assert t.everything
    (src / "Alpha .png").write_bytes(b"x")
    t = affected(cfg, cf, articles, {str(src / "Alpha .png")})
    assert t.empty and "nothing uses this master" in t.notes[0]
    assert set(watched_paths(cfg, cf)) == {site.root / "config", site.sources, site.root / "content"}
    # a page without images, made or saved, is no article that was removed (a user's trial)
    (content / "about.md").write_text("---\ntitle: About\n---\nText.\n")
    t = affected(cfg, cf, discover(cfg), {str(content / "about.md")})
    assert t.empty and not t.notes
    (content / "beta.md").unlink()
    t = affected(cfg, cf, discover(cfg), {str(content / "beta.md")})
    assert t.empty and t.removed == ("content/beta.md",) and not t.notes


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process (libvips is never started in the test process)."""
    return subprocess.run([sys.executable, "-m", "renditions", *args], capture_output=True, text=True)


def test_a_removed_article_is_noted_only_when_it_leaves_outputs_behind(site):
    """Watch said every removed article's outputs stay until prune, also for an article only
    moved (a.md → a/index.md) or renamed, whose outputs its new file still names, where prune
    finds nothing (a user's trial). The note now counts what no article names any more."""
    for slug in ("alpha", "beta", "gamma"):
        site.article(slug)
        site.master(slug)
    site.article("never", extra="draft: true")  # no master, never built: nothing recorded
    built = cli("build", "--root", str(site.root), "-j", "1")
    assert built.returncode == 0, built.stderr
    cfg = load_config(site.root)
    content = site.root / "content"
    (content / "alpha").mkdir()
    (content / "alpha.md").rename(content / "alpha" / "index.md")  # moved: a page bundle now
    (content / "beta.md").unlink()  # gone for good: its 4 outputs wait for prune
    shutil.copy(content / "gamma.md", content / "gamma-two.md")  # a copy names gamma's paths...
    (content / "gamma.md").unlink()  # ...so removing the original leaves nothing behind
    (content / "never.md").unlink()
    removed = ("content/alpha.md", "content/beta.md", "content/gamma.md", "content/never.md")
    moved = [a for a in discover(cfg) if a.rel == "content/alpha/index.md"]
    assert left_behind(cfg, removed, moved) == [
        "content/beta.md: removed; it leaves 4 outputs no article names, until `renditions prune`"
    ]
    prune = cli("prune", "--root", str(site.root), "--dry-run")
    assert prune.stdout.count("would delete ") == 4 and prune.stdout.count("/beta.png") == 4, prune.stdout  # as prune finds


@pytest.mark.slow
def test_a_copied_article_cannot_take_images_under_watch(site):
    """Issue 13: under watch the shared image used to flip to whichever article was saved last."""
    site.article("old")
    site.master("old", size=(1920, 1080), colour=(10, 10, 200))
    w = Watcher(site.root)
    try:
        ready = w.wait_for("watching", timeout=30)
        before = {p: p.read_bytes() for p in site.outputs("old")}
        site.master("new", size=(1920, 1080), colour=(200, 10, 10))
        shutil.copy(site.root / "content" / "old.md", site.root / "content" / "new.md")  # a template, paths unchanged
        n = w.wait_for("is already written by content/old.md (source_images/old.png)", after=ready)
        assert w.lines[n].startswith("error: content/new.md:")
        n = w.wait_for("1 failed", after=n)
        site.article("old", body="Edited.\n")  # old saved last: it still owns its images
        w.wait_for("rebuilding old", after=n)
        time.sleep(1)
        assert {p: p.read_bytes() for p in site.outputs("old")} == before
    finally:
        assert w.stop() == 0
    assert "Traceback" not in "\n".join(w.lines)


def test_ctrl_c_during_a_rebuild_says_what_it_leaves(site, monkeypatch):
    """Ctrl-C while watch rebuilds: the build's own interruption (articles in flight finish and are
    recorded) used to end in a bare `stopped watching`, the stale article unmentioned."""
    from renditions import pipeline
    from renditions.watch import run_build

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "build", interrupted)
    said: list[tuple[str, bool]] = []
    with pytest.raises(KeyboardInterrupt):  # watch stops on it, as before
        run_build(site.root, None, frozenset({"a"}), None, 1, lambda text, err=False: said.append((text, err)))
    assert len(said) == 1 and said[0][1]
    assert said[0][0].endswith("build interrupted: every file written so far is complete and recorded; run build again to finish")


def test_what_a_build_froze_is_collected_before_the_next_one(monkeypatch):
    """A run pauses the cyclic collector and freezes what it built (session.uncollected); a frozen
    cycle would never be collected, and a watch runs build after build: each build first lets the
    last one's cyclic leftovers go."""
    import gc
    import weakref

    from renditions import watch as watch_mod
    from renditions.errors import RenditionsError
    from renditions.session import uncollected

    class Node:
        pass

    def a_run():
        node = Node()
        node.me = node  # a cycle, dropped when the run ends
        return weakref.ref(node)

    left = uncollected(a_run)()
    gc.collect()
    assert left() is not None  # frozen: out of the collector's sight
    monkeypatch.setattr(watch_mod.pipeline, "build", lambda *a, **k: (_ for _ in ()).throw(RenditionsError("site", "no site")))
    said = []
    assert watch_mod.run_build("nowhere", None, None, None, 1, lambda text, err=False: said.append(text)) is None
    assert left() is None and said == ["error: site: no site"]
