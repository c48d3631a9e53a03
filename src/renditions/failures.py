"""What the last build could not render, and why: read by `status`, which reads only headers.

A master whose header is sound but whose pixels are not (a file cut short by a copy, a broken
upload) decodes only in `build`. The build notes each failed article's reason beside the master's
hash, in the cache folder; status shows `failed` and that reason for as long as the master is
the same bytes. A master replaced, or an article that builds, clears its line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .hashing import cache_file
from .write import write_atomic

if TYPE_CHECKING:
    from .plan import Job

FORMAT = 1


def masters_of(job: Job) -> str:
    """The hashes of every master the job reads (art direction gives a variant its own): a
    failure noted holds while all of them are the same bytes."""
    return ",".join(sorted({o.master_hash or job.master_hash for o in job.outputs}))


def _path(root: Path) -> Path:
    return cache_file(root, "failed")


def load(root: Path) -> dict[str, tuple[str, str]]:
    """article → (masters_of its job, reason) as the last build left them; {} when none or unreadable."""
    try:
        with open(_path(root), "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("articles"), dict):
        return {}
    return {
        a: (v[0], v[1])
        for a, v in data["articles"].items()
        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
    }


def update(root: Path, failed: dict[str, tuple[str, str]], rendered: set[str]) -> None:
    """Note this build's failures and forget those of the articles it rendered whole; the rest,
    articles this build did not render (--only, a shard), keep what was noted of them."""
    old = load(root)
    new = {a: v for a, v in old.items() if a not in rendered and a not in failed} | failed
    if new == old:
        return
    try:
        write_atomic(_path(root), json.dumps({"format": FORMAT, "articles": new}, separators=(",", ":")).encode())
    except OSError:
        pass  # a note for status only: the build's own report said it
