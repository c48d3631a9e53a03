"""Work started in a child process now and read when it is needed.

A fresh clone's `check` parses git's index (gitindex.Scan) and reads every output's header
(sniff.Ahead): work that needs nothing this process computes. Each runs in a child on the
second core while this process reads the articles and plans: a forked copy of this process
where fork is safe (Linux, one thread: `_fork`), else a `python -I` child (so no environment
variable or working folder changes which renditions it runs). A child is only ever a shortcut:
when it can't start, fails, or exits with an error, its caller does the work itself, the way
it always did.

Work that needs what this process has read (the articles' list, the config) is split instead:
`Forked` runs part of it in a forked copy while this process does the rest.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .procs import ctrl_c_held, threads_running

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
        # a forked copy where fork is safe: no interpreter to start, nothing to import again
        self.proc: subprocess.Popen | _Copy | None = _fork(lambda fd: _call(fd, module, function, args, nice))
        if self.proc is not None:
            return
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        flags = ["-I"] if site else ["-I", "-S"]  # -S: a module that needs no third-party package starts in 0.02 s
        try:
            self.proc = subprocess.Popen(
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
        out, code = _collect(proc)
        return out[len(ANSWER) :] if code == 0 and out.startswith(ANSWER) else None

    def close(self) -> None:
        """Not needed after all: stop the child."""
        proc, self.proc = getattr(self, "proc", None), None
        if proc is not None:
            proc.kill()
            _stop(proc)

    __del__ = close  # dropped unread (an error while the run went on)


def _collect(proc: subprocess.Popen | _Copy) -> tuple[bytes, int]:
    """All a child wrote and its exit code, once it has exited."""
    try:
        out = proc.stdout.read() if proc.stdout is not None else b""
        return out, proc.wait()
    except BaseException:  # Ctrl-C while waiting: a copy ignores it, so it is stopped here
        proc.kill()
        raise
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen | _Copy) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()


class Forked:
    """`work()` run in a forked copy of this process, its pickled result read by `result`. Call
    `result` or `close` once. `started` is False where fork is not safe (see _fork): then do
    the work here."""

    def __init__(self, work: Callable[[], Any], shared: Sequence[object] = ()):
        """`shared`: objects both processes hold from before the fork (the articles' paths, say),
        sent by their index and taken as they are here: not rebuilt (a path costs 5 µs to rebuild).
        Only objects pickle has no fast path for go by index (a Path does); a shared str, int,
        tuple, list or dict comes back an equal copy (see _Pickler)."""
        self.shared = shared

        def answer_with(fd: int) -> None:
            data = _dumps(work(), {id(obj): i for i, obj in enumerate(shared)})
            _widen(fd, len(data))  # the answer waits in the pipe, not in the copy
            with open(fd, "wb") as out:
                out.write(data)

        self.copy = _fork(answer_with)

    @property
    def started(self) -> bool:
        return self.copy is not None

    def result(self) -> tuple[bool, Any]:
        """(True, what `work()` returned), or (False, None) if the copy failed or never started."""
        copy, self.copy = self.copy, None
        if copy is None:
            return False, None
        data, code = _collect(copy)
        if code != 0 or not data:
            return False, None
        try:
            return True, _Unpickler(data, self.shared).load()
        except Exception:
            return False, None

    def close(self) -> None:
        """Not needed after all: stop the copy."""
        copy, self.copy = getattr(self, "copy", None), None
        if copy is not None:
            copy.kill()
            _stop(copy)

    __del__ = close


class _Copy:
    """A forked copy of this process, to Child and Forked what a Popen is: its answer on
    `stdout`, `wait`, `kill`."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.stdout = open(fd, "rb")  # noqa: SIM115 - closed by _stop, as a Popen's is
        self.returncode: int | None = None

    def wait(self) -> int:
        if self.returncode is None:
            with ctrl_c_held():  # reaped whole: a Ctrl-C here must not leave a zombie
                try:
                    self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                except ChildProcessError:
                    self.returncode = -1
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass


def _fork(body: Callable[[int], None]) -> _Copy | None:
    """A copy of this process that runs `body(fd)` (fd: the pipe its answer goes to) and exits,
    with 0 if `body` returned. None where fork is not safe: off Linux (macOS' system libraries
    are not safe to use after fork without exec), or while another thread runs (the fork rule,
    procs.py). Ctrl-C is this process's to answer: the copy is born with it held, then drops it."""
    if sys.platform != "linux" or threads_running() != 1:
        return None
    copy = None
    parent = os.getpid()
    try:
        with ctrl_c_held():
            try:
                read, write = os.pipe()
            except OSError:
                return None
            try:
                pid = os.fork()
            except OSError:
                os.close(read)
                os.close(write)
                return None
            if pid == 0:  # the copy: leaves without running this process's exit handlers
                code = 1
                try:
                    # Ctrl-C caught and dropped, not ignored: a program the copy runs (git) gets it as usual
                    signal.signal(signal.SIGINT, lambda signum, frame: None)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                    os.close(read)
                    _quiet()
                    from .lock import bind_to_parent

                    bind_to_parent(parent)  # ends with this process, even killed
                    body(write)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) and 0 <= exc.code <= 255 else 1
                except BaseException:  # a failed copy is no answer: its caller does the work
                    pass
                finally:
                    os._exit(code)
            os.close(write)
            copy = _Copy(pid, read)
    except BaseException:  # a Ctrl-C held while forking lands here: the copy is stopped with it
        if copy is not None:
            copy.kill()
            _stop(copy)
        raise
    return copy


def _quiet() -> None:
    """The copy's stderr goes nowhere, as a `python -I` child's does: its warnings are not the run's."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass


def _call(fd: int, module: str, function: str, args: tuple[str, ...], nice: int) -> None:
    """`module.function(*args)` in a copy (Child), answering (`answer`) into the pipe `fd`."""
    import importlib

    _widen(fd, 1 << 20)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass  # a sandbox may refuse: run as is
    sys.stdout = open(fd, "w")  # noqa: SIM115 - this process's own buffered output stays unwritten: the copy never flushes it
    getattr(importlib.import_module(module), function)(*args)
    sys.stdout.flush()


def _dumps(value: Any, shared: dict[int, int]) -> bytes:
    out = io.BytesIO()
    _Pickler(out, shared).dump(value)
    return out.getvalue()


def _shared(index: int) -> object:
    """What a Forked answer holds in place of an object both processes had before the fork: its
    index in `shared`. Only _Unpickler resolves it (to its own `shared`)."""
    raise pickle.UnpicklingError("a shared object outside a Forked answer")


class _Pickler(pickle.Pickler):
    def __init__(self, out: io.BytesIO, shared: dict[int, int]):
        super().__init__(out, pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def reducer_override(self, obj: Any) -> Any:
        """Asked only of objects pickle has no fast way for (not of each str, int, list...): a
        persistent_id is asked of every object, and cost the copy a third of its pickling."""
        index = self.shared.get(id(obj))
        return NotImplemented if index is None else (_shared, (index,))


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, shared: Sequence[object]):
        super().__init__(io.BytesIO(data))
        self.shared = shared

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == _shared.__name__:
            return self.shared.__getitem__
        return super().find_class(module, name)


def _widen(fd: int, size: int) -> None:
    """Let the pipe hold `size` bytes (Linux caps it, at 1 MB by default): written at once, the
    answer is there when the parent reads, instead of 64 KB at a time, each waiting for a read."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(size, 1 << 20))
    except (OSError, AttributeError, ValueError):
        pass
