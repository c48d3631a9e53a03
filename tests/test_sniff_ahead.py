"""`check` reads the outputs' headers in a child process while it plans (sniff.Ahead).

The child's word is taken only for a file whose stat is the one `check` hashed it by; anything
else (a file changed since, a child that failed) is sniffed in the checking process, as before.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import time

import pytest
from PIL import Image

from renditions import child, pipeline, sniff
from renditions import session as session_mod
from renditions.errors import ManifestError
from renditions.verify import check

MANIFEST = "renditions.lock.json"


@pytest.fixture
def built(site, monkeypatch):
    """Two articles built; the child is started at any size; headers read here are recorded."""
    for slug in ("a", "b"):
        site.article(slug)
        site.master(slug)
    assert pipeline.build(site.root, jobs=1).ok
    monkeypatch.setattr(sniff, "AHEAD_MIN_BYTES", 0)
    here: list[str] = []
    real = sniff.sniff_file

    def spy(path, *args):
        here.append(os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path))
        return real(path, *args)

    monkeypatch.setattr(sniff, "sniff_file", spy)
    site.here = here
    return site


@pytest.mark.parametrize("backend", ["fork", "exec"])
def test_the_headers_are_read_in_the_child(built, monkeypatch, backend):
    """In a forked copy of this process, or a `python -I` child where fork is not safe."""
    copies = []
    real = child._fork
    monkeypatch.setattr(child, "_fork", lambda body: copies.append(1) or (real(body) if backend == "fork" else None))
    report = check(built.root)
    assert copies  # asked for a copy, which answered or (exec) was refused
    assert report.ok and report.count("up to date") == 8
    assert built.here == []  # all 8 read by the child


def test_a_wrong_size_with_a_recorded_hash_is_caught_by_the_child(built):
    """The tampered manifest of test_incremental's header test: only the header tells."""
    out = built.out("singleImage", "a")
    Image.new("RGB", (1600, 901)).save(out)
    doc = json.loads((built.root / MANIFEST).read_text())
    doc["outputs"]["/img/artical/single-articles/a.png"]["hash"] = hashlib.sha256(out.read_bytes()).hexdigest()
    (built.root / MANIFEST).write_text(json.dumps(doc))
    report = check(built.root)
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/single-articles/a.png", "is 1600×901, but variant single is 1600×900")
    ]
    assert built.here == []


def test_a_header_the_child_read_from_another_file_is_read_again(built, monkeypatch):
    """The child saw other bytes than check hashed (the file was replaced between): its word goes."""
    real = sniff.Ahead.result

    def stale(self):
        heads = real(self)
        return {path: ((1, 2, 3, 4), head) for path, head in heads.items()}

    monkeypatch.setattr(sniff.Ahead, "result", stale)
    report = check(built.root)
    assert report.ok
    assert len(built.here) == 8


def _fails(monkeypatch, how: str, backend: str) -> None:
    """The header child fails `how`: a forked copy (child._fork), or a `python -I` child where
    fork is not safe (child._ENTRY)."""
    if backend == "exec":
        monkeypatch.setattr(child, "_fork", lambda body: None)
        if how == "exits":
            monkeypatch.setattr(child, "_ENTRY", "import sys; sys.stdout.write('half an answer'); sys.exit(3)")
        elif how == "junk, exit 0":  # a dict's marshal, not an answer: taken, it would break check
            monkeypatch.setattr(child, "_ENTRY", "import sys, marshal; sys.stdout.buffer.write(marshal.dumps({'x': 1}))")
        elif how == "a print before the answer":  # as a `.pth` file that prints would
            monkeypatch.setattr(
                child, "_ENTRY", "import sys; sys.stdout.buffer.write(b'hello'); sys.stdout.flush()\n" + child._ENTRY
            )
        else:
            monkeypatch.setattr(sniff.sys, "executable", "/nonexistent/no-python")
        return
    real = child._call

    def exits(fd, *args):
        os.write(fd, b"half an answer")
        raise SystemExit(3)

    def junk(fd, *args):
        os.write(fd, marshal.dumps({"x": 1}))

    def hello_first(fd, *args):
        os.write(fd, b"hello")
        real(fd, *args)

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    if how == "cannot start":  # neither a copy nor a python can be had
        monkeypatch.setattr(child.os, "fork", no_fork)
        monkeypatch.setattr(sniff.sys, "executable", "/nonexistent/no-python")
    else:
        monkeypatch.setattr(child, "_call", {"exits": exits, "junk, exit 0": junk, "a print before the answer": hello_first}[how])


@pytest.mark.parametrize("backend", ["fork", "exec"])
@pytest.mark.parametrize("how", ["exits", "junk, exit 0", "a print before the answer", "cannot start"])
def test_when_the_child_fails_check_reads_the_headers(built, monkeypatch, how, backend):
    _fails(monkeypatch, how, backend)
    report = check(built.root)
    assert report.ok, report.problems
    assert len(built.here) == 8


def test_a_child_not_waited_for_is_stopped(built):
    """An error while check plans drops the child: it is ended and waited for, not left running."""
    c = child.Child("renditions.sniff", "_ahead", str(built.root / MANIFEST), str(built.public))
    proc = c.proc
    assert proc is not None
    del c
    assert proc.returncode is not None  # killed and waited for: no zombie


def test_a_file_replaced_between_its_hash_and_its_header_is_not_passed(built, monkeypatch):
    """The header must be the hashed bytes' own. Here the manifest records a 640×360 file (its
    hash patched in, as in the test above), and the right-sized output is swapped back in
    between the hash and the header: the hash passes, the header would too, and neither
    alone is the truth. Check says the file changed instead of passing it."""
    monkeypatch.setattr(sniff, "AHEAD_MIN_BYTES", 10**12)  # this process reads the headers
    target = built.out("image", "b")
    right = target.read_bytes()
    Image.new("RGB", (640, 360)).save(target, "PNG")
    doc = json.loads((built.root / MANIFEST).read_text())
    doc["outputs"]["/img/artical/articles/b.png"]["hash"] = hashlib.sha256(target.read_bytes()).hexdigest()
    (built.root / MANIFEST).write_text(json.dumps(doc))
    real = sniff.sniff_file

    def swap_back(path, *args):
        if path == str(target):
            (built.root / "right.png").write_bytes(right)
            os.replace(built.root / "right.png", target)  # as a deploy script rewriting outputs would
        return real(path, *args)

    monkeypatch.setattr(sniff, "sniff_file", swap_back)
    report = check(built.root)
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/articles/b.png", "changed while check read it: run `renditions check` again")
    ]


def _started(monkeypatch) -> list:
    """Each Ahead child check starts, and its process (kept before `close` lets go of it)."""
    started = []
    real = sniff.Ahead.__init__

    def spy(self, *args):
        real(self, *args)
        started.append((self, self.child.proc))

    monkeypatch.setattr(sniff.Ahead, "__init__", spy)
    return started


def test_the_child_starts_before_the_articles_are_read_at_a_lower_priority(built, monkeypatch):
    """Started once the config is read (the manifest, the articles after it), niced: it leaves
    the second core to git's child, which is needed sooner."""
    started = _started(monkeypatch)
    seen = []
    real_read_all = session_mod.read_all

    def read_all(*args, **kwargs):
        seen.append(len(started))
        ((_ahead, proc),) = started
        base, deadline = os.getpriority(os.PRIO_PROCESS, 0), time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, proc.pid) == base and time.monotonic() < deadline:
            time.sleep(0.005)  # until the child has lowered its priority (not reaped meanwhile: a zombie keeps it)
        seen.append(os.getpriority(os.PRIO_PROCESS, proc.pid) - base)
        return real_read_all(*args, **kwargs)

    monkeypatch.setattr(session_mod, "read_all", read_all)
    report = check(built.root)
    assert report.ok and built.here == []
    assert seen == [1, min(sniff.AHEAD_NICE, 19 - os.getpriority(os.PRIO_PROCESS, 0))]  # 19 at most


def test_a_check_that_fails_while_planning_stops_the_child(built, monkeypatch):
    """An error after the session opened, before the child's answer is read: it is ended and
    waited for (nothing is left running behind the error)."""
    started = _started(monkeypatch)

    def broken(self, force=False):
        raise OSError("a disk error while planning")

    monkeypatch.setattr(session_mod.Session, "plan", broken)
    with pytest.raises(OSError, match="a disk error while planning"):
        check(built.root)
    ((ahead, proc),) = started
    assert ahead.child.proc is None and proc.returncode is not None


def test_a_check_that_fails_before_planning_stops_the_child(built, monkeypatch):
    """The manifest turns out bad after the child started: check fails with the manifest's line,
    and the child is ended and waited for."""
    started = _started(monkeypatch)
    (built.root / MANIFEST).write_text((built.root / MANIFEST).read_text().replace('"width": 800', '"width": "wide"', 1))
    with pytest.raises(ManifestError, match="`width` must be a whole number"):
        check(built.root)
    ((ahead, proc),) = started
    assert ahead.child.proc is None and proc.returncode is not None


def test_the_child_lists_the_outputs_from_the_manifests_lines():
    """The child takes the output paths from the lines manifest.dumps writes, not from parsing the
    JSON: every path written unescaped is found, as the JSON has it, in order; a path JSON had to
    escape is left to `check` (it reads that header itself)."""
    from renditions.manifest import Entry, dumps

    def entry(n: int) -> Entry:
        return Entry("content/a.md", "wide", "source_images/a.png", "0" * 64, "1" * 16, "libvips 8", "2" * 64, n, 1, 1, "png")

    keys = ["/img/a.png", "/img/café à.png", '/img/say "hi".png', "/img/back\\slash.png", "/img/z.webp"]
    text = dumps({k: entry(i) for i, k in enumerate(keys)}, public="public").encode("utf-8")
    found = [m.decode("utf-8") for m in sniff._OUTPUT_LINE.findall(text)]
    assert found == [k for k in sorted(keys) if '"' not in k and "\\" not in k]
    assert set(found) <= set(json.loads(text)["outputs"])
