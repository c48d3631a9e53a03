"""Typed errors. Each carries the file it is about and a reason a person can act on.

The CLI is the only place that turns these into exit codes: usage and config errors
exit 2, per-article problems make a build exit 1.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report

#: The exit codes, the one table of them (the README's "Exit codes" lists the same).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: What Ctrl-C leaves behind, by command: the ones that only read say so ("" for every other).
INTERRUPTED = {
    "": "interrupted: every file written so far is complete and recorded; run build again to finish",
    "check": "interrupted: nothing was written",
    "status": "interrupted: nothing was written",
}


class RenditionsError(Exception):
    """Base class: `path: reason`, one line."""

    def __init__(self, path: object, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"

    @classmethod
    def from_os_error(cls, exc: OSError) -> RenditionsError:
        """An OSError as `path: reason` (both paths of a failed rename), for the same one-line report."""
        where = exc.filename if exc.filename is not None else "renditions"
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        if isinstance(where, bytes):
            where = os.fsdecode(where)
        return cls(where, exc.strerror or str(exc))


class ConfigError(RenditionsError):
    """The config is unusable. Carries every problem found, not just the first."""

    def __init__(self, path: object, problems: list[str]):
        self.problems = list(problems)
        # a lone problem's "line N: " is the error's line too (the --json document's `line`)
        head = problems[0].partition(": ")[0] if len(problems) == 1 else ""
        line = int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else None
        super().__init__(path, "; ".join(problems), line)

    @property
    def message(self) -> str:
        return "\n".join(f"{self.path}: {p}" for p in self.problems)


class UsageError(RenditionsError):
    """A bad command-line request (unknown slug, bad shard spec)."""


class RefusedError(UsageError):
    """A command that refuses to act as a whole, so nothing is done (prune deleting more than half
    of the outputs). `report` is what it found: a dry run still shows it before the refusal."""

    def __init__(self, path: object, reason: str, report: Report):
        self.report = report
        super().__init__(path, reason)


class FrontMatterError(RenditionsError):
    """An article's front matter cannot be read or has a bad value."""


class PathError(RenditionsError):
    """A front-matter path cannot be a file under the web root."""


class MasterError(RenditionsError):
    """An article's master is missing, ambiguous, unreadable or unsuitable."""


class RenderError(RenditionsError):
    """Decoding or encoding failed for one article."""


class ManifestError(RenditionsError):
    """The manifest is corrupt or of an unknown format."""


class LockError(RenditionsError):
    """Another renditions process holds the site lock."""
