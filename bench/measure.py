"""Run one command and measure it: wall time, CPU (user + sys of it and its children),
peak RSS of its largest process (ru_maxrss, what `/usr/bin/time -v` reports) and peak RSS of
the whole process tree (sampled from /proc every 50 ms, so a pool of workers counts in full)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    maxrss_mb: float  # the largest single process
    tree_rss_mb: float  # the whole tree at its peak (sampled)
    code: int


def _children(since: int) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) < since:  # descendants were started after the command
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _tree_rss(pid: int) -> int:
    kids = _children(pid)
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, ()))
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def run(cmd: list[str], env: dict | None = None, quiet: bool = True) -> Sample:
    out = subprocess.DEVNULL if quiet else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE if quiet else None)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read() if quiet and proc.stderr else b""
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,) and quiet:
        print(f"  ! {' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    return Sample(
        wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, max(peak[0], ru.ru_maxrss * 1024) / 2**20, proc.returncode
    )
