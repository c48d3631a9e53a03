"""How renditions starts helper processes: the fork rule, shared by the render workers
(workers.py) and the hashing helpers (hashing.py)."""

from __future__ import annotations

import os


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
