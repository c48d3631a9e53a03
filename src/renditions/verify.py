"""`check`: verify every output against the manifest and the config, decoding and writing nothing.

Also finds orphans: image files in the variants' output folders that no article references
(prune.py deletes the ones renditions wrote).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from . import stamp
from .report import OutputResult, Problem, Report

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .config import Config
    from .manifest import Entry
    from .session import Session

REASON_TEXT = {
    "missing": "missing",
    "master changed": "stale: its master changed",
    "recipe changed": "stale: its variant settings changed",
    "engine changed": "stale: made by {made}, this run uses {uses}",
    "focus changed": "stale: its article's focus changed",
    "output modified": "modified by hand: its bytes differ from what renditions wrote",
    "not written by renditions": (
        "exists, but renditions did not write it (the manifest does not record it): "
        "`renditions build` takes it if it holds exactly the bytes the build makes; else move it away"
    ),
    # an output whose bytes differ (plan.MODIFIED) but could not be read at all says so instead
    "not a file": "is not a regular file (renditions wrote a file there): move it away, then run `renditions build`",
    "unreadable": "cannot be read ({}), so it can't be compared with what renditions wrote",
    # a file a build wrote (its journal names these bytes) but could not record: its manifest was not saved
    "unrecorded": "written by a build that could not save the manifest: `renditions build` records it",
    # its header was to be read from the bytes just hashed, but the file was replaced meanwhile
    "changed while checked": "changed while check read it: run `renditions check` again",
}


def _unrecorded(s: Session, dest: str | os.PathLike, journal: dict[Path, set[str]]) -> bool:
    """Whether the journal names these bytes at `dest`: a build wrote them and was killed, or
    could not save the manifest (pipeline.UNRECORDED); the next build records them."""
    from pathlib import Path

    noted = journal.get(Path(dest))
    return noted is not None and s.hasher(Path(dest)) in noted


def _unreadable(path: str | os.PathLike) -> str | None:
    """Why an output that differs from its record could not be read at all (None: it was read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except OSError as exc:
        return REASON_TEXT["unreadable"].format(exc.strerror or "error")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return REASON_TEXT["not a file"]
    finally:
        os.close(fd)
    return None


def find_orphans(config: Config, referenced: frozenset[str]) -> list[str]:
    """Image files in the variants' output folders that no article references."""
    from .formats import OUTPUT_FORMATS
    from .ownership import path_key
    from .plan import output_folders

    orphans = []
    exts = OUTPUT_FORMATS  # the extensions renditions writes
    by_key: dict[str, str] | None = None  # made at the first name not referenced as it is spelt
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
            if by_key is None:
                by_key = {path_key(p): p for p in sorted(referenced)}
            if same_file_twin(site, by_key, config.public) is not None:  # `a.png` on disk, `A.png` named, one file
                continue
            orphans.append(site)
    return orphans


def same_file_twin(site: str, by_key: Mapping[str, str], public: os.PathLike | str) -> str | None:
    """The referenced path `site` is under another spelling (`A.png` for a file `a.png`) when the
    file system takes both for one file (case-insensitive, as macOS's): not an orphan, the page's
    image itself. On a case-sensitive one they are two files, and `site` is an orphan like any
    other (None). `by_key`: the referenced site paths by ownership.path_key. check and prune
    decide it alike."""
    from .ownership import path_key

    twin = by_key.get(path_key(site))
    if twin is None or twin == site:
        return None
    try:
        same = os.path.samefile(os.path.join(public, site.lstrip("/")), os.path.join(public, twin.lstrip("/")))
    except OSError:  # either is missing: not one file
        return None
    return twin if same else None


def _orphan_fate(
    config: Config, site: str, entry: Entry | None, digest: Callable[[Path], str | None], unread: frozenset[str] = frozenset()
) -> str:
    """What `prune` will do with an orphan, as it decides: only a file renditions wrote and
    nobody changed since is deleted (`digest`: the session's stat-cached hasher), and not one
    an unread article (`unread`: their files) still names."""
    if entry is None:
        return "not in the manifest"
    if entry.article in unread:
        return f"renditions wrote it for {entry.article}, which no `content` glob reads: `renditions prune` keeps it"
    if digest(config.public / site.lstrip("/")) == entry.hash:
        return "renditions wrote it; `renditions prune` deletes it"
    return "renditions wrote it, but it was changed since: `renditions prune` keeps it; delete it yourself if nothing needs it"


def check(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    strict: bool = False,
    engine: str | None = None,
) -> Report:
    """Verify every output against the manifest and the config. Decodes nothing, writes nothing
    (but the caches outside the site: a check that passed is known again by stats, see stamp.py)."""
    started = time.time_ns()
    options = {"strict": strict, "engine": engine or "auto"}
    again = stamp.replay("check", root, config, options)
    if again is not None:
        return again
    from .session import uncollected  # the work itself, imported only now: a check the stamp answers stays light

    return uncollected(_check)(root, config, strict, engine, started, options)


def _check(
    root: str | os.PathLike, config: str | os.PathLike | None, strict: bool, engine: str | None, started: int, options: dict
) -> Report:
    from . import failures
    from .budgets import over_budget
    from .plan import ENGINE_CHANGED, MODIFIED, NOT_OURS, fresh_result, unbuilt_results
    from .render import predicted_failure
    from .session import open_session
    from .sniff import Ahead, Changed, refused_master, sniff_hashed, taken

    ahead: Ahead | None = None

    def early(c: Config) -> None:  # the outputs' headers, read in a child while the articles are
        nonlocal ahead
        ahead = Ahead.worth_it(c.manifest, c.public)

    try:
        s = open_session(root, config, engine, early=early)
        # build warns about a missing variant key and uses the template path; the page's template
        # reads the key, so the page shows no image: an error here, with the fix
        missing = [
            Problem(
                a.rel,
                f"no `{s.config.variant(t.variant).key}` key: the page shows no image "
                f"(`renditions build --write-front-matter` adds {t.site_path})",
                a.rel,
            )
            for a in s.articles
            if not a.errors
            for t in a.targets
            if t.from_template and t.site_path
        ]
        s.articles = [replace(a, warnings=()) if a.warnings else a for a in s.articles]
        plan = s.plan()
        heads = ahead.result() if ahead is not None else {}  # the headers, read while this process planned
    finally:
        if ahead is not None:
            ahead.close()
    problems = missing + list(plan.problems)
    failed = list(plan.failed_articles)
    unbuildable: set[str] = set()  # articles build would fail for their masters: one line, not one per output
    noted = failures.load(s.config.root) if plan.jobs else {}  # what only a decode finds, the same bytes
    for j in plan.jobs:  # a master build will refuse (BMP, say): one line naming it, as build gives
        masters = dict.fromkeys((o.master or j.master, o.master_shown or j.shown) for o in j.outputs)
        for master, shown in masters:
            why = refused_master(os.fspath(master), s.engine.name)
            if why is not None:
                problems.append(Problem(j.article, f"{shown}: {why}", j.article))
                failed += [j.article] if j.article not in failed else []
        small = predicted_failure(j, s.measure) if j.article not in failed else None  # from the header
        last = failures.noted_for(noted, j, s.engine_id, s.config) if small is None and j.article not in failed else None
        if last is not None:
            small = f"{last} (the last build's word on these bytes)"
        if small is not None:
            problems.append(Problem(j.article, small, j.article))
            failed.append(j.article)
            unbuildable.add(j.article)
    problems += s.unread_problems(error=True)  # a post the globs pass over, its master waiting: its page shows no image
    if s.no_article():  # a check that checks nothing must not pass
        problems.append(Problem(", ".join(s.config.content), s.no_article()))
    outs = []
    journaled: dict[Path, set[str]] | None = None  # the journal, read when first wanted (see _unrecorded)
    for j in plan.jobs:
        for o in j.outputs:
            reason = o.reason or "stale"
            outs.append(OutputResult(o.site_path, j.article, o.variant, "stale", o.reason, format=o.format))
            if j.article in unbuildable:
                continue  # its line names the master: a build would fail it, not bring these up to date
            text = (_unreadable(o.dest) if reason == MODIFIED else None) or REASON_TEXT.get(reason, reason)
            if reason == NOT_OURS:
                if journaled is None:  # read once, and only when a file renditions did not record is there
                    from . import journal

                    journaled = journal.read(s.config.root)
                if _unrecorded(s, o.dest, journaled):
                    text = REASON_TEXT["unrecorded"]
            if reason == ENGINE_CHANGED:  # the entry names the engine that made it
                text = text.format(made=s.manifest.entries[o.site_path].engine, uses=s.engine_id)
            problems.append(Problem(o.site_path, text, j.article, o.line))
    cache = s.hasher.cache
    listed: set[str] = set()
    for o in plan.fresh:
        article = o.article
        c = o.crop
        key = o.dest
        hashed = cache.get(key)  # the stat the bytes were hashed by: the header must be theirs
        found = taken(heads.get(key), hashed)
        if found is None:
            try:
                found = sniff_hashed(key, hashed)
            except Changed:
                problems.append(Problem(o.site_path, REASON_TEXT["changed while checked"], article, o.line))
                outs.append(OutputResult(o.site_path, article, o.variant, "stale", "changed while checked", format=o.format))
                continue
            except OSError:
                found = None
        want = (o.format, c.width, c.height)
        if found is None:
            problems.append(Problem(o.site_path, f"not a readable {o.format} file", article, o.line))
        elif found[0] != o.format:
            problems.append(Problem(o.site_path, f"is {found[0]}, but its extension asks for {o.format}", article, o.line))
        elif (c.fit != "inside" and found[1:] != want[1:]) or (c.fit == "inside" and (found[1] > c.width or found[2] > c.height)):
            problems.append(
                Problem(
                    o.site_path, f"is {found[1]}×{found[2]}, but variant {c.variant} is {c.width}×{c.height}", article, o.line
                )
            )
        if o.site_path not in listed:  # translations sharing it: one row, as when it is written
            listed.add(o.site_path)
            outs.append(fresh_result(o, s.manifest))
    outs += unbuilt_results(plan, "stale", os.path.lexists)  # a failed article's outputs: every image the page names
    problems += over_budget(s.config, outs, error=strict)
    if s.config.data is not None:  # what the templates read: a missing or conflicted one shows wrong pages
        from .datafile import data_problem

        every = [a for a in s.matched if a.images]  # in the order build --drafts reads them
        data = data_problem(s.config, s.manifest, s.site or [], every)
        problems += [data] if data is not None else []
    unread = frozenset(a.rel for a in s.unread_articles)  # prune keeps what it records for them
    # an article broken for now (bad front matter, no master) keeps its outputs, as prune keeps
    # them: its own error says what is wrong, its images are no orphans
    broken = frozenset(a.rel for a in s.matched if a.images and a.broken)
    for site in find_orphans(s.config, plan.referenced | s.draft_paths):
        entry = s.manifest.entries.get(site)
        if entry is not None and entry.article in broken:
            continue
        known = _orphan_fate(s.config, site, entry, s.hasher, unread)
        problems.append(Problem(site, f"orphan: no article references it ({known})", error=strict))
        # the article and variant that wrote it, as prune's report names them
        outs.append(OutputResult(site, entry.article if entry else "", entry.variant if entry else "", "orphan"))
    report = Report(
        "check",
        outputs=tuple(sorted(outs, key=lambda r: r.path)),
        problems=tuple(problems),
        failed_articles=tuple(failed),
        engine=s.engine_id,
    )
    if report.ok:
        stamp.record("check", root, config, options, s.read_paths(plan), report, started, s.lstats)
    return report
