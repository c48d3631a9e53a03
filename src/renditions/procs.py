"""How renditions starts helper processes: the fork rule, shared by the render workers
(workers.py) and the hashing helpers (hashing.py)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def threads_running() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 2  # cannot tell: assume the worst


def start_method() -> str:
    """THE FORK RULE, kept here only: a process forked while another thread runs (libvips' pool
    after an operation, numpy's, a progress bar's monitor) can inherit a lock that thread held
    and deadlock. fork is fastest, so it is used only while the process runs a single thread;
    otherwise helpers come from a fork server, which is single-threaded by construction."""
    return "fork" if threads_running() == 1 else "forkserver"


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C while helpers are forked, waited for or stopped, and answer it when the block
    ends: a KeyboardInterrupt raised inside the executor's code can leave a pool half started or
    a future's lock taken, and the helpers' shutdown then hangs. SIGINT is blocked (forked
    helpers are born with it blocked, so they never see the main process's Ctrl-C) and, should
    another thread receive it, the Python handler only notes it."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    noted: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C held by the block is noted now
        signal.signal(signal.SIGINT, handler)
        if noted and callable(handler):
            handler(signal.SIGINT, None)  # Python's own handler raises KeyboardInterrupt here
        elif noted and handler == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)
