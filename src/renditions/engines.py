"""Choose and make an engine: the one module that imports both engines.

Kept apart from the engine seam (engine.py) so that neither engine imports a module that
imports it back: no import circle.
"""

from __future__ import annotations

from .engine import Engine
from .errors import UsageError

#: What `--engine` (and the API's engine=) may name.
CHOICES = ("auto", "vips", "pillow")


def check_name(name: str | None) -> None:
    """Raises UsageError for a name not in CHOICES, as `--engine` refuses it (the API takes any
    string): before any work, though the engine itself is made later (open_session)."""
    if name not in (None, "auto", "vips", "libvips", "pillow"):
        raise UsageError("engine", f"{name!r} is not one of {', '.join(map(repr, CHOICES))}")


def get_engine(name: str | None = None, threads: int | None = None) -> Engine:
    """libvips unless asked otherwise or unavailable; Pillow as the fallback. Raises UsageError
    for a name not in CHOICES (check_name)."""
    check_name(name)
    if name in (None, "auto", "vips", "libvips"):
        try:
            from .engine_vips import VipsEngine  # imported here: a no-op build decodes nothing
        except Exception:  # pragma: no cover - depends on the machine
            if name in ("vips", "libvips"):
                raise
        else:
            return VipsEngine(threads=threads)
    if name in (None, "auto", "pillow"):
        from .engine_pillow import PillowEngine

        return PillowEngine()
    raise AssertionError(name)  # pragma: no cover - check_name refused it
