"""`renditions watch`: rebuild what a change affects, as soon as the designer saves it.

A master → the article that uses it (or whose slug its name matches, for a new one); an
article → that article; the config → everything. Changes are debounced by watchfiles (a
Rust-backed watcher using the OS's file events), builds go through pipeline.build with
`only=`, errors are printed and watching goes on.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifest_mod
from . import pipeline
from .config import Config, load_config
from .discover import Article, discover, master_index, nfc, read_article
from .errors import INTERRUPTED, RenditionsError
from .formats import MASTER_EXTS
from .hints import near_masters
from .ownership import path_key
from .paths import config_file, printable
from .plan import article_outputs
from .report import Report, plural
from .session import collect_between_runs
from .walk import anchor, passed_by
from .write import TMP_SUFFIX

#: Changes closer together than this (ms) are built as one batch.
STEP_MS = 100
#: How often (ms) the watcher wakes when nothing happens; the first wake says it is ready.
TICK_MS = 300

Echo = Callable[..., None]


@dataclass(frozen=True)
class Targets:
    """What one batch of changes asks to rebuild."""

    everything: bool = False
    slugs: frozenset[str] = frozenset()
    why: tuple[str, ...] = ()  # the changed files, relative to the site root
    notes: tuple[str, ...] = ()  # changes that rebuild nothing, and why
    removed: tuple[str, ...] = ()  # article files gone, relative to the site root (see left_behind)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.slugs


def content_base(cfg: Config) -> Path:
    """The folder every content glob starts from (their common part before the first wildcard)."""
    bases = [os.fspath(cfg.root.joinpath(anchor(pattern.replace("\\", "/")))) for pattern in cfg.content]
    return Path(os.path.commonpath(bases)) if bases else cfg.root


def watched_paths(cfg: Config, config: Path) -> list[Path]:
    """The config's folder, the masters' folder and the content folder, outermost only."""
    found = []
    for p in (config.parent, cfg.sources, content_base(cfg)):
        p = Path(os.path.abspath(p))
        if p.is_dir() and p not in found:
            found.append(p)
    return [p for p in found if not any(q != p and q in p.parents for q in found)]


def _rel(path: str, root: Path) -> str:
    """relpath's answer for a path under root, without its cost (it runs once per changed file)."""
    base = os.path.abspath(root) + os.sep
    return path[len(base) :] if path.startswith(base) else os.path.relpath(path, root)


def kind_of(cfg: Config, config: Path, path: str) -> str | None:
    """ "config", "master", "article" or None (ignored) for a changed path (string work only:
    it runs for every file of a batch, twice)."""
    p = os.path.abspath(path)
    if p.endswith(TMP_SUFFIX):
        return None
    if p == os.fspath(config):
        return "config"
    public = os.path.abspath(cfg.public)
    if p == os.path.abspath(cfg.manifest) or p == public or p.startswith(public + os.sep):
        return None
    folder, name = os.path.split(p)
    if folder == os.path.abspath(cfg.sources) and os.path.splitext(name)[1].lower() in MASTER_EXTS:
        return "master"
    rel = _rel(p, cfg.root).replace(os.sep, "/")
    if passed_by(rel) or any(fnmatch.fnmatch(rel, g.replace("\\", "/")) for g in cfg.exclude):
        return None  # the content walk never lists it (an editor's lock file, say): not an article
    for pattern in (g.replace("\\", "/") for g in cfg.content):
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern.replace("**/", "")):
            return "article"
    return None


def affected(cfg: Config, config: Path, articles: list[Article], paths: set[str]) -> Targets:
    """Which slugs a set of changed paths asks to rebuild (articles as discovered after the change).

    Linear in paths + articles: the articles are indexed once, by file, slug and master (a
    batch of 2,000 new files used to compare each with every article: seconds of work)."""
    by_file: dict[str, set[str]] = {}
    by_master: dict[str, set[str]] = {}
    for a in articles:
        by_file.setdefault(os.path.abspath(a.file), set()).add(a.slug)
        by_master.setdefault(nfc(a.slug), set()).add(a.slug)
        for m in (a.master, *(m for _, m in a.masters)):  # its own master, and art direction's
            if m is not None:
                by_master.setdefault(os.path.abspath(m), set()).add(a.slug)
    slugs: set[str] = set()
    why, notes, removed = [], [], []
    everything = False
    for path in sorted(paths):
        kind = kind_of(cfg, config, path)
        if kind is None:
            continue
        p = os.path.abspath(path)
        rel = printable(_rel(p, cfg.root))
        why.append(rel)
        if kind == "config":
            everything = True
        elif kind == "master":
            stem = Path(p).stem
            hit = by_master.get(nfc(stem), set()) | by_master.get(p, set())
            if not hit and os.path.exists(p):
                notes.append(f"{rel}: no article has the slug {stem!r}, so nothing uses this master{_near_slug(stem, articles)}")
            slugs |= hit
        else:
            hit = by_file.get(p, set())
            if not hit and not os.path.lexists(p):  # there, but no image article: a page, nothing to say
                removed.append(_rel(p, cfg.root).replace(os.sep, "/"))
            slugs |= hit
    return Targets(everything, frozenset(slugs), tuple(why), tuple(notes), tuple(removed))


def left_behind(cfg: Config, removed: tuple[str, ...], articles: list[Article]) -> list[str]:
    """A note for each removed article whose recorded outputs no article names any more: those
    wait for `renditions prune`. An article renamed or moved (a.md → a/index.md), or whose
    outputs another article names, leaves nothing behind and gets no note; nor does one never
    built. `articles`: those read for this batch (a moved one's new file is among them); the
    whole site is read only when they don't name everything."""
    if not removed:
        return []
    try:
        man = manifest_mod.load(cfg.manifest, os.path.relpath(cfg.manifest, cfg.root))
    except RenditionsError:  # a manifest build will complain about: say what was said before
        return [f"{printable(r)}: removed; its outputs stay until `renditions prune`" for r in removed]
    recorded: dict[str, list[str]] = {}
    for site_path, entry in man.entries.items():
        if entry.article in removed:
            recorded.setdefault(entry.article, []).append(site_path)
    if not recorded:
        return []

    def named(among: list[Article]) -> set[str]:
        return {path_key(site) for a in among for _v, site, _f, _l in article_outputs(a, cfg)[0]}

    wanted = named(articles)
    if any(path_key(p) not in wanted for paths in recorded.values() for p in paths):
        wanted |= named(discover(cfg, drafts=True))  # a draft's outputs wait for it too (prune keeps them)
    notes = []
    for rel, paths in sorted(recorded.items()):
        left = [p for p in paths if path_key(p) not in wanted]
        if left:
            notes.append(
                f"{printable(rel)}: removed; it leaves {plural(len(left), 'output')} no article names, until `renditions prune`"
            )
    return notes


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def run_build(root, config, slugs: frozenset[str] | None, engine: str | None, jobs: int | None, echo: Echo) -> Report | None:
    """One build; every problem is printed and none stops the watcher."""
    collect_between_runs()  # the last build's cyclic leftovers, frozen by it, go now
    try:
        report = pipeline.build(
            root, config, only=tuple(sorted(slugs or ())), engine=engine, jobs=jobs, wait_lock=True, drafts=True
        )
    except (RenditionsError, OSError) as exc:
        error = exc if isinstance(exc, RenditionsError) else RenditionsError.from_os_error(exc)
        for line in error.message.splitlines():
            echo(f"error: {line}", err=True)
        return None
    except KeyboardInterrupt:  # Ctrl-C mid-build: say what it leaves, then stop watching
        echo(f"{_stamp()} build {INTERRUPTED['']}", err=True)
        raise
    for p in report.problems:
        echo(("error: " if p.error else "warning: ") + str(p), err=True)
    for n in report.notes:
        echo(f"note: {n}", err=True)
    echo(f"{_stamp()} {report.summary()}")
    return report


def run_preview(root, config, engine: str | None, echo: Echo, first: bool = False) -> None:
    """Rewrite the live preview page; a problem is printed and watching goes on."""
    from .preview import preview

    try:
        result = preview(root, config, engine=engine, live=True)
    except (RenditionsError, OSError) as exc:
        error = exc if isinstance(exc, RenditionsError) else RenditionsError.from_os_error(exc)
        for line in error.message.splitlines():
            echo(f"error: preview: {line}", err=True)
        return
    if first:
        echo(f"preview: {result.page.as_uri()} (reloads itself after each build)")


def watch(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    engine: str | None = None,
    jobs: int | None = None,
    initial: bool = True,
    echo: Echo = print,
    stop_event=None,
    preview: bool = False,
) -> None:
    """Build once, then rebuild on every change until Ctrl-C (or `stop_event` is set).

    With `preview`, the preview page is rewritten in live mode after each build: an open page
    reloads itself.

    Raises ConfigError only if the config is broken at start; later config errors are printed.
    """
    import watchfiles

    cfg = load_config(root, config)
    cfile = config_file(root, config)
    if initial:
        run_build(root, config, None, engine, jobs, echo)
    if preview:
        run_preview(root, config, engine, echo, first=True)
    try:
        paths: list[Path] = []
        rebuilt = False  # the restart follows a config change whose build already read everything
        while True:
            before, paths = paths, watched_paths(cfg, cfile)
            ids = folder_ids(paths)
            came_back = [p for p in paths if p not in before] if before and not rebuilt else []
            rebuilt = False
            if came_back:
                shown = ", ".join(os.path.relpath(p, cfg.root) + "/" for p in came_back)
                echo(f"{_stamp()} {shown} came back: rebuilding everything")
                run_build(root, config, None, engine, jobs, echo)
                if preview:
                    run_preview(root, config, engine, echo)
            ready = False
            restart = False
            try:
                for changes in watchfiles.watch(
                    *paths,
                    watch_filter=lambda _c, p: kind_of(cfg, cfile, p) is not None,
                    step=STEP_MS,
                    rust_timeout=TICK_MS,
                    yield_on_timeout=True,
                    stop_event=stop_event,
                    raise_interrupt=True,
                ):
                    if not ready:
                        ready = True
                        shown = ", ".join(os.path.relpath(p, cfg.root) + "/" for p in paths)
                        echo(f"watching {shown} (Ctrl-C to stop)")
                    if folder_ids(watched_paths(cfg, cfile)) != ids:
                        restart = True  # a watched folder was deleted, made again or appeared: re-attach
                    if changes:
                        cfg, moved = _on_changes(root, config, cfg, cfile, changes, engine, jobs, echo, preview)
                        rebuilt = moved and not restart  # the config moved the watched folders, and was built
                        restart = restart or moved
                    if restart:
                        break
            except FileNotFoundError:
                restart = True  # a folder went away while the watcher was attaching to it
                time.sleep(TICK_MS / 1000)
            if not restart:
                return
    except KeyboardInterrupt:
        return


def changed_articles(cfg: Config, cfile: Path, changed: set[str]) -> list[Article]:
    """The articles a batch needs: every one when a master changed (any may use it), else only
    the changed files (a batch of 2,000 new articles need not wait for the whole site's)."""
    kinds = {p: kind_of(cfg, cfile, p) for p in changed}
    if "master" in kinds.values():
        return discover(cfg, drafts=True)
    masters = master_index(cfg.sources)

    read = [read_article(Path(p), cfg, masters) for p, k in sorted(kinds.items()) if k == "article" and os.path.isfile(p)]
    return [a for a in read if a.images]  # a page without images has nothing to build


def folder_ids(paths: list[Path]) -> list[tuple[str, int, int] | None]:
    """Each watched folder's identity: a folder deleted and made again has a new one."""
    ids: list[tuple[str, int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
            ids.append((str(p), st.st_dev, st.st_ino))
        except OSError:
            ids.append(None)
    return ids


def _on_changes(
    root, config, cfg: Config, cfile: Path, changes, engine, jobs, echo: Echo, preview: bool = False
) -> tuple[Config, bool]:
    """Rebuild what one batch of changes affects. Returns the config (a saved one is reread) and
    whether the watched folders changed with it."""
    changed = {p for _, p in changes}
    restart = False
    if any(kind_of(cfg, cfile, p) == "config" for p in changed):
        targets = affected(cfg, cfile, [], changed)
        if not cfile.exists():  # deleted, or between two states of a `git checkout`: not a site without one
            echo(f"error: {_rel(str(cfile), cfg.root)}: the config is gone: nothing is rebuilt until it is back", err=True)
            return cfg, False
        try:
            new = load_config(root, config)
        except RenditionsError as exc:
            for line in exc.message.splitlines():
                echo(f"error: {line}", err=True)
            echo("the config has errors: fix it and save again (nothing rebuilt)", err=True)
            return cfg, False
        restart = watched_paths(new, cfile) != watched_paths(cfg, cfile)
        cfg = new
    else:
        try:
            articles = changed_articles(cfg, cfile, changed)
        except OSError as exc:
            echo(f"error: cannot read the articles: {exc}", err=True)
            return cfg, False
        targets = affected(cfg, cfile, articles, changed)
        for n in (*targets.notes, *left_behind(cfg, targets.removed, articles)):
            echo(f"note: {n}", err=True)
    if targets.empty:
        return cfg, restart
    what = "everything" if targets.everything else ", ".join(sorted(targets.slugs))
    echo(f"{_stamp()} changed {', '.join(targets.why)}: rebuilding {what}")
    run_build(root, config, None if targets.everything else targets.slugs, engine, jobs, echo)
    if preview:
        run_preview(root, config, engine, echo)
    return cfg, restart


def _near_slug(stem: str, articles: list[Article]) -> str:
    """For a master nobody uses: the slug its name nearly matches, if one does."""
    for a in articles:
        if a.master is None and near_masters(a.slug, [stem + ".x"]):
            return f' (did you mean "{a.slug}"? rename the file to match)'
    return ""
