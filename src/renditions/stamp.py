"""A clean run's report, given again while nothing it read has changed: a no-op in a few stats.

After a `build` that had nothing to do, or a `check` that passed, the stat identity (device,
inode, size, mtime, ctime, mode) of every file and folder the run read is kept in the cache with
its report: the config, each content folder the walk listed and each article, the masters and
their folder, the manifest, every output and output folder, the journal and the data file. The
next run with the same command, options and code stats those paths; if every one is as recorded
it gives the recorded report, otherwise it does the work. ctime can't be set back by hand, so a
change always shows. A path that changed less than a second before the run began is "racy" (its
next change could land in the same clock tick): then nothing is recorded, as git does for its
index. The stamp lives beside the stat cache (outside the site), which a fresh clone lacks.
It is kept in `marshal`'s format, as Python keeps its bytecode cache: written by this Python
for itself (the key names the interpreter), and 8 times faster to write than JSON on a
2,000-article site (BENCHMARKS.md). A SHA-256 digest of the body comes first: marshal trusts
what it reads (a flipped bit in a length would have it allocate gigabytes), so a damaged stamp
is refused before it is unmarshalled.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import operator
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from .hashing import cache_file
from .paths import config_file
from .report import Report, from_record, to_record
from .write import write_atomic

#: Bumped when what a stamp holds changes (2: marshal, not JSON).
VERSION = 2
#: A path whose ctime is this close to the run's start is not trusted to a stat (see above).
RACY_NS = 1_000_000_000
#: A stamp larger than this is ignored (2,000 articles need about 4 MB).
MAX_BYTES = 256 * 1024 * 1024
#: Modules whose upgrade may change what a run decides (the engine's version is in every recipe).
LIBRARIES = ("pyvips", "_libvips", "PIL", "yaml", "click")


def signature(path: str, st: os.stat_result | None = None) -> list[int]:
    """What changes when the file or folder at `path` does: [-errno] when it can't be read; a
    symbolic link's own identity, then its target's (a link swapped in for a folder shows).
    `st` is the path's lstat if the run took one already."""
    try:
        if st is None:
            st = os.lstat(path)
        sig = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode]
        if stat.S_ISLNK(st.st_mode):
            st = os.stat(path)
            sig += [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode]
    except OSError as exc:
        return [-(exc.errno or 1)]
    return sig


_IDENTITY = operator.attrgetter("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns", "st_mode")


def _unchanged(paths: list, sigs: list) -> bool:
    """Whether each path's `signature` is the one recorded: the loop a stamped run is, 12,000
    paths on a 2,000-article site, so a plain file's is compared field by field at C speed
    (a link's, or a path that could not be read, through `signature` itself)."""
    lstat, identity, islink = os.lstat, _IDENTITY, stat.S_ISLNK
    for p, sig in zip(paths, sigs):
        if type(p) is not str or type(sig) is not list:
            return False
        if len(sig) == 6:
            try:
                st = lstat(p)
            except OSError:
                return False
            if identity(st) != tuple(sig) or islink(st.st_mode):
                return False
        elif signature(p) != sig:
            return False
    return True


def _with_folders(root: str, paths: Iterable[str]) -> list[str]:
    """The paths and every folder between them and the root: renaming or linking any of those
    folders changes what a path leads to, and shows in the folder above it."""
    found = dict.fromkeys(paths)
    for parent in {p[:i] if (i := p.rfind("/")) > 0 else p[: i + 1] for p in found}:  # os.path.dirname of a clean path
        while parent not in found and parent.startswith(root):
            found[parent] = None
            parent = os.path.dirname(parent)
    found.setdefault(root)  # its own identity: a site moved or swapped for a link shows (not its siblings)
    return list(found)


def _code() -> list[str]:
    """renditions' own modules and the libraries it runs on: an upgrade or an edit is a change."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, n) for n in sorted(os.listdir(here)) if n.endswith(".py")]
    for name in LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        found.append(spec.origin if spec is not None and spec.origin else f"<no {name}>")
    return found


def key(command: str, root: str | os.PathLike, config: str | os.PathLike | None, options: dict) -> str:
    """What must be equal for one run's report to stand for another's, besides the files."""
    doc = [VERSION, command, os.path.abspath(root), str(config_file(root, config)), options, sys.version, sys.prefix]
    doc += [[p, signature(p)] for p in _code()]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _file(root: str | os.PathLike, command: str) -> Path:
    return cache_file(Path(os.path.abspath(root)), f"stamp-{command}", ".marshal")


#: marshal's format 2, without its back-references: at 3 and up, every object held elsewhere too
#: (each path, each stat field) goes through a table of those seen, and dumping a 2,000-article
#: site's stamp took 25 ms instead of 7 (12 % more bytes; loading costs the same).
_MARSHAL_VERSION = 2

#: The SHA-256 digest of the body that heads a stamp file (with the CPU's SHA instructions, twice
#: BLAKE2b's speed here: 2.5 against 4.6 ms for a 2,000-article site's 4 MB, paid by every stamped run).
_DIGEST_BYTES = 32


def _digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def replay(command: str, root: str | os.PathLike, config: str | os.PathLike | None, options: dict) -> Report | None:
    """The recorded report if nothing it was drawn from changed, else None (then do the work)."""
    path = _file(root, command)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
        body = raw[_DIGEST_BYTES:]
        if raw[:_DIGEST_BYTES] != _digest(body):
            return None
        doc = marshal.loads(body)
        if type(doc) is not dict or doc.get("key") != key(command, root, config, options):
            return None
        paths, sigs = doc["paths"], doc["sigs"]
        if type(paths) is not list or type(sigs) is not list or len(paths) != len(sigs):
            return None
        if not _unchanged(paths, sigs):
            return None
        return from_record(doc["report"])
    except Exception:  # marshal's errors are many (SystemError, MemoryError...): a bad stamp is ignored and replaced
        return None
    finally:
        os.close(fd)


def record(
    command: str,
    root: str | os.PathLike,
    config: str | os.PathLike | None,
    options: dict,
    paths: Iterable[str | os.PathLike],
    report: Report,
    started_ns: int,
    lstats: Mapping[str, os.stat_result] | None = None,
) -> bool:
    """Keep `report` for the next run, unless a path changed too recently to be trusted to a stat.
    `lstats` holds lstats the run took of some paths as it read them: those are recorded, not
    taken again (a file changed since then shows as changed to the next run, which does the work).
    Returns whether it was kept."""
    top = os.path.abspath(root)
    listed = _with_folders(top, [os.fspath(config_file(root, config)), *(os.fspath(p) for p in paths)])
    known = lstats or {}
    racy = started_ns - RACY_NS
    sigs = []
    identity, islink = _IDENTITY, stat.S_ISLNK
    for p in listed:
        st = known.get(p)
        if st is not None and not islink(st.st_mode):  # most paths: a plain file's lstat, taken already
            if st.st_ctime_ns >= racy:
                return False
            sigs.append(list(identity(st)))
            continue
        sig = signature(p, st)
        if len(sig) > 1 and (sig[4] >= racy or (len(sig) > 6 and sig[10] >= racy)):  # the ctimes
            return False
        sigs.append(sig)
    doc = {"key": key(command, root, config, options), "paths": listed, "sigs": sigs, "report": to_record(report)}
    try:
        body = marshal.dumps(doc, _MARSHAL_VERSION)
        write_atomic(_file(root, command), _digest(body) + body)
    except (OSError, ValueError):  # ValueError: a value marshal can't keep (a str subclass...)
        return False  # a read-only cache costs speed, never the run
    return True
