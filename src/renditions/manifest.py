"""The versioned record of what was written, from what. Meant to be committed.

One entry per output, keyed by site path, sorted, so diffs stay small. Freshness is
decided from it (hashes, never mtimes), so a fresh clone builds nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ManifestError
from .write import write_atomic

FORMAT = "renditions-manifest"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    article: str
    variant: str
    master: str
    master_hash: str
    recipe: str
    engine: str
    hash: str
    bytes: int
    width: int
    height: int
    format: str
    colour: str = ""
    placeholder: str = ""
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["notes"] = list(self.notes)
        return d


@dataclass
class Manifest:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    shard: str | None = None

    def save(self) -> None:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "outputs": {k: self.entries[k].to_json() for k in sorted(self.entries)},
        }
        if self.shard:  # a shard's partial manifest says so; `renditions merge` combines them
            doc["shard"] = self.shard
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(self.path, text.encode("utf-8"))


def _fix(shown: str) -> str:
    return f"delete {shown} and run `renditions build` to write a new one (every output is re-rendered)"


def load(path: Path, shown: str) -> Manifest:
    """Read the manifest; a missing one is empty. Raises ManifestError with the fix."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Manifest(path)
    except OSError as exc:
        raise ManifestError(shown, f"cannot read the manifest: {exc.strerror}") from None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ManifestError(shown, f"the manifest is not valid JSON (truncated or hand-edited?): {_fix(shown)}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestError(shown, f"not a renditions manifest: {_fix(shown)}")
    if doc.get("version") != VERSION:
        raise ManifestError(
            shown, f"manifest version {doc.get('version')!r} is not the {VERSION} this renditions reads: upgrade renditions, or {_fix(shown)}"
        )
    entries = {}
    outputs = doc.get("outputs")
    if not isinstance(outputs, dict):
        raise ManifestError(shown, f"the manifest has no `outputs` mapping: {_fix(shown)}")
    for key, value in outputs.items():
        try:
            value = dict(value)
            value["notes"] = tuple(value.get("notes", ()))
            entries[key] = Entry(**value)
        except (TypeError, ValueError):
            raise ManifestError(shown, f"the entry for {key} is malformed: {_fix(shown)}") from None
    shard = doc.get("shard")
    return Manifest(path, entries, shard if isinstance(shard, str) else None)
