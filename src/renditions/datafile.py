"""The data file for templates (config `data:`): every front-matter reference → what a
`<picture>` needs (src, width, height, srcset, one source per `also:` format, placeholder).

Hugo reads it as site.Data.renditions, Eleventy from _data/, Jekyll as site.data.renditions;
the snippets in examples/ use it. It is built from the manifest (what was really written),
so a skipped width, or an output never written, is simply absent, and it is rewritten only when it changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from .config import Config
from .discover import Article
from .formats import BY_NAME
from .manifest import Manifest
from .paths import url_path
from .plan import Problem, extra_widths, sibling_path, width_path
from .write import write_atomic

#: Marks the file as renditions' own: a data file without it is never overwritten.
MARK_KEY = "_written_by"
MARK = "renditions: rewritten by every build from the manifest; do not edit"


def _query(raw: str) -> str:
    """The query string of a reference (`?v=2`), carried onto every URL of its srcset: its
    escapes kept, a space or comma encoded (either would split the srcset)."""
    if "?" not in raw:
        return ""
    return "?" + quote(raw.split("?", 1)[1].split("#", 1)[0].strip(), safe="/?&=%:@!$'()*+;~")


def template_data(config: Config, articles: list[Article], manifest: Manifest) -> dict:
    """Pure: the data file's document, keyed by each reference exactly as the article writes it;
    its URLs are percent-encoded (`summer%20picnic.png`), as a srcset needs them."""
    doc: dict = {MARK_KEY: MARK}
    for a in articles:
        for t in a.targets:
            site_path = t.site_path
            if site_path is None:
                continue
            base = manifest.entries.get(site_path)
            if base is None:
                continue  # not written (yet): a template falls back to the path itself
            # the file at the URL, whichever article the manifest records for it: translations
            # writing one reference two ways (a query, %20) share it, a draft may hold its record
            v = config.variant(t.variant)
            ref = t.raw if isinstance(t.raw, str) else site_path
            q = _query(ref)

            def srcset(fmt: str) -> str:
                paths = [site_path] + [width_path(site_path, w) for w in extra_widths(v)]
                found = []
                for p in paths:
                    p = p if fmt == base.format else sibling_path(p, fmt)
                    e = manifest.entries.get(p)
                    # same master as the front-matter file: a width the master no longer serves is left out
                    if e is not None and e.format == fmt and e.master_hash == base.master_hash:
                        found.append((e.width, f"{url_path(p)}{q} {e.width}w"))
                by_width: dict[int, str] = {}  # `fit: inside` may leave two widths one size: a srcset lists a width once
                for w, item in sorted(found):
                    by_width.setdefault(w, item)
                return ", ".join(by_width.values())

            sources = []
            for fmt in v.also:
                if fmt != base.format and sibling_path(site_path, fmt) in manifest.entries:
                    sources.append({"type": BY_NAME[fmt].mime, "srcset": srcset(fmt)})
            doc[ref] = {
                "src": url_path(site_path) + q,
                "width": base.width,
                "height": base.height,
                "type": BY_NAME[base.format].mime,
                "srcset": srcset(base.format),
                "sources": sources,
                "placeholder": base.placeholder,
                "colour": base.colour,
                "bytes": base.bytes,
                "variant": v.name,
            }
    return doc


#: The build's note when it wrote the data file: a build that rendered nothing still says so.
WRITTEN = "{file}: written (the templates' data)"


def write_data(config: Config, doc: dict) -> tuple[Problem | None, bool]:
    """Write the data file atomically, only when its bytes change; never over a file renditions
    did not write (then a Problem says so). The bool: whether it was written."""
    assert config.data is not None
    shown = os.path.relpath(config.data, config.root)
    text = _text(doc)
    try:
        old = config.data.read_bytes()
    except FileNotFoundError:
        old = None
    except OSError as exc:
        return Problem(shown, f"cannot read the data file: {exc.strerror}"), False
    if old == text:
        return None, False
    if old is not None and not _ours(old):
        return Problem(shown, "not written by renditions, so it is left alone: move it, or set `data:` to another file"), False
    try:
        write_atomic(Path(config.data), text)
    except OSError as exc:
        return Problem(shown, f"cannot write the data file: {exc.strerror}"), False
    return None, True


#: The data file disagrees with the manifest: check's line (and `check --staged` adds its `git add`).
OUT_OF_DATE = (
    "out of date: what it says of an image differs from what the manifest records (an old copy committed "
    "beside new outputs?), so pages show old sizes and srcsets; `renditions build` writes it again"
)


def data_problem(config: Config, manifest: Manifest, published: list[Article], every: list[Article]) -> Problem | None:
    """What `check` says of the data file: missing, conflicted, not valid JSON, foreign, or out
    of date: an entry a page reads is not the one a build would write from this manifest (an old
    copy committed beside new outputs: pages show old sizes and srcsets); None otherwise. Entries
    no article reads any more (an article deleted, its outputs pruned) show nothing wrong: the
    next build drops them. `published` are the articles a build covers, `every` those
    `build --drafts` does (as watch builds): either file is right."""
    assert config.data is not None
    shown = os.path.relpath(config.data, config.root)
    try:
        raw = config.data.read_bytes()
    except FileNotFoundError:
        return Problem(shown, "missing: `renditions build` writes it")
    except OSError as exc:
        return Problem(shown, f"cannot read the data file: {exc.strerror}")
    if _conflicted_ours(raw):
        return Problem(shown, "a merge conflict in it: templates can't read it; `renditions build` writes it again")
    try:
        found = json.loads(raw)  # compared as documents: json's C parser, where writing the
    except (ValueError, UnicodeDecodeError):  # indented text to compare bytes is pure Python
        return Problem(shown, "not valid JSON (cut short?): templates can't read it; move it away, then `renditions build`")
    if isinstance(found, dict):
        for articles in (published, every) if len(every) != len(published) else (published,):
            want = template_data(config, articles, manifest)
            if all(k in found and found[k] == v for k, v in want.items()):  # laid out any way
                return None
    if not (isinstance(found, dict) and found.get(MARK_KEY) == MARK):
        return Problem(shown, "not written by renditions: move it, or set `data:` to another file")
    return Problem(shown, OUT_OF_DATE)


#: The mark's line as dumps writes it.
_MARK_LINE = f" {json.dumps(MARK_KEY)}: {json.dumps(MARK)}"


def _text(doc: dict) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _ours(raw: bytes) -> bool:
    """Written by renditions: its mark is there, also in a file git left conflicted (two
    branches that each added an article), which a build writes again whole."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _conflicted_ours(raw)
    return isinstance(doc, dict) and doc.get(MARK_KEY) == MARK


def _conflicted_ours(raw: bytes) -> bool:
    """Git's conflict markers in renditions' own file: its mark outside every conflicted hunk (a
    hunk with someone else's file on one side is not renditions' to settle)."""
    if b"<<<<<<< " not in raw:
        return False
    inside, marked, hunks = False, False, 0
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("<<<<<<< "):
            inside, hunks = True, hunks + 1
        elif line.startswith(">>>>>>> "):
            inside = False
        elif not inside and line.rstrip(",") == _MARK_LINE:
            marked = True
    return marked and hunks > 0
