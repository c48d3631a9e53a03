"""Read from the disk what the plan needs, before it, so that make_plan stays pure.

It stats and hashes exactly what the plan used to stat and hash while deciding: each
output folder is resolved once (resolve_output's memo), a master is hashed only when its
article has no problem, and an output's bytes only when nothing else already makes it stale.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .config import Config
from .discover import Article
from .errors import PathError
from .hints import master_hint
from .manifest import Manifest
from .paths import resolve_output
from .ownership import contested
from .plan import Facts, Recipes, article_outputs, site_claims, up_to_date_so_far


def gather(
    config: Config,
    articles: list[Article],
    manifest: Manifest,
    digest: Callable[[Path], str | None],
    engine: str,
    force: bool = False,
    site: list[Article] | None = None,
) -> Facts:
    """The Facts make_plan(config, articles, manifest, facts, engine, force, site) decides from.

    Masters of articles competing for a path are hashed too (even outside --only): identical
    bytes share the path, anything else is a conflict."""
    dests: dict[str, Path | str] = {}
    masters: dict[Path, str | None] = {}
    present: set[str] = set()
    outputs: dict[str, str | None] = {}
    hints: dict[str, str] = {}
    memo: dict = {}  # resolve each output folder once, not each of thousands of outputs
    recipes = Recipes(engine)
    taken: set[str] = set()
    by_master = {a.rel: a.master for a in (articles if site is None else site)}
    for group in contested(site_claims(config, articles if site is None else site, recipes, {})).values():
        for c in group:
            master = by_master.get(c.article)
            if master is not None and master not in masters:
                masters[master] = digest(master)
    for a in articles:
        outs, path_problems = article_outputs(a, config)
        ok = not a.errors and not path_problems
        mine = []
        for v, site_path, fmt, _line in outs:
            dest = dests.get(site_path)
            if dest is None:
                try:
                    dest = resolve_output(site_path, config.public, config.sources, memo)
                except PathError as exc:
                    dest = exc.reason
                dests[site_path] = dest
            if isinstance(dest, str):
                ok = False  # the plan fails this article: nothing of it is read
                continue
            mine.append((v, site_path, fmt, dest))
        if not ok:
            continue
        if a.master is None:
            hints[a.slug] = master_hint(a.slug, config.sources, config.root)
            continue
        master_hash = masters[a.master] = masters[a.master] if a.master in masters else digest(a.master)
        for v, site_path, fmt, dest in mine:
            entry = manifest.entries.get(site_path)
            if entry is None:
                if dest.exists():
                    taken.add(site_path)  # a file renditions did not write: the build must not replace it
                continue
            if force or master_hash is None or not dest.exists():
                continue
            present.add(site_path)
            if up_to_date_so_far(entry, master_hash, recipes.resolve(v, a, fmt)[2]):
                outputs[site_path] = digest(dest)
    return Facts(dests, masters, frozenset(present), outputs, hints, frozenset(taken))
