"""The versioned record of what was written, from what. Meant to be committed.

One entry per output, keyed by site path, sorted, one entry per line, so diffs stay small
and two branches that add different articles merge line by line (see README, "Merging").
Freshness is decided from it (hashes, never mtimes), so a fresh clone builds nothing.
Everything read back is checked against the schema: a manifest is a file anyone can edit.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from .errors import ManifestError, PathError
from .formats import OUTPUT_FORMATS
from .paths import all_plain, clean_site_path, resolve_output
from .records import adopt, quick_init
from .write import write_atomic

FORMAT = "renditions-manifest"
#: What this renditions writes; it reads every version in READS (2 added each entry's `git` and
#: `master_git`: a renditions that reads only 1 refuses those fields, so it is told to upgrade).
VERSION = 2
READS = (1, 2)
#: Far above any real site's manifest (2,000 articles: 5 MB); refused before it is read.
MAX_BYTES = 1 << 30


@quick_init  # built by the thousand (records.py)
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
    #: git's blob ids of the output's and the master's bytes ("" if unknown: written by an older
    #: renditions); a clean checkout of those blobs vouches for the hashes unread (gitindex.py)
    git: str = ""
    master_git: str = ""

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["notes"] = list(self.notes)
        for name in ("git", "master_git"):
            if not d[name]:
                del d[name]  # an entry without them reads as it did before they existed
        return d


#: A conflicted merge's marker lines (git, with or without diff3's base section).
_MARKER = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?: |$)")
_HEX = re.compile(r"[0-9a-f]{1,128}")
_GIT = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})?")  # SHA-1 or SHA-256 repositories; "" unknown
_GIT_LENGTHS = frozenset((0, 40, 64))
_FIELDS = frozenset(Entry.__dataclass_fields__)
_REQUIRED = frozenset(k for k, f in Entry.__dataclass_fields__.items() if f.default is MISSING and f.default_factory is MISSING)
_OUT_FORMATS = frozenset(OUTPUT_FORMATS.values())
#: An entry's optional fields as JSON gives them (`notes` a list: every row's becomes a tuple)
_ROW_DEFAULTS = {k: f.default for k, f in Entry.__dataclass_fields__.items() if f.default is not MISSING} | {"notes": []}
_TEXT = ("article", "variant", "master", "engine", "colour", "placeholder", "format")  # str; the first 4 not empty
_HEXES = ("master_hash", "recipe", "hash")
_GITS = ("git", "master_git")
_INTS = (("bytes", MAX_BYTES * 64), ("width", 1 << 20), ("height", 1 << 20))
_CONFLICT = "merge conflict in the manifest: run `renditions build` to resolve it (it re-checks each entry against the files)"

#: Given a site path and the distinct entries two merged branches recorded for it, the one
#: that matches the file on disk (or None to forget the output, so it is rendered again).
Resolver = Callable[[str, list[Entry]], "Entry | None"]


@dataclass
class Manifest:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    shard: str | None = None
    #: Read from a merged file (conflict markers, a union merge's duplicate lines): save it even
    #: if nothing is rendered, so the next reader finds a clean manifest.
    healed: bool = False
    #: The web root its outputs were written under, relative to the site root (web_root); None
    #: when unknown (a manifest written before renditions recorded it).
    public: str | None = None
    #: The web root the file recorded when the config now names another: its entries were
    #: dropped (see load), so nothing under either root is taken for renditions' own.
    moved_from: str | None = None

    def save(self) -> None:
        """Write it atomically; a full disk or a read-only folder is a ManifestError, not a traceback
        (the old manifest stays whole, and the next build redoes what it could not record)."""
        try:
            write_atomic(self.path, dumps(self.entries, self.shard, self.public).encode("utf-8"))
        except OSError as exc:
            raise ManifestError(
                os.path.relpath(self.path),
                f"cannot write the manifest: {exc.strerror}: free space or fix the folder, then run `renditions build` again",
            ) from None


def web_root(root: Path, public: Path) -> str:
    """The config's web root as the manifest records it: relative to the site root, with /."""
    return Path(os.path.relpath(public, root)).as_posix()


def dumps(entries: dict[str, Entry], shard: str | None = None, public: str | None = None) -> str:
    """The manifest's text: one line per output, so git merges two branches' additions line by
    line (and a `merge=union` attribute merges them with no conflict at all)."""
    head = [f'"format": {json.dumps(FORMAT)},', f'"version": {VERSION},']
    if public is not None:
        head.append(f'"public": {json.dumps(public, ensure_ascii=False)},')
    if shard:  # a shard's partial manifest says so; `renditions merge` combines them
        head.append(f'"shard": {json.dumps(shard, ensure_ascii=False)},')
    lines = [
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(entries[k].to_json(), sort_keys=True, ensure_ascii=False)}"
        for k in sorted(entries)
    ]
    body = ",\n".join(lines)
    return "{\n" + "".join(f" {h}\n" for h in head) + ' "outputs": {\n' + (body + "\n" if body else "") + " }\n}\n"


def _fix(shown: str) -> str:
    return f"delete {shown} and run `renditions build` to write a new one (every output is rendered again; files holding the same bytes are kept)"


def _short(value: Any) -> str:
    """A value for a one-line message: never the whole of a hostile string or structure."""
    if isinstance(value, (dict, list)):
        return type(value).__name__ if isinstance(value, dict) else "a list"
    text = json.dumps(value, ensure_ascii=True) if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read(path: Path, shown: str) -> bytes | None:
    """The file's bytes; None if there is none. Never blocks on a FIFO, never reads a folder."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ManifestError(shown, "is a folder, not a manifest: move it away (or set `manifest:` in the config)") from None
    except OSError as exc:
        raise ManifestError(shown, f"cannot read the manifest: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ManifestError(shown, "is a folder, not a manifest: move it away (or set `manifest:` in the config)")
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(shown, "is not a regular file: replace it with the manifest renditions writes")
        if st.st_size > MAX_BYTES:
            raise ManifestError(shown, f"is {st.st_size} bytes, far more than any manifest: {_fix(shown)}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ManifestError(shown, f"cannot read the manifest: {exc.strerror}") from None
    finally:
        os.close(fd)


class _Dups(list):
    """The pairs of a JSON object that holds one key twice (a union merge's duplicate lines)."""


def _pairs(pairs: list) -> dict | _Dups:
    d = dict(pairs)
    return d if len(d) == len(pairs) else _Dups(pairs)


def _loads(text: str) -> Any:
    """json.loads keeping a key that appears twice (_pairs): a union merge leaves two lines for
    one output. The hook costs a Python call per object, so it runs only when the lines allow a
    repeat: in dumps' layout, opened by `{` and closed by `}` on lines of their own, each key has a
    line of its own, so as many lines as keys (and the layout's three more) means none. (Counting
    line breaks is the fastest scan of 6 MB of text; the first and last lines are checked, so a
    line break trimmed by an editor can't hide a repeated line.)"""
    doc = json.loads(text)
    outputs = doc.get("outputs") if type(doc) is dict else None
    if (
        type(outputs) is dict
        and outputs
        and text.startswith("{\n")
        and text.endswith("\n}\n")
        and text.count("\n") == len(doc) + len(outputs) + 3
    ):
        return doc
    return json.loads(text, object_pairs_hook=_pairs)


def _fits(value: Any) -> bool:
    """The schema as straight-line tests: the fast path for the thousands of entries that fit it
    (each field is type-checked before it is used; every required one is there, so indexed)."""
    if type(value) is not dict or not _REQUIRED <= value.keys() <= _FIELDS:
        return False
    get = value.get
    names = value["article"], value["variant"], value["master"], value["engine"]
    if not (type(names[0]) is str and type(names[1]) is str and type(names[2]) is str and type(names[3]) is str and all(names)):
        return False
    hexes = value["master_hash"], value["recipe"], value["hash"]
    if not (type(hexes[0]) is str and type(hexes[1]) is str and type(hexes[2]) is str):
        return False
    if _HEX.fullmatch(hexes[0]) is None or _HEX.fullmatch(hexes[1]) is None or _HEX.fullmatch(hexes[2]) is None:
        return False
    size, width, height = value["bytes"], value["width"], value["height"]
    if not (type(size) is int and type(width) is int and type(height) is int):
        return False
    if not (0 <= size <= MAX_BYTES * 64 and 0 <= width <= 1 << 20 and 0 <= height <= 1 << 20):
        return False
    colour, placeholder, fmt = get("colour", ""), get("placeholder", ""), get("format")
    if not (type(colour) is str and type(placeholder) is str and type(fmt) is str and fmt in _OUT_FORMATS):
        return False
    notes = get("notes", [])
    if type(notes) is not list or (notes and not all(type(n) is str for n in notes)):
        return False
    git, master_git = get("git", ""), get("master_git", "")
    return (
        type(git) is str
        and type(master_git) is str
        and _GIT.fullmatch(git) is not None
        and _GIT.fullmatch(master_git) is not None
    )


def _all_hex(texts: list, empty: bool, lengths: frozenset[int] | None = None) -> bool:
    """Whether every one of `texts` (strings) is lowercase hex, of `lengths` if given, at most 128
    characters long, and not empty unless `empty`."""
    sizes = set(map(len, texts))
    if (lengths is not None and not sizes <= lengths) or (sizes and (max(sizes) > 128 or (min(sizes) == 0 and not empty))):
        return False
    try:
        joined = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return False
    return not joined.translate(None, b"0123456789abcdef")


def _batch(outputs: dict) -> dict[str, Entry] | None:
    """Every entry of a manifest's `outputs`, checked against the schema column by column (each
    check runs over 8,000 values in C, not 8,000 times in Python): what _fits and _entry decide,
    at half their cost on a 2,000-article site (the JSON parse aside). None if any entry does not fit: then each
    is read by _entry, which says which and why."""
    values = list(outputs.values())
    if not set(map(type, values)) <= {dict} or not set(map(type, outputs)) <= {str}:
        return None
    # every row with every field (as dumps writes them): as many keys as fields, and no other key
    complete = set(map(len, values)) <= {len(_FIELDS)} and set(chain.from_iterable(values)) <= _FIELDS
    if not complete and not all(_REQUIRED <= keys <= _FIELDS for keys in set(map(frozenset, values))):
        return None
    # each row becomes an entry's __dict__ (the JSON's own dicts if complete)
    rows = values if complete else [{**_ROW_DEFAULTS, **v} for v in values]

    def column(name: str) -> list:
        return list(map(itemgetter(name), rows))

    texts = {name: column(name) for name in _TEXT + _HEXES + _GITS}
    if not set(map(type, chain.from_iterable(texts.values()))) <= {str}:
        return None
    if not all(all(texts[name]) for name in _TEXT[:4]) or not set(texts["format"]) <= _OUT_FORMATS:
        return None
    if not all(_all_hex(texts[name], empty=False) for name in _HEXES):
        return None
    if not all(_all_hex(texts[name], empty=True, lengths=_GIT_LENGTHS) for name in _GITS):
        return None
    for name, hi in _INTS:
        numbers = column(name)
        if not set(map(type, numbers)) <= {int} or (numbers and (min(numbers) < 0 or max(numbers) > hi)):
            return None
    notes = column("notes")
    if not set(map(type, notes)) <= {list} or not set(map(type, chain.from_iterable(notes))) <= {str}:
        return None
    if not all_plain(list(outputs)):
        for key in outputs:
            try:
                if clean_site_path(key) != key:
                    return None
            except PathError:
                return None
    for row in rows:
        row["notes"] = tuple(row["notes"]) if row["notes"] else ()
    return {key: adopt(Entry, row) for key, row in zip(outputs, rows)}


def _entry(key: Any, value: Any) -> Entry:
    """Check one output's record against the schema; ValueError(why) if it doesn't fit."""
    if type(key) is str and _fits(value):
        try:
            if clean_site_path(key) == key:
                return Entry(**{**value, "notes": tuple(value.get("notes", ()))})
        except PathError:
            pass
    if not isinstance(key, str):
        raise ValueError(f"the key {_short(key)} is not a site path")
    try:
        clean = clean_site_path(key)
    except PathError as exc:
        raise ValueError(f"the key {_short(key)} is not a site path like /img/x.png: {exc.reason}") from None
    if clean != key:
        raise ValueError(f"the key {_short(key)} is not a plain site path (it should read {_short(clean)})")
    if not isinstance(value, dict):
        raise ValueError(f"the entry for {_short(key)} is {_short(value)}, not a mapping")
    unknown = value.keys() - _FIELDS
    if unknown:
        raise ValueError(f"the entry for {_short(key)} has an unknown field {_short(sorted(map(str, unknown))[0])}")
    missing = _REQUIRED - value.keys()
    if missing:
        raise ValueError(f"the entry for {_short(key)} has no `{sorted(missing)[0]}`")
    for name in ("article", "variant", "master", "engine"):
        v = value[name]
        if not isinstance(v, str) or not v:
            raise ValueError(f"the entry for {_short(key)}: `{name}` must be a non-empty string, got {_short(v)}")
    for name in ("master_hash", "recipe", "hash"):
        v = value[name]
        if not isinstance(v, str) or not _HEX.fullmatch(v):
            raise ValueError(f"the entry for {_short(key)}: `{name}` must be a hex digest, got {_short(v)}")
    for name, hi in (("bytes", MAX_BYTES * 64), ("width", 1 << 20), ("height", 1 << 20)):
        v = value[name]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
            raise ValueError(f"the entry for {_short(key)}: `{name}` must be a whole number from 0 to {hi}, got {_short(v)}")
    if not isinstance(value["format"], str) or value["format"] not in _OUT_FORMATS:
        raise ValueError(
            f"the entry for {_short(key)}: `format` must be one of {', '.join(sorted(_OUT_FORMATS))}, got {_short(value['format'])}"
        )
    for name in ("colour", "placeholder"):
        if not isinstance(value.get(name, ""), str):
            raise ValueError(f"the entry for {_short(key)}: `{name}` must be a string, got {_short(value[name])}")
    notes = value.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ValueError(f"the entry for {_short(key)}: `notes` must be a list of strings")
    for name in ("git", "master_git"):
        v = value.get(name, "")
        if not isinstance(v, str) or not _GIT.fullmatch(v):
            raise ValueError(f"the entry for {_short(key)}: `{name}` must be a git object id, got {_short(v)}")
    return Entry(**{**value, "notes": tuple(notes)})


def _split_lines(text: str) -> tuple[dict, list[tuple[str, Any]], bool]:
    """Read a manifest line by line, as `dumps` lays it out: the header fields, every output line
    in order (both sides of a conflict, never its base), and whether conflict markers were seen.
    ValueError if a line is neither, e.g. a manifest truncated or hand-edited."""
    head: dict = {}
    outputs: list[tuple[str, Any]] = []
    markers, in_base = False, False
    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            markers = True
            in_base = m.group(1) == "|||||||"  # diff3: the common ancestor, superseded by both sides
            continue
        s = line.strip().rstrip(",")
        if in_base or s in ("", "{", "}", "}}", '"outputs": {'):
            continue
        doc = json.loads("{" + s + "}", object_pairs_hook=_pairs)
        if not isinstance(doc, dict) or len(doc) != 1:
            raise ValueError(line)
        ((k, v),) = doc.items()
        if k == "version" and k in head and head[k] in READS and v in READS:
            head[k] = max(head[k], v)  # a branch that upgraded renditions merged with one that did not
        elif k in ("format", "version", "shard", "public"):
            if k in head and head[k] != v:
                raise ValueError(line)
            head[k] = v
        elif isinstance(v, dict):
            outputs.append((k, v))
        else:
            raise ValueError(line)
    return head, outputs, markers


def load(path: Path, shown: str, resolve: Resolver | None = None, public: str | None = None) -> Manifest:
    """Read and check the manifest; a missing one is empty. Raises ManifestError with the fix.

    A manifest git merged (conflict markers, or a `merge=union` that left two lines for one
    output) is read from both sides when `resolve` is given: it picks, per output, the entry
    that matches the file on disk. Without it, such a manifest is an error saying to build.

    `public` is the config's web root (web_root). A manifest that recorded another one vouches
    for nothing here: its entries are dropped (moved_from says so), else a file someone made
    under the new root at an output's path would pass for renditions' own, edited, and
    `--force` would replace it."""
    raw = _read(path, shown)
    if raw is None:
        return Manifest(path, public=public)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(shown, f"the manifest is not valid JSON (truncated or hand-edited?): {_fix(shown)}") from None
    healed = False
    mapping: dict | None = None  # `outputs` as read, when it is a plain JSON object
    try:
        doc = _loads(text)
        if not isinstance(doc, dict):
            raise ManifestError(shown, f"not a renditions manifest: {_fix(shown)}")
        head = {k: doc.get(k) for k in ("format", "version", "shard", "public") if k in doc}
        outputs = doc.get("outputs")
        if isinstance(outputs, _Dups):
            outputs, healed = list(outputs), True
        elif isinstance(outputs, dict):
            mapping, outputs = outputs, list(outputs.items())
        else:
            if doc.get("format") == FORMAT and doc.get("version") in READS:
                raise ManifestError(shown, f"the manifest has no `outputs` mapping: {_fix(shown)}")
            outputs = None
    except RecursionError:
        raise ManifestError(shown, f"the manifest is nested far too deeply to be one: {_fix(shown)}") from None
    except ValueError:
        try:
            head, outputs, markers = _split_lines(text)
        except (ValueError, RecursionError):
            head, outputs, markers = {}, None, any(_MARKER.match(line) for line in text.splitlines())
        if "format" not in head:  # nothing of a manifest in it: an empty or foreign file
            outputs = None
        if markers and outputs is None:
            raise ManifestError(
                shown,
                f"a merge conflict in the manifest that is not renditions' own layout: resolve it by hand, or {_fix(shown)}",
            ) from None
        if markers and resolve is None:
            raise ManifestError(shown, _CONFLICT) from None
        if outputs is None:
            raise ManifestError(shown, f"the manifest is not valid JSON (truncated or hand-edited?): {_fix(shown)}") from None
        healed = True
    if isinstance(head, _Dups) or head.get("format") != FORMAT:
        raise ManifestError(shown, f"not a renditions manifest: {_fix(shown)}")
    if type(head.get("version")) is not int or head.get("version") not in READS:
        raise ManifestError(
            shown,
            f"manifest version {_short(head.get('version'))} is not one this renditions reads ({', '.join(map(str, READS))}): upgrade renditions, or {_fix(shown)}",
        )
    if "\\" in text and re.search(r"\\[uU][dD][89a-fA-F]", text):  # a lone surrogate comes only as an escape
        try:
            json.dumps(outputs, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ManifestError(
                shown, f"the manifest holds text that is not valid Unicode (a lone surrogate): {_fix(shown)}"
            ) from None
    assert outputs is not None  # every way to None above raised
    batch = _batch(mapping) if mapping is not None else None
    candidates: dict[str, list[Entry]] = {}
    for key, value in outputs if batch is None else ():
        try:
            entry = _entry(key, value)
        except ValueError as exc:
            raise ManifestError(shown, f"{exc}: {_fix(shown)}") from None
        seen = candidates.setdefault(key, [])
        if entry not in seen:
            seen.append(entry)
    entries: dict[str, Entry] = batch or {}
    for key, seen in candidates.items():
        if len(seen) == 1:
            entries[key] = seen[0]
            continue
        if resolve is None:  # no conflict markers: git merged both sides' lines (merge=union)
            raise ManifestError(
                shown,
                f"the manifest records {_short(key)} twice, differently (a merge=union merge of two branches"
                " leaves it so): run `renditions build` to keep the one that matches the file",
            )
        chosen = resolve(key, seen)
        if chosen is not None:
            entries[key] = chosen
    shard = head.get("shard")
    if shard is not None and not isinstance(shard, str):
        raise ManifestError(shown, f'its `shard` must be a string like "1/3", got {_short(shard)}: {_fix(shown)}')
    recorded = head.get("public")
    if recorded is not None and (not isinstance(recorded, str) or not recorded):
        raise ManifestError(shown, f'its `public` must be a folder like "public", got {_short(recorded)}: {_fix(shown)}')
    if public is not None and recorded is not None and recorded != public:
        return Manifest(path, {}, shard, public=public, moved_from=recorded)
    return Manifest(path, entries, shard, healed=healed, public=public if public is not None else recorded)


def match_on_disk(public: Path, sources: Path, digest: Callable[[Path], str | None]) -> Resolver:
    """A Resolver for a merged manifest: the entry whose hash is the output file's on disk."""

    def pick(site_path: str, candidates: list[Entry]) -> Entry | None:
        try:
            dest = resolve_output(site_path, public, sources)
        except PathError:
            return None
        actual = digest(dest)
        return next((e for e in candidates if e.hash == actual), None)

    return pick
