"""What the last build could not render, and why: for `status` and `build --dry-run`, which
read only headers.

A master whose header is sound but whose pixels are not (a file cut short by a copy, a broken
upload) fails only when `build` decodes it. The build notes each such article's reason beside
what the render followed from (the masters' bytes, the engine, the decode limits), in the cache
folder; status and the dry run say `failed` and why while all of that is the same. A refused
write is not noted (it depends on the file in the way, and `--force`). An article rendered
clears its note.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .hashing import cache_file
from .write import write_atomic

if TYPE_CHECKING:
    from .config import Config
    from .plan import Job

FORMAT = 1


def attempt(job: Job, engine_id: str, config: Config) -> str:
    """What a render's outcome follows from: the hashes of every master the job reads (art
    direction gives a variant its own), the engine and the decode limits. A failure noted holds
    while all of them are the same (raising `max_pixels` is a new attempt)."""
    masters = ",".join(sorted({o.master_hash or job.master_hash for o in job.outputs}))
    return f"{masters}|{engine_id}|{config.max_bytes}|{config.max_pixels}|{config.max_decoded_bytes}"


def noted_for(noted: dict[str, tuple[str, str]], job: Job, engine_id: str, config: Config) -> str | None:
    """The reason noted for the job's article, if it still holds (the same attempt), else None."""
    hit = noted.get(job.article)
    return hit[1] if hit is not None and hit[0] == attempt(job, engine_id, config) else None


def _path(root: Path) -> Path:
    return cache_file(root, "failed")


def load(root: Path) -> dict[str, tuple[str, str]]:
    """article → (attempt, reason) as the last build left them; {} when none or unreadable."""
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
