"""The process pool that renders stale articles in worker processes: one task per master.

Owns everything about processes: how workers start (the fork rule below), what a worker is
sent (a Task: the Jobs of the articles sharing one master, never the config) and answers (an
Outcome per article, as each is done), the time limit and crash isolation
(a decoder that kills its worker costs one article), the Ctrl-C drain and the manifest
checkpoints. Only the build's entry point (pipeline.py) and watch.py import this module.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import journal
from .engines import get_engine
from .errors import RenderError
from .hashing import digest_bytes, digest_file, git_blob_id
from .lock import bind_to_parent
from .ownership import changed_since_written
from .plan import Job, Output
from .procs import ctrl_c_held, start_method
from .render import Limits, RenderResult, render_jobs
from .write import write_all

#: At most this often (seconds) the manifest is saved while workers run, so a killed build keeps its work.
CHECKPOINT_SECONDS = 2.0
#: A fork server imports these once, so every worker it starts is warm.
PRELOAD = ["renditions.workers", "renditions.engine_vips", "renditions.engine_pillow"]


@dataclass(frozen=True)
class Task:
    """What a worker is sent: the jobs of the articles that share one master (decoded once for
    all of them) and the little they need besides (never the config)."""

    jobs: tuple[Job, ...]
    limits: Limits
    engine: str
    threads: int | None
    root: str = ""  # the site root, only to name files in messages

    @property
    def job(self) -> Job:
        return self.jobs[0]


def tasks_for(jobs: Sequence[Job], limits: Limits, engine: str, threads: int | None, root: str = "") -> list[Task]:
    """One task per master (by content hash: two names for one image are decoded once too)."""
    groups: dict[object, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.master_hash or job.master, []).append(job)
    return [Task(tuple(group), limits, engine, threads, root) for group in groups.values()]


@dataclass(frozen=True)
class Written:
    """One output a worker wrote, as the manifest records it."""

    output: Output
    hash: str
    bytes: int
    width: int
    height: int
    colour: str
    placeholder: str
    adopted: bool = False  # the file already held exactly these bytes: recorded, not rewritten
    git: str = ""  # git's blob ids of the output's bytes and of its master's (manifest.Entry)
    master_git: str = ""


@dataclass(frozen=True)
class Outcome:
    """A worker's answer for one article: what it wrote and noted, or why the article failed."""

    written: tuple[Written, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None
    line: int | None = None  # the front-matter line the error is about
    #: the error is the render's, from the masters' bytes (a decode, a limit): the same bytes
    #: fail alike, so status and the dry run may say so (failures.py); not a refused write
    from_masters: bool = False


# -- the fork rule (procs.py) ------------------------------------------------------------------


def pool_context():
    from multiprocessing import get_context

    method = start_method()
    ctx = get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


# -- in a worker -------------------------------------------------------------------------------


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the build process, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    bind_to_parent(parent)
    _limit_malloc_arenas()


def _limit_malloc_arenas() -> None:
    """glibc gives each libvips thread its own malloc arena, and freed pixels stay in them:
    two arenas per worker cut a --jobs 2 build's peak RSS by a quarter. Blocks of 16 MB or more
    (a decoded master, a progressive JPEG's coefficients) are mapped and unmapped on their own
    instead of left in the heap for the next master's smaller blocks to fragment (BENCHMARKS.md)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 16 << 20)  # M_MMAP_THRESHOLD (fixed: glibc's own would rise to 32 MB)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


#: A worker holding more than this after a master gives its free heap back (_release_freed_memory).
TRIM_ABOVE_BYTES = 96 << 20


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _release_freed_memory() -> None:
    """Between masters, in a worker grown past TRIM_ABOVE_BYTES: give the heap's free pages back
    (glibc's malloc_trim), so that the next big master's peak does not stand on the last one's
    leftovers. A smaller worker keeps them for the next master: 2400 px masters leave 69-84 MB
    resident, and trimming after each cost 25 ms of page faults per master, 8% of the CPU of a
    typical build; the wallpapers' peak is the same either way (BENCHMARKS.md)."""
    resident = _resident_bytes()
    if resident is not None and resident <= TRIM_ABOVE_BYTES:
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def run_task(task: Task) -> Iterator[Outcome]:
    """Runs in a worker process: render each article of the task and write its outputs (all or
    none per article), yielding each article's outcome as it is done."""
    try:
        engine = get_engine(task.engine, threads=task.threads)
    except RenderError as exc:
        for _ in task.jobs:
            yield Outcome(error=exc.message)
        return
    for result in render_jobs(task.jobs, task.limits, engine):
        yield _written(result, task.root)
        _release_freed_memory()


def _written(result: RenderResult | RenderError, root: str) -> Outcome:
    """Write one article's outputs where renditions may (see may_write), all or none."""
    if isinstance(result, RenderError):
        return Outcome(error=result.message, from_masters=True)
    hashes = [digest_bytes(r.data) for r in result.rendered]
    adopted = []
    try:
        for r, new in zip(result.rendered, hashes):
            verdict = may_write(r.output, new, root)
            if isinstance(verdict, str):
                return Outcome(error=verdict, line=r.output.line)
            adopted.append(verdict)
        writes = [(r, h) for r, h, same in zip(result.rendered, hashes, adopted) if not same]
        if root:
            journal.note(Path(root), [(r.output.dest, h) for r, h in writes])
        write_all([(Path(r.output.dest), r.data) for r, _ in writes])
    except OSError as exc:
        shown = os.path.relpath(exc.filename, root) if root and exc.filename else exc.filename
        return Outcome(error=f"cannot write {shown}: {exc.strerror}")
    written = tuple(
        Written(
            r.output,
            h,
            len(r.data),
            r.width,
            r.height,
            r.placeholder.colour,
            r.placeholder.data_uri,
            same and r.output.recorded is None,
            git_blob_id(r.data),
            r.master_git,
        )
        for r, h, same in zip(result.rendered, hashes, adopted)
    )
    return Outcome(written, result.notes)


def may_write(
    out: Output, new: str | None, root: str, digest: Callable[[str | os.PathLike], str | None] = digest_file
) -> bool | str:
    """Whether the file at out.dest may become `new` (the hash of the bytes rendered for it):
    False to write it, True when it already holds exactly those bytes (adopt it: a killed build
    resumes so), or the line saying why it must not be touched. Read just before writing, so a
    file that appeared or changed since the plan is seen too. `new` None: not rendered (a dry
    run asks), so whatever is there is taken to differ from it (ownership.MAYBE_ADOPTED). `digest`
    (a dry run passes the session's stat-cached hasher) raises FileNotFoundError when nothing is there."""
    try:
        found = digest(out.dest)
    except FileNotFoundError:
        return False
    shown = os.path.relpath(out.dest, root) if root else str(out.dest)
    if new is not None and found == new:
        return True
    if found is None:
        return f"{out.site_path} would replace {shown}, which is not a file: move it away, then build again"
    if out.recorded is None:
        return f"{out.site_path} would replace {shown}, which renditions did not write: move it away, then build again"
    if found != out.recorded and not out.force:
        return changed_since_written(out.site_path, shown)
    return False


# -- in the build process ----------------------------------------------------------------------


class Checkpoint:
    """Saves the manifest now and then while workers run, keeping the saving under 5 % of the
    time (a big site's manifest takes ~0.25 s to write)."""

    def __init__(self, save: Callable[[], None], every: float = CHECKPOINT_SECONDS):
        self.save_now = save
        self.every = every
        self.last = time.monotonic()
        self.cost = 0.0

    def tick(self) -> None:
        if time.monotonic() - self.last > max(self.every, 20 * self.cost):
            t0 = time.monotonic()
            self.save_now()
            self.last = time.monotonic()
            self.cost = self.last - t0


def _cost(task: Task) -> int:
    try:
        return os.stat(task.job.master).st_size
    except OSError:
        return 0


#: A worker sends this once it is ready; an article's time limit counts from then.
READY = "ready"
#: Why an article failed when its worker died: after it said READY (the master killed it), or before.
DIED = "the decoder crashed on this master"
NOT_STARTED = "a worker process could not start ({how})"
#: Added when the worker was started by re-running the calling script (a forkserver's or spawn's
#: worker imports the caller's __main__): the usual reason it died before it was ready.
UNGUARDED = '; a script that calls renditions needs `if __name__ == "__main__":` around that call (README: Recipes)'
#: How long a worker may take to start before it counts as crashed (a loaded machine is slow).
START_SECONDS = 60.0


@dataclass
class _Worker:
    """One worker process, its end of the pipe, and the task it is on (None when idle)."""

    process: Any  # a multiprocessing Process of whichever start method
    conn: Any  # its end of a multiprocessing Pipe
    task: Any = None  # the Task it is on, None when idle
    done: int = 0  # articles of the task answered so far
    started: float = 0.0  # when the article it is on was begun (or the worker said it was ready)
    ready: bool = False
    method: str = "fork"  # how it was started (procs.start_method)

    @property
    def job(self) -> Job:
        return self.task.jobs[self.done]


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an engine that cannot load says so when a task asks for it
            pass


def _serve(conn, parent: int) -> None:
    """A worker's life: render the tasks it is sent, one at a time, until told to stop (None)."""
    _worker_init(parent)
    _preload()  # an article's time limit counts its rendering, not the engines' import
    conn.send(READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        answered = 0
        try:
            for outcome in run_task(task):
                conn.send(outcome)
                answered += 1
        except Exception as exc:  # a bug must cost its articles, never print a traceback
            for _ in task.jobs[answered:]:
                conn.send(Outcome(error=f"{task.jobs[answered].shown}: renditions failed: {type(exc).__name__}: {exc}"))


def _start(ctx) -> _Worker:
    here, there = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(there, os.getpid()), daemon=True)
    process.start()
    there.close()
    return _Worker(process, here, method=ctx.get_start_method())


def _stop(w: _Worker, kill: bool = False) -> None:
    """Tell an idle worker to finish, or kill a busy one; either way reap it."""
    try:
        if kill:
            w.process.kill()
        else:
            w.conn.send(None)
    except (OSError, ValueError):
        pass
    w.process.join(5)
    if w.process.is_alive():
        w.process.kill()
        w.process.join()
    w.conn.close()


def _deadline(w: _Worker, timeout: float) -> float:
    return w.started + (timeout if w.ready else timeout + START_SECONDS)


def _settle(w: _Worker, timeout: float, finish: Callable[[Job, Outcome], None], pending: list[Task]) -> str:
    """Record what a busy worker answered; "busy" while it works on, "idle" once its task is done,
    "gone" when it crashed or passed the time limit (that article fails, the task's other
    articles go back to the queue). Ctrl-C waits while a message is read, counted and recorded:
    read half, the rest left in the pipe would be taken for the next message's length; raised by
    the recording, it finds the worker counted (a task done is idle), not waiting to time out."""
    if w.task is None:  # its last answer was counted when Ctrl-C cut the settling short
        return "idle"
    try:
        while w.conn.poll():
            with ctrl_c_held():
                message = w.conn.recv()
                if message == READY:
                    w.ready, w.started = True, time.monotonic()
                    continue
                job, w.done, w.started = w.job, w.done + 1, time.monotonic()
                if w.done == len(w.task.jobs):
                    w.task = None
                finish(job, message)
            if w.task is None:
                return "idle"
    except (EOFError, OSError):
        pass  # it died while answering: a crash
    if not w.process.is_alive():
        reason = DIED if w.ready else _not_started(w)
    elif time.monotonic() > _deadline(w, timeout):
        reason = f"rendering took longer than the `timeout` of {timeout:g} s: stopped"
    else:
        return "busy"
    job, rest = w.job, w.task.jobs[w.done + 1 :]
    if rest:
        pending.append(replace(w.task, jobs=rest))  # next up, in a fresh worker
    w.task = None
    finish(job, Outcome(error=f"{job.shown}: {reason}"))
    return "gone"


def _not_started(w: _Worker) -> str:
    """Why a worker died before it said READY: its exit, and the unguarded script when a fork
    server or spawn re-ran the caller's __main__ from its file (a module run with -m has a spec
    and is imported as such, behind its own guard)."""
    code = w.process.exitcode
    if code is not None and code < 0:
        return NOT_STARTED.format(how=f"killed by signal {-code}")  # not the script: it raised, or ran on
    main = sys.modules.get("__main__")
    rerun = w.method != "fork" and getattr(main, "__spec__", None) is None and getattr(main, "__file__", None)
    return NOT_STARTED.format(how=f"it exited with code {code}") + (UNGUARDED if rerun else "")


def _collect(busy: list[_Worker], idle: list[_Worker], timeout: float, finish, pending: list[Task]) -> None:
    """Wait until a busy worker answers, crashes or passes its time limit; settle each that did."""
    from multiprocessing.connection import wait

    left = min(_deadline(w, timeout) for w in busy) - time.monotonic()
    wait([w.conn for w in busy] + [w.process.sentinel for w in busy], max(0.0, left) + 0.01)
    for w in list(busy):
        state = _settle(w, timeout, finish, pending)
        if state == "busy":
            continue
        busy.remove(w)
        if state == "gone":
            _stop(w, kill=True)  # the next article gets a fresh worker
        else:
            idle.append(w)


def run(
    tasks: Sequence[Task],
    jobs: int,
    record: Callable[[Job, Outcome], None],
    save: Callable[[], None],
    timeout: float = 120.0,
) -> None:
    """Run every task in up to `jobs` workers, calling record(job, outcome) in the build process
    as each finishes, and save() now and then and at the end (Ctrl-C included).

    A worker is sent one task (the articles of one master) at a time and answers per article,
    so the build process knows which article a worker is on and since when: a worker that
    crashes or passes `timeout` seconds on an article costs that article only (the worker is
    killed), and the next article goes to a fresh worker."""
    checkpoint = Checkpoint(save)
    pending = sorted(tasks, key=_cost)  # popped from the end: biggest masters first, no lone straggler
    ctx = pool_context()
    idle: list[_Worker] = []
    busy: list[_Worker] = []

    def finish(job: Job, outcome: Outcome) -> None:
        record(job, outcome)
        checkpoint.tick()

    try:
        try:
            while pending or busy:
                while pending and len(busy) < jobs:
                    while idle and not idle[-1].process.is_alive():
                        _stop(idle.pop())  # died between articles: not this article's fault
                    w = idle.pop() if idle else _start(ctx)
                    w.task, w.done, w.started = pending.pop(), 0, time.monotonic()
                    try:
                        w.conn.send(w.task)
                    except (OSError, ValueError):
                        pass  # it died before it was sent anything: found as a crash below
                    busy.append(w)
                _collect(busy, idle, timeout, finish, pending)
        except KeyboardInterrupt:
            # Ctrl-C: start nothing new, but let the articles in flight finish and be recorded
            while busy:
                _collect(busy, idle, timeout, finish, [])
            raise
    finally:
        for w in busy:
            _stop(w, kill=True)
        for w in idle:
            _stop(w)
        save()
