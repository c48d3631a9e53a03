"""Find the articles, read their front matter, and find each one's master.

Nothing here decodes an image or writes a file; problems are recorded on the article
so that one bad article never hides the others.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import frontmatter
from .child import Forked
from .config import Config, Variant
from .errors import FrontMatterError, PathError
from .fmcache import FrontMatterCache, exact_in_json, fingerprint, signature
from .formats import MASTER_EXTS
from .paths import clean_site_path, is_utf8, printable, relative, too_long
from .records import quick_init
from .walk import Listings, find_files, passed_by

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}-(?=.)")
#: File names that stand for their folder: Hugo's page bundles (leaf and branch).
BUNDLE_NAMES = ("index", "_index")
#: The generators' own front-matter keys: never read as a typo of a variant key (Hugo's `images`).
GENERATOR_KEYS = frozenset(
    {
        "images",
        "title",
        "date",
        "draft",
        "published",
        "slug",
        "tags",
        "categories",
        "layout",
        "permalink",
        "description",
        "summary",
        "weight",
        "aliases",
        "url",
        "type",
        "author",
        "authors",
        "lastmod",
        "keywords",
        "series",
        "lang",
        "translationKey",
        "params",
        "menu",
        "cascade",
        "linkTitle",
        "excerpt",
    }
)
#: From this many articles on, with no front matter cached, a forked copy of this process reads
#: SPLIT_SHARE of them (child.Forked) while this one reads the rest and then loads the manifest:
#: a fresh clone's 2,000 articles take 0.2-0.3 s to read in one process.
SPLIT_MIN = 500
SPLIT_SHARE = 0.65
#: What both Jekyll and Hugo read as markdown. One of these that no `content` glob matches, in a
#: folder the globs walk, is named if it reads as an image article (unread_articles).
MARKDOWN_EXTS = (".md", ".markdown")
BAD_NAME = "the file name is not valid UTF-8: rename it"
#: The same name read by a Python that names files in ASCII (LC_ALL=C, UTF-8 mode off): valid
#: UTF-8, but its bytes can't be named here; the fix is the locale, not the file.
LOCALE_NAME = (
    "the file name is UTF-8, but this Python reads file names as {encoding} (a C locale without UTF-8 mode): "
    "run renditions with LC_ALL=C.UTF-8 or PYTHONUTF8=1"
)


def bad_name(name: str) -> str:
    """Why a file name that is_utf8 refuses can't be an article's: its bytes, or the locale."""
    encoding = sys.getfilesystemencoding()
    if encoding.lower().replace("-", "") != "utf8":
        try:
            os.fsencode(name).decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return LOCALE_NAME.format(encoding=encoding.upper())
    return BAD_NAME


#: A slug is one segment of a URL and of a file path: nothing a server or a shell reads specially.
_SLUG = re.compile(r"[^/\\?#%\x00-\x1f\x7f-\x9f]+")
BAD_SLUG = "expected a name without / or \\ (nor ?, #, %, a control character or a leading dot: it is one segment of a URL)"


def safe_slug(slug: object) -> bool:
    """True for a slug that is one safe path segment (it goes into every output's path)."""
    return isinstance(slug, str) and bool(_SLUG.fullmatch(slug)) and not slug.startswith(".") and slug.strip() != ""


#: Jekyll's folder of unpublished posts (shown only by `jekyll --drafts`): what is in it is a draft.
DRAFTS_FOLDER = "_drafts"


def in_drafts_folder(rel: str) -> bool:
    """Whether a folder of the article's path is `_drafts`: decided by the path each run, never
    cached with the front matter."""
    return DRAFTS_FOLDER in rel and DRAFTS_FOLDER in rel.replace(os.sep, "/").split("/")[:-1]


def nfc(name: str) -> str:
    """Names compared as Unicode text: macOS writes café.png decomposed (NFD), YAML gives NFC."""
    return unicodedata.normalize("NFC", name)


@quick_init  # built by the thousand (records.py)
@dataclass(frozen=True)
class Target:
    """Where one variant of one article goes, as the article names it."""

    variant: str
    site_path: str | None  # None when the path is unusable (see error)
    line: int | None  # front-matter line of the key, None when the key is missing
    from_template: bool = False
    error: str | None = None
    raw: str | None = None  # the front-matter value exactly as written (query included): the data file's key


@quick_init  # built by the thousand (records.py)
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
    images: bool = True  # False: a page without images (no variant key, no master), never built
    draft: bool = False  # `draft: true`, `published: false` or in _drafts/: built only with --drafts
    masters: tuple[tuple[str, Path], ...] = ()  # art direction: (variant name, its own master)

    @property
    def broken(self) -> bool:
        """Failing for now (a front matter or path error, no master), not unwanted: prune keeps
        what the manifest records for it, and check calls none of it an orphan."""
        return bool(self.errors) or self.master is None or any(t.error for t in self.targets)

    def master_for(self, variant: str) -> Path | None:
        """The master a variant is cut from: its own under `masters:`, else the article's."""
        if not self.masters:  # most articles: asked for every output, so no dict is built
            return self.master
        return dict(self.masters).get(variant, self.master)

    def focus_for(self, variant: str) -> tuple[float, float] | None:
        if not self.focus:
            return None
        found = dict(self.focus)
        return found.get(variant, found.get("*"))


@dataclass
class _Draft:
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    error_line: int | None = None


def _matches(
    config: Config,
    patterns: tuple[str, ...],
    listed: list[str] | None,
    lstats: dict[str, os.stat_result] | None = None,
    read: Listings | None = None,
) -> set[str]:
    return {p for pattern in patterns for p in find_files(str(config.root), pattern, listed, lstats, read)}


def article_files(
    config: Config,
    listed: list[str] | None = None,
    lstats: dict[str, os.stat_result] | None = None,
    unread: list[str] | None = None,
) -> list[Path]:
    """Files the `content` globs match and no `exclude` glob does, each read once however links
    lead (see walk.py). `listed` collects the folders the walk read; `lstats`, the lstat the walk
    took of each article that is not a link (for the run's later stats of it: stamp.py); `unread`,
    the markdown files (MARKDOWN_EXTS) in those folders that no glob took and none excludes."""
    read: Listings = {}  # the globs share the walk: each folder is listed once
    found = _matches(config, config.content, listed, lstats, read)
    excluded = _matches(config, config.exclude, listed, None, read)
    if unread is not None:
        unread += _unread(read, found, excluded)
    found -= excluded
    # Path's order (part by part), sorting the walk's clean strings: comparing Paths costs as much again
    return [Path(p) for p in sorted(found, key=lambda p: p.split(os.sep))]


def _unread(read: Listings, found: set[str], excluded: set[str]) -> list[str]:
    """The markdown files in the walk's listings that no glob took, none excludes, and that are
    not a file taken under another name (a link to an article, read once under its real path)."""
    names = [
        e.path
        for entries in read.values()
        for e in entries
        if e.name.lower().endswith(MARKDOWN_EXTS) and e.path not in found and e.path not in excluded and not passed_by(e.name)
    ]
    if not names:  # nearly always: nothing more is stat'd
        return []
    taken = {_identity(p) for p in found | excluded}
    return sorted(p for p in names if os.path.isfile(p) and _identity(p) not in taken)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def path_slug(rel: str, languages: tuple[str, ...] = ()) -> str:
    """The slug a generator derives from a file's path (README, "How an article's slug is found").

    `x/index.md` and `x/_index.md` (page bundles) → `x`; `2024-05-01-old-friends.md` → `old-friends`;
    `trip.fr.md` → `trip` when `fr` is one of the config's languages (given in lower case); in any
    case, as Hugo matches them: `trip.zh-Hans.md` and `trip.zh-hans.md` are both translations.
    """
    parts = rel.replace(os.sep, "/").split("/")
    stem = os.path.splitext(parts[-1])[0]
    base, dot, lang = stem.rpartition(".")
    if dot and base and lang.lower() in languages:
        stem = base
    if stem in BUNDLE_NAMES and len(parts) > 1:
        return parts[-2]
    return _DATE.sub("", stem)


def near_key(key: str, keys: tuple[str, ...]) -> str | None:
    """The variant key `key` was probably meant to be (same letters in another case, or a typo)."""
    if key in keys or key in GENERATOR_KEYS or len(key) > 64:
        return None
    low = key.lower()
    for k in keys:
        if low == k.lower():
            return k
    for k in keys:
        limit = 1 if len(k) <= 6 else 2
        if abs(len(k) - len(key)) <= limit and _distance(low, k.lower()) <= limit:
            return k
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (both strings are short front-matter keys)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def front_matter_cache(config: Config, path: Path | None, kept: bool = True) -> FrontMatterCache:
    """The cache of what articles said, for this config's keys and limits (see fmcache); `kept`:
    what this run parses is recorded, to be saved."""
    limits = (config.max_bytes, config.max_front_matter_bytes)
    return FrontMatterCache(path, fingerprint(_read_keys(config), limits), kept)


def _read_keys(config: Config) -> tuple[str, ...]:
    """The front-matter keys whose values an article's reading uses (every other key is only
    looked at by name, for the did-you-mean check)."""
    return ("slug", "draft", "published", "params", MASTERS_KEY, config.focus_key, *(v.key for v in config.variants))


def master_index(sources: Path) -> dict[str, list[Path]]:
    """Masters by stem (NFC-normalised), listing the folder once."""
    index: dict[str, list[Path]] = {}
    try:
        names = sorted(os.listdir(sources))
    except OSError:
        return index
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in MASTER_EXTS and is_utf8(name):  # no article's slug can name a non-UTF-8 file
            index.setdefault(nfc(stem), []).append(sources / name)
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


#: The front-matter key naming another master for chosen variants (art direction).
MASTERS_KEY = "masters"
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _art_direction(value: object, config: Config) -> tuple[list[tuple[str, Path]], list[str]]:
    """`masters: {mobile-single: portrait.jpg}`: each a plain file in the masters' folder."""
    if value is None:
        return [], []
    names = sorted(v.name for v in config.variants)
    if not isinstance(value, dict):
        return [], [
            f"{MASTERS_KEY}: expected a mapping of variant to a file in {os.path.relpath(config.sources, config.root)}/, got {type(value).__name__}"
        ]
    found, errors = [], []
    src = os.path.relpath(config.sources, config.root)
    for name, file in value.items():
        key = f"{MASTERS_KEY}.{name}"
        if name not in names:
            errors.append(f"{key}: not a variant (expected one of {', '.join(names)})")
            continue
        if not isinstance(file, str) or not file.strip() or "/" in file or "\\" in file or file in (".", "..") or "\x00" in file:
            errors.append(
                f"{key}: expected the name of a file in {src}/, like portrait.jpg, got {_quote(file) if isinstance(file, str) else type(file).__name__}"
            )
            continue
        path = config.sources / file
        if os.path.splitext(file)[1].lower() not in MASTER_EXTS:
            errors.append(f"{key}: {src}/{file} is not an image renditions reads (expected {', '.join(MASTER_EXTS)})")
        elif not os.path.lexists(path):
            errors.append(f"{key}: no master {src}/{file}")
        elif os.path.islink(path) and not os.path.realpath(path).startswith(os.path.realpath(config.sources) + os.sep):
            errors.append(f"{key}: master {src}/{file} leads outside {src}/")
        elif not os.path.isfile(path):
            errors.append(f"{key}: master {src}/{file} is not a regular file")
        else:
            found.append((name, path))
    return sorted(found), errors


def _quote(value: str, limit: int = 100) -> str:
    """A front-matter string shown on one line: control characters escaped, long ones cut."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _said(
    path: str, rel: str, config: Config, cache: FrontMatterCache | None, st: os.stat_result | None
) -> tuple[dict, dict] | None:
    """The article's front matter (values, lines), None when the file has none: from the cache
    when the file's stat identity is the one recorded, else read and parsed (and recorded).
    Raises FrontMatterError, OSError."""
    if cache is not None and cache.entries:  # a fresh clone's cache is empty: nothing to look up
        st = st or os.stat(path)
        hit = cache.get(path, signature(st))
        if hit is not None:
            if "e" in hit:
                raise FrontMatterError(rel, hit["e"][0], hit["e"][1])
            if "n" in hit:
                return None
            # every key by name (the did-you-mean check reads names), the values reading uses
            return {**dict.fromkeys(hit.get("k", ())), **hit["d"]}, hit["l"]
    fd = os.open(path, os.O_RDONLY)  # not open(): its buffered file object costs as much as the read
    try:
        sig = signature(os.fstat(fd))  # of the bytes read below: a later edit changes it
        kept = cache if cache is not None and cache.wants(sig) else None  # where to record the answer
        try:
            if sig[0] > config.max_bytes:
                raise FrontMatterError(rel, "the article file is too large to read")
            raw = _read_head(fd, min(sig[0], config.max_front_matter_bytes + 8192))
            if frontmatter.format_of(raw) is None:
                if kept is not None:
                    kept.put(path, sig, {"n": 1})
                return None
            fm = frontmatter.parse(raw, rel, config.max_front_matter_bytes)
        except FrontMatterError as exc:
            if kept is not None:
                kept.put(path, sig, {"e": [exc.reason, exc.line]})
            raise
    finally:
        os.close(fd)
    if kept is not None:
        keys = _read_keys(config)
        values = {k: fm.data[k] for k in keys if k in fm.data}
        if isinstance(values.get("params"), dict):  # of Hugo's params, only the variant keys are read
            values["params"] = {k: values["params"][k] for k in keys if k in values["params"]}
        names = [k for k in fm.data if isinstance(k, str)]
        lines = {k: n for k, n in fm.lines.items() if isinstance(k, str)}
        if exact_in_json(values) and len(names) == len(fm.data):
            kept.put(path, sig, {"d": values, "k": names, "l": lines})
    return fm.data, fm.lines


def _read_head(fd: int, size: int) -> bytes:
    """The file's first `size` bytes (fewer at its end): read until they are all there."""
    parts = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def no_key(key: str, path: str) -> str:
    """The warning for a variant key an article lacks (the build uses the template's path):
    one wording, which `build --write-front-matter --dry-run` knows its own lines say already."""
    return f"no `{key}` key: using {path}"


def read_article(
    file: Path,
    config: Config,
    masters: dict[str, list[Path]],
    cache: FrontMatterCache | None = None,
    st: os.stat_result | None = None,
    lstats: dict[str, os.stat_result] | None = None,
) -> Article:
    """`cache` and `st` (the file's stat, taken while finding it) let an unchanged article's
    front matter come from the cache of what it said last time. `lstats` receives the master's
    lstat, for the run's later stats of it (Session.lstats)."""
    path, rel = os.fspath(file), relative(file, config.root)
    fallback_slug = path_slug(rel, config.languages)
    if not is_utf8(rel):  # it could be neither printed nor recorded in the manifest
        return Article(file=file, rel=printable(rel), slug=printable(fallback_slug), errors=(bad_name(rel),))
    try:
        said = _said(path, rel, config, cache, st)
        if said is None:
            if not masters.get(nfc(fallback_slug)):
                # a README, or a page written without front matter: nothing to build, nothing wrong
                return Article(file=file, rel=rel, slug=fallback_slug, images=False)
            raise FrontMatterError(rel, frontmatter.NO_FRONT_MATTER, 1)
        data, lines = said
    except FrontMatterError as exc:
        # its master is still its: status must not call it unused (a designer would delete it)
        named = masters.get(nfc(fallback_slug), [])
        return Article(
            file=file,
            rel=rel,
            slug=fallback_slug,
            master=named[0] if len(named) == 1 and not os.path.islink(named[0]) else None,  # a plain file: no link to vet
            errors=(exc.reason,),
            error_line=exc.line,
            draft=in_drafts_folder(rel),
        )
    except OSError as exc:
        reason = f"cannot read the article: {exc.strerror}"
        return Article(file=file, rel=rel, slug=fallback_slug, errors=(reason,), draft=in_drafts_folder(rel))

    d = _Draft()
    slug = data.get("slug", fallback_slug)
    if not safe_slug(slug):
        if "slug" in data:
            d.errors.append(f"slug: {BAD_SLUG}, got {_quote(slug) if isinstance(slug, str) else repr(slug)}")
        else:
            d.errors.append(
                f"the file name makes the slug {_quote(slug)}, not a safe name for a URL: rename the file or set `slug:`"
            )
        slug = fallback_slug

    keys = tuple(v.key for v in config.variants)
    typos = False
    for key in data:
        meant = near_key(key, keys) if isinstance(key, str) else None
        if meant is not None and meant not in data:
            typos = True
            d.errors.append(f'{key}: not a variant key; did you mean "{meant}"?')
            d.error_line = d.error_line or lines.get(key)
    draft = data.get("draft") is True or data.get("published") is False or in_drafts_folder(rel)

    # Hugo's `params:` (`[params]` in TOML): a variant key there is the one its templates read
    # through .Params, over a top-level one of the same name
    params = data.get("params")
    given = {**data, **{k: params[k] for k in keys if k in params}} if isinstance(params, dict) else data
    given_at = {**lines, **{k: lines.get("params") for k in keys if k in params}} if isinstance(params, dict) else lines
    targets = []
    for v in config.variants:
        if v.key not in given:
            path = v.path.replace("{slug}", slug)
            if too_long(path):  # the config checked the template; only a long slug can still spoil it
                why = f"{v.key} (from the config's template): {path}: the path is too long"
                targets.append(Target(v.name, None, None, from_template=True, error=why))  # a page stays a page
                continue
            d.warnings.append(no_key(v.key, path))
            targets.append(Target(v.name, path, None, from_template=True))
            continue
        try:
            targets.append(Target(v.name, clean_site_path(given[v.key]), given_at.get(v.key), raw=given[v.key]))
        except PathError as exc:
            value = given[v.key]
            shown = f"{v.key}: {_quote(value)}" if isinstance(value, str) else v.key
            targets.append(Target(v.name, None, given_at.get(v.key), error=f"{shown}: {exc.reason}"))

    focus, problem = _focus(data.get(config.focus_key), config.variants, config.focus_key)
    if problem:
        d.errors.append(problem)
    art, art_errors = _art_direction(data.get(MASTERS_KEY), config)
    d.errors.extend(art_errors)

    master = None
    found = by_slug = masters.get(nfc(slug), [])
    if not by_slug:  # failing the slug's, each stem of the front matter's paths names a candidate
        own = {name for name, _path in art}  # a variant with a master of its own (`masters:`) names no candidate
        stems = {
            os.path.splitext(t.site_path.rsplit("/", 1)[-1])[0]
            for t in targets
            if t.site_path and not t.from_template and t.variant not in own
        }
        found = [p for stem in sorted(stems - {slug}) for p in masters.get(nfc(stem), [])]
    if len(found) > 1:
        names = [os.path.relpath(p, config.root) for p in found]
        also = "" if by_slug else f"; a variant's own master is named under `{MASTERS_KEY}:`"
        many = _NUMBERS.get(len(names), str(len(names)))
        d.errors.append(f"{many} masters for one article: {', '.join(names[:-1])} and {names[-1]} (keep one{also})")
    elif found:
        master = found[0]
        try:
            found_st = os.lstat(master)
        except OSError:
            mode = 0
        else:
            mode = found_st.st_mode
            if lstats is not None:
                lstats[os.fspath(master)] = found_st
        # a plain file listed in the masters' folder is inside it; only a link needs resolving
        if stat.S_ISLNK(mode) and not os.path.exists(master):
            d.errors.append(
                f"master {os.path.relpath(master, config.root)} is a link to a missing file ({_link_target(master)}):"
                " restore that file, or replace the link with the master"
            )
            master = None
        elif stat.S_ISLNK(mode) and not os.path.realpath(master).startswith(os.path.realpath(config.sources) + os.sep):
            d.errors.append(
                f"master {os.path.relpath(master, config.root)} leads outside {os.path.relpath(config.sources, config.root)}/"
            )
            master = None
        elif not stat.S_ISREG(mode) and not os.path.isfile(master):  # a link's target is stat'd
            kind = "a folder" if os.path.isdir(master) else "not a regular file"
            d.errors.append(f"master {os.path.relpath(master, config.root)} is {kind}, not an image")
            master = None
    images = typos or master is not None or any(not t.from_template for t in targets) or bool(d.errors)
    if not images and not masters.get(slug):
        return Article(file=file, rel=rel, slug=slug, images=False, draft=draft)
    return Article(
        file=file,
        rel=rel,
        slug=slug,
        targets=tuple(targets),
        focus=tuple(focus),
        master=master,
        errors=tuple(d.errors),
        warnings=tuple(d.warnings),
        error_line=d.error_line,
        draft=draft,
        masters=tuple(art),
    )


def read_all(
    config: Config,
    cache: FrontMatterCache | None = None,
    listed: list[str] | None = None,
    lstats: dict[str, os.stat_result] | None = None,
    meanwhile: Callable[[], object] | None = None,
    unread: list[str] | None = None,
) -> list[Article]:
    """Every file the `content` globs match, pages without images and drafts included, in path
    order. With `cache`, unchanged articles aren't read (see fmcache); the caller saves it.
    `listed` collects the folders the walk read (see walk.find_files); `lstats`, each master's
    lstat, and each article's as the walk took it.
    `meanwhile` is called once, after this process's share of the reading: other work (the
    manifest's) done while a forked copy reads the rest (see SPLIT_MIN). `unread`: as article_files."""
    masters = master_index(config.sources)
    files = article_files(config, listed, lstats, unread)
    if cache is not None:
        cache.forget_others({os.fspath(f) for f in files})
    if len(files) < SPLIT_MIN or (cache is not None and cache.entries):
        read = [read_article(f, config, masters, cache, None, lstats) for f in files]
        if meanwhile is not None:
            meanwhile()
        return read
    # nothing cached (a fresh clone): a copy of this process reads the last files meanwhile
    cut = len(files) - int(len(files) * SPLIT_SHARE)
    theirs = files[cut:]

    def read_theirs() -> tuple[list[Article], dict, dict]:
        seen: dict[str, os.stat_result] = {}
        read = [read_article(f, config, masters, cache, None, seen) for f in theirs]
        return read, seen, cache.entries if cache is not None else {}

    copy = Forked(read_theirs, [*files, *(p for found in masters.values() for p in found)])
    try:
        mine = [read_article(f, config, masters, cache, None, lstats) for f in (files[:cut] if copy.started else files)]
        if meanwhile is not None:
            meanwhile()
        if not copy.started:
            return mine
        done, answer = copy.result()
    finally:
        copy.close()
    if not done:  # the copy failed: its share is read here, as if there had been no copy
        return mine + [read_article(f, config, masters, cache, None, lstats) for f in theirs]
    read, seen, said = answer
    if lstats is not None:
        lstats.update(seen)
    if cache is not None and said:
        cache.entries.update(said)
        cache.dirty = True
    return mine + read


def discover(config: Config, drafts: bool = False, cache: FrontMatterCache | None = None) -> list[Article]:
    """The image articles (a variant key or a master), without drafts unless `drafts`, in path order."""
    return [a for a in read_all(config, cache) if a.images and (drafts or not a.draft)]


#: An image article (variant keys or a master) no `content` glob matches: its page has no image.
UNREAD = (
    "not read as an article: no `content` glob matches it, though {why} (its page shows no image): "
    'add "{glob}" to `content` in {config}'
)


def unread_articles(config: Config, unread: list[str]) -> list[Article]:
    """Each of `unread` (article_files) that reads as an image article, drafts too: a `.markdown`
    post under a config that reads `.md`, say. A README or notes, with no variant key and no
    master, is left alone. Few files get here: each is read as the articles are (its `slug:`...)."""
    if not unread:
        return []
    masters = master_index(config.sources)
    found = []
    for path in unread:
        a = read_article(Path(path), config, masters)
        if a.images and not a.errors:
            found.append(a)
    return found


def unread_reason(config: Config, a: Article) -> str:
    """What an unread article (unread_articles) costs, and the glob that reads it."""
    stems = [os.path.splitext(g)[0] for g in config.content if g.lower().endswith(MARKDOWN_EXTS)]
    glob = (stems[0] if stems else "**/*") + os.path.splitext(a.file)[1]
    why = f"{relative(a.master, config.root)} is named for it" if a.master is not None else "its front matter names images"
    return UNREAD.format(why=why, glob=glob, config=config.file)


def _link_target(path: Path | str) -> str:
    """What a symbolic link names, as written in it (printable)."""
    try:
        return printable(os.readlink(path))
    except OSError:
        return "unreadable"
