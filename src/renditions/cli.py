"""The command line. The only place where errors become exit codes.

Exit codes: 0 all good; 1 some article failed or `check` found a problem;
2 usage, config, manifest or lock error (nothing was done); 130 interrupted.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from . import pipeline
from .errors import ConfigError, RenditionsError
from .plan import Problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def site_options(f):
    f = click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                     help="Config file (default: ROOT/config/renditions.yaml).")(f)
    f = click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True,
                     help="The site's root folder; relative paths in the config resolve against it.")(f)
    return f


def engine_option(f):
    return click.option("--engine", type=click.Choice(["auto", "vips", "pillow"]), default="auto", show_default=True,
                        help="Imaging engine: libvips, or Pillow (used automatically when libvips is missing).")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")(f)


def _fail(exc: RenditionsError) -> None:
    for line in exc.message.splitlines():
        click.echo(f"error: {line}", err=True)
    sys.exit(EXIT_USAGE)


def _run(fn, *args: Any, **kwargs: Any) -> pipeline.Report:
    try:
        return fn(*args, **kwargs)
    except (ConfigError, RenditionsError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted: every file written so far is complete and recorded; run build again to finish", err=True)
        sys.exit(EXIT_INTERRUPTED)
    raise AssertionError("unreachable")


def _problem_line(p: Problem) -> str:
    where = f"{p.path}:{p.line}" if p.line and p.path == p.article else p.path
    return f"{where}: {p.reason}"


def _github(p: Problem) -> str:
    level = "error" if p.error else "warning"
    loc = ""
    if p.article:
        loc = f" file={p.article}" + (f",line={p.line}" if p.line else "")
    msg = f"{p.path}: {p.reason}".replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level}{loc}::{msg}"


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="article", file=sys.stderr, leave=False, dynamic_ncols=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="renditions")
def main() -> None:
    """renditions: every image variant your articles' front matter names, cut from one master each.

    Run `renditions build` in a site folder that has config/renditions.yaml.
    """


@main.command()
@site_options
@engine_option
@json_option
@click.option("--force", is_flag=True, help="Render every output, fresh or not.")
@click.option("--dry-run", is_flag=True, help="Print what would be rendered and why; write nothing.")
@click.option("--only", multiple=True, metavar="SLUG", help="Only this article (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Articles rendered at once [default: CPU count].")
@click.option("--shard", metavar="K/N", default=None, help="Build only the K-th of N deterministic slices of the articles (for CI job matrices).")
@click.option("--wait", "wait_lock", is_flag=True, help="Wait for another build on this site to finish instead of failing.")
def build(root, config, engine, as_json, force, dry_run, only, jobs, shard, wait_lock) -> None:
    """Render every missing or stale variant of every article."""
    progress = _progress if (sys.stderr.isatty() and not as_json) else None
    report = _run(pipeline.build, root, config, force=force, dry_run=dry_run, only=tuple(only), jobs=jobs,
                  engine=engine, shard=shard, wait_lock=wait_lock, progress=progress)
    for p in report.warnings:
        click.echo(f"warning: {_problem_line(p)}", err=True)
    for p in report.errors:
        click.echo(f"error: {_problem_line(p)}", err=True)
    for n in report.notes:
        click.echo(f"note: {n}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        if dry_run:
            for o in report.outputs:
                if o.status == "stale":
                    click.echo(f"render {o.path} ({o.reason})")
        elif report.count("written") == 0 and report.ok:
            click.echo("nothing to do: every output is up to date")
        click.echo(report.summary())
    sys.exit(report.exit_code)


@main.command()
@site_options
@engine_option
@json_option
@click.option("--strict", is_flag=True, help="Treat orphaned outputs (files no article references) as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text", show_default=True,
              help="github: GitHub Actions annotations pointing at the article and front-matter line.")
def check(root, config, engine, as_json, strict, fmt) -> None:
    """Verify outputs against the manifest and config; decode nothing, write nothing.

    Exits 1 with one `path: reason` line per problem: an article without a master, a missing,
    stale or hand-modified output, wrong dimensions or format, or a bad front-matter path.
    """
    report = _run(pipeline.check, root, config, strict=strict, engine=engine)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for p in report.problems:
            if fmt == "github":
                click.echo(_github(p))
            else:
                click.echo(("" if p.error else "warning: ") + _problem_line(p))
        click.echo(report.summary(), err=True)
    sys.exit(report.exit_code)


@main.command()
@site_options
@json_option
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
def prune(root, config, as_json, dry_run) -> None:
    """Delete outputs renditions wrote that no article references any more.

    Only files the manifest records as renditions' own are ever deleted.
    """
    report = _run(pipeline.prune, root, config, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for o in report.outputs:
            click.echo(("would delete " if dry_run else "deleted ") + o.path)
        click.echo(report.summary())
    sys.exit(report.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
