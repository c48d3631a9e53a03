""" "Did you mean" hints for a missing master: the near-miss names designers actually make.

A master saved as `slug .png` (trailing space), `Slug.PNG` (wrong case on a case-sensitive
disk), `slug_v2.jpeg` or with one letter off is found here and named, so the fix is a rename.
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .formats import MASTER_EXTS, sniff_format
from .paths import printable

#: How alike a stem must be to a slug (difflib ratio) to be suggested.
CUTOFF = 0.8


def _loose(stem: str) -> str:
    """A stem with case, spaces, underscores and repeated hyphens ironed out."""
    return re.sub(r"[-_\s]+", "-", stem.strip().lower()).strip("-")


def master_names(sources: Path) -> list[str]:
    """File names in the masters' folder with a master extension (any case)."""
    try:
        names = sorted(os.listdir(sources))
    except OSError:
        return []
    return [n for n in names if os.path.splitext(n)[1].lower() in MASTER_EXTS]


#: A master no article uses (status and the preview list them): its path from the site root.
UNUSED_MASTER = "unused master: {name} (no article has its name as slug)"


def spare_names(sources: Path, used: Iterable[Path]) -> list[str]:
    """The masters' folder's files no article uses: the only ones a rename may be suggested for
    (renaming another article's master would fix one article by breaking the other)."""
    taken = {os.path.basename(p) for p in used if os.path.dirname(p) == os.fspath(sources)}
    return [n for n in master_names(sources) if n not in taken]


def near_masters(slug: str, names: list[str]) -> list[str]:
    """Master file names that are probably meant for `slug`, best first (never an exact match)."""
    exact = [n for n in names if unicodedata.normalize("NFC", os.path.splitext(n)[0]) == unicodedata.normalize("NFC", slug)]
    if exact:
        return []
    stems = {n: os.path.splitext(n)[0] for n in names}
    same = [n for n, s in stems.items() if _loose(s) == _loose(slug)]
    if same:
        return same
    close = difflib.get_close_matches(_loose(slug), [_loose(s) for s in stems.values()], n=3, cutoff=CUTOFF)
    return [n for c in close for n, s in stems.items() if _loose(s) == c]


def why(name: str, slug: str) -> str:
    """What is wrong with a near-miss name, in the words a designer would use."""
    stem = os.path.splitext(name)[0]
    found = []
    if stem != stem.strip():
        found.append("a leading or trailing space")
    if stem.strip() != slug and stem.strip().lower() == slug.lower():
        found.append("different upper/lower case")
    elif _loose(stem) == _loose(slug) and stem.strip().lower() != slug.lower():
        found.append("different spaces, underscores or hyphens")
    elif _loose(stem) != _loose(slug):
        found.append("a different spelling")
    return "its name has " + " and ".join(found)


def master_hint(slug: str, sources: Path, root: Path, names: list[str] | None = None) -> str:
    """'; did you mean ...?' to append to a "no master" problem, or "" when nothing is close.
    `names`: the candidates (spare_names), else every master in the folder."""
    near = near_masters(slug, master_names(sources) if names is None else names)
    if not near:
        return _other_extension(slug, sources, root)
    folder = os.path.relpath(sources, root)
    name = printable(near[0])
    ext = os.path.splitext(name)[1]
    return f'; did you mean "{folder}/{name}"? ({why(name, slug)}: rename it to "{slug}{ext.lower()}")'


def _other_extension(slug: str, sources: Path, root: Path) -> str:
    """'; "source_images/slug.jgp" is a JPEG image: rename it to "slug.jpg"', for a file named
    after the slug with an extension renditions does not look for: a typo (`.jgp`), or a
    designer's working file (`.psd`), which is no format renditions reads. "" when none is."""
    try:
        names = sorted(os.listdir(sources))
    except OSError:
        return ""
    wanted = _loose(unicodedata.normalize("NFC", slug))
    for name in names:
        stem, ext = os.path.splitext(name)
        if not ext or ext.lower() in MASTER_EXTS or _loose(unicodedata.normalize("NFC", stem)) != wanted:
            continue
        path = sources / name
        if not os.path.isfile(path):  # a folder, a FIFO (whose open would wait): no master to suggest
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                found = sniff_format(os.read(fd, 64))
            finally:
                os.close(fd)
        except OSError:
            continue
        shown = f"{os.path.relpath(sources, root)}/{printable(name)}"
        if found is not None and found.read:
            return f'; "{shown}" is a {found.label} image: rename it to "{slug}{found.master_exts[0]}"'
        return f'; "{shown}" is there, but {printable(ext)} is no image format renditions reads: export it as one that is'
    return ""
