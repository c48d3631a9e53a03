"""`renditions status`: one row per article, one word per variant, and the masters nobody uses.

Built from the same plan `check` uses, plus a header read of each master (never a decode),
so it answers "what would build do, and why" at a glance.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import RenditionsError
from .geometry import TooSmall
from .hints import master_names
from .plan import MISSING, NOT_OURS, crop_for
from .render import variant_geometry
from .session import open_session

UP_TO_DATE, STALE, MISSING_WORD, FAILED = "up to date", "stale", "missing", "failed"
#: When an article has several outputs for one variant (`also:`), the worst one is shown.
SEVERITY = {UP_TO_DATE: 0, STALE: 1, MISSING_WORD: 2, FAILED: 3}


@dataclass(frozen=True)
class Row:
    slug: str
    article: str
    master: str | None  # path relative to the site root, None when missing
    size: tuple[int, int] | None  # upright width × height from the header
    variants: tuple[tuple[str, str], ...]  # (variant name, status word)
    problems: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "slug": self.slug,
            "article": self.article,
            "master": None if self.master is None else {
                "path": self.master, "width": self.size[0] if self.size else None, "height": self.size[1] if self.size else None,
            },
            "variants": dict(self.variants),
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Status:
    variants: tuple[str, ...]
    rows: tuple[Row, ...]
    unused_masters: tuple[str, ...]

    def to_json(self) -> dict:
        totals: dict[str, int] = {}
        for r in self.rows:
            for _, word in r.variants:
                totals[word] = totals.get(word, 0) + 1
        return {
            "command": "status",
            "variants": list(self.variants),
            "articles": [r.to_json() for r in self.rows],
            "unused_masters": list(self.unused_masters),
            "totals": totals,
        }

    def table(self) -> str:
        head = ["slug", "master", *self.variants]
        body = []
        for r in self.rows:
            if r.master is None:
                master = "missing"
            else:
                master = os.path.basename(r.master) + (f" {r.size[0]}×{r.size[1]}" if r.size else " (unreadable)")
            body.append([r.slug, master, *(w for _, w in r.variants)])
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def status(root=".", config=None, *, engine: str | None = None) -> Status:
    """The status of every article's variants, read-only."""
    s = open_session(root, config, engine)
    cfg = s.config
    plan = s.plan()
    words: dict[tuple[str, str], str] = {}

    def mark(article: str, variant: str, word: str) -> None:
        old = words.get((article, variant))
        if old is None or SEVERITY[word] > SEVERITY[old]:
            words[(article, variant)] = word

    for o in plan.fresh:
        mark(o.article, o.variant, UP_TO_DATE)
    for j in plan.jobs:
        for o in j.outputs:
            mark(j.article, o.variant, MISSING_WORD if o.reason == MISSING else STALE)
    failed = set(plan.failed_articles)
    problems: dict[str, list[str]] = {}
    for p in plan.problems:
        problems.setdefault(p.article or p.path, []).append(p.reason)
    for j in plan.jobs:
        for o in j.outputs:
            if o.reason == NOT_OURS:  # build adopts it only if it holds exactly the bytes it would write
                problems.setdefault(j.article, []).append(f"{o.site_path}: a file renditions did not write is there")

    rows = []
    for a in s.articles:
        size = None
        if a.master is not None:
            try:
                probe = s.engine.probe(str(a.master))
                size = (probe.width, probe.height)
            except RenditionsError as exc:
                problems.setdefault(a.rel, []).append(f"master cannot be read: {exc.reason}")
                failed.add(a.rel)
        cells = []
        for v in cfg.variants:
            word = FAILED if a.rel in failed else words.get((a.rel, v.name), MISSING_WORD)
            if size is not None and word != UP_TO_DATE:
                try:
                    variant_geometry(crop_for(v, a), size)
                except TooSmall:
                    word = FAILED
                    problems.setdefault(a.rel, []).append(
                        f"master {size[0]}×{size[1]} is smaller than {v.name} ({v.width}×{v.height})"
                    )
            cells.append((v.name, word))
        master = os.path.relpath(a.master, cfg.root) if a.master is not None else None
        rows.append(Row(a.slug, a.rel, master, size, tuple(cells), tuple(problems.get(a.rel, ()))))

    used = {os.path.realpath(a.master) for a in s.articles if a.master is not None}
    folder = os.path.relpath(cfg.sources, cfg.root)
    unused = tuple(
        f"{folder}/{n}" for n in master_names(cfg.sources) if os.path.realpath(cfg.sources / n) not in used
    )
    return Status(tuple(v.name for v in cfg.variants), tuple(rows), unused)
