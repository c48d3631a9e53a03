"""Combine the manifests of a sharded build (`build --shard K/N` on N CI runners) into one.

Each shard's manifest holds every entry its runner loaded, but only the entries of its own
articles are authoritative. The merge takes, per output, the entry from the shard that owns
the entry's article, so the result equals the manifest of one unsharded build.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import manifest as manifest_mod
from .errors import ManifestError, UsageError
from .manifest import Entry, Manifest

#: More runners than any CI matrix has (GitHub Actions: 256 jobs); a larger N is a forged file.
MAX_SHARDS = 1024


def parse_shard(spec: str | None, most: int | None = MAX_SHARDS) -> tuple[int, int] | None:
    if not spec:
        return None
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise UsageError("--shard", f'expected K/N like "1/3", got "{spec}"') from None
    if not 1 <= k <= n:
        raise UsageError("--shard", f"expected 1 ≤ K ≤ N, got {spec}")
    if most is not None and n > most:  # refused here, before every runner builds, not by the merge after
        raise UsageError("--shard", f"expected N ≤ {most} (more runners than a CI matrix has), got {spec}")
    return k, n


def in_shard(article_rel: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic split of articles across N runners, by a hash of the article's path."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(article_rel.encode()).hexdigest()[:8], 16) % n == k - 1


def _listed(items: list[str], most: int = 5) -> str:
    """A short list for a one-line message, however many items there are."""
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def read_shard(path: Path) -> tuple[tuple[int, int], Manifest]:
    """A shard manifest and its K/N; ManifestError if it was not written by `build --shard`."""
    shown = os.path.relpath(path)
    if not path.exists():
        raise ManifestError(shown, "no such manifest (each runner's manifest is the one its `build --shard K/N` wrote)")
    man = manifest_mod.load(path, shown)
    spec = man.shard
    if spec is None:
        raise ManifestError(shown, "not a shard manifest (no `shard` field): write it with `renditions build --shard K/N`")
    said = spec if len(spec) <= 40 else spec[:37] + "..."
    try:
        shard = parse_shard(spec, most=None)
    except UsageError:
        raise ManifestError(shown, f'its shard "{said}" is not K/N') from None
    assert shard is not None
    if shard[1] > MAX_SHARDS:
        raise ManifestError(
            shown, f'its shard "{said}" splits the site into more than {MAX_SHARDS} slices: not a manifest `build --shard` wrote'
        )
    return shard, man


def merge_manifests(shards: list[tuple[tuple[int, int], Manifest]]) -> dict[str, Entry]:
    """Per output, the entry from the shard that owns its article. Raises UsageError when the
    shards are not exactly 1/N … N/N, or two shards each rewrote an output differently."""
    counts = {n for (_, n), _ in shards}
    if len(counts) != 1:
        raise UsageError("merge", f"the manifests come from different splits ({_listed([f'{k}/{n}' for (k, n), _ in shards])})")
    n = counts.pop()
    seen = sorted(k for (k, _), _ in shards)
    if seen != list(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - set(seen))
        dup = sorted({k for k in seen if seen.count(k) > 1})
        what = (f"missing shard {_listed([f'{k}/{n}' for k in missing])}" if missing else "") + (
            ("; " if missing and dup else "") + (f"shard {_listed([f'{k}/{n}' for k in dup])} given twice" if dup else "")
        )
        raise UsageError("merge", f"expected the manifests of shards 1/{n} to {n}/{n}: {what}")
    merged: dict[str, Entry] = {}
    keys = sorted({key for _, man in shards for key in man.entries})
    for key in keys:
        owned = []
        for shard, man in shards:
            e = man.entries.get(key)
            if e is not None and in_shard(e.article, shard) and e not in owned:
                owned.append(e)
        if len(owned) > 1:
            # the same output claimed by two articles in different shards: keep the one only one
            # shard holds (a rewrite); entries every shard carries unchanged are the old state
            rewritten = [e for e in owned if sum(man.entries.get(key) == e for _, man in shards) == 1]
            if len(rewritten) != 1:
                claims = rewritten or owned
                files = [os.path.relpath(man.path) for _, man in shards if man.entries.get(key) in claims]
                raise UsageError("merge", f"{key}: {_listed(files, 2)} record different outputs for it; build it without --shard")
            owned = rewritten
        if owned:
            merged[key] = owned[0]
    return merged


def merge(out: str | os.PathLike, inputs: list[str | os.PathLike]) -> Manifest:
    """Write the combined manifest to `out` (no shard field): the manifest of one full build."""
    if not inputs:
        raise UsageError("merge", "give the manifests of every shard")
    shards = [read_shard(Path(p)) for p in inputs]
    roots = sorted({m.public for _, m in shards if m.public is not None})
    if len(roots) > 1:
        raise UsageError(
            "merge", f"the shards were built into different web roots ({', '.join(roots)}): build them with one config"
        )
    man = Manifest(Path(out), merge_manifests(shards), public=roots[0] if roots else None)
    man.save()
    return man
