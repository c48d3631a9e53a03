"""Match a `content` glob against the disk, reading each folder and file once however links lead.

glob.glob follows symlinked folders with no memory of where it has been: a link back up the
content tree repeats every article under it until the path is too long (40 times over), and two
such links make the walk exponential. Here `**` expands each real folder once (by device and
inode, nearest path first), and a file reached by two paths is listed once, under its real path when it has one.
Otherwise the rules are glob's: `*` and `?` never match a leading dot, `**` skips hidden folders;
and they never match an editor's scratch file either (see `scratch`).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


#: A walk's folder listings, by path: several globs over one tree (`**/*.md` and `**/*.markdown`,
#: the `exclude` globs) read each folder once (find_files' `read`).
Listings = dict[str, list[os.DirEntry]]


def _entries(folder: str, listed: list[str] | None, read: Listings) -> list[os.DirEntry]:
    found = read.get(folder)
    if found is not None:
        return found
    if listed is not None:
        listed.append(folder)  # what was read here: a file added or removed later changes it
    try:
        with os.scandir(folder) as it:
            found = sorted(it, key=lambda e: e.name)
    except OSError:
        found = []
    read[folder] = found
    return found


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def scratch(name: str) -> bool:
    """An editor's autosave or backup file beside the one being edited (Emacs's `#x.md#`, `x.md~`;
    its lock file `.#x.md` is hidden): never an article, as Hugo and Jekyll skip them too."""
    return name.startswith("#") or name.endswith("~")


def passed_by(rel: str) -> bool:
    """Whether a wildcard walk never lists this file (a path under the root): a hidden folder or
    file on the way, or an editor's scratch file. For the watcher, which hears of files one by one."""
    parts = rel.replace(os.sep, "/").split("/")
    return any(p.startswith(".") for p in parts) or scratch(parts[-1])


def _matches(name: str, segment: str) -> bool:
    if name.startswith(".") and not segment.startswith("."):
        return False  # glob's rule: wildcards never match a hidden name
    if scratch(name):
        return False
    return fnmatch.fnmatch(name, segment)


def _folders_below(base: str, listed: list[str] | None, read: Listings) -> list[str]:
    """base and every folder under it (links followed), each real folder once, nearest path first."""
    try:
        seen = {_identity(os.stat(base))}
    except OSError:
        if listed is not None:
            listed.append(base)
        return []
    found, level = [base], [base]
    while level:
        nxt = []
        for folder in level:
            # plain folders before links, so a folder is listed under its real path when it can be
            subs = [e for e in _entries(folder, listed, read) if not e.name.startswith(".") and _is_dir(e)]
            for e in sorted(subs, key=lambda e: e.is_symlink()):
                try:
                    key = _identity(e.stat())
                except OSError:
                    continue
                if key not in seen:
                    seen.add(key)
                    nxt.append(e.path)
        found += nxt
        level = nxt
    return found


def _expand(base: str, segments: list[str], listed: list[str] | None, read: Listings) -> list[str]:
    """Folders (or files, for the last segment) under base that match the segments."""
    if not segments:
        return [base]
    seg, rest = segments[0], segments[1:]
    if seg == "**":
        out = []
        for folder in _folders_below(base, listed, read):
            out += _expand(folder, rest or ["*"], listed, read)
        return out
    if not glob.has_magic(seg):
        path = os.path.join(base, seg)
        return _expand(path, rest, listed, read) if rest else [path]
    out = []
    for e in _entries(base, listed, read):
        if _matches(e.name, seg) and (not rest or _is_dir(e)):
            out += _expand(e.path, rest, listed, read) if rest else [e.path]
    return out


def _split(pattern: str) -> tuple[list[str], list[str]]:
    """A glob's segments before its first wildcard, and the rest (none for a plain path)."""
    parts = os.path.normpath(pattern).split(os.sep)
    head = []
    while parts and not glob.has_magic(parts[0]):
        head.append(parts.pop(0))
    return head, parts


def anchor(pattern: str) -> str:
    """The folder a glob is read from: its segments before the first wildcard (a plain path's
    folder; "" for the root)."""
    head, rest = _split(pattern)
    return os.sep.join(head if rest else head[:-1])


def holds_no_file(folder: str) -> bool:
    """Whether a folder exists and holds no file but hidden ones (a `.gitkeep`): a new site's
    empty content/, where a glob that matches nothing is no typo."""
    if not os.path.isdir(folder):
        return False
    for _here, subs, files in os.walk(folder):
        subs[:] = [d for d in subs if not d.startswith(".")]
        if any(not f.startswith(".") for f in files):
            return False
    return True


def find_files(
    root: str,
    pattern: str,
    listed: list[str] | None = None,
    lstats: dict[str, os.stat_result] | None = None,
    read: Listings | None = None,
) -> list[str]:
    """Regular files matching a recursive glob pattern (relative to root), sorted; each real file once.

    With `listed`, every folder read and every named path found missing is appended to it: what a
    later run stats to know that the same walk would find the same files (stamp.py). `lstats`
    receives the lstat of each file found that is not a symbolic link (the stat the walk takes).
    `read`: the listings of an earlier walk over the same tree in this run, shared (and added to)."""
    fixed, parts = _split(pattern)
    base = os.path.join(root, os.sep.join(fixed)) if fixed else root
    if not parts:
        if listed is not None:
            listed.append(base)
        return [base] if os.path.isfile(base) else []
    found: dict[tuple[int, int], str] = {}
    for path in _expand(base, parts, listed, {} if read is None else read):
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                st = os.stat(path)  # a link: its target is the file found
            elif lstats is not None:
                lstats[path] = st
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            if listed is not None:
                listed.append(path)  # a name the pattern spells out, not there (yet)
            continue
        key = _identity(st)
        if key not in found or _nearer(path, found[key]):
            found[key] = path
    return sorted(found.values())


def _nearer(a: str, b: str) -> bool:
    """The path to keep for one file reached twice: its real path, else the shallower, then the first."""

    def rank(p: str) -> tuple[bool, int, str]:
        return (os.path.realpath(p) != os.path.abspath(p), p.count(os.sep), p)

    return rank(a) < rank(b)
