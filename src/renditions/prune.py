"""`prune`: delete the outputs nobody wants any more, and only those.

A file goes only if the manifest records it, its bytes still match, and its recorded article
is gone from `content`, or still parses and no longer names it. An article that failed to
parse or lost its master keeps its outputs: a typo must not cost published images; so does an
image article that no `content` glob reads any more (a `.markdown` post under `**/*.md`).
"""

from __future__ import annotations

import os

from . import manifest as manifest_mod
from .errors import PathError, RefusedError, UsageError
from .hashing import Hasher, digest_file
from .lock import site_lock
from .ownership import path_key
from .paths import resolve_output
from .report import OutputResult, Report
from .session import open_session
from .verify import same_file_twin
from .write import delete


def prune(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    dry_run: bool = False,
    yes: bool = False,
    wait_lock: bool = False,
) -> Report:
    """Delete unwanted outputs renditions wrote. Raises UsageError, deleting nothing, when `content`
    matches no article, and RefusedError (a UsageError whose `report` lists the orphans) when more
    than half of the recorded outputs would go (unless `yes`); a dry run raises them alike."""
    s = open_session(root, config, read_manifest=False, drafts=True)  # a draft's outputs are kept for the day it is published
    cfg, articles = s.config, s.articles
    shown_config = str(cfg.file)
    if not articles:
        s.hasher.close()  # git's child, if one was started: stopped and reaped before the error
        if s.nothing_yet:
            why = ", ".join(s.nothing_yet) + " holds no article yet: prune deletes nothing"
        else:
            why = f"`content` in {shown_config} matches no article: prune deletes nothing (fix the glob)"
        raise UsageError(", ".join(cfg.content), why)
    # what check calls referenced: the plan's (an extra width the master can't serve is not)
    referenced = s.plan().referenced
    by_key = {path_key(p): p for p in sorted(referenced)}
    keep = {a.rel for a in articles if a.broken}  # broken for now, not unwanted
    keep |= {a.rel for a in s.unread_articles}  # still there, naming images, but no `content` glob reads it
    with site_lock(cfg.root, wait=wait_lock):
        man = manifest_mod.load(
            cfg.manifest,
            os.path.relpath(cfg.manifest, cfg.root),
            manifest_mod.match_on_disk(cfg.public, cfg.sources, Hasher()),
            manifest_mod.web_root(cfg.root, cfg.public),
        )
        if man.moved_from is not None:  # saving would forget every record of the old root: nothing is done
            raise UsageError(
                "prune",
                f"{os.path.relpath(cfg.manifest, cfg.root)} records outputs under {man.moved_from}/, but the web root is now "
                f"{man.public}/: prune deletes nothing and keeps the manifest as it is (run `renditions build` first)",
            )
        doomed, gone, notes = [], [], []
        for site, entry in sorted(man.entries.items()):
            if site in referenced or entry.article in keep:
                continue
            twin = same_file_twin(site, by_key, cfg.public)
            if twin is not None:  # the page's image under another spelling: never deleted
                if twin in man.entries:  # recorded under the spelling named now: the old record goes, the file stays
                    gone.append(site)
                continue
            try:
                dest = resolve_output(site, cfg.public, cfg.sources)  # never delete through a link leading out
            except PathError:
                continue
            try:
                found = digest_file(dest)
            except FileNotFoundError:
                gone.append(site)  # the file is gone and nobody wants it: forget it
                continue
            if found != entry.hash:
                notes.append(
                    f"kept {site}: {os.path.relpath(dest, cfg.root)} was changed since renditions wrote it (delete it yourself if nobody needs it)"
                )
                continue
            doomed.append((site, dest, entry))
        total = len(man.entries)
        if not yes and 2 * len(doomed) > total:  # a dry run says so too, listing what it found
            orphans = tuple(OutputResult(site, e.article, e.variant, "orphan") for site, _dest, e in doomed)
            raise RefusedError(
                "prune",
                f"would delete {len(doomed)} of the {total} outputs the manifest records, more than half: nothing deleted "
                f"(check `content` in {shown_config}; `renditions prune --dry-run` lists them, `renditions prune --yes` deletes them)",
                Report("prune", outputs=orphans, notes=tuple(notes)),  # a dry run's too: none would be deleted
            )
        outs = []
        for site, dest, entry in doomed:
            if not dry_run:
                delete(dest)
                del man.entries[site]
            status = "orphan" if dry_run else "pruned"  # a dry run reports what is, as build's reports `stale`
            outs.append(OutputResult(site, entry.article, entry.variant, status))  # the article it was for, as recorded
        if not dry_run:
            for site in gone:
                del man.entries[site]
            man.save()
    return Report("prune", outputs=tuple(outs), notes=tuple(notes), dry_run=dry_run)
