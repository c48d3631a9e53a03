"""Find the articles, read their front matter, and find each one's master.

Nothing here decodes an image or writes a file; problems are recorded on the article
so that one bad article never hides the others.
"""
from __future__ import annotations

import glob
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from . import frontmatter
from .config import Config, Variant
from .errors import FrontMatterError, PathError
from .fmcache import FrontMatterCache, exact_in_json, fingerprint, signature
from .formats import MASTER_EXTS
from .paths import clean_site_path

_SLUG = re.compile(r"[^/\\\x00-\x1f]+")


@dataclass(frozen=True)
class Target:
    """Where one variant of one article goes, as the article names it."""

    variant: str
    site_path: str | None  # None when the path is unusable (see error)
    line: int | None  # front-matter line of the key, None when the key is missing
    from_template: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Article:
    file: Path
    rel: str
    slug: str
    targets: tuple[Target, ...] = ()
    focus: tuple[tuple[str, tuple[float, float]], ...] = ()  # ("*" or variant name, (x, y))
    master: Path | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    error_line: int | None = None

    def focus_for(self, variant: str) -> tuple[float, float] | None:
        found = dict(self.focus)
        return found.get(variant, found.get("*"))


@dataclass
class _Draft:
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def article_files(config: Config) -> list[Path]:
    return [Path(p) for p, _ in _article_stats(config)]


def _article_stats(config: Config) -> list[tuple[str, os.stat_result]]:
    """The content glob's regular files (links followed) with their stat: one stat per article."""
    pattern = os.path.join(glob.escape(str(config.root)), config.content)
    found = []
    for p in glob.glob(pattern, recursive=True):
        try:
            st = os.stat(p)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append((p, st))
    found.sort(key=lambda t: t[0].split(os.sep))  # Path order: part by part
    return found


def front_matter_cache(config: Config, path: Path | None) -> FrontMatterCache:
    """The cache of what articles said, for this config's keys and limits (see fmcache)."""
    keys = ("slug", config.focus_key, *(v.key for v in config.variants))
    return FrontMatterCache(path, fingerprint(keys, (config.max_bytes, config.max_front_matter_bytes)))


def master_index(sources: Path) -> dict[str, list[Path]]:
    """Masters by lower-cased stem, listing the folder once."""
    index: dict[str, list[Path]] = {}
    try:
        names = sorted(os.listdir(sources))
    except OSError:
        return index
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in MASTER_EXTS:
            index.setdefault(stem, []).append(sources / name)
    return index


def _focus(value: object, variants: tuple[Variant, ...], key: str) -> tuple[list, str | None]:
    def point(v: object) -> tuple[float, float] | None:
        if (
            isinstance(v, (list, tuple))
            and len(v) == 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) and 0 <= c <= 1 for c in v)
        ):
            return (float(v[0]), float(v[1]))
        return None

    if value is None:
        return [], None
    p = point(value)
    if p is not None:
        return [("*", p)], None
    names = {v.name for v in variants}
    if isinstance(value, dict):
        out = []
        for name, v in value.items():
            if name != "default" and name not in names:
                return [], f"{key}.{name}: not a variant (expected default or one of {', '.join(sorted(names))})"
            p = point(v)
            if p is None:
                return [], f"{key}.{name}: expected [x, y] with fractions from 0 to 1, got {v!r}"
            out.append(("*" if name == "default" else name, p))
        return sorted(out), None
    return [], f"{key}: expected [x, y] with fractions from 0 to 1 (or a mapping of variant to [x, y]), got {value!r}"


def _quote(value: str, limit: int = 100) -> str:
    """A front-matter string shown on one line: control characters escaped, long ones cut."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _said(path: str, rel: str, config: Config, cache: FrontMatterCache | None, st: os.stat_result | None) -> tuple[dict, dict]:
    """The article's front matter (values, lines): from the cache when the file's stat identity
    is the one recorded, else read and parsed (and recorded). Raises FrontMatterError, OSError."""
    if cache is not None and st is not None:
        hit = cache.get(path, signature(st))
        if hit is not None:
            if "e" in hit:
                raise FrontMatterError(rel, hit["e"][0], hit["e"][1])
            return hit["d"], hit["l"]
    with open(path, "rb") as fh:
        sig = signature(os.fstat(fh.fileno()))  # of the bytes read below: a later edit changes it
        try:
            if sig[0] > config.max_bytes:
                raise FrontMatterError(rel, "the article file is too large to read")
            fm = frontmatter.parse(fh.read(config.max_front_matter_bytes + 8192), rel, config.max_front_matter_bytes)
        except FrontMatterError as exc:
            if cache is not None:
                cache.put(path, sig, {"e": [exc.reason, exc.line]})
            raise
    if cache is not None:
        keys = ("slug", config.focus_key, *(v.key for v in config.variants))
        values = {k: fm.data[k] for k in keys if k in fm.data}
        if exact_in_json(values):
            cache.put(path, sig, {"d": values, "l": {k: fm.lines[k] for k in keys if k in fm.lines}})
    return fm.data, fm.lines


def read_article(
    file: Path, config: Config, masters: dict[str, list[Path]], cache: FrontMatterCache | None = None, st: os.stat_result | None = None
) -> Article:
    """`cache` and `st` (the file's stat, taken while finding it) let an unchanged article's
    front matter come from the cache of what it said last time."""
    path, root = os.fspath(file), os.fspath(config.root) + os.sep
    rel = path[len(root):]  # relpath's answer without its cost, when nothing needs normalising
    if not path.startswith(root) or "/." in "/" + rel or "//" in rel:
        rel = os.path.relpath(file, config.root)
    fallback_slug = file.stem
    try:
        data, lines = _said(path, rel, config, cache, st)
    except FrontMatterError as exc:
        return Article(file=file, rel=rel, slug=fallback_slug, errors=(exc.reason,), error_line=exc.line)
    except OSError as exc:
        return Article(file=file, rel=rel, slug=fallback_slug, errors=(f"cannot read the article: {exc.strerror}",))

    d = _Draft()
    slug = data.get("slug", fallback_slug)
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug) or slug.strip() in ("", ".", ".."):
        d.errors.append(f"slug: expected a name without / or \\, got {slug!r}")
        slug = fallback_slug

    targets = []
    for v in config.variants:
        if v.key not in data:
            path = v.path.replace("{slug}", slug)
            d.warnings.append(f"no `{v.key}` key: using {path}")
            targets.append(Target(v.name, path, None, from_template=True))
            continue
        try:
            targets.append(Target(v.name, clean_site_path(data[v.key]), lines.get(v.key)))
        except PathError as exc:
            value = data[v.key]
            shown = f"{v.key}: {_quote(value)}" if isinstance(value, str) else v.key
            targets.append(Target(v.name, None, lines.get(v.key), error=f"{shown}: {exc.reason}"))

    focus, problem = _focus(data.get(config.focus_key), config.variants, config.focus_key)
    if problem:
        d.errors.append(problem)

    master = None
    stems = [slug] + sorted(
        {os.path.splitext(t.site_path.rsplit("/", 1)[-1])[0] for t in targets if t.site_path and not t.from_template}
        - {slug}
    )
    for stem in stems:
        found = masters.get(stem, [])
        if len(found) > 1:
            names = " and ".join(os.path.relpath(p, config.root) for p in found)
            d.errors.append(f"two masters for one article: {names} (keep one)")
            break
        if found:
            master = found[0]
            try:
                mode = os.lstat(master).st_mode
            except OSError:
                mode = 0
            # a plain file listed in the masters' folder is inside it; only a link needs resolving
            if stat.S_ISLNK(mode) and not os.path.realpath(master).startswith(os.path.realpath(config.sources) + os.sep):
                d.errors.append(f"master {os.path.relpath(master, config.root)} leads outside {os.path.relpath(config.sources, config.root)}/")
                master = None
            elif not os.path.isfile(master):
                kind = "a folder" if os.path.isdir(master) else "not a regular file"
                d.errors.append(f"master {os.path.relpath(master, config.root)} is {kind}, not an image")
                master = None
            break
    return Article(
        file=file,
        rel=rel,
        slug=slug,
        targets=tuple(targets),
        focus=tuple(focus),
        master=master,
        errors=tuple(d.errors),
        warnings=tuple(d.warnings),
    )


def discover(config: Config, cache: FrontMatterCache | None = None) -> list[Article]:
    """Every article the config's `content` glob matches, in path order. With `cache`, unchanged
    articles aren't read (see fmcache); the caller saves it."""
    masters = master_index(config.sources)
    found = _article_stats(config)
    if cache is not None:
        cache.forget_others({p for p, _ in found})
    return [read_article(Path(p), config, masters, cache, st) for p, st in found]
