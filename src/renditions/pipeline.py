"""`build`: discover → plan → render → write → record, reading top to bottom.

The stages live in their own modules: session.py (config → articles → manifest),
gather.py + plan.py (what is stale, pure), workers.py (render and write, in worker
processes), manifest.py (the record). check is in verify.py, prune in prune.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import stamp
from .errors import ManifestError, UsageError
from .lock import LOCK_NAME, site_lock
from .report import OutputResult, Problem, Report

if TYPE_CHECKING:
    from .plan import Job, Plan
    from .session import Session
    from .workers import Outcome


def build(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: str | Iterable[str] = (),
    jobs: int | None = None,
    engine: str | None = None,
    shard: str | None = None,
    wait_lock: bool = False,
    progress: Callable[[int], Any] | None = None,
    drafts: bool = False,
) -> Report:
    """Render every missing or stale output. Returns the report `--json` prints.

    `only` is one slug or an iterable of slugs (a string is one slug, never its characters)."""
    only = (only,) if isinstance(only, str) else tuple(only)
    if jobs is not None and jobs < 1:  # as `--jobs` refuses it, not the CPU count instead
        raise UsageError("jobs", f"{jobs} is not in the range x>=1")
    started = time.time_ns()
    options = {"drafts": drafts, "engine": engine or "auto"}
    whole = not (force or dry_run or only or shard)  # a run whose answer a stamp may hold
    if whole and (Path(root).absolute() / LOCK_NAME).exists():  # a build ran here before
        with site_lock(Path(root).absolute(), wait=wait_lock):
            again = stamp.replay("build", root, config, options)
        if again is not None:
            return again
    # the work itself, imported only now: a run the stamp answers stays light
    from . import journal
    from . import manifest as manifest_mod
    from .budgets import over_budget
    from .plan import fresh_results, unbuilt_results
    from .session import open_session
    from .write import sweep

    jobs = max(1, jobs or os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    s = open_session(
        root, config, engine, tuple(only), shard, threads=threads, read_manifest=dry_run, drafts=drafts, keep_front_matter=True
    )  # else read under the lock
    try:
        if s.nothing_yet:  # a new site: nothing to build is no error (check still fails: it checks nothing)
            s.hasher.close()
            return Report("build", notes=(s.no_article(),), dry_run=dry_run, engine=s.engine_id)
        if s.no_article():
            raise UsageError(", ".join(s.config.content), s.no_article())
        s.hasher.helpers = min(s.hasher.helpers, jobs)  # --jobs 1: one process, hashing included
        if dry_run:
            return _plan_report(s.plan(force), s)
        with site_lock(s.config.root, wait=wait_lock):
            s.manifest = manifest_mod.load(  # a manifest git merged is resolved against the files
                s.config.manifest,
                os.path.relpath(s.config.manifest, s.config.root),
                manifest_mod.match_on_disk(s.config.public, s.config.sources, s.hasher),
                manifest_mod.web_root(s.config.root, s.config.public),
            )
            plan = own_unrecorded(s.plan(force), journal.read(s.config.root), s.hasher)
            sweep({Path(os.path.dirname(o.dest)) for o in (*plan.stale, *plan.fresh)} | {s.config.manifest.parent})
            s.manifest.shard = shard  # only a shard build's manifest says which shard it is
            unsaved: list[ManifestError] = []  # the last save's failure, if it failed: the build goes on

            def save() -> None:
                try:
                    s.manifest.save()
                except ManifestError as exc:  # what was written is on disk: reported, and the journal keeps it
                    unsaved[:] = [exc]
                else:
                    unsaved.clear()

            results, problems, notes, unrenderable = _render_and_record(plan, s, jobs, threads, progress, save)
            _note_failures(s, plan, unrenderable)
            moved = {} if shard else s.writers_moved(plan)  # a shard's: `merge`, then the whole build, records them
            s.manifest.entries.update(moved)
            # a no-op build rewrites nothing
            if plan.jobs or moved or shard or s.manifest.healed or not s.config.manifest.exists():
                save()
            if not unsaved:
                journal.settle(s.config.root, lambda p, h: _records(s, p, h), s.hasher)
            s.hasher.save()
            site_problems, data_notes = _write_data(s, bool(only), shard, drafts)
            s.said.save()
        failed = set(plan.failed_articles) | {p.article for p in problems}
        problems += site_problems + ([] if only else s.unread_problems(error=False))
        problems += [Problem(exc.path, exc.reason + UNRECORDED) for exc in unsaved]
        fresh = fresh_results(plan.fresh, s.manifest)
        problems += over_budget(s.config, results + fresh)  # warnings: the build did its job
        unbuilt = unbuilt_results(plan, "failed", os.path.lexists)
        report = Report(
            "build",
            outputs=tuple(sorted(results + fresh + unbuilt, key=lambda r: r.path)),
            problems=plan.problems + tuple(problems),
            notes=(*notes, *data_notes),
            failed_articles=tuple(sorted(failed)),
            engine=s.engine_id,
        )
        if whole and not plan.jobs and report.ok and not data_notes:  # nothing done: the next may know it by stats alone
            stamp.record("build", root, config, options, s.read_paths(plan), report, started, s.lstats)
    except BaseException:  # an error or Ctrl-C before the plan closed it: git's child is stopped and reaped
        s.hasher.close()
        raise
    return report


#: After a manifest that could not be saved: the files written stay renditions' own (the journal).
UNRECORDED = " (what this build wrote stays renditions' own: the next build records it)"


def _note_failures(s: Session, plan: Plan, unrenderable: dict[str, str]) -> None:
    """What `status` and the dry run show of masters only a decode finds broken (failures.py):
    `unrenderable`, article → the render's reason; the other articles rendered clear theirs."""
    if not plan.jobs:
        return
    from . import failures

    hashes = {j.article: failures.attempt(j, s.engine_id, s.config) for j in plan.jobs}
    failed = {a: (hashes[a], why) for a, why in unrenderable.items() if a in hashes}
    failures.update(s.config.root, failed, set(hashes) - set(failed))


def _write_data(s: Session, narrowed: bool, shard: str | None, drafts: bool) -> tuple[list[Problem], list[str]]:
    """The data file for templates (config `data:`), from the whole site's manifest: its problem,
    and a note if it was written. A shard build has only part of the manifest: the merged
    manifest's next build writes it."""
    if s.config.data is None or shard:
        return [], []
    from .datafile import WRITTEN, template_data, write_data
    from .discover import discover

    articles = discover(s.config, drafts) if narrowed else s.articles  # --only: the file still covers every article
    problem, written = write_data(s.config, template_data(s.config, articles, s.manifest))
    note = [WRITTEN.format(file=os.path.relpath(s.config.data, s.config.root))] if written else []
    return ([problem] if problem else []), note


def own_unrecorded(plan: Plan, noted: dict[Path, set[str]], digest: Callable[[Path], str | None]) -> Plan:
    """Outputs a killed build wrote but never recorded (the journal names their bytes) are
    renditions' own: the file there may be replaced, as if the manifest recorded it."""
    if not noted:
        return plan
    jobs = []
    for job in plan.jobs:
        outs = []
        for o in job.outputs:
            dest = Path(o.dest)  # as the journal names it
            if dest in noted:
                h = digest(dest)
                if h is not None and h in noted[dest]:
                    o = replace(o, recorded=h)
            outs.append(o)
        jobs.append(replace(job, outputs=tuple(outs)))
    return replace(plan, jobs=tuple(jobs))


def _records(s: Session, path: Path, h: str) -> bool:
    """Whether the manifest records the file at `path` with hash `h`."""
    site = "/" + os.path.relpath(path, s.config.public).replace(os.sep, "/")
    e = s.manifest.entries.get(site)
    return e is not None and e.hash == h


def _plan_report(plan: Plan, s: Session) -> Report:
    """What `build --dry-run` reports: the plan, nothing rendered. An article with a file in the
    way of one of its outputs fails, as the build would fail it: the build's own decision
    (workers.may_write), asked before rendering, and the journal read as the build reads it."""
    from . import failures, journal
    from .ownership import MAYBE_ADOPTED
    from .plan import fresh_results, unbuilt_results
    from .render import predicted_failure
    from .workers import may_write

    plan = own_unrecorded(plan, journal.read(s.config.root), s.hasher)

    def cached(path: str | os.PathLike) -> str | None:  # the stat cache's hash: a dry run reads no unchanged output whole
        if not os.path.lexists(path):
            raise FileNotFoundError(path)
        return s.hasher(path)

    outs, problems, failed, notes = [], [*plan.problems, *s.unread_problems(error=False)], set(plan.failed_articles), []
    noted = failures.load(s.config.root) if plan.jobs else {}  # what only a decode finds, the same masters' bytes
    for j in plan.jobs:
        predicted = predicted_failure(j, s.measure)  # read from the header: render fails it before any write
        last = failures.noted_for(noted, j, s.engine_id, s.config) if predicted is None else None
        if last is not None:
            predicted = f"{last} (the last build's word on these bytes)"
        refusal = None
        for o in j.outputs if predicted is None else ():  # the build stops the article at its first refusal
            verdict = may_write(o, None, str(s.config.root), cached)
            if isinstance(verdict, str):
                refusal = (o, verdict)
                break
        if predicted is not None:
            problems.append(Problem(j.article, predicted, j.article))
            failed.add(j.article)
        elif refusal is not None:
            o, reason = refusal
            problems.append(Problem(j.article, reason, j.article, o.line))
            failed.add(j.article)
            if o.recorded is None and MAYBE_ADOPTED not in notes:
                notes.append(MAYBE_ADOPTED)
        status = "stale" if predicted is None and refusal is None else "failed"
        outs += [OutputResult(o.site_path, j.article, o.variant, status, o.reason, format=o.format) for o in j.outputs]
    outs += fresh_results(plan.fresh, s.manifest) + unbuilt_results(plan, "failed", os.path.lexists)
    return Report(
        "build",
        outputs=tuple(sorted(outs, key=lambda r: r.path)),
        problems=tuple(problems),
        notes=tuple(notes),
        failed_articles=tuple(sorted(failed)),
        dry_run=True,
        engine=s.engine_id,
    )


def _render_and_record(
    plan: Plan, s: Session, jobs: int, threads: int, progress, save: Callable[[], None]
) -> tuple[list, list, list, dict[str, str]]:
    """Render and write the stale articles in workers; record each as it finishes."""
    from .manifest import Entry
    from .render import Limits
    from .workers import run, tasks_for

    results: list[OutputResult] = []
    problems: list[Problem] = []
    notes: list[str] = []
    unrenderable: dict[str, str] = {}
    if not plan.jobs:
        return results, problems, notes, unrenderable
    bar = progress(len(plan.jobs)) if progress else None

    def record(job: Job, outcome: Outcome) -> None:
        if outcome.error is not None:
            problems.append(Problem(job.article, outcome.error, job.article, outcome.line))
            if outcome.from_masters:
                unrenderable[job.article] = outcome.error
            for o in job.outputs:
                results.append(OutputResult(o.site_path, job.article, o.variant, "failed", o.reason, format=o.format))
        else:
            for n in outcome.notes:
                notes.append(f"{job.article}: {n}")
            for w in outcome.written:
                o = w.output
                s.manifest.entries[o.site_path] = Entry(
                    article=o.owner or job.article,
                    variant=o.variant,
                    master=o.master_shown or job.shown,
                    master_hash=o.master_hash or job.master_hash,
                    recipe=o.recipe,
                    engine=s.engine_id,
                    hash=w.hash,
                    bytes=w.bytes,
                    width=w.width,
                    height=w.height,
                    format=o.format,
                    colour=w.colour,
                    placeholder=w.placeholder,
                    notes=tuple(outcome.notes),
                    git=w.git,
                    master_git=w.master_git,
                )
                s.hasher.remember(o.dest, w.hash)
                results.append(
                    OutputResult(
                        o.site_path,
                        job.article,
                        o.variant,
                        "adopted" if w.adopted else "written",
                        o.reason,
                        w.bytes,
                        w.width,
                        w.height,
                        o.format,
                        w.colour,
                        w.placeholder,
                    )
                )
        if bar is not None:
            bar.update(1)

    limits = Limits(s.config.max_bytes, s.config.max_pixels, s.config.max_decoded_bytes)
    tasks = tasks_for(plan.jobs, limits, s.engine_name, threads, str(s.config.root))  # articles sharing a master: one decode
    try:
        run(tasks, jobs, record, save, s.config.timeout)
    finally:
        if bar is not None:
            bar.close()
    return results, problems, notes, unrenderable
