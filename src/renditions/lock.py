"""One build at a time per site: an advisory lock the kernel drops if the holder dies."""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import LockError

LOCK_NAME = ".renditions.lock"


@contextmanager
def site_lock(root: Path, wait: bool = False) -> Iterator[None]:
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockError(
                LOCK_NAME, "another renditions build is running on this site; wait for it to finish (or pass --wait)"
            ) from None
        yield
    finally:
        os.close(fd)
