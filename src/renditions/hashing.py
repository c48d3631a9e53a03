"""Content hashes of masters and outputs, with a stat cache outside the repository.

Freshness is decided by content, never by mtime alone: a fresh clone resets every mtime.
The cache (size + mtime_ns + ctime_ns + inode → hash; ctime can't be set back by hand) only skips rehashing on a developer's machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from .write import write_atomic


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_file(path: Path) -> str | None:
    """sha256 of a file read now (no cache), None if it is not a regular file.
    Raises FileNotFoundError when nothing is there."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    return _sha256_file(path)


def cache_file(root: Path, kind: str = "stat") -> Path:
    """Where this site's cache of `kind` lives (stat: file hashes; fm: what articles said)."""
    base = os.environ.get("RENDITIONS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "renditions"
    )
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(base) / f"{kind}-{key}.json"


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


def _sha256_file(path: str | os.PathLike) -> str:
    """hashlib.file_digest's job, which Python 3.10 lacks: 1 MiB at a time into one buffer."""
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class Hasher:
    """Hash files once per run; reuse hashes whose stat signature hasn't changed."""

    def __init__(self, cache_path: Path | None = None):
        self.cache_path = cache_path
        self.cache: dict[str, list] = {}
        self.dirty = False
        if cache_path is not None:
            self.cache = _read_cache(cache_path)

    def __call__(self, path: Path) -> str | None:
        """The file's sha256, or None if it is not a readable regular file."""
        key = str(path)
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
        try:
            value = _sha256_file(path)
        except OSError:
            return None
        self.cache[key] = sig + [value]
        self.dirty = True
        return value

    def remember(self, path: Path, value: str) -> None:
        """Record the hash of a file just written, so the next run needn't read it."""
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
