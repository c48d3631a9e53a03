"""One build at a time per site: an advisory lock the kernel drops if the holder dies.

Forked workers share the lock's open file, so they must not outlive the build that
started them: an orphaned worker would keep the site locked (and keep writing) forever.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockError

LOCK_NAME = ".renditions.lock"
_PR_SET_PDEATHSIG = 1


@contextmanager
def site_lock(root: Path, wait: bool = False) -> Iterator[None]:
    fd = _open_lock(root / LOCK_NAME)
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


def _open_lock(path: Path) -> int:
    """Open (or create) the lock file itself: never through a symbolic link, and only a regular
    file, so a committed `.renditions.lock` link can't make a build create or lock a file elsewhere."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except IsADirectoryError:
        raise LockError(
            LOCK_NAME, "is a folder, not renditions' lock file: delete it (renditions creates the file itself)"
        ) from None
    except OSError as exc:
        if os.path.islink(path):
            raise LockError(
                LOCK_NAME,
                "is a symbolic link, not renditions' lock file: delete the link (renditions creates the file itself, never through a link)",
            ) from None
        raise LockError(LOCK_NAME, f"cannot create renditions' lock file: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise LockError(
            LOCK_NAME, "is not a regular file, so not renditions' lock file: delete it (renditions creates the file itself)"
        )
    return fd


def bind_to_parent(parent: int) -> None:
    """Worker initializer: die as soon as the build process `parent` dies, even by SIGKILL.

    A forked worker (whose parent is the build) gets SIGKILL on the parent's death (prctl,
    Linux) and a daemon thread polling getppid as a backstop. A worker started by a fork
    server has another parent, so its thread polls the build's pid instead.
    """
    direct = os.getppid() == parent
    if direct and sys.platform.startswith("linux"):
        try:
            import ctypes  # here: every command imports this module, only workers need ctypes (3 ms)

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def alive() -> bool:
        if direct:
            return os.getppid() == parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    if not alive():
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if not alive():
                os._exit(1)

    threading.Thread(target=watch, name="renditions-parent-watch", daemon=True).start()
