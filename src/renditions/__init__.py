"""renditions: cut every image variant an article's front matter names from one master.

The Python API returns the same report the CLI prints with `--json`:

    import renditions
    report = renditions.build("path/to/site")
    report.ok, report.to_json()
"""

from .errors import ConfigError, LockError, ManifestError, RenditionsError, UsageError
from .pipeline import build
from .report import Report
from .verify import check


def __getattr__(name: str):
    """`prune` is imported when first used: `import renditions` stays light (a no-op build is a few stats)."""
    if name == "prune":
        from .prune import prune

        return prune
    raise AttributeError(f"module 'renditions' has no attribute {name!r}")


__all__ = ["ConfigError", "LockError", "ManifestError", "RenditionsError", "Report", "UsageError", "build", "check", "prune"]
