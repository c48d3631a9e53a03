"""The `renditions` command (and `python -m renditions`): Ctrl-C while the CLI is still being
imported ends like Ctrl-C later, not with a traceback (errors.py, which imports nothing heavy,
holds the exit codes and the wording). Once the command is done and its output flushed, the
process ends without Python's teardown (see _exit)."""

import gc
import os
import sys

from .errors import EXIT_INTERRUPTED, INTERRUPTED


def main() -> None:
    gc.disable()  # importing makes tens of thousands of objects, none of them garbage: 15 % of the imports' time was collecting
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED["check"] + "\n")  # nothing has run yet: nothing was written
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        gc.freeze()  # what the imports made is never collected: later collections skip it
        gc.enable()
    try:
        cli(prog_name="renditions")
    except SystemExit as exc:
        _exit(exc)
        raise


def _exit(exc: SystemExit) -> None:
    """End now with the command's exit code, as mypy does: freeing every object a big site's run
    made (the stamp's 8,000 report rows, the manifest) took 20-40 ms, an eighth of a no-op check,
    and a Ctrl-C in that time printed a traceback. Only when nothing is left to do: one thread,
    no child process, output flushed; otherwise the caller re-raises and Python ends as usual."""
    code = exc.code
    if code is not None and not isinstance(code, int):
        return  # a message to print: Python's own exit prints it
    try:
        import threading

        if threading.active_count() > 1:
            return
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.active_children():
            return
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: let Python report it as before
        return
    os._exit(code or 0)


if __name__ == "__main__":  # guarded: worker processes may re-import the main module
    main()
