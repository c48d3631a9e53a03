"""renditions: cut every image variant an article's front matter names from one master.

The Python API returns the same report the CLI prints with `--json`:

    import renditions
    report = renditions.build("path/to/site")
    report.ok, report.to_json()
"""

from .errors import ConfigError, LockError, ManifestError, RenditionsError, UsageError
from .pipeline import build
from .prune import prune
from .report import Report
from .verify import check

__all__ = ["ConfigError", "LockError", "ManifestError", "RenditionsError", "Report", "UsageError", "build", "check", "prune"]
