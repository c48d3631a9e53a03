"""Who may write which output path: the whole site's claims, decided before anything is written.

Every article's outputs are claims on site paths. Paths are compared as a case-insensitive,
Unicode-normalising file system (macOS, Windows) would see them, so a site that builds on
Linux cannot silently overwrite itself elsewhere. Pure: no disk, no pixels.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .manifest import Manifest
from .records import quick_init


@quick_init  # built by the thousand (records.py)
@dataclass(frozen=True)
class Claim:
    """One article asking for one output path."""

    article: str  # the article file, relative to the site root
    site_path: str
    key: str  # the front-matter key naming the path, for messages
    variant: str
    line: int | None
    master: str  # the master as the designer names it ("" when the article has none)
    master_hash: str | None  # None: unknown (no master, or not hashed because nobody competes)
    recipe: str
    slug: str = ""  # without a master, the slug its master is looked for by


@dataclass(frozen=True)
class Verdict:
    """What the claims decide: the claims refused (with the line to print) and the shared paths."""

    refused: Mapping[tuple[str, str, str], str]  # (article, site path, variant) → reason
    shared: Mapping[str, str]  # site path → the one article recorded as writing it for all


def changed_since_written(site_path: str, shown: str) -> str:
    """Why a build leaves alone an output edited since renditions wrote it (and why a dry run
    says the build would): the edit is the user's until they move it away or force."""
    return (
        f"{site_path} would replace {shown}, which was changed since renditions wrote it: "
        "move it away, or run `renditions build --force` to replace it"
    )


#: What a dry run can't tell without rendering: why a file it says is in the way may be adopted after all.
MAYBE_ADOPTED = (
    "a dry run renders nothing, so it can't tell whether a file renditions did not write already holds exactly "
    "the bytes the build would write: the build adopts such a file instead of failing its article"
)


def path_key(site_path: str) -> str:
    """The path as a case-insensitive, Unicode-normalising file system sees it."""
    if site_path.isascii():  # most paths: NFC changes nothing, casefold is lower
        return site_path.lower()
    return unicodedata.normalize("NFC", site_path).casefold()


def contested(claims: Iterable[Claim]) -> dict[str, list[Claim]]:
    """Claims grouped by path_key, only the groups with more than one claim."""
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        groups.setdefault(path_key(c.site_path), []).append(c)
    return {k: g for k, g in groups.items() if len(g) > 1}


def _same_bytes(a: Claim, b: Claim) -> bool:
    """Two claims that would write identical bytes to one path: one shared output. Two articles
    that lack the same master (translations, before the designer adds it) would too, once it
    is added: each fails with "no master", which is what to fix, not with the other's path."""
    if a.site_path != b.site_path or a.recipe != b.recipe:
        return False
    if not a.master and not b.master:
        return a.slug == b.slug
    return a.master_hash is not None and a.master_hash == b.master_hash


def resolve(groups: Mapping[str, list[Claim]], manifest: Manifest) -> Verdict:
    """Decide every contested path: the recorded owner keeps it, identical requests share it,
    every other claimant is refused with a line naming who has it."""
    refused: dict[tuple[str, str, str], str] = {}
    shared: dict[str, str] = {}
    for group in groups.values():
        by_article: dict[str, Claim] = {}
        for c in group:
            first = by_article.setdefault(c.article, c)
            if first is not c:
                refused[(c.article, c.site_path, c.variant)] = (
                    f"{c.key}: {c.site_path} is named twice in this article (by variants {first.variant} and {c.variant}): give each output its own path"
                )
        if len(by_article) < 2:
            continue
        owner = _recorded_owner(group, manifest)
        kept = by_article.get(owner) if owner else None
        if kept is None:  # nobody has it yet: unless all ask for the same bytes, nobody gets it
            claims = sorted(by_article.values(), key=lambda c: c.article)
            if all(_same_bytes(claims[0], c) for c in claims[1:]):
                for c in claims:
                    shared[c.site_path] = claims[0].article
                continue
            for c in claims:
                other = next(o for o in claims if o.article != c.article)
                refused[(c.article, c.site_path, c.variant)] = (
                    f"{c.key}: {c.site_path} is also wanted by {other.article}{_from(other.master)}{_unlike(c, other)}: "
                    "give one of them another path"
                )
            continue
        entry = manifest.entries.get(kept.site_path) or next(
            manifest.entries[c.site_path] for c in group if c.site_path in manifest.entries
        )
        for c in by_article.values():
            if c is kept:
                continue
            if _same_bytes(kept, c):
                shared[c.site_path] = kept.article
                shared[kept.site_path] = kept.article
                continue
            where = "" if kept.site_path == c.site_path else f" (as {kept.site_path})"
            refused[(c.article, c.site_path, c.variant)] = (
                f"{c.key}: {c.site_path} is already written by {kept.article}{_from(entry.master)}{where}{_unlike(c, kept)}"
            )
    return Verdict(refused, shared)


def _unlike(a: Claim, b: Claim) -> str:
    """Why two articles cutting one master for one path can't share it: the crop or settings
    differ (a translation given its own `focus`). Different masters need no word: both are named."""
    if a.master_hash is None or a.master_hash != b.master_hash or a.recipe == b.recipe:
        return ""
    return " with another crop or encoding than this article's (a `focus` of its own, say)"


def held(claims: Iterable[Claim], manifest: Manifest, broken: set[str]) -> dict[tuple[str, str, str], str]:
    """Claims on a path the manifest records for another article that fails to parse for now:
    a typo in one article must not hand its images to another."""
    refused: dict[tuple[str, str, str], str] = {}
    if not broken:  # every article parses: the usual case, and nothing to look up
        return refused
    for c in claims:
        entry = manifest.entries.get(c.site_path)
        if entry is not None and entry.article != c.article and entry.article in broken:
            refused[(c.article, c.site_path, c.variant)] = (
                f"{c.key}: {c.site_path} is already written by {entry.article}{_from(entry.master)} (which cannot be read right now)"
            )
    return refused


def _recorded_owner(group: list[Claim], manifest: Manifest) -> str | None:
    """The article the manifest says wrote this path (any spelling of it), if it still claims it."""
    claimants = {c.article for c in group}
    for c in sorted(group, key=lambda c: c.site_path):
        entry = manifest.entries.get(c.site_path)
        if entry is not None and entry.article in claimants:
            return entry.article
    return None


def _from(master: str) -> str:
    return f" ({master})" if master else ""
