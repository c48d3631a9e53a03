"""The process pool that renders stale articles: one task per article, in worker processes.

Owns everything about processes: how workers start (the fork rule below), what a worker is
sent (a Task: the article's Job, never the config) and answers (an Outcome), crash isolation
(a decoder that kills its worker costs one article), the Ctrl-C drain and the manifest
checkpoints. Only the build's entry point (pipeline.py) and watch.py import this module.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from .engines import get_engine
from .errors import RenderError
from . import journal
from .hashing import digest_bytes, digest_file
from .lock import bind_to_parent
from .plan import Job, Output
from .render import Limits, render_job
from .write import write_all

#: At most this often (seconds) the manifest is saved while workers run, so a killed build keeps its work.
CHECKPOINT_SECONDS = 2.0
#: A fork server imports these once, so every worker it starts is warm.
PRELOAD = ["renditions.workers", "renditions.engine_vips", "renditions.engine_pillow"]


@dataclass(frozen=True)
class Task:
    """What a worker is sent: one article's job and the little it needs besides (never the config)."""

    job: Job
    limits: Limits
    engine: str
    threads: int | None
    root: str = ""  # the site root, only to name files in messages


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


@dataclass(frozen=True)
class Outcome:
    """A worker's answer for one article: what it wrote and noted, or why the article failed."""

    written: tuple[Written, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None
    line: int | None = None  # the front-matter line the error is about


# -- the fork rule -----------------------------------------------------------------------------


def threads_running() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 2  # cannot tell: assume the worst


def start_method() -> str:
    """THE FORK RULE, kept here only: a process forked while another thread runs (libvips' pool
    after an operation, numpy's, a progress bar's monitor) can inherit a lock that thread held
    and deadlock. fork is fastest, so it is used only while the build process runs a single
    thread; otherwise workers come from a fork server, which is single-threaded by construction."""
    return "fork" if threads_running() == 1 else "forkserver"


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
    two arenas per worker cut a --jobs 2 build's peak RSS by a quarter (see BENCHMARKS.md)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def run_task(task: Task) -> Outcome:
    """Runs in a worker process: render one article and write its outputs (all or none)."""
    try:
        engine = get_engine(task.engine, threads=task.threads)
        result = render_job(task.job, task.limits, engine)
        hashes = [digest_bytes(r.data) for r in result.rendered]
        adopted = []
        for r, new in zip(result.rendered, hashes):
            verdict = may_write(r.output, new, task.root)
            if isinstance(verdict, str):
                return Outcome(error=verdict, line=r.output.line)
            adopted.append(verdict)
        writes = [(r, h) for r, h, same in zip(result.rendered, hashes, adopted) if not same]
        if task.root:
            journal.note(Path(task.root), [(r.output.dest, h) for r, h in writes])
        write_all([(r.output.dest, r.data) for r, _ in writes])
    except RenderError as exc:
        return Outcome(error=exc.message)
    except OSError as exc:
        return Outcome(error=f"cannot write {exc.filename}: {exc.strerror}")
    written = tuple(
        Written(r.output, h, len(r.data), r.width, r.height, r.placeholder.colour, r.placeholder.data_uri, same and r.output.recorded is None)
        for r, h, same in zip(result.rendered, hashes, adopted)
    )
    return Outcome(written, result.notes)


def may_write(out: Output, new: str, root: str) -> bool | str:
    """Whether the file at out.dest may become `new` (the hash of the bytes rendered for it):
    False to write it, True when it already holds exactly those bytes (adopt it: a killed build
    resumes so), or the line saying why it must not be touched. Read just before writing, so a
    file that appeared or changed since the plan is seen too."""
    try:
        found = digest_file(out.dest)
    except FileNotFoundError:
        return False
    shown = os.path.relpath(out.dest, root) if root else str(out.dest)
    if found == new:
        return True
    if found is None:
        return f"{out.site_path} would replace {shown}, which is not a file: move it away, then build again"
    if out.recorded is None:
        return f"{out.site_path} would replace {shown}, which renditions did not write: move it away, then build again"
    if found != out.recorded and not out.force:
        return (
            f"{out.site_path} would replace {shown}, which was changed since renditions wrote it: "
            "move it away, or run `renditions build --force` to replace it"
        )
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


def run(tasks: Sequence[Task], jobs: int, record: Callable[[Job, Outcome], None], save: Callable[[], None]) -> None:
    """Run every task in up to `jobs` workers, calling record(job, outcome) in the build process
    as each finishes, and save() now and then and at the end (Ctrl-C included)."""
    # imported here: a no-op build or a check never starts a worker, and these cost ~50 ms to import
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    checkpoint = Checkpoint(save)

    def done(job: Job, outcome: Outcome) -> None:
        record(job, outcome)
        checkpoint.tick()

    pending = sorted(tasks, key=_cost, reverse=True)  # biggest masters first: no lone straggler at the end
    isolate = False
    try:
        while pending:
            workers = 1 if isolate else min(jobs, len(pending))
            batch, pending = (pending[:1], pending[1:]) if isolate else (pending, [])
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=pool_context(), initializer=_worker_init, initargs=(os.getpid(),)
            ) as pool:
                futures = {pool.submit(run_task, t): t for t in batch}
                crashed: list[Task] = []
                try:
                    while futures:
                        finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                        for f in finished:
                            task = futures.pop(f)
                            try:
                                outcome = f.result()
                            except BrokenProcessPool:
                                crashed.append(task)
                                continue
                            done(task.job, outcome)
                except KeyboardInterrupt:
                    # Ctrl-C: start nothing new, but let the articles in flight finish and be recorded
                    for f in list(futures):
                        if f.cancel():
                            futures.pop(f)
                    for f, task in futures.items():
                        try:
                            done(task.job, f.result())
                        except Exception:
                            pass
                    raise
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
            if crashed:
                if isolate or len(crashed) == 1 and len(batch) == 1:
                    for task in crashed:
                        done(task.job, Outcome(error=f"{task.job.shown}: the decoder crashed on this master"))
                else:
                    isolate = True  # rerun one at a time to find the master that crashes the decoder
                    pending = crashed + pending
    finally:
        save()
