"""`build`: discover → plan → render → write → record, reading top to bottom.

The stages live in their own modules: session.py (config → articles → manifest),
gather.py + plan.py (what is stale, pure), workers.py (render and write, in worker
processes), manifest.py (the record). check is in verify.py, prune in prune.py.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from . import manifest as manifest_mod
from .lock import site_lock
from .manifest import Entry
from .plan import Job, Plan, Problem
from .render import Limits
from .report import OutputResult, Report, fresh_result
from .session import Session, open_session
from .workers import Outcome, Task, run
from .write import sweep


def build(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: tuple[str, ...] = (),
    jobs: int | None = None,
    engine: str | None = None,
    shard: str | None = None,
    wait_lock: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> Report:
    """Render every missing or stale output. Returns the report `--json` prints."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    s = open_session(root, config, engine, tuple(only), shard, threads=threads, read_manifest=dry_run)  # else read under the lock
    if dry_run:
        return _plan_report(s.plan(force), s)
    with site_lock(s.config.root, wait=wait_lock):
        s.manifest = manifest_mod.load(s.config.manifest, os.path.relpath(s.config.manifest, s.config.root))
        plan = s.plan(force)
        sweep({o.dest.parent for o in plan.stale} | {o.dest.parent for o in plan.fresh} | {s.config.manifest.parent})
        s.manifest.shard = shard  # only a shard build's manifest says which shard it is
        results, problems, notes = _render_and_record(plan, s, jobs, threads, progress)
        if plan.jobs or shard or not s.config.manifest.exists():  # a no-op build rewrites nothing
            s.manifest.save()
        s.hasher.save()
        s.said.save()
    failed = set(plan.failed_articles) | {p.article for p in problems}
    fresh = [fresh_result(o, s.manifest) for o in plan.fresh]
    return Report(
        "build",
        outputs=tuple(sorted(results + fresh, key=lambda r: r.path)),
        problems=plan.problems + tuple(problems),
        notes=tuple(notes),
        failed_articles=tuple(sorted(failed)),
        engine=s.engine_id,
    )


def _plan_report(plan: Plan, s: Session) -> Report:
    """What `build --dry-run` reports: the plan, nothing rendered."""
    outs = [
        OutputResult(o.site_path, j.article, o.variant, "stale", o.reason, format=o.format)
        for j in plan.jobs
        for o in j.outputs
    ]
    outs += [fresh_result(o, s.manifest) for o in plan.fresh]
    return Report(
        "build",
        outputs=tuple(sorted(outs, key=lambda r: r.path)),
        problems=plan.problems,
        failed_articles=plan.failed_articles,
        dry_run=True,
        engine=s.engine_id,
    )


def _render_and_record(plan: Plan, s: Session, jobs: int, threads: int, progress) -> tuple[list, list, list]:
    """Render and write the stale articles in workers; record each as it finishes."""
    results: list[OutputResult] = []
    problems: list[Problem] = []
    notes: list[str] = []
    if not plan.jobs:
        return results, problems, notes
    bar = progress(len(plan.jobs)) if progress else None

    def record(job: Job, outcome: Outcome) -> None:
        if outcome.error is not None:
            problems.append(Problem(job.article, outcome.error, job.article))
            for o in job.outputs:
                results.append(OutputResult(o.site_path, job.article, o.variant, "failed", o.reason, format=o.format))
        else:
            for n in outcome.notes:
                notes.append(f"{job.article}: {n}")
            for w in outcome.written:
                o = w.output
                s.manifest.entries[o.site_path] = Entry(
                    article=job.article, variant=o.variant, master=job.shown, master_hash=job.master_hash,
                    recipe=o.recipe, engine=s.engine_id, hash=w.hash, bytes=w.bytes, width=w.width, height=w.height,
                    format=o.format, colour=w.colour, placeholder=w.placeholder, notes=tuple(outcome.notes),
                )
                s.hasher.remember(o.dest, w.hash)
                results.append(OutputResult(o.site_path, job.article, o.variant, "written", o.reason, w.bytes, w.width, w.height, o.format, w.colour, w.placeholder))
        if bar is not None:
            bar.update(1)

    limits = Limits(s.config.max_bytes, s.config.max_pixels)
    tasks = [Task(job, limits, s.engine_name, threads) for job in plan.jobs]
    try:
        run(tasks, jobs, record, s.manifest.save)
    finally:
        if bar is not None:
            bar.close()
    return results, problems, notes
