"""Atomic writes: a temporary file in the target folder, then os.replace. Nothing else writes.

A reader (or a build that is killed) sees either the old file or the new one, never half.
Temporary files left by a killed build are swept at the start of the next one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMP_SUFFIX = ".renditions-tmp"


def write_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix="." + dest.name + ".", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_all(items: list[tuple[Path, bytes]]) -> None:
    """Write one article's outputs. Each file is atomic; a failure removes none of the old ones."""
    for dest, data in items:
        write_atomic(dest, data)


def sweep(folders: set[Path]) -> int:
    """Remove temporary files a killed build left behind in these folders."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(TMP_SUFFIX):
                try:
                    os.unlink(folder / name)
                    removed += 1
                except OSError:
                    pass
    return removed


def delete(path: Path) -> None:
    os.unlink(path)
