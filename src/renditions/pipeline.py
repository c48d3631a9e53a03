"""The three jobs, each reading top to bottom: discover → plan → render → write → manifest.

build() renders what is stale; check() verifies without decoding or writing; prune()
removes renditions' own outputs that no article references any more.
"""
from __future__ import annotations

import hashlib
import os
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from . import manifest as manifest_mod
from .config import Config, load_config
from .discover import Article, discover
from .engine import Engine, get_engine
from .errors import PathError, RenderError, UsageError
from .hashing import Hasher, cache_file, digest_bytes
from .lock import bind_to_parent, site_lock
from .manifest import Entry, Manifest
from .plan import Job, Output, Plan, Problem, make_plan
from .paths import resolve_output
from .render import render_job
from .sniff import sniff_file
from .write import delete, sweep, write_all

CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True)
class OutputResult:
    path: str
    article: str
    variant: str
    status: str  # written | up to date | stale | failed | orphan | pruned
    reason: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    colour: str | None = None
    placeholder: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Report:
    command: str
    outputs: tuple[OutputResult, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    failed_articles: tuple[str, ...] = ()
    dry_run: bool = False
    engine: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.error)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outputs if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> str:
        if self.command == "build":
            if self.dry_run:
                return f"{self.count('stale')} to render, {self.count('up to date')} up to date, {len(self.failed_articles)} failed (dry run: nothing written)"
            return f"{self.count('written')} written, {self.count('up to date')} up to date, {len(self.failed_articles)} failed"
        if self.command == "check":
            if self.ok:
                return f"all {self.count('up to date')} outputs up to date"
            n = len(self.errors)
            return f"{n} problem{'s' if n != 1 else ''}, {self.count('up to date')} outputs up to date"
        if self.command == "prune":
            verb = "to delete" if self.dry_run else "deleted"
            return f"{self.count('pruned')} orphaned outputs {verb}"
        return ""

    def to_json(self) -> dict:
        totals = {}
        for o in self.outputs:
            totals[o.status] = totals.get(o.status, 0) + 1
        return {
            "command": self.command,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "engine": self.engine,
            "outputs": [o.to_json() for o in self.outputs],
            "problems": [
                {"path": p.path, "reason": p.reason, "article": p.article, "line": p.line, "level": "error" if p.error else "warning"}
                for p in self.problems
            ],
            "notes": list(self.notes),
            "totals": {
                **totals,
                "failed_articles": len(self.failed_articles),
                "bytes_written": sum(o.bytes or 0 for o in self.outputs if o.status == "written"),
            },
        }


# -- shared front half: config → articles → plan ------------------------------------------


@dataclass
class Session:
    config: Config
    articles: list[Article]
    manifest: Manifest
    hasher: Hasher
    engine_name: str
    engine_id: str
    engine: Engine


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    if not spec:
        return None
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise UsageError("--shard", f'expected K/N like "1/3", got "{spec}"') from None
    if not 1 <= k <= n:
        raise UsageError("--shard", f"expected 1 ≤ K ≤ N, got {spec}")
    return k, n


def in_shard(article_rel: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic split of articles across N runners, by a hash of the article's path."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(article_rel.encode()).hexdigest()[:8], 16) % n == k - 1


def open_session(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    engine: str | None = None,
    only: tuple[str, ...] = (),
    shard: str | None = None,
    use_cache: bool = True,
    threads: int | None = None,
    read_manifest: bool = True,
) -> Session:
    cfg = load_config(root, config)
    shard_t = parse_shard(shard)
    eng = get_engine(engine, threads=threads)
    articles = discover(cfg)
    if only:
        known = {a.slug for a in articles}
        unknown = [s for s in only if s not in known]
        if unknown:
            raise UsageError("--only", f"no article has the slug {', '.join(unknown)}")
        articles = [a for a in articles if a.slug in only]
    articles = [a for a in articles if in_shard(a.rel, shard_t)]
    man = manifest_mod.load(cfg.manifest, os.path.relpath(cfg.manifest, cfg.root)) if read_manifest else Manifest(cfg.manifest)
    hasher = Hasher(cache_file(cfg.root) if use_cache else None)
    return Session(cfg, articles, man, hasher, engine or "auto", f"{eng.name} {eng.version}", eng)


def _fresh_result(o: Output, man: Manifest) -> OutputResult:
    e = man.entries.get(o.site_path)
    return OutputResult(
        o.site_path, o.article, o.variant, "up to date", None,
        e.bytes if e else None, e.width if e else None, e.height if e else None, o.format,
        e.colour if e else None, e.placeholder if e else None,
    )


# -- build ---------------------------------------------------------------------------------


def _mp_context():
    """fork is fastest, but a process already running other threads (libvips' pool after an
    operation, a progress bar's monitor) can deadlock its forked children: use a fork server then."""
    from multiprocessing import get_context

    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = 2
    if threads == 1:
        return get_context("fork")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["renditions.pipeline", "renditions.engine_vips", "renditions.engine_pillow"])  # workers start warm
    return ctx


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


def _work(job: Job, config: Config, engine_name: str, threads: int | None) -> tuple[str, Any]:
    """Runs in a worker process: render one article and write its outputs."""
    try:
        engine = get_engine(engine_name, threads=threads)
        result = render_job(job, config, engine)
        write_all([(r.output.dest, r.data) for r in result.rendered])
    except RenderError as exc:
        return "error", exc.message
    except OSError as exc:
        return "error", f"cannot write {exc.filename}: {exc.strerror}"
    records = [
        (r.output, digest_bytes(r.data), len(r.data), r.width, r.height, r.placeholder.colour, r.placeholder.data_uri)
        for r in result.rendered
    ]
    return "ok", (records, result.notes)


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
        plan = make_plan(s.config, s.articles, s.manifest, s.hasher, s.engine_id, force)
        return _plan_report(plan, s, dry_run=True)
    with site_lock(s.config.root, wait=wait_lock):
        s.manifest = manifest_mod.load(  # a manifest git merged is resolved against the files
            s.config.manifest, os.path.relpath(s.config.manifest, s.config.root),
            manifest_mod.match_on_disk(s.config.public, s.config.sources, s.hasher),
        )
        plan = make_plan(s.config, s.articles, s.manifest, s.hasher, s.engine_id, force)
        sweep({o.dest.parent for o in plan.stale} | {o.dest.parent for o in plan.fresh} | {s.config.manifest.parent})
        s.manifest.shard = shard  # only a shard build's manifest says which shard it is
        results, problems, notes = _execute(plan, s, jobs, threads, progress)
        if plan.jobs or shard or s.manifest.healed or not s.config.manifest.exists():  # a no-op build rewrites nothing
            s.manifest.save()
        s.hasher.save()
    failed = set(plan.failed_articles) | {p.article for p in problems}
    fresh = [_fresh_result(o, s.manifest) for o in plan.fresh]
    return Report(
        "build",
        outputs=tuple(sorted(results + fresh, key=lambda r: r.path)),
        problems=plan.problems + tuple(problems),
        notes=tuple(notes),
        failed_articles=tuple(sorted(failed)),
        engine=s.engine_id,
    )


def _plan_report(plan: Plan, s: Session, dry_run: bool) -> Report:
    outs = [
        OutputResult(o.site_path, j.article, o.variant, "stale", o.reason, format=o.format)
        for j in plan.jobs
        for o in j.outputs
    ]
    outs += [_fresh_result(o, s.manifest) for o in plan.fresh]
    return Report(
        "build",
        outputs=tuple(sorted(outs, key=lambda r: r.path)),
        problems=plan.problems,
        failed_articles=plan.failed_articles,
        dry_run=dry_run,
        engine=s.engine_id,
    )


def _cost(job: Job) -> int:
    try:
        return os.stat(job.master).st_size
    except OSError:
        return 0


def _execute(plan: Plan, s: Session, jobs: int, threads: int, progress) -> tuple[list, list, list]:
    # imported here: a no-op build or a check never starts a worker, and these cost ~50 ms to import
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    results: list[OutputResult] = []
    problems: list[Problem] = []
    notes: list[str] = []
    if not plan.jobs:
        return results, problems, notes
    bar = progress(len(plan.jobs)) if progress else None
    last_save, save_cost = time.monotonic(), 0.0

    def record(job: Job, status: str, payload: Any) -> None:
        nonlocal last_save, save_cost
        if status == "error":
            problems.append(Problem(job.article, payload, job.article))
            for o in job.outputs:
                results.append(OutputResult(o.site_path, job.article, o.variant, "failed", o.reason, format=o.format))
        else:
            records, job_notes = payload
            for n in job_notes:
                notes.append(f"{job.article}: {n}")
            master_rel = os.path.relpath(job.master, s.config.root)
            for o, h, size, w, ht, colour, ph in records:
                s.manifest.entries[o.site_path] = Entry(
                    article=job.article, variant=o.variant, master=master_rel, master_hash=job.master_hash,
                    recipe=o.recipe, engine=s.engine_id, hash=h, bytes=size, width=w, height=ht, format=o.format,
                    colour=colour, placeholder=ph, notes=tuple(job_notes),
                )
                s.hasher.remember(o.dest, h)
                results.append(OutputResult(o.site_path, job.article, o.variant, "written", o.reason, size, w, ht, o.format, colour, ph))
        if bar is not None:
            bar.update(1)
        if time.monotonic() - last_save > max(CHECKPOINT_SECONDS, 20 * save_cost):
            t0 = time.monotonic()  # a big site's manifest takes ~0.25 s to write: keep that under 5 %
            s.manifest.save()
            last_save = time.monotonic()
            save_cost = last_save - t0

    pending = sorted(plan.jobs, key=_cost, reverse=True)  # biggest masters first: no lone straggler at the end
    isolate = False
    try:
        while pending:
            workers = 1 if isolate else min(jobs, len(pending))
            batch, pending = (pending[:1], pending[1:]) if isolate else (pending, [])
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=_mp_context(), initializer=_worker_init, initargs=(os.getpid(),)
            ) as pool:
                futures = {pool.submit(_work, j, s.config, s.engine_name, threads): j for j in batch}
                crashed: list[Job] = []
                try:
                    while futures:
                        done, _ = wait(futures, return_when=FIRST_COMPLETED)
                        for f in done:
                            job = futures.pop(f)
                            try:
                                status, payload = f.result()
                            except BrokenProcessPool:
                                crashed.append(job)
                                continue
                            record(job, status, payload)
                except KeyboardInterrupt:
                    # Ctrl-C: start nothing new, but let the articles in flight finish and be recorded
                    for f in list(futures):
                        if f.cancel():
                            futures.pop(f)
                    for f, job in futures.items():
                        try:
                            record(job, *f.result())
                        except Exception:
                            pass
                    raise
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
            if crashed:
                if isolate or len(crashed) == 1 and len(batch) == 1:
                    for job in crashed:
                        record(job, "error", f"{os.path.relpath(job.master, s.config.root)}: the decoder crashed on this master")
                else:
                    isolate = True  # rerun one at a time to find the master that crashes the decoder
                    pending = crashed + pending
    finally:
        if bar is not None:
            bar.close()
        s.manifest.save()
    return results, problems, notes


# -- check ---------------------------------------------------------------------------------

REASON_TEXT = {
    "missing": "missing",
    "master changed": "stale: its master changed",
    "recipe changed": "stale: its variant settings changed",
    "output modified": "modified by hand: its bytes differ from what renditions wrote",
}


def output_folders(config: Config, referenced: frozenset[str]) -> set[Path]:
    folders = {config.public.joinpath(*d.split("/")[1:]) for d in {os.path.dirname(p) for p in referenced}}
    folders |= {config.public.joinpath(*os.path.dirname(v.path).split("/")[1:]) for v in config.variants}
    return folders


def find_orphans(config: Config, referenced: frozenset[str]) -> list[str]:
    """Image files in the variants' output folders that no article references."""
    orphans = []
    exts = {".png", ".jpg", ".jpeg", ".webp", ".avif"}
    for folder in sorted(output_folders(config, referenced)):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        rel = os.path.relpath(folder, config.public).replace(os.sep, "/")
        prefix = "/" if rel == "." else "/" + rel + "/"
        for name in names:
            site = prefix + name  # built once per folder: relpath per file costs seconds on big sites
            if site in referenced or os.path.splitext(name)[1].lower() not in exts or not os.path.isfile(folder / name):
                continue
            orphans.append(site)
    return orphans


def check(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    strict: bool = False,
    engine: str | None = None,
) -> Report:
    """Verify every output against the manifest and the config. Decodes nothing, writes nothing."""
    s = open_session(root, config, engine)
    plan = make_plan(s.config, s.articles, s.manifest, s.hasher, s.engine_id)
    problems = list(plan.problems)
    outs = []
    for j in plan.jobs:
        for o in j.outputs:
            problems.append(Problem(o.site_path, REASON_TEXT.get(o.reason, o.reason), j.article, o.line))
            outs.append(OutputResult(o.site_path, j.article, o.variant, "stale", o.reason, format=o.format))
    for o in plan.fresh:
        article = o.article
        v = s.config.variant(o.variant)
        try:
            found = sniff_file(str(o.dest))
        except OSError:
            found = None
        want = (o.format, v.width, v.height)
        if found is None:
            problems.append(Problem(o.site_path, f"not a readable {o.format} file", article, o.line))
        elif found[0] != o.format:
            problems.append(Problem(o.site_path, f"is {found[0]}, but its extension asks for {o.format}", article, o.line))
        elif (v.fit != "inside" and found[1:] != want[1:]) or (v.fit == "inside" and (found[1] > v.width or found[2] > v.height)):
            problems.append(
                Problem(o.site_path, f"is {found[1]}×{found[2]}, but variant {v.name} is {v.width}×{v.height}", article, o.line)
            )
        outs.append(_fresh_result(o, s.manifest))
    for site in find_orphans(s.config, plan.referenced):
        known = "renditions wrote it; `renditions prune` deletes it" if site in s.manifest.entries else "not in the manifest"
        problems.append(Problem(site, f"orphan: no article references it ({known})", error=strict))
        outs.append(OutputResult(site, "", "", "orphan"))
    return Report(
        "check",
        outputs=tuple(sorted(outs, key=lambda r: r.path)),
        problems=tuple(problems),
        failed_articles=plan.failed_articles,
        engine=s.engine_id,
    )


def prune(root: str | os.PathLike = ".", config: str | os.PathLike | None = None, *, dry_run: bool = False) -> Report:
    """Delete orphaned outputs the manifest records as renditions' own; never any other file."""
    cfg = load_config(root, config)
    articles = discover(cfg)
    from .plan import article_outputs

    referenced = frozenset(p for a in articles for _, p, _, _ in article_outputs(a, cfg)[0])
    with site_lock(cfg.root):
        man = manifest_mod.load(cfg.manifest, os.path.relpath(cfg.manifest, cfg.root), manifest_mod.match_on_disk(cfg.public, cfg.sources, Hasher()))
        outs = []
        for site in find_orphans(cfg, referenced):
            if site not in man.entries:
                continue
            try:
                resolve_output(site, cfg.public, cfg.sources)  # never delete through a link leading out
            except PathError:
                continue
            if not dry_run:
                delete(cfg.public.joinpath(*site.split("/")[1:]))
                del man.entries[site]
            outs.append(OutputResult(site, "", "", "pruned"))
        if not dry_run:
            # entries whose files are gone and that no article references are dropped too
            for site in [k for k in man.entries if k not in referenced and not cfg.public.joinpath(*k.split("/")[1:]).exists()]:
                del man.entries[site]
            man.save()
    return Report("prune", outputs=tuple(outs), dry_run=dry_run)
