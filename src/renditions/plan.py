"""Articles × config × manifest × facts → what to render, what is fresh, and what is wrong.

The plan is plain data: `--dry-run` prints it and tests inspect it without a pixel. It is
pure: what it needs from the disk (output paths checked, digests, master hints) is read
before it by gather.py and passed in as Facts, so tests/test_plan.py needs no files.
Each output carries its variant's settings resolved once (Crop, format, encoder options),
so render and the workers never look at the config.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import Config, Variant, format_for
from .discover import Article
from .formats import OUTPUT_EXT, master_choices
from .geometry import GRAVITY, SMART_POSITIONS, TooSmall, plan_geometry
from .manifest import Entry, Manifest
from .ownership import Claim, Verdict, contested, held, path_key, resolve
from .paths import relative
from .records import quick_init
from .report import OutputResult, Problem

#: Bumped when renditions changes how it renders, so that every output is re-rendered.
#: 2: each output decoded at a scale of its own (its bytes no longer depend on its siblings).
#: 3: variants share the master's decode at 1600 px or more (render.SHARED_DECODE_SIDE).
#: 4: the shared decode keeps the long side at 2400 px or more (one decode for most masters); WebP at its exact scale.
#: 5: a master with alpha reduced while loading is resized premultiplied (no colour bleeds from under transparency).
RENDER_VERSION = 5
#: Bumped per output format when renditions changes how it writes that format: those outputs alone
#: are written again. png 2: an alpha band that is 255 everywhere is left out (pngenc.py).
WRITER_VERSION = {"png": 2}

EXT = OUTPUT_EXT  # output extension per format, from the formats table

MISSING = "missing"
MASTER_CHANGED = "master changed"
RECIPE_CHANGED = "recipe changed"
ENGINE_CHANGED = "engine changed"  # the output was made by another engine or version than this run's
FOCUS_CHANGED = "focus changed"  # the article's focus point was set for the variant (else RECIPE_CHANGED)
MODIFIED = "output modified"
FORCED = "forced"
NOT_OURS = "not written by renditions"  # a file is there and the manifest doesn't record it
#: The manifest recorded another web root (manifest.load dropped its entries).
MOVED = (
    "records outputs written under {old}/, but the web root is now {new}/: a file under {new}/ counts as "
    "renditions' own only where its bytes are the ones renditions makes ({old}/ is left as it is)"
)


@dataclass(frozen=True)
class Crop:
    """One variant's pixel settings for one article, resolved from the config and the front matter."""

    variant: str
    width: int
    height: int
    fit: str
    position: str  # "centre" when `focus` is set: the focus point beats the position
    focus: tuple[float, float] | None
    background: tuple[int, int, int]
    upscale: bool
    #: bigger sizes of the config's variants with the same crop, biggest first: these pixels are
    #: resized from the first one this master serves (render.derivations); empty: cut from the master
    source: tuple[tuple[int, int], ...] = ()


def aim(variant: Variant, article: Article) -> tuple[str, tuple[float, float] | None]:
    """(position, focus point) of a variant's crop: the article's front-matter focus beats the
    variant's position (smart crops included), so with a focus point the position is unused."""
    point = article.focus_for(variant.name)
    return (variant.position if point is None else "centre"), point


def crop_for(variant: Variant, article: Article, source: tuple[tuple[int, int], ...] = ()) -> Crop:
    position, point = aim(variant, article)
    return Crop(
        variant.name, variant.width, variant.height, variant.fit, position, point, variant.background, variant.upscale, source
    )


def sources(variants: Sequence[Variant]) -> dict[tuple[str, int], tuple[tuple[int, int], ...]]:
    """Per size (variant name, width; extra widths included), the bigger sizes of the config's
    variants with the same crop, biggest first: the same aspect ratio exactly, fit, position,
    background and upscale. Resizing a variant's pixels costs a fraction of resizing the decoded
    master again (BENCHMARKS.md). A function of the config alone: the smaller output is cut
    the same way whatever an article says of other variants (a focus point, a master of their
    own: the bigger crop is then cut for it alone) and whatever `widths` and `densities` add."""
    found = {}
    bigger = [v for v in variants if v.position not in SMART_POSITIONS]  # a smart crop is decided by the pixels
    for v in variants:
        for s in (v, *(at_width(v, w) for w in extra_widths(v))):
            same = {
                (u.width, u.height)
                for u in bigger
                if u.width > s.width
                and u.width * s.height == s.width * u.height
                and (u.fit, u.position, u.background, u.upscale) == (s.fit, s.position, s.background, s.upscale)
            }
            found[(s.name, s.width)] = tuple(sorted(same, reverse=True))
    return found


@quick_init  # built by the thousand (records.py)
@dataclass(frozen=True)
class Output:
    site_path: str
    dest: str  # the file, as text: a big site's plan holds thousands
    variant: str
    format: str
    recipe: str
    reason: str | None  # None: up to date
    crop: Crop
    options: tuple[tuple[str, Any], ...]  # the encoder's settings for `format`
    line: int | None = None
    article: str = ""
    # art direction: the variant's own master (`masters:` in front matter); None = the job's master
    master: Path | None = None
    master_hash: str | None = None
    master_shown: str | None = None
    recorded: str | None = None  # the hash the manifest records for the file at dest (None: not recorded)
    force: bool = False  # replace the file at dest even if it was changed since renditions wrote it
    owner: str = ""  # the article recorded as writing it, when articles share it (else `article`)


@dataclass(frozen=True)
class Job:
    """One article to render: its master, and every output of it that is stale."""

    article: str
    file: Path
    slug: str
    master: Path
    master_hash: str
    outputs: tuple[Output, ...]
    shown: str  # the master as the designer names it (relative to the site root)


@dataclass(frozen=True)
class Unbuilt:
    """An output of an article the plan fails (no master, a master unread, a bad front matter):
    reports list it, so a script reading outputs sees every image the page names."""

    site_path: str
    dest: str
    variant: str
    format: str
    article: str


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    fresh: tuple[Output, ...]
    problems: tuple[Problem, ...]
    failed_articles: tuple[str, ...]
    referenced: frozenset[str]  # every site path some article names
    unbuilt: tuple[Unbuilt, ...] = ()

    @property
    def stale(self) -> tuple[Output, ...]:
        return tuple(o for j in self.jobs for o in j.outputs)


@dataclass(frozen=True)
class Facts:
    """What the plan needs from the disk, read before it (gather.gather) so make_plan reads nothing."""

    dests: Mapping[str, str]  # site path → its file (as text)
    masters: Mapping[Path, str | None]  # master → its digest (None: unreadable), when it was needed
    present: frozenset[str] = frozenset()  # site paths with a manifest entry whose file exists
    outputs: Mapping[str, str | None] = field(default_factory=dict)  # site path → digest of its file, when needed
    hints: Mapping[str, str] = field(default_factory=dict)  # slug → "did you mean" for a missing master
    sizes: Mapping[Path, tuple[int, int]] = field(default_factory=dict)  # master → upright size, when an extra width needs it
    taken: frozenset[str] = frozenset()  # site paths the manifest doesn't record whose file exists
    unplaced: Mapping[str, str] = field(default_factory=dict)  # site path → why no output can go there


def recipe_hash(crop: Crop, fmt: str, options: tuple[tuple[str, Any], ...], engine: str) -> str:
    """Hash of every setting that changes an output's pixels or bytes."""
    doc = {
        "v": RENDER_VERSION,
        "engine": engine,
        "size": [crop.width, crop.height],
        "fit": crop.fit,
        "position": crop.position if crop.focus is None else None,
        "focus": crop.focus,
        "background": list(crop.background),
        "upscale": crop.upscale,
        "format": fmt,
        "encoder": [list(kv) for kv in options],
    }
    if crop.source:  # only then: every other recipe keeps its hash
        doc["from"] = [list(size) for size in crop.source]
    if fmt in WRITER_VERSION:
        doc["writer"] = WRITER_VERSION[fmt]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def sibling_path(site_path: str, fmt: str) -> str:
    return os.path.splitext(site_path)[0] + EXT[fmt]


#: How an extra width's file is named, beside the front-matter path: /img/x.png → /img/x-480w.png.
WIDTH_TEMPLATE = "{stem}-{width}w{ext}"


def width_path(site_path: str, width: int) -> str:
    stem, ext = os.path.splitext(site_path)
    return WIDTH_TEMPLATE.format(stem=stem, width=width, ext=ext)


def half_up(x: float) -> int:
    """Rounding as a designer expects it (112.5 → 113), not Python's to-even."""
    return int(x + 0.5)


def extra_widths(v: Variant) -> tuple[int, ...]:
    """The widths a variant asks for beside its own: `widths`, and round(d × width) per density."""
    if not v.widths and not v.densities:
        return ()  # most variants: asked for every output of every article
    wanted = set(v.widths) | {half_up(d * v.width) for d in v.densities}
    return tuple(sorted(w for w in wanted if w != v.width and 0 < w <= 65535))


def at_width(v: Variant, width: int) -> Variant:
    """The variant scaled to another width, same aspect ratio, fit and crop (an extra width's recipe)."""
    return replace(v, width=width, height=max(1, half_up(width * v.height / v.width)), widths=(), densities=())


def is_extra(v: Variant, config: Config) -> bool:
    return v.width != config.variant(v.name).width


def article_outputs(article: Article, config: Config) -> tuple[list[tuple], list[Problem]]:
    """(variant, site_path, format, line) for every output of an article, and path problems."""
    outs, problems = [], []
    for target in article.targets:
        v = config.variant(target.variant)
        if target.error or target.site_path is None:
            problems.append(Problem(article.rel, target.error or "no path", article.rel, target.line))
            continue
        fmt = format_for(target.site_path)
        if fmt is None:
            problems.append(
                Problem(
                    article.rel,
                    f"{v.key}: {target.site_path} has no image extension renditions writes ({', '.join(EXT.values())})",
                    article.rel,
                    target.line,
                )
            )
            continue
        outs.append((v, target.site_path, fmt, target.line))
        for extra in v.also:
            if extra != fmt:
                outs.append((v, sibling_path(target.site_path, extra), extra, target.line))
        for w in extra_widths(v):
            vw, path = at_width(v, w), width_path(target.site_path, w)
            outs.append((vw, path, fmt, target.line))
            for extra in v.also:
                if extra != fmt:
                    outs.append((vw, sibling_path(path, extra), extra, target.line))
    return outs, problems


class Recipes:
    """Each output's crop, encoder settings and recipe, memoised: thousands of outputs share a few.
    Each article's outputs too: gather, the site's claims and the plan all ask for them."""

    def __init__(self, engine: str, variants: Sequence[Variant]):
        self.engine = engine
        self.sources = sources(variants)
        self.memo: dict = {}
        self.outs: dict[int, tuple[Article, tuple[list[tuple], list[Problem]]]] = {}

    def outputs(self, article: Article, config: Config) -> tuple[list[tuple], list[Problem]]:
        """article_outputs(article, config), once per article (by identity: the memo holds the
        article, so its id is not reused; an article replaced by another is asked afresh)."""
        hit = self.outs.get(id(article))
        if hit is None:
            hit = self.outs[id(article)] = (article, article_outputs(article, config))
        return hit[1]

    def resolve(self, v: Variant, article: Article, fmt: str) -> tuple[Crop, tuple[tuple[str, Any], ...], str]:
        key = (v.name, v.width, article.focus, fmt)  # most articles have no focus: a cheap key
        found = self.memo.get(key)
        if found is None:
            crop, options = crop_for(v, article, self.sources.get((v.name, v.width), ())), v.encoder(fmt).options
            found = self.memo[key] = (crop, options, recipe_hash(crop, fmt, options, self.engine))
        return found

    def changed(self, entry: Entry, v: Variant, article: Article, fmt: str) -> str:
        """Why an output's recipe differs from the one its entry records, as far as the entry tells:
        the engine (it names the one that made the output); the focus, when the entry's recipe is
        what the variant gives with no focus and the article now has one; else the variant's
        settings (a moved focus looks the same: the entry keeps only the recipe's hash)."""
        if entry.engine != self.engine:
            return ENGINE_CHANGED
        if article.focus_for(v.name) is not None and entry.recipe == self.resolve(v, _UNFOCUSED, fmt)[2]:
            return FOCUS_CHANGED
        return RECIPE_CHANGED


#: Any article without a focus point: what Recipes.changed compares an output's record with.
_UNFOCUSED = Article(Path(), "", "")


def serves(v: Variant, article: Article, size: tuple[int, int] | None) -> bool:
    """Whether a master of `size` serves variant `v` without enlarging (or enlarging is allowed)."""
    if size is None or v.upscale:
        return True
    crop = crop_for(v, article)
    try:
        plan_geometry(crop.fit, size, (crop.width, crop.height), GRAVITY.get(crop.position, (0.5, 0.5)), crop.focus, False)
    except TooSmall:
        return False
    return True


def site_claims(
    config: Config, site: list[Article], recipes: Recipes, masters: Mapping[Path, str | None], every: bool = True
) -> list[Claim]:
    """Every output path every article of the site asks for (an unparsable article asks for none);
    unless `every`, only the claims on a path (as ownership.path_key sees it) asked for more than
    once: all that `contested` groups, without a record for each of a big site's 8,000 outputs."""
    asked = [(a, recipes.outputs(a, config)[0]) for a in site if not a.errors]
    again: set[str] | None = None
    if not every:
        seen: set[str] = set()
        again = set()
        for _a, outs in asked:
            for _v, site_path, _fmt, _line in outs:
                key = path_key(site_path)
                if key in seen:
                    again.add(key)
                seen.add(key)
        if not again:
            return []
    claims = []
    for a, outs in asked:
        for v, site_path, fmt, line in outs:
            if again is not None and path_key(site_path) not in again:
                continue
            own = a.master_for(v.name)  # art direction: the variant's own master is what it is cut from
            shown = relative(own, config.root) if own is not None else ""
            digest = masters.get(own) if own is not None else None
            claims.append(Claim(a.rel, site_path, v.key, v.name, line, shown, digest, recipes.resolve(v, a, fmt)[2], a.slug))
    return claims


def output_folders(config: Config, referenced: frozenset[str]) -> set[Path]:
    """The folders outputs go into: check looks there for orphans."""
    # a site path is clean (/img/x.png): its folder is what comes before its last slash
    folders = {config.public.joinpath(*d.split("/")[1:]) for d in {p[: p.rfind("/")] for p in referenced}}
    folders |= {config.public.joinpath(*os.path.dirname(v.path).split("/")[1:]) for v in config.variants}
    return folders


def up_to_date_so_far(entry: Entry, master_hash: str | None, recipe: str) -> bool:
    """Whether only the output's own bytes are left to compare: gather hashes just those outputs."""
    return entry.master_hash == master_hash and entry.recipe == recipe


def make_plan(
    config: Config,
    articles: list[Article],
    manifest: Manifest,
    facts: Facts,
    engine: str,
    force: bool = False,
    site: list[Article] | None = None,
    recipes: Recipes | None = None,
) -> Plan:
    """Pure: reads nothing but its arguments (the disk was read into `facts` before).

    `articles` are the ones to build; `site` is every article (default: the same), so that
    two articles asking for one path are found whichever of them --only or --shard picks."""
    jobs, fresh, problems, failed = [], [], [], []
    referenced: set[str] = set()
    recipes = Recipes(engine, config.variants) if recipes is None else recipes
    everyone = articles if site is None else site
    broken = {a.rel for a in everyone if a.errors}
    claims = site_claims(config, everyone, recipes, facts.masters, every=bool(broken))  # held() reads them all
    verdict = resolve(contested(claims), manifest)
    verdict = Verdict({**held(claims, manifest, broken), **verdict.refused}, verdict.shared)
    if manifest.moved_from is not None:
        new = relative(config.public, config.root)
        shown = relative(config.manifest, config.root)
        problems.append(Problem(shown, MOVED.format(old=manifest.moved_from, new=new), error=False))
    per_article = []
    for a in articles:
        for w in a.warnings:
            problems.append(Problem(a.rel, w, a.rel, None, error=False))
        outs, path_problems = recipes.outputs(a, config)
        resolved, bad = [], list(path_problems)
        skipped: set[tuple[str, int]] = set()
        for v, site_path, fmt, line in outs:
            master = a.master_for(v.name)
            size = facts.sizes.get(master) if master is not None else None
            if is_extra(v, config) and not serves(v, a, size):
                if (v.name, v.width) not in skipped:  # once per width, not per `also:` sibling
                    skipped.add((v.name, v.width))
                    assert size is not None
                    problems.append(
                        Problem(
                            a.rel,
                            f"{v.key}: {site_path} skipped: the master ({size[0]}×{size[1]}) is too small for "
                            f"{v.width}×{v.height} (set upscale: true to enlarge)",
                            a.rel,
                            line,
                            error=False,
                        )
                    )
                continue
            referenced.add(site_path)
            why = facts.unplaced.get(site_path)
            if why is not None:
                bad.append(Problem(a.rel, f"{v.key}: {site_path}: {why}", a.rel, line))
                continue
            dest = facts.dests[site_path]
            refused = verdict.refused.get((a.rel, site_path, v.name))
            if refused is not None:
                bad.append(Problem(a.rel, refused, a.rel, line))
                continue
            resolved.append((v, site_path, fmt, line, dest))
        per_article.append((a, resolved, bad))

    rendering: set[str] = set()  # stale site paths some job already renders
    unbuilt: list[Unbuilt] = []
    for a, resolved, bad in per_article:
        errors = [Problem(a.rel, e, a.rel, a.error_line) for e in a.errors] + bad
        if not errors and a.master is None:
            src = os.path.relpath(config.sources, config.root)
            hint = facts.hints.get(a.slug, "")
            errors.append(Problem(a.rel, f"no master: add {master_choices(f'{src}/{a.slug}')}{hint}", a.rel))
        master_hash = facts.masters.get(a.master) if a.master is not None and not errors else None
        if a.master is not None and not errors and master_hash is None:
            errors.append(Problem(a.rel, f"cannot read master {os.path.relpath(a.master, config.root)}", a.rel))
        if not errors:
            for name, path in a.masters:
                if facts.masters.get(path) is None:
                    errors.append(
                        Problem(a.rel, f"masters.{name}: cannot read master {os.path.relpath(path, config.root)}", a.rel)
                    )
        if errors:
            problems.extend(errors)
            failed.append(a.rel)
            unbuilt.extend(Unbuilt(site_path, dest, v.name, fmt, a.rel) for v, site_path, fmt, _line, dest in resolved)
            continue
        stale: list[Output] = []
        ok: list[Output] = []
        for v, site_path, fmt, line, dest in resolved:
            crop, options, recipe = recipes.resolve(v, a, fmt)
            entry = manifest.entries.get(site_path)
            own = a.master_for(v.name)
            own = None if own is a.master or own == a.master else own  # `is`: most outputs, no Path comparison
            own_hash = facts.masters.get(own) if own is not None else master_hash
            if force:
                reason = FORCED
            elif entry is None and site_path in facts.taken:
                reason = NOT_OURS
            elif entry is None or site_path not in facts.present:
                reason = MISSING
            elif entry.master_hash != own_hash:
                reason = MASTER_CHANGED
            elif entry.recipe != recipe:
                reason = recipes.changed(entry, v, a, fmt)
            elif facts.outputs.get(site_path) != entry.hash:
                reason = MODIFIED
            else:
                reason = None
            out = Output(
                site_path,
                dest,
                v.name,
                fmt,
                recipe,
                reason,
                crop,
                options,
                line,
                a.rel,
                recorded=entry.hash if entry is not None else None,
                force=force,
                owner=verdict.shared.get(site_path, ""),
            )
            if own is not None:
                out = replace(out, master=own, master_hash=own_hash, master_shown=relative(own, config.root))
            if reason and site_path in verdict.shared and site_path in rendering:
                continue  # another article renders the same bytes to it in this run
            (stale if reason else ok).append(out)
            if reason:
                rendering.add(site_path)
        fresh.extend(ok)
        if stale:
            assert a.master is not None and master_hash is not None
            shown = relative(a.master, config.root)
            jobs.append(Job(a.rel, a.file, a.slug, a.master, master_hash, tuple(stale), shown))
    return Plan(tuple(jobs), tuple(fresh), tuple(problems), tuple(failed), frozenset(referenced), tuple(unbuilt))


def unbuilt_results(plan: Plan, status: str, exists: Callable[[str], bool]) -> list[OutputResult]:
    """A row for each output of an article the plan fails, one per site path, none for a path
    another row lists: `failed` in build's report; in check's, `stale` (reason `missing` when
    no file is there), as check calls any output a build has yet to bring up to date."""
    if not plan.unbuilt:
        return []
    listed = {o.site_path for o in plan.fresh} | {o.site_path for o in plan.stale}
    rows = []
    for u in plan.unbuilt:
        if u.site_path in listed:
            continue
        listed.add(u.site_path)
        reason = None if exists(u.dest) else MISSING
        rows.append(OutputResult(u.site_path, u.article, u.variant, status, reason, format=u.format))
    return rows


def fresh_results(outputs: Sequence[Output], man: Manifest) -> list[OutputResult]:
    """fresh_result of each, one row per site path: translations that share an output list it
    once, as the build that writes it does, so a script counting outputs counts files."""
    first = {o.site_path: o for o in reversed(outputs)}  # reversed: the first of each path is kept
    return [fresh_result(o, man) for o in outputs if first[o.site_path] is o]


def fresh_result(o: Output, man: Manifest) -> OutputResult:
    """An up-to-date output as reports show it, with what the manifest knows of it."""
    e = man.entries.get(o.site_path)
    return OutputResult(
        o.site_path,
        o.article,
        o.variant,
        "up to date",
        None,
        e.bytes if e else None,
        e.width if e else None,
        e.height if e else None,
        o.format,
        e.colour if e else None,
        e.placeholder if e else None,
    )
