"""What git sees: the commit's view of the outputs, and paths as CI annotations need them.

`check` verifies the working tree; a commit carries the index. An output left untracked or
unstaged passes `check` on the committer's machine and fails on the next fresh clone, so
`check --staged` (the pre-commit hook) also asks git, with real git commands, whether every
output and the manifest are in the index as they are on disk.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Set
from dataclasses import replace
from pathlib import Path

from .config import Config
from .errors import UsageError
from .manifest import load, web_root
from .plan import Problem


def _git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    try:
        r = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True)
    except FileNotFoundError:
        raise UsageError("--staged", "git is not installed (or not on PATH)") from None
    if r.returncode not in (0, 1):  # check-ignore exits 1 when nothing is ignored
        raise UsageError(
            "--staged", f"git {args[0]} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
        )
    return r.stdout


def repo_root(path: str | os.PathLike) -> Path | None:
    """The top of the git work tree holding `path`, or None outside git (or without git)."""
    try:
        r = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Path(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip() else None


def annotation_base(site_root: str | os.PathLike) -> Path:
    """What GitHub resolves annotation `file=` paths against: $GITHUB_WORKSPACE, else the git top."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return Path(workspace).resolve()
    top = repo_root(site_root)
    return top.resolve() if top else Path(site_root).resolve()


def _split_z(out: str) -> list[str]:
    return [p for p in out.split("\0") if p]


def staged_problems(config: Config, site_paths: list[str]) -> list[Problem]:
    """Every output (by site path), the master each was cut from, the manifest and the data file
    that the commit needs but does not carry as on disk: CI's check of the commit fails without
    them (a master left out is "no master", an unstaged one is another picture than the outputs').

    A file git ignores is not needed (a site that keeps public/ or its masters out of git)."""
    top = repo_root(config.root)
    if top is None:
        raise UsageError("--staged", f"{config.root} is not inside a git repository")
    top = top.resolve()
    needed = [(site, config.public.joinpath(*site.split("/")[1:])) for site in site_paths]
    manifest = load(config.manifest, os.path.relpath(config.manifest, config.root), public=web_root(config.root, config.public))
    masters = {e.master for site in site_paths if (e := manifest.entries.get(site)) is not None}
    needed += [(m, config.root / m) for m in sorted(masters)]
    needed.append((os.path.relpath(config.manifest, config.root), config.manifest))
    if config.data is not None:
        needed.append((os.path.relpath(config.data, config.root), config.data))
    rel = {}
    for shown, file in needed:
        if not file.exists():
            continue  # a missing output is check's own problem ("missing")
        try:
            rel[shown] = file.resolve().relative_to(top).as_posix()
        except ValueError:
            continue  # outside this repository: not this commit's business
    staged = [line.split("\t", 1) for line in _split_z(_git(top, "ls-files", "-s", "-z", "--full-name"))]
    tracked = {path for _info, path in staged}
    # a submodule (masters or public/ kept in a repository of their own) is committed on its own
    modules = tuple(path + "/" for info, path in staged if info.startswith("160000 "))
    rel = {shown: path for shown, path in rel.items() if not path.startswith(modules)}
    if not rel:
        return []
    unstaged = set(_split_z(_git(top, "diff", "--name-only", "-z")))
    untracked = [p for p in rel.values() if p not in tracked]
    ignored = set(_split_z(_git(top, "check-ignore", "-z", "--stdin", stdin="\0".join(untracked) + "\0"))) if untracked else set()
    problems = []
    for shown, path in rel.items():
        fix = f"run `git add -- {shlex.quote(path)}`"
        if path in ignored:
            continue
        if path not in tracked:
            problems.append(Problem(shown, f"not in the commit: {path} is untracked; {fix}"))
        elif path in unstaged:
            problems.append(Problem(shown, f"not in the commit as on disk: {path} differs from what is staged; {fix}"))
    return problems


def in_commit_terms(
    config: Config, problems: tuple[Problem, ...], unrecorded: set[str], modified: Set[str] = frozenset()
) -> tuple[Problem, ...]:
    """check's problems as the commit has them. Under `--staged` the files are the commit's (a
    pre-commit hook hides unstaged changes while it runs): an output the manifest does not record
    (`unrecorded`, by site path), or a data file out of date, is most often one whose manifest or
    data file was left unstaged, and `renditions build` does nothing for it; an output whose bytes
    are not the ones the (staged) manifest records (`modified`), one the build rewrote and that
    was left unstaged itself, not one changed by hand. Each says so, with the `git add` that fixes it."""
    from .datafile import OUT_OF_DATE  # only under --staged: check needs no datafile otherwise

    manifest = os.path.relpath(config.manifest, config.root)
    data = os.path.relpath(config.data, config.root) if config.data is not None else None
    out = []
    for p in problems:
        if p.path in unrecorded:
            p = replace(
                p,
                reason=f"{p.reason}; if the build wrote it, the manifest was left out of the commit: run `git add -- {shlex.quote(manifest)}`",
            )
        elif p.path in modified:
            file = shlex.quote(os.path.relpath(config.public / p.path.lstrip("/"), config.root))
            p = replace(
                p,
                reason=f"its bytes differ from what the manifest records: if a build rewrote it, it was left out of the commit:"
                f" run `git add -- {file}` (else it was changed by hand)",
            )
        elif data is not None and p.path == data and p.reason == OUT_OF_DATE:
            p = replace(
                p,
                reason=f"{p.reason}; if the build wrote it, it was left out of the commit: run `git add -- {shlex.quote(data)}`",
            )
        out.append(p)
    return tuple(out)


def manifest_lines(path: Path) -> dict[str, int]:
    """Site path → the line of its entry in the manifest (one entry a line: `  "/x.png": {...},`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    lines = {}
    decoder = json.JSONDecoder()
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith('  "') and not line.startswith("   "):
            try:
                key, end = decoder.raw_decode(line, 2)
            except ValueError:
                continue
            if isinstance(key, str) and line[end : end + 1] == ":":
                lines[key] = n
    return lines
