"""What each article's front matter said, kept between runs by the article's stat identity.

A no-op build or check of a big site used to read and parse every article's YAML (the largest
single cost of a 2,000-article no-op). The cache holds, per article file, only the values the
config reads (slug, the variants' keys, the focus key) and their lines, or the front-matter
error, keyed like hashing's stat cache by size + mtime_ns + ctime_ns + inode (ctime can't be set
back by hand). It lives beside that cache, outside the repository; a fresh clone has none and
parses everything once. Values that JSON cannot carry exactly (dates, non-string keys) are
not cached: that article is parsed every time.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from .write import write_atomic

#: Bump when what is cached, or how front matter is parsed, changes.
FORMAT = 2  # 2: empty front matter reads as no keys, not as an error
#: A file changed this recently (ns) is not cached: file times tick coarsely (a few ms), so an edit
#: of the same size right after could keep the same signature ("racy git").
RACY_NS = 2_000_000_000


def fingerprint(keys: tuple[str, ...], limits: tuple[int, ...]) -> str:
    """Everything besides the file that decides a cached answer: a cache made under another
    config's keys or limits, or by another FORMAT, is dropped whole."""
    return json.dumps([FORMAT, sorted(set(keys)), list(limits)])


def signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def exact_in_json(value: Any, depth: int = 0) -> bool:
    """True when json.loads(json.dumps(value)) gives back the same value with the same types."""
    if depth > 40:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(exact_in_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and exact_in_json(v, depth + 1) for k, v in value.items())
    return False


class FrontMatterCache:
    """path → [size, mtime_ns, ctime_ns, inode, answer]. An answer is {"d": values, "l": lines}
    or {"e": [reason, line]}."""

    def __init__(self, path: Path | None, fingerprint: str, kept: bool = True):
        self.path = path
        self.kept = kept and path is not None  # what is put is saved (build); else only read (check)
        self.fingerprint = fingerprint
        self.entries: dict[str, list] = {}
        self.dirty = False
        self.recent = time.time_ns() - RACY_NS
        if path is None:
            return
        try:
            with open(path, "rb") as fh:
                loaded = json.loads(fh.read())
        except (OSError, ValueError):
            return
        if isinstance(loaded, dict) and loaded.get("fingerprint") == fingerprint and isinstance(loaded.get("articles"), dict):
            self.entries = loaded["articles"]

    def get(self, key: str, sig: list[int]) -> dict | None:
        hit = self.entries.get(key)
        if hit and hit[:4] == sig and isinstance(hit[4], dict):
            return hit[4]
        return None

    def wants(self, sig: list[int]) -> bool:
        """Whether an answer for a file of this signature would be kept (worth preparing)."""
        return self.kept and max(sig[1], sig[2]) < self.recent

    def put(self, key: str, sig: list[int], answer: dict) -> None:
        if not self.wants(sig):
            return
        self.entries[key] = sig + [answer]
        self.dirty = True

    def forget_others(self, keep: set[str]) -> None:
        """Drop the entries of articles that are gone, so the file doesn't grow forever."""
        gone = [k for k in self.entries if k not in keep]
        for k in gone:
            del self.entries[k]
        self.dirty = self.dirty or bool(gone)

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        data = {"fingerprint": self.fingerprint, "articles": self.entries}
        try:
            write_atomic(self.path, json.dumps(data, separators=(",", ":")).encode())
        except OSError:
            pass  # the cache is an optimisation only
        self.dirty = False
