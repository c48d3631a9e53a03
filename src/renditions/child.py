"""Work started in a child process now and read when it is needed.

A fresh clone's `check` parses git's index (gitindex.Scan) and reads every output's header
(sniff.Ahead): work that needs nothing this process computes. Each runs in a child (`python -I`,
so no environment variable or working folder changes which renditions it runs) on the second
core while this process reads the articles and plans. A child is only ever a shortcut: when it can't
start, fails, or exits with an error, its caller does the work itself, the way it always did.

Work that needs what this process has read (the articles' list, the config) is split instead:
`Forked` runs part of it in a forked copy of this process (Linux only: macOS' system libraries
are not safe to use after fork without exec) while this one does the rest.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .procs import threads_running

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


class Forked:
    """`work()` run in a forked copy of this process, its pickled result read by `result`. Call
    `result` or `close` once. `started` is False where fork is not safe (not Linux, or another
    thread running: what it holds locked would stay locked in the copy): then do the work here."""

    def __init__(self, work: Callable[[], Any], shared: Sequence[object] = ()):
        """`shared`: objects both processes hold from before the fork (the articles' paths, say),
        sent by their index and taken as they are here: not rebuilt (a path costs 5 µs to rebuild)."""
        self.pid = 0
        self.fd = -1
        self.shared = shared
        if sys.platform != "linux" or threads_running() != 1:  # the fork rule (procs.py)
            return
        try:
            read, write = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the copy: answer, and leave without running this process's exit handlers
            code = 1
            try:
                os.close(read)
                data = _dumps(work(), {id(obj): i for i, obj in enumerate(shared)})
                _widen(write, len(data))  # the answer waits in the pipe, not in this process
                with open(write, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:  # a failed copy is no answer: its caller does the work
                pass
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self.fd = pid, read

    @property
    def started(self) -> bool:
        return self.pid != 0

    def result(self) -> tuple[bool, Any]:
        """(True, what `work()` returned), or (False, None) if the copy failed or never started."""
        if not self.started:
            return False, None
        parts = []
        try:
            while part := os.read(self.fd, 1 << 20):
                parts.append(part)
        except OSError:
            parts = []
        code = self._reap()
        if code != 0 or not parts:
            return False, None
        try:
            unpickler = pickle.Unpickler(io.BytesIO(b"".join(parts)))
            unpickler.persistent_load = self.shared.__getitem__  # type: ignore[method-assign]
            return True, unpickler.load()
        except Exception:
            return False, None

    def close(self) -> None:
        """Not needed after all: stop the copy."""
        if self.started:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
            self._reap()

    def _reap(self) -> int:
        pid, fd, self.pid, self.fd = self.pid, self.fd, 0, -1
        os.close(fd)
        try:
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        except ChildProcessError:
            return -1

    __del__ = close


def _dumps(value: Any, shared: dict[int, int]) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = lambda obj: shared.get(id(obj))  # type: ignore[method-assign]
    pickler.dump(value)
    return out.getvalue()


def _widen(fd: int, size: int) -> None:
    """Let the pipe hold `size` bytes (Linux caps it, at 1 MB by default): written at once, the
    answer is there when the parent reads, instead of 64 KB at a time, each waiting for a read."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(size, 1 << 20))
    except (OSError, AttributeError, ValueError):
        pass
