"""Atomic writes: a temporary file in the target folder, then os.replace. Nothing else writes.

A reader (or a build that is killed) sees either the old file or the new one, never half.
Temporary files left by a killed build are swept at the start of the next one.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

TMP_SUFFIX = ".renditions-tmp"
#: The names _create gives (`.<name>.<12 hex digits>.renditions-tmp`): sweep deletes no other file.
_TMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TMP_SUFFIX))


def _create(folder: Path, name: str) -> tuple[int, str]:
    """A new file only this process has opened, named for `name` in `folder`: tempfile.mkstemp's
    way (O_EXCL, mode 0600), without importing tempfile, shutil and random (9 ms, the most of a
    stamped check's write)."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}{TMP_SUFFIX}")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", os.fspath(folder))


def _stage(dest: Path, data: bytes) -> str:
    """Write `data` to a temporary file beside `dest`; return its name. Removes it on failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = _create(dest.parent, dest.name)
    except OSError as exc:  # a folder that can't be written in: name the file, not a temporary name
        exc.filename, exc.filename2 = str(dest), None
        raise
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
    except OSError as exc:
        _discard([tmp])
        exc.filename, exc.filename2 = str(dest), None  # the file being written, not its temporary name
        raise
    except BaseException:
        _discard([tmp])
        raise
    return tmp


def _discard(tmps: list[str]) -> None:
    for tmp in tmps:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def write_atomic(dest: Path, data: bytes) -> None:
    tmp = _stage(dest, data)
    try:
        os.replace(tmp, dest)
    except BaseException:
        _discard([tmp])
        raise


def write_all(items: list[tuple[Path, bytes]]) -> None:
    """Write one article's outputs, all or nothing as far as the disk allows.

    Every file is staged first (a full disk fails here, before any old output is touched),
    then each is renamed into place; a rename only fails if the folder itself breaks.
    """
    staged: list[str] = []
    try:
        for dest, data in items:
            staged.append(_stage(dest, data))
        for i, (dest, _) in enumerate(items):
            os.replace(staged[i], dest)
            staged[i] = ""
    except BaseException:
        _discard([t for t in staged if t])
        raise


def sweep(folders: set[Path]) -> int:
    """Remove temporary files a killed build left behind in these folders."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if _TMP_NAME.fullmatch(name):
                try:
                    os.unlink(folder / name)
                    removed += 1
                except OSError:
                    pass
    return removed


def delete(path: Path) -> None:
    os.unlink(path)
