"""Work started in a child process now and read when it is needed.

A fresh clone's `check` parses git's index (gitindex.Scan) and reads every output's header
(sniff.Ahead): work that needs nothing this process computes. Each runs in a child (`python -I`,
so no environment variable or working folder changes which renditions it runs) on the second
core while this process reads the articles and plans. A child is only ever a shortcut: when it can't
start, fails, or exits with an error, its caller does the work itself, the way it always did.
"""

from __future__ import annotations

import os
import subprocess
import sys

#: Runs `function(*args)` of a renditions module: argv is the niceness to add, the package's
#: parent folder, the module, the function, then its arguments. What the function writes to
#: stdout with `answer` is the answer.
_ENTRY = (
    "import os, sys\n"
    "try:\n    int(sys.argv[1]) and os.nice(int(sys.argv[1]))\nexcept OSError:\n    pass\n"  # a sandbox may refuse: run as is
    "sys.path.insert(0, sys.argv[2]); import importlib\n"
    "getattr(importlib.import_module(sys.argv[3]), sys.argv[4])(*sys.argv[5:])"
)


#: This process's UTF-8 mode, passed on: `-I` ignores PYTHONUTF8, and under LC_ALL=C a child would
#: turn the mode on by itself, then name files (argv, os.fsdecode) otherwise than its parent does.
_UTF8_AS_HERE = ("-X", f"utf8={sys.flags.utf8_mode}")

#: What a child's answer starts with: anything else on its stdout (a `.pth` file that prints)
#: makes the answer no answer.
ANSWER = b"renditions-child-1\n"


def answer(data: bytes) -> None:
    """Write a child's answer (see ANSWER), from the child."""
    sys.stdout.buffer.write(ANSWER + data)


class Child:
    """`module.function(*args)` in a child process. Call `output` or `close` once.

    `nice` lowers the child's priority: the process that waits for it is the one whose time
    the user sees, so a child that can wait (check's header reads, needed last) takes the
    second core only when the children needed sooner are not using it."""

    def __init__(self, module: str, function: str, *args: str, site: bool = True, nice: int = 0):
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        flags = ["-I"] if site else ["-I", "-S"]  # -S: a module that needs no third-party package starts in 0.02 s
        try:
            self.proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, *flags, *_UTF8_AS_HERE, "-c", _ENTRY, str(nice), package_parent, module, function, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, ValueError, subprocess.SubprocessError):
            self.proc = None

    def output(self) -> bytes | None:
        """What the child answered (`answer`), once it has exited; None if it could not start,
        failed, or wrote anything else."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        try:
            out = proc.stdout.read() if proc.stdout is not None else b""
            code = proc.wait()
        finally:
            _stop(proc)
        return out[len(ANSWER) :] if code == 0 and out.startswith(ANSWER) else None

    def close(self) -> None:
        """Not needed after all: stop the child."""
        proc, self.proc = getattr(self, "proc", None), None
        if proc is not None:
            proc.kill()
            _stop(proc)

    __del__ = close  # dropped unread (an error while the run went on)


def _stop(proc: subprocess.Popen) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()
