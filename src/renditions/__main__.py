"""The `renditions` command (and `python -m renditions`): Ctrl-C while the CLI is still being
imported ends like Ctrl-C later (cli.py's INTERRUPTED and EXIT_INTERRUPTED), not with a traceback."""

import sys


def main() -> None:
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was written\n")  # nothing has run yet
        raise SystemExit(130) from None  # cli.EXIT_INTERRUPTED, not importable here
    cli(prog_name="renditions")


if __name__ == "__main__":  # guarded: worker processes may re-import the main module
    main()
