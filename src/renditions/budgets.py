"""Byte budgets: which outputs weigh more than their variant's `budget`, and what would help.

`build` reports them as warnings, `check` too, and `check --strict` as errors. Sizes are
decimal (1 KB = 1000 bytes), as the config's `budget` and browsers' network panels count.
"""

from __future__ import annotations

from collections.abc import Iterable

from .config import Config, Variant
from .plan import Problem
from .report import OutputResult


def decimal_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1000 * 1000:
        return f"{n / 1000:.1f} KB".replace(".0 KB", " KB")
    return f"{n / 1e6:.2f} MB"


def budget_for(v: Variant, width: int | None) -> int | None:
    """The variant's budget, for an output of `width`: a wider extra file (a 2× density) gets
    the budget times the pixels it adds, (width / the variant's width)²."""
    if v.budget is None:
        return None
    if width is None or width <= v.width:
        return v.budget
    return round(v.budget * (width / v.width) ** 2)


def remedies(v: Variant, fmt: str | None) -> str:
    """What would make an output lighter, in the order worth trying."""
    tips = []
    if fmt in ("png", "jpeg") and not {"webp", "avif"} & set(v.also):
        tips.append("also: [webp] (browsers that read it get a lighter file)")
    if fmt == "png" and not v.encoder("png").get("palette"):
        tips.append("png: {palette: true} (for graphics; lossy)")
    if fmt in ("jpeg", "webp", "avif") and v.encoder(fmt).get("quality") > 60:
        tips.append(f"a lower {fmt}: {{quality}}")
    tips.append("a smaller width and height")
    return "try " + "; or ".join(tips)


def over_budget(config: Config, outputs: Iterable[OutputResult], error: bool = False) -> list[Problem]:
    """One problem per output heavier than its variant's budget."""
    problems = []
    names = {v.name: v for v in config.variants}
    for o in outputs:
        v = names.get(o.variant)
        if v is None or o.bytes is None:
            continue
        budget = budget_for(v, o.width)
        if budget is None or o.bytes <= budget:
            continue
        reason = f"{decimal_bytes(o.bytes)}, over the {decimal_bytes(budget)} budget of variant {v.name}: {remedies(v, o.format)}"
        problems.append(Problem(o.path, reason, o.article, error=error))
    return problems
