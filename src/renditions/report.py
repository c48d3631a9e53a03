"""What build, check and prune report: one row per output, the problems, and a summary.

The CLI prints it, `--json` dumps it, and the Python API returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

from .records import quick_init


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 article`, `2 articles`: messages read as written by a person."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


@quick_init  # built by the thousand (records.py)
@dataclass(frozen=True)
class Problem:
    path: str  # what the problem is about: an article, a site path, a master
    reason: str
    article: str = ""  # the article file, for annotations
    line: int | None = None
    error: bool = True

    def __str__(self) -> str:
        """`path: reason`, with `:line` when the problem is about a front-matter line of the article."""
        where = f"{self.path}:{self.line}" if self.line and self.path == self.article else self.path
        return f"{where}: {self.reason}"


@quick_init  # built by the thousand (records.py)
@dataclass(frozen=True)
class OutputResult:
    path: str
    article: str
    variant: str
    status: str  # written | adopted | up to date | stale | failed | orphan | pruned
    reason: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    colour: str | None = None
    placeholder: str | None = None

    def to_json(self) -> dict:
        """Statuses in snake_case (`up_to_date`): scripts key on them (schemas/report.schema.json)."""
        return {**self.__dict__, "status": self.status.replace(" ", "_")}


@dataclass(frozen=True)
class Report:
    command: str
    outputs: tuple[OutputResult, ...] = ()
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    failed_articles: tuple[str, ...] = ()
    dry_run: bool = False
    engine: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.error)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outputs if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.command == "build":
            if self.dry_run:
                return f"{self.count('stale')} to render, {self.count('up to date')} up to date, {len(self.failed_articles)} failed (dry run: nothing written)"
            adopted = f"{self.count('adopted')} adopted (already on disk), " if self.count("adopted") else ""
            return f"{self.count('written')} written, {adopted}{self.count('up to date')} up to date, {len(self.failed_articles)} failed"
        if self.command == "check":
            if self.ok:
                n = self.count("up to date")
                return "the 1 output is up to date" if n == 1 else f"all {n} outputs up to date"
            n = len(self.errors)
            return f"{plural(n, 'problem')}, {plural(self.count('up to date'), 'output')} up to date"
        if self.command == "prune":
            if self.dry_run:
                return f"{plural(self.count('orphan'), 'orphaned output')} to delete"
            if self.count("orphan"):  # what a refused prune found (errors.RefusedError)
                return f"{plural(self.count('orphan'), 'orphaned output')} found, none would be deleted: prune refuses (see the error)"
            return f"{plural(self.count('pruned'), 'orphaned output')} deleted"
        return ""

    #: Every status an output can have, snake_case as `--json` prints it; each is in `totals`, zeros kept.
    STATUSES = ("written", "adopted", "up_to_date", "stale", "failed", "orphan", "pruned")

    def to_json(self) -> dict:
        """The `--json` report: a fixed set of snake_case keys (zeros kept), so scripts never miss a key."""
        totals = dict.fromkeys(self.STATUSES, 0)
        for o in self.outputs:
            key = o.status.replace(" ", "_")
            totals[key] = totals.get(key, 0) + 1
        return {
            "command": self.command,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "engine": self.engine,
            "outputs": [o.to_json() for o in self.outputs],
            "problems": [
                {
                    "path": p.path,
                    "reason": p.reason,
                    "article": p.article,
                    "line": p.line,
                    "level": "error" if p.error else "warning",
                }
                for p in self.problems
            ],
            "notes": list(self.notes),
            "totals": {
                **totals,
                "failed_articles": len(self.failed_articles),
                "bytes_written": sum(o.bytes or 0 for o in self.outputs if o.status == "written"),
            },
        }


#: The fields of each row, in order: a stamp (stamp.py) holds each row as a plain list.
_OUTPUT_FIELDS = tuple(f.name for f in fields(OutputResult))
_PROBLEM_FIELDS = tuple(f.name for f in fields(Problem))
_output_row, _problem_row = attrgetter(*_OUTPUT_FIELDS), attrgetter(*_PROBLEM_FIELDS)


def to_record(report: Report) -> dict:
    """The report as plain data (lists, strings, numbers: JSON's or marshal's) from which
    from_record rebuilds it exactly."""
    return {
        "command": report.command,
        "outputs": [list(_output_row(o)) for o in report.outputs],
        "problems": [list(_problem_row(p)) for p in report.problems],
        "notes": list(report.notes),
        "failed_articles": list(report.failed_articles),
        "dry_run": report.dry_run,
        "engine": report.engine,
    }


def from_record(doc: dict) -> Report:
    """Raises (KeyError, TypeError, ValueError) on a record of another shape: the caller ignores it."""
    return Report(
        str(doc["command"]),
        outputs=tuple(OutputResult(*_row(r, _OUTPUT_FIELDS)) for r in doc["outputs"]),
        problems=tuple(Problem(*_row(r, _PROBLEM_FIELDS)) for r in doc["problems"]),
        notes=tuple(str(n) for n in doc["notes"]),
        failed_articles=tuple(str(a) for a in doc["failed_articles"]),
        dry_run=bool(doc["dry_run"]),
        engine=str(doc["engine"]),
    )


def _row(row: object, fields: tuple[str, ...]) -> list:
    if type(row) is not list or len(row) != len(fields):
        raise ValueError("not a report row")
    return row
