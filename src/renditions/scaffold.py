"""`renditions init`: a commented config and the folders, for a site that has neither.

The config written here is the shipped example's, with a comment on every line, so a new
site starts from something that builds and explains itself. Nothing existing is overwritten.
In a Hugo, Jekyll or Eleventy site the config fits the generator: its web root, its content
globs, its languages; and init says what the generator's own config needs.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from .config import CONFIG_NAME, site_above
from .errors import UsageError
from .formats import READ
from .journal import JOURNAL_NAME
from .lock import LOCK_NAME
from .write import write_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_TEMPLATE = """\
# renditions config. Every setting and its default: README.md, "Config reference".
# Relative paths resolve against the site root (the folder holding config/).

content: {content}      # the articles: markdown files with YAML, TOML or JSON front matter
exclude: {exclude}                     # files the content globs match that are never articles
languages: {languages}                   # trip.fr.md is the translation of trip.md when fr is listed
sources: source_images          # masters: one per article, named <slug>.<ext> (<MASTER_EXTS>)
public: {public}                  # web root: the front-matter path "/img/x.png" is written to {public}/img/x.png
manifest: renditions.lock.json  # record of what was written, from what; commit it beside the images
# data: {data}    # a data file for templates (srcset, sizes, placeholder); see examples/

# Settings every variant inherits (each variant may override them):
# defaults:
#   fit: cover          # cover: fill and crop | contain: fit and pad with background | inside: fit, may be smaller
#   position: centre    # where a cover crop sits: centre, north, ..., attention, entropy
#   background: "#ffffff"
#   upscale: false      # allow masters smaller than a variant
#   also: [webp]        # extra formats written beside each output, for <picture>
#   densities: [1, 2]   # extra widths for srcset: 2 writes x-<2 × width>w.png beside x.png
#   budget: 300KB       # warn when an output weighs more (KB = 1000 bytes)

# One entry per image the site shows. `key` is the front-matter key that holds the output's
# path; `path` is used when an article lacks the key ({slug} is replaced): build warns, check fails.
variants:
  article:        {key: image,             path: "/img/artical/articles/{slug}.png",               width: 800,  height: 450}
  mobile-article: {key: mobile,            path: "/img/artical/mobile-articles/{slug}.png",        width: 640,  height: 360}
  single:         {key: singleImage,       path: "/img/artical/single-articles/{slug}.png",        width: 1600, height: 900}
  mobile-single:  {key: MobileSingleImage, path: "/img/artical/mobile-single-articles/{slug}.png", width: 800,  height: 600}

# An article can keep a point of its master in every crop with `focus: [x, y]` in its front
# matter (fractions of the master's width and height), e.g. focus: [0.3, 0.4].
""".replace("<MASTER_EXTS>", ", ".join(f.master_exts[0][1:] for f in READ))


@dataclass(frozen=True)
class Generator:
    """What a static-site generator needs from renditions' config, and from its own."""

    name: str
    markers: tuple[str, ...]  # files in the site root that identify it
    public: str  # the folder it publishes as the web root
    content: tuple[str, ...]
    exclude: tuple[str, ...]
    advice: tuple[str, ...]  # lines for the generator's own config
    articles: str = "in content/"  # where its articles go, for init's `next:` line (the content glob's home)
    data: str = "data/renditions.json"  # where its templates read data files (Eleventy and Jekyll: _data/)


PLAIN = Generator("", (), "public", ("content/**/*.md",), (), ())
#: Where Hugo reads its config: a file in the site root, or the files of config/_default/ (in the
#: root, only config.toml of the older names: a config.json there is as likely another tool's).
HUGO_CONFIGS = tuple(
    f"{folder}{name}.{ext}"
    for folder in ("", "config/_default/")
    for name in ("hugo", "config")
    for ext in ("toml", "yaml", "yml", "json")
    if folder or name == "hugo" or ext == "toml"
)
GENERATORS = (
    Generator(
        "Hugo",
        HUGO_CONFIGS,
        "static",
        ("content/**/*.md", "content/**/*.markdown"),  # Hugo reads both as markdown
        (),
        ("Hugo copies static/ into its public/ as it builds: nothing to add to its config.",),
    ),
    Generator(
        "Jekyll",
        ("_config.yml",),
        ".",
        ("**/*.md", "**/*.markdown"),  # `jekyll new` writes its first post as .markdown
        ("_site/**", "vendor/**", "node_modules/**"),
        (
            "add to _config.yml, so Jekyll does not publish the masters and the config:",
            "  exclude: [source_images, config, renditions.lock.json]",
            "(merge it into an `exclude:` already there; Jekyll 3, as on GitHub Pages, replaces its own",
            "defaults with your list, so keep Gemfile, Gemfile.lock, node_modules and vendor in it too)",
        ),
        "in _posts/ (any .md or .markdown file of the site is read: content is **/*.md, **/*.markdown)",
        "_data/renditions.json",
    ),
    Generator(
        "Eleventy",
        ("eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs", ".eleventy.js"),
        "public",
        ("**/*.md",),
        ("_site/**", "node_modules/**"),
        (
            "add to your Eleventy config, so it copies the images to its output:",
            '  eleventyConfig.addPassthroughCopy({ "public": "/" });',
        ),
        "in any folder of the site, as .md files (content is **/*.md)",
        "_data/renditions.json",
    ),
)
FOLDERS = ("content", "source_images")


@dataclass(frozen=True)
class Init:
    created: tuple[str, ...]  # relative to the site root
    generator: str  # "" when no generator was recognised
    advice: tuple[str, ...]
    articles: str  # where the articles go, as the content glob says: "in content/"
    ignored: tuple[str, ...] = ()  # the lines added to a .gitignore that was there already


def detect(base: Path) -> Generator:
    """The generator whose config file is in the site root (PLAIN when none is)."""
    for gen in GENERATORS:
        if any((base / m).is_file() for m in gen.markers):
            return gen
    return PLAIN


def _read_hugo(path: Path) -> dict:
    """One Hugo config file's settings, keys lower-cased as Hugo matches them ({} if unreadable)."""
    loaders = {".toml": tomllib.loads, ".yaml": yaml.safe_load, ".yml": yaml.safe_load, ".json": json.loads}
    try:
        data = loaders[path.suffix](path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return {}
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


def hugo_settings(base: Path) -> tuple[tuple[str, ...], str, str]:
    """What init needs of a Hugo site's config: its language codes, its static folder (the web
    root renditions writes in) and its content folder, from the root's config file or from
    config/_default/ (whose languages.* file lists the languages at its top level)."""
    found: dict = {}
    for name in reversed(HUGO_CONFIGS):  # the first Hugo reads wins
        found.update(_read_hugo(base / name))
    langs = found.get("languages")
    if not isinstance(langs, dict):
        files = (_read_hugo(base / f"config/_default/languages.{ext}") for ext in ("toml", "yaml", "yml", "json"))
        langs = next((listed for listed in files if listed), {})
    static = found.get("staticdir")
    static = static[0] if isinstance(static, list) and static else static
    content = found.get("contentdir")

    def folder(value: object, default: str) -> str:
        text = value.strip().strip("/") if isinstance(value, str) else ""
        return text if text and ".." not in text.split("/") and not os.path.isabs(text) else default

    return tuple(str(k) for k in langs), folder(static, "static"), folder(content, "content")


def _flow(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def init_site(root: str | os.PathLike = ".", inside_a_site: bool = False) -> Init:
    """Write the config, create the folders and ignore the lock file; returns what was done.

    Raises UsageError, and creates nothing, when the site already has a config, or when the
    folder is inside another site (its content/, say) unless `inside_a_site` (a second site
    there is asked for by name: `init --root`)."""
    base = Path(root)
    config = base / CONFIG_NAME
    if os.path.lexists(config):
        raise UsageError(
            str(config), "a config already exists; renditions init never overwrites it (edit it, or delete it first)"
        )
    site = None if inside_a_site else site_above(base.absolute())
    if site is not None:
        where = os.path.relpath(site, base.absolute())
        raise UsageError(
            str(config),
            f"this is a folder of the site in {where}/: renditions init would start a second site inside it "
            f"(run renditions there, or pass --root {os.fspath(root)} to start one here anyway)",
        )
    gen = detect(base)
    languages: tuple[str, ...] = ()
    if gen.name == "Hugo":  # its own folders, as its config names them
        languages, static, content = hugo_settings(base)
        globs = tuple(g.replace("content/", f"{content}/", 1) for g in gen.content)
        advice = tuple(line.replace("static/", f"{static}/") for line in gen.advice)
        gen = replace(gen, public=static, content=globs, articles=f"in {content}/", advice=advice)
    fill = {
        "{content}": json.dumps(gen.content[0]) if len(gen.content) == 1 else _flow(gen.content),
        "{exclude}": _flow(gen.exclude),
        "{languages}": _flow(languages),
        "{public}": gen.public,
        "{data}": gen.data,
    }
    text = CONFIG_TEMPLATE
    for mark, value in fill.items():
        text = text.replace(mark, value)
    created = []
    write_atomic(config, text.encode("utf-8"))
    created.append(CONFIG_NAME)
    for name in ("content" if gen.content[0].startswith("content/") else None, "source_images"):
        if name is None:
            continue
        folder = base / name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            created.append(name + "/")
    existed = os.path.lexists(base / ".gitignore")
    added = ignore_local_files(base)
    if added and not existed:
        created.append(".gitignore")
    return Init(tuple(created), gen.name, gen.advice, gen.articles, added if existed else ())


#: What renditions keeps in a site that is this machine's alone: the lock, the journal of a
#: build in progress, the preview's own folder. Never committed.
LOCAL_FILES = (LOCK_NAME, JOURNAL_NAME, ".renditions/")


def ignore_local_files(base: Path) -> tuple[str, ...]:
    """Add each of LOCAL_FILES to .gitignore (creating it), unless a line already names it;
    returns the names added, so init can say what it changed in a file that was the user's."""
    path = base / ".gitignore"
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = b""
    have = {line.strip().lstrip(b"/") for line in old.splitlines()}
    missing = [name.encode() for name in LOCAL_FILES if name.encode() not in have]
    if not missing:
        return ()
    sep = b"" if not old or old.endswith(b"\n") else b"\n"
    write_atomic(path, old + sep + b"".join(name + b"\n" for name in missing))
    return tuple(name.decode() for name in missing)
