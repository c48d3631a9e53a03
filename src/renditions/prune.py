"""`prune`: delete orphaned outputs the manifest records as renditions' own; never any other file."""
from __future__ import annotations

import os

from . import manifest as manifest_mod
from .errors import PathError
from .hashing import Hasher
from .lock import site_lock
from .paths import resolve_output
from .report import OutputResult, Report
from .session import open_session
from .verify import find_orphans
from .write import delete


def prune(root: str | os.PathLike = ".", config: str | os.PathLike | None = None, *, dry_run: bool = False) -> Report:
    """Delete orphaned outputs the manifest records as renditions' own; never any other file."""
    # what check calls referenced: the plan's (an extra width the master can't serve is not)
    s = open_session(root, config, read_manifest=False, drafts=True)  # a draft's outputs are kept for the day it is published
    cfg, referenced = s.config, s.plan().referenced
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
