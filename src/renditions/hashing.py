"""Content hashes of masters and outputs, with a stat cache outside the repository.

Freshness is decided by content, never by mtime alone: a fresh clone resets every mtime.
The cache (size + mtime_ns + ctime_ns + inode → hash; ctime can't be set back by hand) only skips rehashing on a developer's machine.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pool's modules (and logging) are imported only when a pool starts
    from concurrent.futures import Future

from .procs import ctrl_c_held
from .write import write_atomic


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob (SHA-1 of a header and the bytes). The manifest
    records it beside the sha256, so a clean git checkout vouches for a file without it being
    read (gitindex.py)."""
    h = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


def digest_file(path: str | os.PathLike) -> str | None:
    """sha256 of a file read now (no cache), None if it is not a regular file.
    Raises FileNotFoundError when nothing is there."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    return _sha256_file(path)


def cache_file(root: Path, kind: str = "stat", suffix: str = ".json") -> Path:
    """Where this site's cache of `kind` lives (stat: file hashes; fm: what articles said)."""
    base = os.environ.get("RENDITIONS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "renditions"
    )
    key = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:16]  # the bytes: any locale, any name
    return Path(base) / f"{kind}-{key}{suffix}"


#: A cache file larger than this is not read (it is rebuilt): 2,000 articles need ~1 MB.
MAX_CACHE_BYTES = 256 * 1024 * 1024


def _valid(key: object, value: object) -> bool:
    return (
        isinstance(key, str)
        and type(value) is list
        and len(value) == 5
        and all(type(v) is int for v in value[:4])
        and isinstance(value[4], str)
        and len(value[4]) == 64
    )


def _read_cache(path: Path) -> dict[str, list]:
    """The stat cache, or {} when it is missing, unreadable or of any unexpected shape: it is
    only an optimisation, so a bad one is ignored and rebuilt, never trusted and never fatal."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CACHE_BYTES:
            return {}
        with os.fdopen(fd, "rb", closefd=False) as fh:
            loaded = json.loads(fh.read(MAX_CACHE_BYTES + 1))
    except (OSError, ValueError, RecursionError):
        return {}
    finally:
        os.close(fd)
    if not isinstance(loaded, dict) or not all(_valid(k, v) for k, v in loaded.items()):
        return {}
    return loaded


#: Read in chunks this big into one reused buffer: it stays in the CPU's cache while it is
#: hashed (a fresh 1 MiB buffer per file cost a third of the hashing time, BENCHMARKS.md).
_CHUNK = 64 * 1024


def _sha256_fd(fd: int, buf: bytearray) -> str:
    h = hashlib.sha256()
    view = memoryview(buf)
    while n := os.readv(fd, [buf]):
        h.update(view[:n])
    return h.hexdigest()


def _sha256_file(path: str | os.PathLike) -> str:
    """hashlib.file_digest's job, which Python 3.10 lacks."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _sha256_fd(fd, bytearray(_CHUNK))
    finally:
        os.close(fd)


#: Below this many bytes to hash, a cold cache is filled in this process: helpers cost more to start.
PREFETCH_MIN_BYTES = 64 * 1024 * 1024
#: Below this many bytes to hash, git is not asked what its index vouches for (three git
#: commands cost about what hashing this much does).
VOUCH_MIN_BYTES = 16 * 1024 * 1024
#: What one helper is sent at a time: big enough to be worth a round trip, small enough that the
#: files are ready in the order they are asked for.
_BATCH_BYTES = 8 * 1024 * 1024
_BATCH_FILES = 64


def _hash_batch(paths: list[str]) -> list[tuple[str, list[int], str] | None]:
    """In a helper process: each file's stat signature (of the file it read) and its sha256."""
    buf = bytearray(_CHUNK)
    out: list[tuple[str, list[int], str] | None] = []
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block
        except OSError:
            out.append(None)
            continue
        try:
            st = os.fstat(fd)
            out.append((path, _signature(st), _sha256_fd(fd, buf)) if stat.S_ISREG(st.st_mode) else None)
        except OSError:
            out.append(None)
        finally:
            os.close(fd)
    return out


def _helper_init(parent: int) -> None:
    """Helpers leave Ctrl-C to the main process (they are born with it held, see ctrl_c_held,
    and ignore it from here on), and die with it."""
    import signal

    from .lock import bind_to_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    bind_to_parent(parent)


def _threads_gone(count: int, timeout: float = 0.2) -> None:
    """Wait (briefly) until no more than `count` threads run: a joined thread has released its
    lock a moment before the system lets it go, and a build about to fork its render workers
    must see one thread to use fork rather than a fork server (procs.py)."""
    import time

    from .procs import threads_running

    deadline = time.monotonic() + timeout
    while threads_running() > count and time.monotonic() < deadline:
        time.sleep(0.001)


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


#: `_signature` as a tuple, taken at C speed: for loops over thousands of stats (sniff's header child).
signature_tuple = operator.attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino")


class Hasher:
    """Hash files once per run; reuse hashes whose stat signature hasn't changed."""

    def __init__(self, cache_path: Path | None = None):
        self.cache_path = cache_path
        self.cache: dict[str, list] = {}
        self.dirty = False
        if cache_path is not None:
            self.cache = _read_cache(cache_path)
        self.helpers = 2  # at most this many helper processes (a build's --jobs caps it; 1: none)
        #: git blob id → (sha256, size if recorded), as the manifest recorded them, and the folder
        #: whose git index may vouch for files by those ids (_vouch; gitindex.py)
        self.vouched: dict[str, tuple[str, int | None]] = {}
        self.git_root: str | None = None
        self._stated: set[str] = set()  # vouched for by git against a stat taken in this run
        #: lstat results taken earlier in this run (resolve_output's), by path: prefetch's stat of
        #: a file that is not a link
        self.lstats: dict[str, os.stat_result] = {}
        self._scan: Any = None  # git's index, asked early (expect_git)
        self._pool: Any = None  # helper processes hashing ahead (prefetch), while any are asked for
        self._threads_before = 1  # threads running before the pool started its own
        self._pending: dict[str, Future] = {}
        self._ready: dict[str, tuple[list[int], str]] = {}

    def expect_git(self, root: str | os.PathLike) -> None:
        """Ask git's index now what `_vouch` may want later, while this process reads the
        articles: only with no stat cache at all (a fresh clone), where it will likely be wanted."""
        if not self.cache and self._scan is None:
            from .gitindex import Scan

            self._scan = Scan(root)

    def prefetch(self, paths: Iterable[str | os.PathLike]) -> None:
        """Start hashing, in helper processes and in this order, the files the cache has never
        seen, while this process goes on: a fresh clone's masters and outputs (a gigabyte on a
        2,000-article site) cost the wall time of the Python work beside them, not their sum.
        Only a hint: each file is still stat-checked when asked for, and hashed here if the
        helpers saw other bytes or failed. Below PREFETCH_MIN_BYTES nothing is started."""
        todo: list[tuple[str, int]] = []
        sigs: dict[str, list[int]] = {}
        seen: set[str] = set()
        for p in paths:
            key = str(p)
            if key in seen or key in self._pending:
                continue
            seen.add(key)
            if key in self.cache:  # most likely unchanged: known by its stat when it is asked for
                continue
            st = self.lstats.get(key)
            if st is None or stat.S_ISLNK(st.st_mode):
                try:
                    st = os.stat(key)
                except OSError:
                    continue
            if stat.S_ISREG(st.st_mode):
                todo.append((key, st.st_size))
                sigs[key] = _signature(st)
        if self.vouched and self.git_root is not None and sum(size for _, size in todo) >= VOUCH_MIN_BYTES:
            todo = self._vouch(todo, sigs)
        elif self._scan is not None:  # git's answer is not wanted after all
            self._scan.close()
            self._scan = None
        helpers = min(self.helpers, os.cpu_count() or 1)
        if helpers < 2 or sum(size for _, size in todo) < PREFETCH_MIN_BYTES:
            return
        with ctrl_c_held():  # a pool half started can't be shut down: Ctrl-C lands once it is whole
            try:
                if self._pool is None:
                    from concurrent.futures import ProcessPoolExecutor
                    from multiprocessing import get_context

                    from .procs import start_method, threads_running

                    self._threads_before = threads_running()
                    self._pool = ProcessPoolExecutor(helpers, get_context(start_method()), _helper_init, (os.getpid(),))
                batch: list[str] = []
                size = 0
                for i, (key, n) in enumerate(todo):
                    batch.append(key)
                    size += n
                    if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES or i == len(todo) - 1:
                        future = self._pool.submit(_hash_batch, batch)
                        self._pending.update((k, future) for k in batch)
                        batch, size = [], 0
            except (OSError, RuntimeError):  # no process to be had (a limit, a broken pool): hash here
                self.close()

    def _vouch(self, todo: list[tuple[str, int]], sigs: dict[str, list[int]]) -> list[tuple[str, int]]:
        """Know, unread, each file git's index records with the stat it has now, as a blob the
        manifest recorded (gitindex.py); the rest is still to hash."""
        from .gitindex import Scan, matches

        assert self.git_root is not None
        scan, self._scan = self._scan, None
        if scan is None or scan.root != os.path.abspath(self.git_root):
            if scan is not None:
                scan.close()
            scan = Scan(self.git_root)
        index, base = scan.index()
        cut = len(base)
        left = []
        for key, size in todo:
            entry = index.get(key[cut:]) if key.startswith(base) else None
            known = self.vouched.get(entry[0]) if entry is not None and matches(entry, *sigs[key]) else None
            if known is None or known[1] not in (None, size):  # a size other than recorded: not those bytes
                left.append((key, size))
            else:
                self.cache[key] = sigs[key] + [known[0]]
                self._stated.add(key)
                self.dirty = True
        return left

    def close(self) -> None:
        """Stop the helpers (what they have not started is dropped): a build forks its render
        workers only from a process that runs a single thread (procs.py)."""
        scan, self._scan = self._scan, None
        if scan is not None:
            scan.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            with ctrl_c_held():  # a second Ctrl-C must not leave helpers behind
                pool.shutdown(wait=True, cancel_futures=True)
            _threads_gone(self._threads_before)
        self._pending.clear()
        self._ready.clear()

    def _prefetched(self, key: str, sig: list[int]) -> str | None:
        future = self._pending.pop(key, None)
        if future is not None:
            try:
                with ctrl_c_held():
                    done = future.result()
            except Exception:  # a helper died or was stopped: hash here instead
                done = []
            for item in done:
                if item is not None:
                    self._ready[item[0]] = (item[1], item[2])
                    self._pending.pop(item[0], None)
        got = self._ready.pop(key, None)
        return got[1] if got is not None and got[0] == sig else None

    def __call__(self, path: str | os.PathLike) -> str | None:
        """The file's sha256, or None if it is not a readable regular file."""
        key = str(path)
        if key in self._stated:  # a regular file stat'd moments ago, in this run (_vouch)
            return self.cache[key][4]
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        sig = _signature(st)
        hit = self.cache.get(key)
        if hit and hit[:4] == sig:
            return hit[4]
        value = self._prefetched(key, sig) if self._pending or self._ready else None
        if value is None:
            try:
                value = _sha256_file(path)
            except OSError:
                return None
        self.cache[key] = sig + [value]
        self.dirty = True
        return value

    def remember(self, path: str | os.PathLike, value: str) -> None:
        """Record the hash of a file just written, so the next run needn't read it."""
        self._stated.discard(str(path))  # what git vouched for before it was rewritten no longer holds
        try:
            st = os.stat(path)
        except OSError:
            return
        self.cache[str(path)] = _signature(st) + [value]
        self.dirty = True

    def save(self) -> None:
        if self.cache_path is None or not self.dirty:
            return
        try:
            write_atomic(self.cache_path, json.dumps(self.cache, separators=(",", ":")).encode())
        except OSError:
            pass  # the cache is an optimisation only
