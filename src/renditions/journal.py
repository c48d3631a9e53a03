"""What a build is about to write, noted before it writes: how a killed build knows its own files.

A worker appends `hash path` for each file just before renaming it into place; the manifest
records it only later. If the build is killed in between, the next build finds the file
unrecorded, but named here with its bytes' hash: renditions wrote it, so it may replace it
(say the master changed meanwhile). Anything else unrecorded is never replaced.
Kept beside the site lock; pruned of what the manifest records after every build.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

JOURNAL_NAME = ".renditions.journal"


def note(root: Path, items: Iterable[tuple[str | os.PathLike, str]]) -> None:
    """Append (file, hash) lines in one write, before the files are renamed into place."""
    text = "".join(f"{h} {os.path.relpath(p, root)}\n" for p, h in items)
    if not text:
        return
    fd = os.open(root / JOURNAL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def read(root: Path) -> dict[Path, set[str]]:
    """Every file the journal names, with the hashes builds were about to give it."""
    try:
        raw = (root / JOURNAL_NAME).read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return {}
    found: dict[Path, set[str]] = {}
    for line in raw.splitlines():
        h, _, rel = line.partition(" ")
        if len(h) == 64 and rel:
            found.setdefault(root / rel, set()).add(h)
    return found


def settle(root: Path, recorded: Callable[[Path, str], bool], digest: Callable[[Path], str | None]) -> None:
    """After a build: keep only lines for files still unrecorded that still hold those bytes."""
    entries = read(root)
    if not entries:
        return
    keep = []
    for path, hashes in entries.items():
        h = digest(path)
        if h is not None and h in hashes and not recorded(path, h):
            keep.append((path, h))
    if keep:
        from .write import write_atomic

        write_atomic(
            root / JOURNAL_NAME, "".join(f"{h} {os.path.relpath(p, root)}\n" for p, h in keep).encode("utf-8", "surrogateescape")
        )
    else:
        (root / JOURNAL_NAME).unlink(missing_ok=True)
