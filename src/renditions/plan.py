"""Articles × config × manifest → what to render, what is fresh, and what is wrong.

The plan is plain data: `--dry-run` prints it and tests inspect it without a pixel.
The only I/O is through the `digest` callable and the path checks of resolve_output.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import Config, Variant, format_for
from .discover import Article
from .errors import PathError
from .geometry import GRAVITY
from .hints import master_hint
from .manifest import Manifest
from .paths import resolve_output

#: Bumped when renditions changes how it renders, so that every output is re-rendered.
RENDER_VERSION = 1

EXT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}

MISSING = "missing"
MASTER_CHANGED = "master changed"
RECIPE_CHANGED = "recipe changed"
MODIFIED = "output modified"
FORCED = "forced"


@dataclass(frozen=True)
class Output:
    site_path: str
    dest: Path
    variant: str
    format: str
    recipe: str
    reason: str | None  # None: up to date
    line: int | None = None
    article: str = ""


@dataclass(frozen=True)
class Job:
    """One article to render: its master, and every output of it that is stale."""

    article: str
    file: Path
    slug: str
    master: Path
    master_hash: str
    focus: tuple[tuple[str, tuple[float, float]], ...]
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class Problem:
    path: str  # what the problem is about: an article, a site path, a master
    reason: str
    article: str = ""  # the article file, for annotations
    line: int | None = None
    error: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    fresh: tuple[Output, ...]
    problems: tuple[Problem, ...]
    failed_articles: tuple[str, ...]
    referenced: frozenset[str]  # every site path some article names

    @property
    def stale(self) -> tuple[Output, ...]:
        return tuple(o for j in self.jobs for o in j.outputs)


def recipe_hash(variant: Variant, fmt: str, focus: tuple[float, float] | None, engine: str) -> str:
    """Hash of every setting that changes an output's pixels or bytes."""
    enc = variant.encoder(fmt)
    doc = {
        "v": RENDER_VERSION,
        "engine": engine,
        "size": [variant.width, variant.height],
        "fit": variant.fit,
        "position": variant.position if focus is None else None,
        "focus": focus,
        "background": list(variant.background),
        "upscale": variant.upscale,
        "format": fmt,
        "encoder": [list(kv) for kv in enc.options],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def sibling_path(site_path: str, fmt: str) -> str:
    return os.path.splitext(site_path)[0] + EXT[fmt]


def article_outputs(article: Article, config: Config) -> tuple[list[tuple], list[Problem]]:
    """(variant, site_path, format, line) for every output of an article, and path problems."""
    outs, problems = [], []
    for target in article.targets:
        v = config.variant(target.variant)
        if target.error:
            problems.append(Problem(article.rel, target.error, article.rel, target.line))
            continue
        fmt = format_for(target.site_path)
        if fmt is None:
            problems.append(
                Problem(article.rel, f"{v.key}: {target.site_path} has no image extension renditions writes (.png, .jpg, .webp, .avif)", article.rel, target.line)
            )
            continue
        outs.append((v, target.site_path, fmt, target.line))
        for extra in v.also:
            if extra != fmt:
                outs.append((v, sibling_path(target.site_path, extra), extra, target.line))
    return outs, problems


def make_plan(
    config: Config,
    articles: list[Article],
    manifest: Manifest,
    digest: Callable[[Path], str | None],
    engine: str,
    force: bool = False,
) -> Plan:
    jobs, fresh, problems, failed = [], [], [], []
    referenced: set[str] = set()
    memo: dict = {}  # resolve each output folder once, not each of thousands of outputs
    recipes: dict = {}
    owners: dict[str, tuple] = {}  # site path -> (article, (master, variant, focus))
    per_article = []
    for a in articles:
        for w in a.warnings:
            problems.append(Problem(a.rel, w, a.rel, None, error=False))
        outs, path_problems = article_outputs(a, config)
        resolved, bad = [], list(path_problems)
        for v, site_path, fmt, line in outs:
            referenced.add(site_path)
            try:
                dest = resolve_output(site_path, config.public, config.sources, memo)
            except PathError as exc:
                bad.append(Problem(a.rel, f"{v.key}: {site_path}: {exc.reason}", a.rel, line))
                continue
            claim = (a.master, v.name, a.focus_for(v.name))
            if site_path in owners and owners[site_path][0] != a.rel:
                if owners[site_path][1] == claim:
                    continue  # a translation asking for the same image: one shared output
                bad.append(Problem(a.rel, f"{v.key}: {site_path} is also written by {owners[site_path][0]}", a.rel, line))
                continue
            owners[site_path] = (a.rel, claim)
            resolved.append((v, site_path, fmt, line, dest))
        per_article.append((a, resolved, bad))

    for a, resolved, bad in per_article:
        errors = [Problem(a.rel, e, a.rel, a.error_line) for e in a.errors] + bad
        if not errors and a.master is None:
            src = os.path.relpath(config.sources, config.root)
            hint = master_hint(a.slug, config.sources, config.root)
            errors.append(Problem(a.rel, f"no master: add {src}/{a.slug}.png (or .jpg, .webp, .tif, .avif, .heic){hint}", a.rel))
        master_hash = digest(a.master) if a.master is not None and not errors else None
        if a.master is not None and not errors and master_hash is None:
            errors.append(Problem(a.rel, f"cannot read master {os.path.relpath(a.master, config.root)}", a.rel))
        if errors:
            problems.extend(errors)
            failed.append(a.rel)
            continue
        stale, ok = [], []
        for v, site_path, fmt, line, dest in resolved:
            focus = a.focus_for(v.name)
            recipe = recipes.get((v.name, fmt, focus))
            if recipe is None:
                recipe = recipes[(v.name, fmt, focus)] = recipe_hash(v, fmt, focus, engine)
            entry = manifest.entries.get(site_path)
            if force:
                reason = FORCED
            elif entry is None or not dest.exists():
                reason = MISSING
            elif entry.master_hash != master_hash:
                reason = MASTER_CHANGED
            elif entry.recipe != recipe:
                reason = RECIPE_CHANGED
            elif digest(dest) != entry.hash:
                reason = MODIFIED
            else:
                reason = None
            out = Output(site_path, dest, v.name, fmt, recipe, reason, line, a.rel)
            (stale if reason else ok).append(out)
        fresh.extend(ok)
        if stale:
            jobs.append(Job(a.rel, a.file, a.slug, a.master, master_hash, a.focus, tuple(stale)))
    return Plan(tuple(jobs), tuple(fresh), tuple(problems), tuple(failed), frozenset(referenced))
