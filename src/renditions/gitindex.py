"""What git's index vouches for: files a checkout left untouched, known by blob id unread.

A fresh clone has no stat cache, and hashing a big site's masters and outputs was most of its
first `check`. But git wrote every file from a known blob, and its index keeps the stat each
file had then. A file whose stat is still exactly that one, and that was not modified in the
same clock tick the index was written (git's "racily clean" case), holds the blob's bytes:
git's own rule for `git status`, applied here with nanoseconds, and without git reading a byte
(`git diff-files` would content-check every file the checkout wrote in the index's second).
Where the manifest recorded that blob id beside the sha256, the sha256 is known too. A file
whose attributes let a checkout write other bytes than the blob's (`eol`, a `filter`...) is
left out: git records the converted file's stat. Anything else (no git, no repository, another
index layout, a flag, a symlink, a conflict, an error) is simply hashed: a shortcut only.
The index file is read in place (gitformat-index(5), versions 2 and 3: a third of the cost of
parsing `git ls-files --debug`, which lists any other layout), in a child process (`Scan`,
child.py) started when the session opens, beside the reading of the articles.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import struct
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from .child import Child, answer

#: `git ls-files -z -s -v --debug`: tag, mode, blob, stage, path, then the stat git recorded.
_RECORD = re.compile(
    rb"([A-Za-z?]) (\d{6}) ([0-9a-f]{40}|[0-9a-f]{64}) (\d)\t([^\0]*)\0"
    rb"  ctime: (\d+):(\d+)\n  mtime: (\d+):(\d+)\n  dev: \d+\tino: (\d+)\n  uid: \d+\tgid: \d+\n  size: (\d+)\tflags: [0-9a-f]+\n"
)
#: A file git compares by its stat (tag H: not "h" assumed unchanged, "S" skip-worktree...),
#: a plain or an executable file (not a symlink or a submodule), merged (stage 0).
_CHECKED = b"H"
_FILE_MODES = (b"100644", b"100755")
_U32 = 0xFFFFFFFF


def _git(cwd: str, *args: str, stdin: bytes | None = None) -> bytes | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read only: never refresh the index file
    try:
        r = subprocess.run(
            ["git", "--literal-pathspecs", *args],
            cwd=cwd,
            env=env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _scan(root: str) -> dict[str, tuple[str, int, int, int, int]] | None:
    """Every file under `root` that git's index records as written from a blob and not touched
    since in the index's own clock tick, with attributes that keep a checkout's bytes the
    blob's: name from root → (blob id, size, mtime_ns, ctime_ns, inode). None when git can't say."""
    out = _git(root, "rev-parse", "--show-toplevel", "--git-path", "index", "--show-object-format")
    if out is None or out.count(b"\n") != 3:
        return None
    top, index, algorithm = (os.fsdecode(line) for line in out.splitlines())
    rel = os.path.relpath(os.path.realpath(root), top)  # git names the top by its real path
    if rel == ".." or rel.startswith("../"):
        return None
    prefix = b"" if rel == "." else os.fsencode(rel) + b"/"
    try:
        with open(os.path.join(root, index), "rb") as fh:
            written = os.fstat(fh.fileno()).st_mtime_ns  # of the file read: see racy below
            data = fh.read()
    except OSError:
        return None
    found = _read_index(data, prefix, written, algorithm)
    if found is None:  # a layout this does not read itself: git lists it
        found = _listed(top, rel, prefix, written)
    if found is None:
        return None
    converted = _converted(top, list(found))
    if converted is None:
        return None
    cut = len(prefix)
    return {os.fsdecode(path[cut:]): entry for path, entry in found.items() if path not in converted}


def _keep(flags: int, extended: int, mode: int, mtime: int, ctime: int, written: int) -> bool:
    """An entry `git ls-files -v` tags H, compared by its stat: not "assume unchanged" (flag bit
    15) or skip-worktree (extended bit 14); merged (stage 0); a plain or executable file (not a
    symlink or a submodule); and not racily clean: written in the tick the index was, a later
    edit may have kept its stat. (An intent-to-add's stat is all zeros: no file has it.)"""
    return not flags & 0xB000 and not extended & 0x4000 and mode in (0o100644, 0o100755) and mtime < written and ctime < written


#: The index's hash per object format: the checksum that ends the file, and each entry's blob id.
_HASHES = {"sha1": 20, "sha256": 32}


def _read_index(data: bytes, prefix: bytes, written: int, algorithm: str) -> dict[bytes, tuple[str, int, int, int, int]] | None:
    """The index file itself (gitformat-index(5), versions 2 and 3): git's own rules of _listed's
    listing, at a third of its cost (no process, no text to parse). None for anything else
    (version 4's compressed names, a split or sparse index, a bad checksum): then git lists it."""
    width = _HASHES.get(algorithm)
    if width is None or len(data) < 12 + width or data[:4] != b"DIRC":
        return None
    version, count = struct.unpack_from(">II", data, 4)
    end = len(data) - width
    if version not in (2, 3) or hashlib.new(algorithm, memoryview(data)[:end]).digest() != data[end:]:
        return None
    head = struct.Struct(f">10I{width}sH")
    found: dict[bytes, tuple[str, int, int, int, int]] = {}
    find, unpack, at = data.find, head.unpack_from, 12
    for _ in range(count):
        if at + head.size > end:
            return None
        c_s, c_ns, m_s, m_ns, _dev, ino, mode, _uid, _gid, size, oid, flags = unpack(data, at)
        name_at = at + head.size
        extended = 0
        if flags & 0x4000:  # extended flags follow (version 3)
            if version < 3:
                return None
            extended = int.from_bytes(data[name_at : name_at + 2], "big")
            name_at += 2
        nul = find(b"\0", name_at, end)
        length = flags & 0xFFF  # the name's, or 0xFFF for a longer one
        if nul < 0 or (length != 0xFFF and length != nul - name_at):
            return None
        at += (nul - at + 8) & ~7  # the entry, padded with NULs to a multiple of 8 bytes
        mtime, ctime = m_s * 10**9 + m_ns, c_s * 10**9 + c_ns
        if _keep(flags, extended, mode, mtime, ctime, written):
            path = data[name_at:nul]
            if path.startswith(prefix):
                found[path] = (oid.hex(), size, mtime, ctime, ino)
    while at + 8 <= end:  # extensions: an optional one starts with a capital; another changes what the entries mean
        if not 65 <= data[at] <= 90:
            return None
        at += 8 + int.from_bytes(data[at + 4 : at + 8], "big")
    return found if at == end else None


def _listed(top: str, rel: str, prefix: bytes, written: int) -> dict[bytes, tuple[str, int, int, int, int]] | None:
    """_read_index's answer from `git ls-files`, for an index of another layout."""
    listed = _git(top, "ls-files", "-z", "-s", "-v", "--debug", *([] if rel == "." else ["--", rel]))
    if listed is None:
        return None
    found: dict[bytes, tuple[str, int, int, int, int]] = {}
    end = 0
    for m in _RECORD.finditer(listed):
        if m.start() != end:
            return None  # not the layout this reads: trust nothing
        end = m.end()
        tag, mode, oid, stage, path, c_s, c_ns, m_s, m_ns, ino, size = m.groups()
        mtime, ctime = int(m_s) * 10**9 + int(m_ns), int(c_s) * 10**9 + int(c_ns)
        if (
            tag == _CHECKED
            and mode in _FILE_MODES
            and stage == b"0"
            and mtime < written
            and ctime < written
            and path.startswith(prefix)
        ):
            found[path] = (oid.decode(), int(size), mtime, ctime, int(ino))
    return found if end == len(listed) else None


class Scan:
    """`_scan` in a child process (child.py), started early: the index's reading (50 ms on a
    2,000-article site, and git's check-attr) runs on another core while this process reads the
    articles. Call `result` or `close` once."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.path.abspath(root)
        # the callers' paths start with the root as they were given it, `..` and all (--root ..)
        self.prefix = os.path.join(os.fspath(Path(root).absolute()), "")
        self.child = Child("renditions.gitindex", "_child", self.root, site=False)

    def index(self) -> tuple[dict[str, tuple[str, int, int, int, int]], str]:
        """`_scan`'s whole answer (name from the root → (blob id, size, mtime_ns, ctime_ns, inode)
        as git recorded them; empty when git can't say), and the prefix a path, as the callers name
        it, has before that name. The file holds the blob's bytes if its stat now is that one
        (`matches`). Looked up in place (Hasher._vouch): no dict is built for 10,000 paths."""
        out = self.child.output()
        try:  # marshalled by our own child, this Python (read in C: parsing text cost 40-80 ms here)
            index = marshal.loads(out) if out else {}
        except Exception:
            return {}, self.prefix
        return (index if type(index) is dict else {}), self.prefix

    def close(self) -> None:
        """Not needed after all: stop the child (its git ends on the closed pipe)."""
        self.child.close()


def recorded(root: str | os.PathLike, paths: Iterable[str]) -> dict[str, tuple[str, int, int, int, int]]:
    """Of `paths` (files under the root, named from it), each git's index records (Scan.index),
    asked now."""
    index, base = Scan(root).index()
    cut = len(base)
    return {p: index[p[cut:]] for p in paths if p.startswith(base) and p[cut:] in index}


#: A checkout may write other bytes than the blob's (gitattributes(5)) under a forced `text` or
#: an `eol` (line endings converted), a `filter` (its smudge command), `ident` ($Id$ expanded),
#: `working-tree-encoding`. `text=auto` converts only what git finds to be text, and an image
#: blob (the only blobs the manifest records) holds NUL bytes: git keeps it as is.
_INERT = (b"unspecified", b"unset")


def _converted(top: str, paths: list[bytes]) -> set[bytes] | None:
    """Of `paths` (git's names), those a checkout may have written with other bytes than their
    blob's, by their attributes; None if git can't say. Such a file's stat in the index is the
    converted file's, so it vouches for nothing (git compares it after converting it back).
    `--all` lists only the attributes a path has: most sites have none, and git says nothing."""
    if not paths:
        return set()
    out = _git(top, "check-attr", "-z", "--all", "--stdin", stdin=b"\0".join(paths) + b"\0")
    if out is None:
        return None
    fields = out.split(b"\0")[:-1]
    if len(fields) % 3:
        return None
    attrs: dict[bytes, dict[bytes, bytes]] = {}
    for i in range(0, len(fields), 3):
        attrs.setdefault(fields[i], {})[fields[i + 1]] = fields[i + 2]
    bad = set()
    for path, a in attrs.items():
        text, eol = a.get(b"text", b"unspecified"), a.get(b"eol", b"unspecified")
        if (
            text == b"set"
            or (text == b"unspecified" and eol not in _INERT)  # eol implies text
            or a.get(b"filter", b"unspecified") not in _INERT
            or a.get(b"ident", b"unspecified") == b"set"
            or a.get(b"working-tree-encoding", b"unspecified") not in _INERT
        ):
            bad.add(path)
    return bad


def matches(entry: tuple[str, int, int, int, int], size: int, mtime_ns: int, ctime_ns: int, ino: int) -> bool:
    """Whether a file with this stat is the one the index entry recorded (the index keeps 32 bits
    of the size and the inode)."""
    _oid, rsize, rmtime, rctime, rino = entry
    return size <= _U32 and (size, mtime_ns, ctime_ns, ino & _U32) == (rsize, rmtime, rctime, rino)


def _child(root: str) -> None:
    """Scan's child: `_scan`'s answer, marshalled; exits with an error if git can't say."""
    found = _scan(root)
    if found is None:
        sys.exit(1)
    answer(marshal.dumps(found))
