"""The command line. The only place where errors become exit codes.

Exit codes: 0 all good; 1 some article failed or `check` found a problem;
2 usage, config, manifest or lock error (nothing was done); 130 interrupted.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import click

from . import pipeline
from .prune import prune as prune_site
from .report import Report
from .verify import check as check_site
from .errors import ConfigError, RenditionsError
from .formats import help_text as formats_help
from .plan import Problem

#: The exit codes, the one table of them (the README's "Exit codes" lists the same).
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


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where every error becomes an exit code: the one place (a command never exits by raising).

    RenditionsError (usage, config, manifest, lock) and OSError (a folder that can't be read or
    written, a full disk) mean nothing was done: one `error: path: reason` line each, exit 2.
    Per-article problems never get here: they are in the report, and exit 1.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RenditionsError as exc:
            lines = exc.message.splitlines()
        except OSError as exc:
            lines = RenditionsError.from_os_error(exc).message.splitlines()
        except KeyboardInterrupt:
            click.echo("interrupted: every file written so far is complete and recorded; run build again to finish", err=True)
            sys.exit(EXIT_INTERRUPTED)
        for line in lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(EXIT_USAGE)

    return run


def _exit(ok: bool) -> None:
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def _github(p: Problem) -> str:
    level = "error" if p.error else "warning"
    loc = ""
    if p.article:
        loc = f" file={p.article}" + (f",line={p.line}" if p.line else "")
    msg = f"{p.path}: {p.reason}".replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level}{loc}::{msg}"


def _progress(total: int):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the build forks its workers, which is only safe single-threaded
    return tqdm(total=total, unit="article", file=sys.stderr, leave=False, dynamic_ncols=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="renditions")
def main() -> None:
    """renditions: every image variant your articles' front matter names, cut from one master each.

    Run `renditions build` in a site folder that has config/renditions.yaml.
    """


@main.command(epilog=formats_help())
@site_options
@engine_option
@json_option
@click.option("--force", is_flag=True, help="Render every output, fresh or not.")
@click.option("--dry-run", is_flag=True, help="Print what would be rendered and why; write nothing.")
@click.option("--only", multiple=True, metavar="SLUG", help="Only this article (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Articles rendered at once [default: CPU count].")
@click.option("--shard", metavar="K/N", default=None, help="Build only the K-th of N deterministic slices of the articles (for CI job matrices).")
@click.option("--wait", "wait_lock", is_flag=True, help="Wait for another build on this site to finish instead of failing.")
@click.option("--write-front-matter", "write_fm", is_flag=True,
              help="First add each missing variant key to its article (path from the variant's template); no other byte changes.")
@guarded
def build(root, config, engine, as_json, force, dry_run, only, jobs, shard, wait_lock, write_fm) -> None:
    """Render every missing or stale variant of every article."""
    if write_fm:
        from .fmsync import sync

        for added in sync(root, config, only=tuple(only), dry_run=dry_run):
            verb = "would add" if dry_run else "added"
            click.echo(f"{added.article}: {verb} {', '.join(k for k, _ in added.keys)}", err=True)
    progress = _progress if (sys.stderr.isatty() and not as_json) else None
    report = pipeline.build(root, config, force=force, dry_run=dry_run, only=tuple(only), jobs=jobs,
                  engine=engine, shard=shard, wait_lock=wait_lock, progress=progress)
    for p in report.warnings:
        click.echo(f"warning: {p}", err=True)
    for p in report.errors:
        click.echo(f"error: {p}", err=True)
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
    _exit(report.ok)


@main.command()
@site_options
@engine_option
@json_option
@click.option("--strict", is_flag=True, help="Treat orphaned outputs (files no article references) as errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text", show_default=True,
              help="github: GitHub Actions annotations pointing at the article and front-matter line.")
@guarded
def check(root, config, engine, as_json, strict, fmt) -> None:
    """Verify outputs against the manifest and config; decode nothing, write nothing.

    Exits 1 with one `path: reason` line per problem: an article without a master, a missing,
    stale or hand-modified output, wrong dimensions or format, or a bad front-matter path.
    """
    report = check_site(root, config, strict=strict, engine=engine)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for p in report.problems:
            if fmt == "github":
                click.echo(_github(p))
            else:
                click.echo(("" if p.error else "warning: ") + str(p))
        click.echo(report.summary(), err=True)
    _exit(report.ok)


@main.command()
@site_options
@json_option
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@click.option("--yes", is_flag=True, help="Delete even when that is more than half of the recorded outputs.")
@guarded
def prune(root, config, as_json, dry_run, yes) -> None:
    """Delete outputs renditions wrote that no article references any more.

    Only files the manifest records, unchanged since renditions wrote them, whose article is
    gone or no longer names them, are ever deleted. An article that fails to parse, or has lost
    its master, keeps its outputs. Refuses (exit 2) when `content` matches no article, or when
    more than half of the recorded outputs would go, unless --yes.
    """
    report = prune_site(root, config, dry_run=dry_run, yes=yes)
    for n in report.notes:
        click.echo(f"note: {n}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for o in report.outputs:
            click.echo(("would delete " if dry_run else "deleted ") + o.path)
        click.echo(report.summary())
    _exit(report.ok)


@main.command()
@click.argument("out", type=click.Path(dir_okay=False))
@click.argument("shards", nargs=-1, required=True, type=click.Path(dir_okay=False))
@guarded
def merge(out, shards) -> None:
    """Combine the manifests of `build --shard 1/N` … `N/N` into OUT: the manifest of one build.

    Copy the files each shard's build wrote (`build --json`, status "written") into one
    public/ first; then OUT is the site's manifest. See BENCHMARKS.md for a CI workflow.
    """
    from .shard import merge as merge_shards

    man = merge_shards(out, list(shards))
    click.echo(f"{out}: {len(man.entries)} outputs from {len(shards)} shards")
    sys.exit(EXIT_OK)

@main.command()
@site_options
@engine_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Articles rendered at once [default: CPU count].")
@click.option("--no-initial-build", is_flag=True, help="Start watching without building everything first.")
@guarded
def watch(root, config, engine, jobs, no_initial_build) -> None:
    """Rebuild what each change affects, while you work; Ctrl-C stops.

    A new or changed master rebuilds its article, a saved article rebuilds that article,
    a changed config rebuilds everything. Errors are printed and watching goes on.
    """
    from .watch import watch as run_watch

    run_watch(root, config, engine=engine, jobs=jobs, initial=not no_initial_build, echo=click.echo)
    click.echo("stopped watching", err=True)
    sys.exit(EXIT_OK)


@main.command()
@site_options
@engine_option
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the page [default: ROOT/.renditions/preview/index.html]; thumbnails go in a folder of their own beside it.")
@guarded
def preview(root, config, engine, out) -> None:
    """Write one HTML page: every master with each variant's crop box, every variant, every problem.

    Open it straight from disk (file://); it needs no server and no JavaScript.
    """
    from .preview import preview as run_preview

    result = run_preview(root, config, out=out, engine=engine)
    click.echo(f"{result.page}: {result.articles} articles, {result.problems} problems shown")
    sys.exit(EXIT_OK)


@main.command()
@site_options
@engine_option
@json_option
@guarded
def status(root, config, engine, as_json) -> None:
    """One row per article: its master, and each variant up to date, stale, missing or failed.

    Also lists each article's problems (with did-you-mean hints for near-miss master names)
    and the masters that no article uses. Writes nothing; exits 0.
    """
    from .status import status as run_status

    st = run_status(root, config, engine=engine)
    if as_json:
        click.echo(json.dumps(st.to_json(), indent=2))
        sys.exit(EXIT_OK)
    click.echo(st.table())
    for row in st.rows:
        for reason in row.problems:
            click.echo(f"{row.article}: {reason}")
    for name in st.unused_masters:
        click.echo(f"unused master: {name} (no article has its name as slug)")
    sys.exit(EXIT_OK)


@main.command()
@click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The folder to turn into a site.")
@guarded
def init(root) -> None:
    """Start a site: a commented config/renditions.yaml, and content/ and source_images/ folders.

    Refuses (exit 2) when the site already has a config; nothing is ever overwritten.
    """
    from .scaffold import init_site

    for name in init_site(root):
        click.echo(f"created {os.path.join(root, name)}")
    click.echo("next: put articles in content/, one master per article in source_images/, then run renditions build")
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
