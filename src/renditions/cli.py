"""The command line. The only place where errors become exit codes.

Exit codes: 0 all good; 1 some article failed or `check` found a problem;
2 usage, config, manifest or lock error (nothing was done); 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from . import pipeline
from .engines import CHOICES as ENGINE_CHOICES
from .errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    INTERRUPTED,
    ConfigError,
    LockError,
    ManifestError,
    RefusedError,
    RenditionsError,
    UsageError,
)
from .formats import help_text as formats_help
from .formats import listed
from .report import Problem, Report, plural
from .verify import check as check_site


def site_options(f):
    f = click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file (default: ROOT/config/renditions.yaml).",
    )(f)
    f = click.option(
        "--root",
        type=click.Path(file_okay=False),
        default=".",
        show_default=True,
        help="The site's root folder; relative paths in the config resolve against it.",
    )(f)
    return f


def engine_option(f):
    return click.option(
        "--engine",
        type=click.Choice(ENGINE_CHOICES),
        default="auto",
        show_default=True,
        help="Imaging engine: libvips, or Pillow (used automatically when libvips is missing).",
    )(f)


def jobs_option(f):
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Articles rendered at once; with 1, a fresh clone's files are hashed in the build's own process too [default: CPU count].",
    )(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")(f)


#: `error.kind` in a `--json` error document, by error type (schemas/report.schema.json)
ERROR_KINDS = (
    (ConfigError, "config"),
    (UsageError, "usage"),
    (ManifestError, "manifest"),
    (LockError, "lock"),
    (RenditionsError, "error"),
)


def _json_wanted() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.params.get("as_json"))


def _error_doc(command: str, kind: str, path: str | None, reason: str, line: int | None, problems: list[str], code: int) -> dict:
    """With `--json`, an error is a document on stdout too, so a script always has JSON to read."""
    return {
        "command": command,
        "ok": False,
        "exit_code": code,
        "error": {"kind": kind, "path": path, "line": line, "reason": reason, "problems": problems},
    }


def _emit_json(doc: dict) -> None:
    """Every `--json` document leaves through here (the tests validate each against the schema)."""
    _say(json.dumps(doc, indent=2))


def _say(text: str) -> None:
    """Every line for stdout leaves through here: a stdout that can't take it (a full disk, a
    closed pipe) is named as such, not as the command's error."""
    try:
        click.echo(text)
    except OSError as exc:
        raise RenditionsError("stdout", f"cannot write the output: {exc.strerror or exc}") from None


def _emit_error_json(doc: dict) -> None:
    """An error's `--json` document: if stdout itself is what failed (a full disk, a closed pipe),
    the `error:` line on stderr has said so, and the exit code stands."""
    try:
        _emit_json(doc)
    except RenditionsError:
        pass


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where every error becomes an exit code: the one place (a command never exits by raising).

    RenditionsError (usage, config, manifest, lock) and OSError (a folder that can't be read or
    written, a full disk) mean nothing was done: one `error: path: reason` line each (and, with
    `--json`, an error document on stdout), exit 2. Per-article problems never get here: they are
    in the report, and exit 1.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RenditionsError as exc:
            error = exc
        except OSError as exc:
            error = RenditionsError.from_os_error(exc)
        except KeyboardInterrupt:
            name = click.get_current_context().info_name or "renditions"
            reason = INTERRUPTED.get(name, INTERRUPTED[""])
            click.echo(reason, err=True)
            if _json_wanted():
                _emit_error_json(
                    _error_doc(
                        name,
                        "interrupted",
                        None,
                        reason,
                        None,
                        [],
                        EXIT_INTERRUPTED,
                    )
                )
            sys.exit(EXIT_INTERRUPTED)
        for line in error.message.splitlines():
            click.echo(f"error: {line}", err=True)
        if _json_wanted():
            kind = next(k for t, k in ERROR_KINDS if isinstance(error, t))
            problems = error.problems if isinstance(error, ConfigError) else [error.reason]
            doc = _error_doc(
                click.get_current_context().info_name or "renditions",
                kind,
                error.path,
                error.reason,
                error.line,
                problems,
                EXIT_USAGE,
            )
            if isinstance(error, RefusedError):  # a refused prune: what it found, as the text lists it
                doc["outputs"] = [o.to_json() for o in error.report.outputs]
            _emit_error_json(doc)
        sys.exit(EXIT_USAGE)

    return run


def _exit(ok: bool) -> None:
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def _escape_data(text: str) -> str:
    """GitHub's workflow-command escaping for a message: no newline can start a new command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A property value also escapes `:` and `,`, so a file name cannot forge `line=` or end the properties."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(p: Problem, file: str | None = None, line: int | None = None) -> str:
    """One annotation; `file` relative to what GitHub resolves against (see gitcheck.annotation_base)."""
    level = "error" if p.error else "warning"
    loc = ""
    if file:
        loc = f" file={_escape_property(file)}" + (f",line={int(line)}" if line else "")
    return f"::{level}{loc}::{_escape_data(f'{p.path}: {p.reason}')}"


def _locator(root, config, orphans: frozenset[str]):
    """Problem → (file, line) for annotations: the article's line, else the orphan's manifest entry,
    else the file itself; paths relative to the git top (or $GITHUB_WORKSPACE)."""
    from .config import load_config
    from .gitcheck import annotation_base, manifest_lines

    cfg = load_config(root, config)
    base = os.path.realpath(annotation_base(cfg.root))
    entries = manifest_lines(cfg.manifest)

    def rel(path) -> str:
        return os.path.relpath(os.path.realpath(path), base).replace(os.sep, "/")

    def locate(p: Problem) -> tuple[str | None, int | None]:
        if p.article:
            return rel(cfg.root / p.article), p.line
        if p.path in orphans and p.path in entries:
            return rel(cfg.manifest), entries[p.path]
        if p.path.startswith("/"):
            file = cfg.public.joinpath(*p.path.split("/")[1:])
        else:
            file = cfg.root / p.path
        return (rel(file), None) if os.path.lexists(file) else (None, None)

    return locate


def _progress(total: int):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the build forks its workers, which is only safe single-threaded
    return tqdm(total=total, unit="article", file=sys.stderr, leave=False, dynamic_ncols=True)


class _Group(click.Group):
    """With `--json` on the command line, a usage error (bad option or value) is a JSON document
    on stdout as well as click's message on stderr; the exit code stays 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            exc.show()
            command = (
                exc.ctx.info_name
                if exc.ctx is not None and exc.ctx.parent is not None
                else next((a for a in argv if a in self.commands), "renditions")
            )
            _emit_json(_error_doc(command, "usage", None, exc.format_message(), None, [exc.format_message()], EXIT_USAGE))
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
@jobs_option
@click.option(
    "--shard",
    metavar="K/N",
    default=None,
    help="Build only the K-th of N deterministic slices of the articles (for CI job matrices).",
)
@click.option("--wait", "wait_lock", is_flag=True, help="Wait for another build on this site to finish instead of failing.")
@click.option(
    "--write-front-matter",
    "write_fm",
    is_flag=True,
    help="First add each missing variant key to its article (path from the variant's template); no other byte changes.",
)
@click.option(
    "--drafts", is_flag=True, help="Also build drafts: articles marked `draft: true` or `published: false`, or in `_drafts/`."
)
@guarded
def build(root, config, engine, as_json, force, dry_run, only, jobs, shard, wait_lock, write_fm, drafts) -> None:
    """Render every missing or stale variant of every article."""
    said: set[tuple[str, str]] = set()  # (article, warning) a "would add" line already says
    if write_fm:
        from .discover import no_key
        from .fmsync import sync

        for added in sync(root, config, only=tuple(only), dry_run=dry_run, drafts=drafts, shard=shard, wait_lock=wait_lock):
            if added.refused:  # nothing written to it: the build warns of its missing keys as before
                click.echo(f"warning: {added.article}: {added.refused}", err=True)
                continue
            verb = "would add" if dry_run else "added"
            click.echo(f"{added.article}: {verb} {', '.join(k for k, _ in added.keys)}", err=True)
            said.update((added.article, no_key(k, path)) for k, path in added.keys)
    progress = _progress if (sys.stderr.isatty() and not as_json) else None
    report = pipeline.build(
        root,
        config,
        force=force,
        dry_run=dry_run,
        only=tuple(only),
        jobs=jobs,
        engine=engine,
        shard=shard,
        wait_lock=wait_lock,
        progress=progress,
        drafts=drafts,
    )
    for p in report.warnings:
        if (p.article, p.reason) not in said:
            click.echo(f"warning: {p!s}", err=True)
    for p in report.errors:
        click.echo(f"error: {p!s}", err=True)
    for n in report.notes:
        click.echo(f"note: {n}", err=True)
    if as_json:
        _emit_json(report.to_json())
    else:
        if dry_run:
            for o in report.outputs:
                if o.status == "stale":
                    _say(f"render {o.path} ({o.reason})")
        elif report.outputs and report.count("written") == 0 and report.count("adopted") == 0 and report.ok:
            _say("nothing to do: every output is up to date")
        _say(report.summary())
    _exit(report.ok)


@main.command()
@site_options
@engine_option
@json_option
@click.option(
    "--strict",
    is_flag=True,
    help="Treat orphans (image files in the variants' folders that no article references, hand-made ones too) and outputs over their variant's byte budget as errors.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: GitHub Actions annotations pointing at the article and front-matter line.",
)
@click.option(
    "--staged",
    is_flag=True,
    help="Also fail when an output, its master, the manifest or the data file is untracked or differs from what git has staged (pre-commit).",
)
@guarded
def check(root, config, engine, as_json, strict, fmt, staged) -> None:
    """Verify outputs against the manifest and config; decode nothing, write nothing.

    Exits 1 with one `path: reason` line per problem: an article without a master or with one
    too small for a variant, a missing, stale or hand-modified output, wrong dimensions or
    format, or a bad front-matter path.
    """
    report = check_site(root, config, strict=strict, engine=engine)
    if staged:
        from dataclasses import replace

        from .config import load_config
        from .gitcheck import in_commit_terms, staged_problems
        from .plan import MODIFIED, NOT_OURS

        cfg = load_config(root, config)
        needed = [o.path for o in report.outputs if o.status == "up to date"]
        extra = staged_problems(cfg, needed)
        unrecorded = {o.path for o in report.outputs if o.reason == NOT_OURS}
        modified = {o.path for o in report.outputs if o.reason == MODIFIED}
        report = replace(report, problems=in_commit_terms(cfg, report.problems, unrecorded, modified) + tuple(extra))
    if as_json:
        _emit_json(report.to_json())
    else:
        orphans = frozenset(o.path for o in report.outputs if o.status == "orphan")
        locate = _locator(root, config, orphans) if fmt == "github" else None
        for p in report.problems:
            if locate is not None:
                _say(_github(p, *locate(p)))
            else:
                _say(("" if p.error else "warning: ") + str(p))
        click.echo(report.summary(), err=True)
    _exit(report.ok)


@main.command()
@site_options
@json_option
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@click.option("--yes", is_flag=True, help="Delete even when that is more than half of the recorded outputs.")
@click.option("--wait", "wait_lock", is_flag=True, help="Wait for a build running on this site to finish instead of failing.")
@guarded
def prune(root, config, as_json, dry_run, yes, wait_lock) -> None:
    """Delete outputs renditions wrote that no article references any more.

    Only files the manifest records, unchanged since renditions wrote them, whose article is
    gone or no longer names them, are ever deleted. An article that fails to parse, or has lost
    its master, keeps its outputs. Refuses (exit 2) when `content` matches no article, or when
    more than half of the recorded outputs would go, unless --yes (--dry-run refuses alike).
    """
    from .prune import prune as prune_site

    try:
        report = prune_site(root, config, dry_run=dry_run, yes=yes, wait_lock=wait_lock)
    except RefusedError as exc:  # the dry run refuses as prune does, and still lists what it found
        if dry_run and not as_json:
            _say_pruned(exc.report)
        raise
    if as_json:
        for n in report.notes:
            click.echo(f"note: {n}", err=True)
        _emit_json(report.to_json())
    else:
        _say_pruned(report)
    _exit(report.ok)


#: How prune's report names each output, by status and dry run (a refused prune's report is no dry run's).
PRUNE_VERBS = {"pruned": ("deleted ", "deleted "), "orphan": ("orphaned ", "would delete ")}


def _say_pruned(report: Report) -> None:
    for n in report.notes:
        click.echo(f"note: {n}", err=True)
    for o in report.outputs:
        _say(PRUNE_VERBS[o.status][report.dry_run] + o.path)
    _say(report.summary())


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
    _say(f"{out}: {plural(len(man.entries), 'output')} from {plural(len(shards), 'shard')}")
    sys.exit(EXIT_OK)


@main.command()
@site_options
@engine_option
@jobs_option
@click.option("--no-initial-build", is_flag=True, help="Start watching without building everything first.")
@click.option(
    "--preview", "live_preview", is_flag=True, help="Also rewrite the preview page after each build; an open page reloads itself."
)
@guarded
def watch(root, config, engine, jobs, no_initial_build, live_preview) -> None:
    """Rebuild what each change affects, while you work; Ctrl-C stops.

    A new or changed master rebuilds its article, a saved article rebuilds that article,
    a changed config rebuilds everything. Errors are printed and watching goes on.
    Drafts are built too: you are working on them.
    """
    import signal
    import threading

    from .watch import watch as run_watch

    stop = threading.Event()

    def terminated(_signum, _frame) -> None:
        """SIGTERM (a process manager, `docker stop`) stops watching as Ctrl-C does: a build running
        is interrupted through SIGINT's own path, which waits for a file being written; where
        SIGINT is ignored (started with `&`), the build finishes first."""
        stop.set()
        if signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, None):
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        run_watch(
            root,
            config,
            engine=engine,
            jobs=jobs,
            initial=not no_initial_build,
            echo=click.echo,
            preview=live_preview,
            stop_event=stop,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("stopped watching", err=True)
    sys.exit(EXIT_OK)


@main.command()
@site_options
@engine_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the page [default: ROOT/.renditions/preview/index.html]; thumbnails go in a folder of their own beside it.",
)
@guarded
def preview(root, config, engine, out) -> None:
    """Write one HTML page: every master with each variant's crop box, every variant, every problem.

    Open it straight from disk (file://); it needs no server and no JavaScript. Drafts are included.
    """
    from .preview import preview as run_preview

    result = run_preview(root, config, out=out, engine=engine)
    _say(f"{result.page}: {plural(result.articles, 'article')}, {plural(result.problems, 'problem')} shown")
    sys.exit(EXIT_OK)


@main.command()
@site_options
@engine_option
@json_option
@click.option("--wide", is_flag=True, help="Every column in full, however wide (default: fit in 100 columns).")
@guarded
def status(root, config, engine, as_json, wide) -> None:
    """One row per article (drafts marked): its master, and each variant up to date, stale, missing or failed.

    Also lists each article's problems (with did-you-mean hints for near-miss master names)
    and the masters that no article uses. Writes nothing; exits 0.
    """
    from .hints import UNUSED_MASTER
    from .status import status as run_status

    st = run_status(root, config, engine=engine)
    if as_json:
        _emit_json(st.to_json())
        sys.exit(EXIT_OK)
    table = st.table(None if wide else 100)
    _say(table)
    if not wide and table != st.table(None):
        click.echo("(shortened to fit 100 columns: `renditions status --wide` shows every column in full)", err=True)
    for row in st.rows:
        for reason in row.problems:
            _say(f"{row.article}: {reason}")
    for name in st.unused_masters:
        _say(UNUSED_MASTER.format(name=name))
    for file, _master, why in st.unread:
        _say(f"{file}: {why}")
    for page in st.pages:
        _say(f"page without images: {page} (no variant key and no master: not built)")
    sys.exit(EXIT_OK)


@main.command()
@click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True, help="The folder to turn into a site.")
@guarded
def init(root) -> None:
    """Start a site: a commented config/renditions.yaml, and content/ and source_images/ folders.

    Refuses (exit 2) when the site already has a config, and when run inside another site (its
    content/, say) unless --root names the folder; nothing is ever overwritten.
    """
    from .scaffold import init_site

    named = click.get_current_context().get_parameter_source("root") is not click.core.ParameterSource.DEFAULT
    done = init_site(root, inside_a_site=named)
    if done.generator:
        _say(f"{'an' if done.generator[:1] in 'AEIOU' else 'a'} {done.generator} site: the config fits its layout")
    here = os.path.normpath(root) == "."
    for name in done.created:
        _say(f"created {name if here else os.path.join(root, name)}")
    if done.ignored:
        _say(f"added {listed(done.ignored, 'and')} to {'.gitignore' if here else os.path.join(root, '.gitignore')}")
    for line in done.advice:
        _say(line)
    _say(f"next: put articles {done.articles}, one master per article in source_images/, then run renditions build")
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
