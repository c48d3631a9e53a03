"""The front half build, check, status and preview share: config → articles → manifest.

Opening a session reads the config, finds the articles (narrowed by --only and --shard),
loads the manifest and picks the engine; it renders nothing and starts no thread (with no
stat cache, it asks git's index in a child process meanwhile: gitindex.Scan).
"""

from __future__ import annotations

import functools
import gc
import glob
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from . import manifest as manifest_mod
from .config import Config, load_config
from .discover import Article, front_matter_cache, nfc, read_all, unread_articles, unread_reason
from .engine import Engine
from .engines import check_name, get_engine
from .errors import ManifestError, UsageError
from .fmcache import FrontMatterCache
from .gather import gather
from .hashing import Hasher, cache_file
from .hints import master_names
from .journal import JOURNAL_NAME
from .manifest import Entry, Manifest
from .paths import printable
from .plan import Plan, Recipes, article_outputs, make_plan, output_folders
from .report import Problem, plural
from .shard import in_shard, parse_shard
from .walk import anchor, holds_no_file

T = TypeVar("T")


def uncollected(fn: Callable[..., T]) -> Callable[..., T]:
    """Run `fn` with the cyclic garbage collector paused. What a session reads and plans (a
    2,000-article site: several hundred thousand objects, no cycles worth collecting) lives until
    the run ends; collecting while it is being built cost a tenth of a fresh clone's check
    (BENCHMARKS.md). Plain reference counting still frees everything dropped meanwhile. Nested,
    only the outermost pauses, freezes and resumes (verify.check holds its session's). A frozen
    cycle is never collected: a process that runs session after session (watch) unfreezes and
    collects between them (`collect_between_runs`)."""

    @functools.wraps(fn)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.freeze()  # and out of the collector's sight for the rest of the run
            gc.enable()

    return paused


@dataclass
class Session:
    config: Config
    articles: list[Article]  # the ones to build (--only, --shard)
    manifest: Manifest
    hasher: Hasher
    engine_name: str
    engine_id: str
    engine: Engine
    said: FrontMatterCache  # what each article's front matter said (saved by build, like hasher)
    site: list[Article] | None = None  # every article: who else wants a path is asked site-wide
    matched: list[Article] = field(default_factory=list)  # every file `content` matches, drafts and pages too
    walked: list[str] = field(default_factory=list)  # the folders the content walk read (see walk.find_files)
    #: each master's and output's lstat, taken where the articles are read and the plan resolves
    #: outputs: a fresh clone's check stats 10,000 files once, not three times (the hasher's
    #: stat and the stamp's reuse it)
    lstats: dict[str, os.stat_result] = field(default_factory=dict)
    #: markdown files in the folders the content walk read that no glob took (discover.article_files)
    unread: list[str] = field(default_factory=list)

    def no_article(self) -> str:
        """Why nothing would be checked or built: `content` matches no file (a typo in the glob), or
        only drafts and pages without images (a new site: said so, not called a typo)."""
        if self.site:
            return ""
        if not self.matched:
            if self.nothing_yet:
                sources = Path(os.path.relpath(self.config.sources, self.config.root)).as_posix()
                return f"{', '.join(self.nothing_yet)} holds no article yet: add one, and its master in {sources}/"
            return f"`content` in {self.config.file} matches no article: fix the glob"
        drafts = sum(1 for a in self.matched if a.images and a.draft)
        pages = sum(1 for a in self.matched if not a.images)
        held = ([plural(drafts, "draft") + " (`--drafts` includes them)"] if drafts else []) + (
            [plural(pages, "page") + " without images"] if pages else []
        )
        return f"`content` in {self.config.file} matches no image article to build, only " + " and ".join(held)

    @functools.cached_property
    def nothing_yet(self) -> list[str]:
        """The folders `content` reads from (as `content/`), when none holds a file yet and one of
        them exists: a new site (init made content/), not a glob that misses its articles. Else empty."""
        root = str(self.config.root)
        folders = list(dict.fromkeys(anchor(g) for g in self.config.content))
        if self.matched or "" in folders or not all(map(glob.has_magic, self.config.content)):
            return []  # a plain path that names no file is a path to fix
        paths = [os.path.join(root, f) for f in folders]
        if not any(os.path.isdir(p) for p in paths) or not all(holds_no_file(p) or not os.path.exists(p) for p in paths):
            return []
        return [f.replace(os.sep, "/") + "/" for f, p in zip(folders, paths) if os.path.isdir(p)]

    @uncollected
    def plan(self, force: bool = False) -> Plan:
        """Read what the plan needs from the disk, then plan (make_plan itself reads nothing)."""
        entries = self.manifest.entries.values()  # what a clean git checkout may vouch for (gitindex.py)
        self.hasher.vouched = {e.master_git: (e.master_hash, None) for e in entries if e.master_git}
        self.hasher.vouched.update((e.git, (e.hash, e.bytes)) for e in entries if e.git)
        self.hasher.git_root = str(self.config.root)
        self.hasher.lstats = self.lstats
        recipes = Recipes(self.engine_id, self.config.variants)  # shared: each article's outputs are worked out once
        try:
            facts = gather(
                self.config,
                self.articles,
                self.manifest,
                self.hasher,
                self.engine_id,
                force,
                self.measure,
                self.site,
                self.hasher.prefetch,
                recipes,
                self.lstats,
                self.matched,
            )
        finally:
            self.hasher.close()
        return make_plan(self.config, self.articles, self.manifest, facts, self.engine_id, force, self.site, recipes)

    def read_paths(self, plan: Plan) -> list[str | Path]:
        """Every file and folder whose bytes or listing this session's answer was drawn from (stamp.py)."""
        c = self.config
        paths: list[str | Path] = [c.root, c.public, c.sources, c.manifest, c.root / JOURNAL_NAME, *self.walked]
        paths += [c.data] if c.data is not None else []
        paths += [a.file for a in self.matched]
        for a in self.site or ():
            paths += [a.master] if a.master is not None else []
            paths += [m for _name, m in a.masters]
        paths += [o.dest for o in plan.fresh] + [o.dest for o in plan.stale]
        paths += sorted(output_folders(c, plan.referenced | self.draft_paths))  # the folders check lists
        return paths

    @functools.cached_property
    def draft_paths(self) -> frozenset[str]:
        """The site paths drafts name: `check` calls their files no orphans, as `prune` keeps
        them (a draft's outputs wait for the day it is published), and so lists their folders."""
        found: set[str] = set()
        for a in self.matched:
            if a.images and a.draft:
                found.update(site_path for _v, site_path, _fmt, _line in article_outputs(a, self.config)[0])
        return frozenset(found)

    def writers_moved(self, plan: Plan) -> dict[str, Entry]:
        """The manifest entries to record under another article: up-to-date outputs whose recorded
        article is gone or no longer names them (an article moved or renamed, a bundle's index.md
        now index.en.md), under the article that writes them now: who keeps a contested path is
        decided by the recorded article (ownership.py). Nothing is rendered again. An article
        that still names its output, a draft waiting to be published say, keeps it."""
        candidates = []
        for o in plan.fresh:
            entry = self.manifest.entries.get(o.site_path)
            writer = o.owner or o.article
            if entry is not None and entry.article != writer:
                candidates.append((o.site_path, entry, writer))
        if not candidates:
            return {}
        recorded = {entry.article for _site, entry, _writer in candidates}
        names = {
            a.rel: {site for _v, site, _fmt, _line in article_outputs(a, self.config)[0]}
            for a in self.matched
            if a.rel in recorded
        }
        return {site: replace(e, article=writer) for site, e, writer in candidates if site not in names.get(e.article, ())}

    @functools.cached_property
    def unread_articles(self) -> list[Article]:
        """Image articles no `content` glob matches (discover.unread_articles): prune keeps what
        the manifest records for them, check and build name the ones that are not drafts."""
        return unread_articles(self.config, self.unread)

    def unused_masters(self) -> tuple[str, ...]:
        """The masters' folder's files no article uses, as `sources/name` from the root: status and
        the preview list them (a misnamed master, a Finder copy). An unread article's master is
        named with that article instead."""
        unread = [a for a in self.unread_articles if not a.draft]
        used = {os.path.realpath(a.master) for a in [*self.articles, *unread] if a.master is not None}
        used |= {os.path.realpath(m) for a in self.articles for _, m in a.masters}  # art direction
        # a master its article found but refused (a broken link, two for one slug): named in its error
        refused = {nfc(a.slug) for a in [*self.articles, *unread] if a.master is None and a.errors}
        sources = self.config.sources
        folder = os.path.relpath(sources, self.config.root)
        return tuple(
            f"{folder}/{printable(n)}"
            for n in master_names(sources)
            if os.path.realpath(sources / n) not in used and nfc(os.path.splitext(n)[0]) not in refused
        )

    def unread_problems(self, error: bool) -> list[Problem]:
        """A line for each unread article that is no draft: check's error, build's warning (its page
        shows no image)."""
        return [Problem(a.rel, unread_reason(self.config, a), a.rel, error=error) for a in self.unread_articles if not a.draft]

    def measure(self, master: Path) -> tuple[int, int] | None:
        """A master's upright size from its header (None when it can't be read: render says why)."""
        try:
            probe = self.engine.probe(str(master))
        except Exception:  # a bad master fails its article in render, with the reason
            return None
        return (probe.width, probe.height)


def collect_between_runs() -> None:
    """What the last runs froze (uncollected) is collectable again, and what of it is cyclic
    garbage is collected now: a long-running watch between two builds, where the time is idle."""
    gc.unfreeze()
    gc.collect()


@uncollected
def open_session(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    engine: str | None = None,
    only: tuple[str, ...] = (),
    shard: str | None = None,
    use_cache: bool = True,
    threads: int | None = None,
    read_manifest: bool = True,
    drafts: bool = False,
    keep_front_matter: bool = False,
    early: Callable[[Config], object] | None = None,
) -> Session:
    """`early(config)` is called once the config is read, before the articles are: work to
    start in a child process meanwhile (check's header reads: sniff.Ahead)."""
    cfg = load_config(root, config)
    shard_t = parse_shard(shard)
    hasher = Hasher(cache_file(cfg.root) if use_cache else None)
    try:
        hasher.expect_git(cfg.root)  # on a fresh clone, git answers while the articles are read
        if early is not None:
            early(cfg)
        check_name(engine)  # the engine is made while a copy of this process reads articles, if one does
        said = front_matter_cache(cfg, cache_file(cfg.root, "fm") if use_cache else None, keep_front_matter)
        walked: list[str] = []
        lstats: dict[str, os.stat_result] = {}
        public = manifest_mod.web_root(cfg.root, cfg.public)
        loaded: list[Manifest | ManifestError] = []
        made: list[Engine] = []

        def meanwhile() -> None:  # while a copy of this process reads articles (discover.read_all)
            made.append(get_engine(engine, threads=threads))  # importing pyvips: 20-30 ms
            if not read_manifest:
                loaded.append(Manifest(cfg.manifest, public=public))
                return
            try:
                loaded.append(manifest_mod.load(cfg.manifest, os.path.relpath(cfg.manifest, cfg.root), public=public))
            except ManifestError as exc:  # raised below, after --only's slugs are checked, as before
                loaded.append(exc)

        unread: list[str] = []
        matched = read_all(cfg, said, walked, lstats, meanwhile, unread)
        articles = site = [a for a in matched if a.images and (drafts or not a.draft)]
        if only:  # slugs compared as Unicode text, as masters are: a file macOS named in NFD is café typed in NFC
            known = {nfc(a.slug) for a in articles}
            unknown = [s for s in only if nfc(s) not in known]
            if unknown:
                raise UsageError("--only", _not_found(unknown, matched))
            wanted = {nfc(s) for s in only}
            articles = [a for a in articles if nfc(a.slug) in wanted]
        articles = [a for a in articles if in_shard(a.rel, shard_t)]
        man, eng = loaded[0], made[0]
        if isinstance(man, ManifestError):
            raise man
    except BaseException:  # an error or Ctrl-C: git's child is stopped and reaped, not left to the system
        hasher.close()
        raise
    return Session(
        cfg,
        articles,
        man,
        hasher,
        engine or "auto",
        f"{eng.name} {eng.version}",
        eng,
        said,
        site,
        matched,
        walked,
        lstats,
        unread,
    )


def _not_found(unknown: list[str], matched: list[Article]) -> str:
    """Why --only's slugs match nothing: a draft is named as one (the article exists, --drafts
    builds it), not called a slug no article has."""
    drafts = {nfc(a.slug) for a in matched if a.images and a.draft}
    held = [s for s in unknown if nfc(s) in drafts]
    missing = [s for s in unknown if nfc(s) not in drafts]
    why = [f"no article has the slug {', '.join(missing)}"] if missing else []
    if held:
        are, it = ("is a draft", "it") if len(held) == 1 else ("are drafts", "them")
        why.append(f"{', '.join(held)} {are}: add --drafts to build {it}")
    return "; ".join(why)
