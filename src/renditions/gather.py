"""Read from the disk what the plan needs, before it, so that make_plan stays pure.

It stats and hashes exactly what the plan used to stat and hash while deciding: each
output folder is resolved once (resolve_output's memo), a master is hashed only when its
article has no problem, and an output's bytes only when nothing else already makes it stale.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .config import Config
from .discover import Article
from .errors import PathError
from .hints import master_hint, spare_names
from .manifest import Manifest
from .ownership import path_key
from .paths import output_file
from .plan import Facts, Recipes, is_extra, up_to_date_so_far


def gather(
    config: Config,
    articles: list[Article],
    manifest: Manifest,
    digest: Callable[[Path | str], str | None],
    engine: str,
    force: bool = False,
    measure: Callable[[Path], tuple[int, int] | None] | None = None,
    site: list[Article] | None = None,
    prefetch: Callable[[Iterable[Path | str]], None] | None = None,
    recipes: Recipes | None = None,
    lstats: dict[str, os.stat_result] | None = None,
    matched: list[Article] | None = None,
) -> Facts:
    """The Facts make_plan(config, articles, manifest, facts, engine, force, site) decides from.

    `measure` reads a master's upright size from its header; it is called only for articles
    whose variants ask for extra widths (the plan skips the widths a master can't serve).
    Masters of articles competing for a path are hashed too (even outside --only): identical
    bytes share the path, anything else is a conflict. `prefetch` is told, before any is
    hashed, every file that will be (Hasher.prefetch: a fresh clone hashes them in helpers).
    `lstats`, when given, receives each output's lstat, for the run's later stats of it.
    `matched`: every article read, drafts too; a missing master's hint never offers a master one
    of them uses (else `site`'s or `articles`' masters)."""
    dests: dict[str, str] = {}
    unplaced: dict[str, str] = {}
    masters: dict[Path, str | None] = {}
    present: set[str] = set()
    outputs: dict[str, str | None] = {}
    hints: dict[str, str] = {}
    sizes: dict[Path, tuple[int, int]] = {}
    memo: dict = {} if lstats is None else {"lstat": lstats}  # each output folder resolved once, not each output
    recipes = Recipes(engine, config.variants) if recipes is None else recipes
    taken: set[str] = set()
    resolved: list[tuple[Article, bool, list]] = []
    spare: list[str] | None = None  # masters no article uses: listed at the first missing master only
    for a in articles:  # first where each output goes (nothing is read but folders)
        outs, path_problems = recipes.outputs(a, config)
        ok = not a.errors and not path_problems
        mine = []
        for v, site_path, fmt, _line in outs:
            dest = dests.get(site_path)
            if dest is None:
                if site_path in unplaced:
                    ok = False
                    continue
                try:
                    dest = dests[site_path] = output_file(site_path, config.public, config.sources, memo)
                except PathError as exc:
                    unplaced[site_path] = exc.reason
                    ok = False  # the plan fails this article: nothing of it is read
                    continue
            mine.append((v, site_path, fmt, dest))
        resolved.append((a, ok, mine))
    if prefetch is not None:  # what the loop below will hash, in its order, hashed ahead
        prefetch(
            path
            for a, ok, mine in resolved
            if ok and a.master is not None
            for path in _to_hash(a, mine, manifest, recipes, force)
        )
    first: dict[str, Article] = {}  # path_key → the first article claiming it
    for a in articles if site is None else site:  # who competes for a path (ownership.contested)
        if a.errors:
            continue
        for _v, site_path, _fmt, _line in recipes.outputs(a, config)[0]:
            other = first.setdefault(path_key(site_path), a)
            for master in _masters_of(other, a) if other is not a else ():
                if master not in masters:
                    masters[master] = digest(master)
    for a, ok, mine in resolved:
        if not ok:
            continue
        if a.master is None:
            if spare is None:
                users = matched if matched is not None else site if site is not None else articles
                used = [u.master for u in users if u.master is not None] + [m for u in users for _n, m in u.masters]
                spare = spare_names(config.sources, used)
            hints[a.slug] = master_hint(a.slug, config.sources, config.root, spare)
            continue
        master_hash = masters[a.master] = masters[a.master] if a.master in masters else digest(a.master)
        for _name, path in a.masters:  # art direction: a variant's own master, hashed alike
            if path not in masters:
                masters[path] = digest(path)
        if measure is not None and master_hash is not None:
            for v, site_path, fmt, _dest in mine:
                own = a.master_for(v.name)
                if own is None or own in sizes or not is_extra(v, config) or masters.get(own) is None:
                    continue
                entry = manifest.entries.get(site_path)
                served = entry is not None and not force and up_to_date_so_far(entry, masters[own], recipes.resolve(v, a, fmt)[2])
                if not served:  # a width this master and recipe were written for needs no header read
                    size = measure(own)
                    if size is not None:
                        sizes[own] = size
        for v, site_path, fmt, dest in mine:
            entry = manifest.entries.get(site_path)
            if entry is None:
                if os.path.exists(dest):
                    taken.add(site_path)  # a file renditions did not write: the build must not replace it
                continue
            if force or master_hash is None:
                continue
            own = a.master_for(v.name)
            own_hash = masters.get(own) if own is not None else None
            if up_to_date_so_far(entry, own_hash, recipes.resolve(v, a, fmt)[2]):
                found = digest(dest)  # one stat (and a read, unless the stat cache knows it)
                if found is not None:
                    present.add(site_path)
                    outputs[site_path] = found
                    continue
            if os.path.exists(dest):
                present.add(site_path)
    return Facts(dests, masters, frozenset(present), outputs, hints, sizes, frozenset(taken), unplaced)


def _to_hash(a: Article, mine: list, manifest: Manifest, recipes: Recipes, force: bool) -> list[Path | str]:
    """What gather will hash for an article, as far as is known before any hash: its masters, and
    each output the manifest records for this recipe (outputs of a changed recipe are stale
    whatever their bytes: a config change must not cost a fresh clone the reading of them all)."""
    paths: list[Path | str | None] = [a.master, *(m for _name, m in a.masters)]
    if not force:
        for v, site_path, fmt, dest in mine:
            entry = manifest.entries.get(site_path)
            if entry is not None and entry.recipe == recipes.resolve(v, a, fmt)[2]:
                paths.append(dest)
    return [p for p in paths if p is not None]


def _masters_of(*articles: Article) -> list[Path]:
    """Every master the articles cut outputs from, their variants' own (`masters:`) too: two
    articles sharing a path share it only if the same bytes are cut for it (ownership.py)."""
    return [m for a in articles for m in (a.master, *(path for _name, path in a.masters)) if m is not None]
