"""renditions: cut every image variant an article's front matter names from one master.

The Python API returns the same report the CLI prints with `--json`:

    import renditions
    report = renditions.build("path/to/site")
    report.ok, report.to_json()
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ConfigError, LockError, ManifestError, RenditionsError, UsageError
    from .pipeline import build
    from .prune import prune
    from .report import Report
    from .verify import check

#: Where each name of the API lives: imported when first used, so that `import renditions` is
#: instant and Ctrl-C while the command starts is answered by the command (__main__.py).
_API = {
    "ConfigError": "errors",
    "LockError": "errors",
    "ManifestError": "errors",
    "RenditionsError": "errors",
    "UsageError": "errors",
    "Report": "report",
    "build": "pipeline",
    "check": "verify",
    "prune": "prune",
}


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'renditions' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    """The API's names too: they are imported lazily, so the module's globals lack them."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})


__all__ = ["ConfigError", "LockError", "ManifestError", "RenditionsError", "Report", "UsageError", "build", "check", "prune"]
