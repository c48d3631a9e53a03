"""`renditions status`: one row per article, one word per variant, and the masters nobody uses.

Drafts have their rows too, marked (as `preview` lists them): their masters are in use, and a
designer told otherwise would throw a draft's master away.

Built from the same plan `check` uses, plus a header read of each master (never a decode),
so it answers "what would build do, and why" at a glance.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from . import failures
from .discover import read_all, unread_reason
from .errors import RenditionsError
from .geometry import TooSmall
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
    draft: bool = False  # built only with `build --drafts`

    def to_json(self) -> dict:
        return {
            "slug": self.slug,
            "article": self.article,
            "draft": self.draft,
            "master": None
            if self.master is None
            else {
                "path": self.master,
                "width": self.size[0] if self.size else None,
                "height": self.size[1] if self.size else None,
            },
            "variants": {name: word.replace(" ", "_") for name, word in self.variants},
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Status:
    variants: tuple[str, ...]
    rows: tuple[Row, ...]
    unused_masters: tuple[str, ...]
    pages: tuple[str, ...] = ()  # content files without images (no variant key, no master): never built
    #: (file, master or "", why): image articles no `content` glob matches, drafts aside
    unread: tuple[tuple[str, str, str], ...] = ()

    def to_json(self) -> dict:
        # fixed snake_case keys, zeros kept: a script reading totals["stale"] never meets a KeyError;
        # drafts' rows are not counted, so the totals stay what `build` (without --drafts) would do
        totals = {word.replace(" ", "_"): 0 for word in SEVERITY}
        for r in self.rows:
            if r.draft:
                continue
            for _, word in r.variants:
                totals[word.replace(" ", "_")] += 1
        return {
            "command": "status",
            "variants": list(self.variants),
            "articles": [r.to_json() for r in self.rows],
            "unused_masters": list(self.unused_masters),
            "pages_without_images": list(self.pages),
            "unread_articles": [{"file": f, "master": m, "reason": why} for f, m, why in self.unread],
            "totals": totals,
        }

    def table(self, width: int | None = 100) -> str:
        """The table, at most `width` columns (None: every column in full, as `--wide` prints it).

        Too wide a table is shortened step by step: a master named after its slug shows only its
        extension and size; then the variant columns fold into one count per status; then long
        slugs and master names are cut in the middle with "…"."""
        head = ["slug", "master", *self.variants]
        twins = {slug for slug, n in Counter(r.slug for r in self.rows).items() if n > 1}  # translations: told apart by file
        body = [[_slug_cell(r, twins), self._master_cell(r, short=False), *(w for _, w in r.variants)] for r in self.rows]
        if width is None or _width(head, body) <= width:
            return _render(head, body)
        body = [[_slug_cell(r, twins), self._master_cell(r, short=True), *(w for _, w in r.variants)] for r in self.rows]
        _fit(head, body, width, shortest=24)
        if _width(head, body) > width:
            head = ["slug", "master", "variants"]
            body = [[row[0], row[1], _counts(r)] for r, row in zip(self.rows, body)]
            _fit(head, body, width, shortest=12)
        return _render(head, body)

    @staticmethod
    def _master_cell(r: Row, short: bool) -> str:
        if r.master is None:
            return "missing"
        name = os.path.basename(r.master)
        stem, ext = os.path.splitext(name)
        if short and stem == r.slug:
            name = ext.lstrip(".") or name  # the slug column already names it
        return name + (f" {r.size[0]}×{r.size[1]}" if r.size else " (unreadable)")


#: What follows a draft's slug in the table.
DRAFT_MARK = " (draft)"


def _slug_cell(r: Row, twins: Collection[str] = ()) -> str:
    """The slug, with the article's file name when another row has the same slug (`trip
    (index.fr.md)`: translations), and the draft mark."""
    cell = f"{r.slug} ({os.path.basename(r.article)})" if r.slug in twins else r.slug
    return cell + DRAFT_MARK if r.draft else cell


def _counts(r: Row) -> str:
    """`4 up to date`, or `2 up to date, 1 stale, 1 missing`: the variant columns folded into one."""
    n: dict[str, int] = {}
    for _, word in r.variants:
        n[word] = n.get(word, 0) + 1
    return ", ".join(f"{n[w]} {w}" for w in SEVERITY if w in n)


def _fit(head: list[str], body: list[list[str]], width: int, shortest: int) -> None:
    """Cut the slug, then the master column (never below `shortest`) until the table fits."""
    for col in (0, 1):
        over = _width(head, body) - width
        if over <= 0:
            return
        widest = max(len(row[col]) for row in body)
        keep = max(shortest, max(len(head[col]), widest - over))
        for row in body:
            row[col] = _cut(row[col], keep)


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    head = (keep - 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - 1 - head) :]


def _width(head: list[str], body: list[list[str]]) -> int:
    return sum(max(len(row[i]) for row in [head, *body]) for i in range(len(head))) + 2 * (len(head) - 1)


def _render(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def status(root=".", config=None, *, engine: str | None = None) -> Status:
    """The status of every article's variants, read-only."""
    s = open_session(root, config, engine, drafts=True)
    cfg = s.config
    everyone = s.articles
    # the published articles planned as `build` plans them (a draft wanting one of their paths
    # changes nothing for them); the drafts as `build --drafts` would, beside every article
    s.articles = s.site = [a for a in everyone if not a.draft]
    plans = [s.plan()]
    drafts = [a for a in everyone if a.draft]
    if drafts:
        s.articles, s.site = drafts, everyone
        plans.append(s.plan())
    s.articles = s.site = everyone
    words: dict[tuple[str, str], str] = {}

    def mark(article: str, variant: str, word: str) -> None:
        old = words.get((article, variant))
        if old is None or SEVERITY[word] > SEVERITY[old]:
            words[(article, variant)] = word

    failed: set[str] = set()
    problems: dict[str, list[str]] = {}
    noted = failures.load(cfg.root)  # what only a decode finds: the last build's word, same master bytes
    last = {j.article: why for p in plans for j in p.jobs if (why := failures.noted_for(noted, j, s.engine_id, cfg)) is not None}
    for plan in plans:
        for o in plan.fresh:
            mark(o.article, o.variant, UP_TO_DATE)
        for j in plan.jobs:
            for o in j.outputs:
                mark(j.article, o.variant, MISSING_WORD if o.reason == MISSING else STALE)
        failed |= set(plan.failed_articles)
        for p in plan.problems:
            said = problems.setdefault(p.article or p.path, [])
            said += [p.reason] if p.reason not in said else []  # a site-wide warning comes with each plan
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
            if size is not None and word != UP_TO_DATE and a.master_for(v.name) == a.master:  # own master: render checks it
                try:
                    variant_geometry(crop_for(v, a), size)
                except TooSmall:
                    word = FAILED
                    problems.setdefault(a.rel, []).append(
                        f"master {size[0]}×{size[1]} is smaller than {v.name} ({v.width}×{v.height})"
                    )
            cells.append((v.name, word))
        if a.rel in last and size is not None and all(w != FAILED for _, w in cells):
            # a sound header, nothing the header tells wrong: what only the build's decode found
            problems.setdefault(a.rel, []).append(f"the last build failed: {last[a.rel]}")
            cells = [(name, FAILED) for name, _ in cells]
        master = os.path.relpath(a.master, cfg.root) if a.master is not None else None
        rows.append(Row(a.slug, a.rel, master, size, tuple(cells), tuple(problems.get(a.rel, ())), a.draft))

    unread = [a for a in s.unread_articles if not a.draft]  # an unread one's master: named with it below
    unused = s.unused_masters()
    pages = tuple(a.rel for a in read_all(cfg) if not a.images)
    named = tuple(
        (a.rel, os.path.relpath(a.master, cfg.root) if a.master is not None else "", unread_reason(cfg, a)) for a in unread
    )
    return Status(tuple(v.name for v in cfg.variants), tuple(rows), unused, pages, named)
