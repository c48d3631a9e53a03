"""Front-matter sync: add each missing variant key to its article, touching no other byte.

A YAML round-trip would reorder keys, requote strings and drop comments, so the new lines
are spliced in as bytes just before the closing `---`, with the file's own line ending.
TOML gets `key = "path"` lines before its first [table] (or the closing `+++`), JSON a member
before its closing `}`: each article keeps its own format.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import frontmatter
from .config import Config, load_config
from .discover import Article, discover, nfc
from .errors import FrontMatterError
from .lock import site_lock
from .shard import in_shard, parse_shard
from .write import write_atomic


@dataclass(frozen=True)
class Added:
    """Keys added (or, in a dry run, to add) to one article."""

    article: str
    keys: tuple[tuple[str, str], ...]  # (front-matter key, site path)
    refused: str = ""  # why the keys could not be added without changing anything else (nothing written)


def missing_keys(article: Article, config: Config) -> tuple[tuple[str, str], ...]:
    """(key, path from the variant's template) for every variant key the article lacks."""
    if article.errors:
        return ()
    return tuple((config.variant(t.variant).key, t.site_path) for t in article.targets if t.from_template and t.site_path)


def line_ending(raw: bytes) -> bytes:
    """The ending of the opening `---` line: what the rest of the front matter uses."""
    first = raw.split(b"\n", 1)[0]
    return b"\r\n" if first.endswith(b"\r") else b"\n"


_TOML_TABLE = re.compile(rb"""^\s*\[\[?\s*[A-Za-z0-9_.\-"' ]+\]\]?\s*(#.*)?$""")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def insert_keys(raw: bytes, keys: tuple[tuple[str, str], ...], name: str = "") -> bytes:
    """`raw` with the keys added in its own front-matter format (YAML, TOML or JSON)."""
    kind = frontmatter.format_of(raw)
    if kind == "toml":
        return _insert_toml(raw, keys, name)
    if kind == "json":
        return _insert_json(raw, keys, name)
    return _insert_yaml(raw, keys, name)


def _insert_toml(raw: bytes, keys: tuple[tuple[str, str], ...], name: str) -> bytes:
    """`key = "value"` lines before the first [table] header, else before the closing `+++`."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    body = raw[len(bom) :]
    eol = line_ending(body)
    lines = body.splitlines(keepends=True)
    quote = b""  # the multi-line string a line is inside: its lines are text, never a [table]
    for i in range(1, len(lines)):
        if quote:
            quote = b"" if lines[i].count(quote) % 2 else quote
            continue
        if lines[i].rstrip() == b"+++" or _TOML_TABLE.match(lines[i].rstrip(b"\r\n")):
            new = b"".join(
                f"{k if _BARE_KEY.fullmatch(k) else json.dumps(k)} = {json.dumps(v, ensure_ascii=False)}".encode() + eol
                for k, v in keys
            )
            return bom + b"".join(lines[:i]) + new + b"".join(lines[i:])
        opened = [q for q in (b'"""', b"'''") if lines[i].count(q) % 2]
        quote = opened[0] if opened else b""
    raise FrontMatterError(name, "front matter is not closed: add a +++ line after it", 1)


def checked_insert(raw: bytes, keys: tuple[tuple[str, str], ...], name: str = "") -> bytes:
    """insert_keys, proven: the new front matter must read as the old one plus exactly these keys.
    A layout the splice does not know (a YAML flow mapping `{title: x}`, a TOML string that holds
    a `[line]`) is refused with FrontMatterError, rather than an article changed another way."""
    new = insert_keys(raw, keys, name)
    before = frontmatter.parse(raw, name, len(raw) + 1).data
    try:
        after = frontmatter.parse(new, name, len(new) + 1).data
    except FrontMatterError:
        after = None
    if after != {**before, **dict(keys)} or len(after) != len(before) + len(keys):
        shown = ", ".join(k for k, _ in keys)
        raise FrontMatterError(
            name,
            f"cannot add {shown} as new lines without changing what the rest of its front matter says"
            " (a layout such as a one-line {...} mapping): add them by hand, nothing was written",
            1,
        )
    return new


def _insert_json(raw: bytes, keys: tuple[tuple[str, str], ...], name: str) -> bytes:
    """Members before the object's closing `}`, indented like its first member."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    body = raw[len(bom) :]
    _, end, text = frontmatter.json_end(body, name, len(body))
    close = len(text[: end - 1].encode("utf-8", "surrogateescape"))  # the byte offset of `}`
    before = body[:close].rstrip()
    space = body[len(before) : close]
    eol = line_ending(body)
    indent = re.search(r"\n([ \t]*)\"", text[:end])
    pad = (indent.group(1) if indent else "  ").encode()
    members = b",".join(
        eol + pad + f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}".encode() for k, v in keys
    )
    comma = b"" if before.endswith(b"{") else b","
    return bom + before + comma + members + (space if b"\n" in space else eol) + body[close:]


def _insert_yaml(raw: bytes, keys: tuple[tuple[str, str], ...], name: str) -> bytes:
    """`key: "value"` lines inserted before the closing `---` line."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    body = raw[len(bom) :]
    eol = line_ending(body)
    lines = body.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != b"---":
        raise FrontMatterError(name, "no front matter: the file must start with a --- line", 1)
    for i in range(1, len(lines)):
        if lines[i].rstrip() in (b"---", b"..."):
            new = b"".join(f"{k}: {json.dumps(v, ensure_ascii=False)}".encode() + eol for k, v in keys)
            return bom + b"".join(lines[:i]) + new + b"".join(lines[i:])
    raise FrontMatterError(name, "front matter is not closed: add a --- line after it", 1)


def sync(
    root: str | os.PathLike = ".",
    config: str | os.PathLike | None = None,
    *,
    only: tuple[str, ...] = (),
    dry_run: bool = False,
    drafts: bool = False,
    shard: str | None = None,
    wait_lock: bool = False,
) -> list[Added]:
    """Add every missing variant key to every article (or only these slugs, or this shard's),
    drafts too: a draft's keys are there the day it is published. Nothing is written when the build
    will refuse to run (exit 2, "nothing was done"): a site of drafts alone without `drafts` (what
    `hugo new content` writes), or an `only` slug it can't build. Articles are read and written
    under the site's lock, as a build writes: two builds' syncs never write one file at once, and
    the shards of a CI matrix each touch their own articles only."""
    cfg = load_config(root, config)
    shard_t = parse_shard(shard)
    if dry_run:
        return _sync(cfg, only, True, drafts, shard_t)
    with site_lock(cfg.root, wait=wait_lock):
        return _sync(cfg, only, False, drafts, shard_t)


def _sync(cfg: Config, only: tuple[str, ...], dry_run: bool, drafts: bool, shard: tuple[int, int] | None) -> list[Added]:
    articles = discover(cfg, drafts=True)
    buildable = {nfc(a.slug) for a in articles if drafts or not a.draft}
    wanted = {nfc(slug) for slug in only}
    if not buildable or not wanted <= buildable:
        return []
    added = []
    for a in articles:
        if (only and nfc(a.slug) not in wanted) or not in_shard(a.rel, shard):
            continue
        keys = missing_keys(a, cfg)
        if not keys:
            continue
        try:
            new = checked_insert(Path(a.file).read_bytes(), keys, a.rel)
        except (FrontMatterError, OSError) as exc:
            added.append(Added(a.rel, keys, exc.reason if isinstance(exc, FrontMatterError) else str(exc.strerror)))
            continue
        if not dry_run:
            write_preserving_mode(a.file, new)
        added.append(Added(a.rel, keys))
    return added


def write_preserving_mode(path: Path, data: bytes) -> None:
    """write_atomic, keeping the article's permission bits (the temp file would reset them)."""
    mode = os.stat(path).st_mode & 0o7777
    write_atomic(Path(path), data)
    os.chmod(path, mode)
