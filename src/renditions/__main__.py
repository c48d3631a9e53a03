"""The `renditions` command (and `python -m renditions`): Ctrl-C while the CLI is still being
imported ends like Ctrl-C later, not with a traceback (errors.py, which imports nothing heavy,
holds the exit codes and the wording)."""

import sys

from .errors import EXIT_INTERRUPTED, INTERRUPTED


def main() -> None:
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED["check"] + "\n")  # nothing has run yet: nothing was written
        raise SystemExit(EXIT_INTERRUPTED) from None
    cli(prog_name="renditions")


if __name__ == "__main__":  # guarded: worker processes may re-import the main module
    main()
