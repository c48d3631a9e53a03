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


def cache_file(root: Path, kind: str = "stat") -> Path:
    """Where this site's cache of `kind` lives (stat: file hashes; fm: what articles said)."""
    base = os.environ.get("RENDITIONS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "renditions"
    )
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(base) / f"{kind}-{key}.json"


class Hasher:
    """Hash files once per run; reuse hashes whose stat signature hasn't changed."""

    def __init__(self, cache_path: Path | None = None):
        self.cache_path = cache_path
        self.cache: dict[str, list] = {}
        self.dirty = False
        if cache_path is not None:
            try:
                loaded = json.loads(cache_path.read_text())
                if isinstance(loaded, dict):
                    self.cache = loaded
            except (OSError, ValueError):
                pass

    def __call__(self, path: Path) -> str | None:
        """The file's sha256, or None if it is not a readable regular file."""
        key = str(path)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        sig = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        hit = self.cache.get(key)
        if hit and hit[:4] == sig:
            return hit[4]
        try:
            with open(path, "rb") as fh:
                value = hashlib.file_digest(fh, "sha256").hexdigest()
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
        self.cache[str(path)] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, value]
        self.dirty = True

    def save(self) -> None:
        if self.cache_path is None or not self.dirty:
            return
        try:
            write_atomic(self.cache_path, json.dumps(self.cache, separators=(",", ":")).encode())
        except OSError:
            pass  # the cache is an optimisation only
