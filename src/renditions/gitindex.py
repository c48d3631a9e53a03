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
git's answer is parsed in a child process (`Scan`, child.py), started when the session opens,
so it costs a fresh clone's check no time beside reading the articles.
"""

from __future__ import annotations

import marshal
import os
import re
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
    out = _git(root, "rev-parse", "--show-toplevel", "--git-path", "index")
    if out is None or out.count(b"\n") != 2:
        return None
    top, index = (os.fsdecode(line) for line in out.splitlines())
    try:
        written = os.stat(os.path.join(root, index)).st_mtime_ns  # before the index is read: see racy below
    except OSError:
        return None
    rel = os.path.relpath(os.path.realpath(root), top)  # git names the top by its real path
    if rel == ".." or rel.startswith("../"):
        return None
    prefix = b"" if rel == "." else os.fsencode(rel) + b"/"
    listed = _git(top, "ls-files", "-z", "-s", "-v", "--debug", *([] if rel == "." else ["--", rel]))
    if listed is None:
        return None
    found: dict[bytes, tuple[bytes, int, int, int, int]] = {}
    end = 0
    for m in _RECORD.finditer(listed):
        if m.start() != end:
            return None  # not the layout this reads: trust nothing
        end = m.end()
        tag, mode, oid, stage, path, c_s, c_ns, m_s, m_ns, ino, size = m.groups()
        mtime, ctime = int(m_s) * 10**9 + int(m_ns), int(c_s) * 10**9 + int(c_ns)
        # racily clean: written in the tick the index was, a later edit may have kept its stat
        racy = mtime >= written or ctime >= written
        if tag == _CHECKED and mode in _FILE_MODES and stage == b"0" and not racy and path.startswith(prefix):
            found[path] = (oid, int(size), mtime, ctime, int(ino))
    if end != len(listed):
        return None
    converted = _converted(top, list(found))
    if converted is None:
        return None
    cut = len(prefix)
    return {
        os.fsdecode(path[cut:]): (oid.decode(), size, mtime, ctime, ino)
        for path, (oid, size, mtime, ctime, ino) in found.items()
        if path not in converted
    }


class Scan:
    """`_scan` in a child process (child.py), started early: the parsing of git's answer (a tenth
    of a second on a 2,000-article site) runs on another core while this process reads the
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
