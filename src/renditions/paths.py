"""Map a front-matter path like `/img/x.png` to a file under the web root, or say why not.

This is the only gate between what an article says and where renditions writes, so it
is strict: a path is refused unless it names a plain file inside the web root.
A query string or fragment (`x.png?v=2`, `x.png#top`) is stripped: the file is `x.png`.
A site path is a URL path: percent escapes are decoded (`%20` → a space), as the web server does.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import quote, unquote

from .errors import PathError

#: Where the config is, under the site root, unless --config names another file.
CONFIG_NAME = "config/renditions.yaml"


def relative(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """os.path.relpath(path, root), without its cost for the usual path straight under root
    (thousands of articles and masters go through here)."""
    p, r = os.fspath(path), os.fspath(root) + os.sep
    rel = p[len(r) :]
    if not p.startswith(r) or "/." in "/" + rel or "//" in rel:
        return os.path.relpath(path, root)
    return rel


def config_file(root: str | os.PathLike, config: str | os.PathLike | None) -> Path:
    """The config file load_config reads (Config.file is the name shown to the user)."""
    return Path(os.path.abspath(config)) if config else Path(os.path.abspath(root)) / CONFIG_NAME


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: What nearly every site path looks like; it passes every check below unchanged (tests/test_paths.py).
_PLAIN = re.compile(r"(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)+")
_PLAIN_LINES = re.compile(rf"(?:{_PLAIN.pattern}\n)*{_PLAIN.pattern}")


def is_utf8(name: str) -> bool:
    """False for a file name holding bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(name: str) -> str:
    """A file name that can be printed, written to JSON and the manifest: non-UTF-8 bytes as \\xNN."""
    if is_utf8(name):
        return name
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def clean_site_path(value: object) -> str:
    """Normalise a front-matter value to a site path, or raise PathError(reason)."""
    if isinstance(value, str) and len(value) <= 255 and _PLAIN.fullmatch(value):
        return value  # the common case in one regex: a no-op build checks thousands of these
    return _clean(value)


def all_plain(site_paths: list[str]) -> bool:
    """Whether clean_site_path passes each of `site_paths` (strings) unchanged by its first test:
    one regex over them all, a line each (a manifest's 8,000 keys). False may still mean clean."""
    text = "\n".join(site_paths)
    return (
        bool(site_paths)
        and text.count("\n") == len(site_paths) - 1  # no path holds a line break of its own
        and max(map(len, site_paths)) <= 255
        and _PLAIN_LINES.fullmatch(text) is not None
    )


def _clean(value: object) -> str:
    """clean_site_path, check by check: what each refusal says."""
    if not isinstance(value, str):
        kind = "nothing" if value is None else type(value).__name__
        raise PathError("", f"expected a path string like /img/x.png, got {kind}")
    path = value.strip()
    if not path:
        raise PathError("", "the path is empty")
    if "\x00" in path:
        raise PathError("", "the path contains a NUL byte")
    if _CONTROL.search(path):
        raise PathError("", "the path contains a control character")
    if "\\" in path:
        raise PathError("", "the path contains a backslash: use / between folders")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise PathError("", "the path is not valid Unicode text (it contains a lone surrogate)") from None
    if _DRIVE.match(path):
        raise PathError("", "a drive-letter path (C:) is a file-system path: use a site path like /img/x.png")
    if path.startswith("~"):
        raise PathError("", "a home-folder path (~) is a file-system path: use a site path like /img/x.png")
    if path.startswith("//") or _SCHEME.match(path):
        raise PathError("", "a URL is not a file under the web root: use a site path like /img/x.png")
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    if not path.startswith("/"):
        raise PathError("", "a site path must start with / (it is relative to the web root)")
    if "%" in path:
        path = _decode_url(path)
    parts = path.split("/")[1:]
    if any(p in ("..", ".") for p in parts):
        raise PathError("", "the path contains a '..' or '.' segment")
    if any(p == "" for p in parts):
        raise PathError("", "the path has an empty segment (// or a trailing /)")
    if too_long(path):
        raise PathError("", "the path is too long")
    return path


def too_long(path: str) -> bool:
    """Longer than a URL path or a file name may be: 1,024 characters, or a name over 255 bytes."""
    if len(path) > 1024:
        return True
    if path.isascii() and len(path) <= 255:  # no name in it can be longer: the usual case, at once
        return False
    return any(len(p.encode("utf-8", "surrogatepass")) > 255 for p in path.split("/"))


def _decode_url(path: str) -> str:
    """The path a web server looks up for this URL path (`%20` → a space), checked again once decoded."""
    try:
        parts = [unquote(p, errors="strict") for p in path.split("/")]
    except UnicodeDecodeError:
        raise PathError("", "the path's percent escapes are not UTF-8 text") from None
    if any("/" in p for p in parts):
        raise PathError("", "the path contains an encoded / (%2F) inside a name")
    decoded = "/".join(parts)
    if "\x00" in decoded:
        raise PathError("", "the path contains an encoded NUL byte (%00)")
    if _CONTROL.search(decoded):
        raise PathError("", "the path contains an encoded control character")
    if "\\" in decoded:
        raise PathError("", "the path contains an encoded backslash (%5C)")
    return decoded


def url_path(site_path: str) -> str:
    """A site path as a URL again (a space → %20, a comma → %2C, % → %25), the inverse of
    _decode_url: in a srcset, whitespace ends a URL and a comma ends a candidate."""
    return quote(site_path, safe="/")


def resolve_output(site_path: str, public: Path, sources: Path, memo: dict | None = None) -> Path:
    """The file a clean site path is written to. Raises PathError if it would leave the web root.

    Symlinks that already exist are followed: a folder that links outside the root is refused,
    as is any path that lands on or inside the masters' folder. Pass one `memo` dict for every
    output of a plan: each output folder is then resolved once (same checks, same messages);
    with memo["lstat"] a dict, each output's lstat is kept in it, by its path as text.
    """
    if memo is None:
        return _resolve_one(site_path, public, sources)
    return Path(output_file(site_path, public, sources, memo))


def output_file(site_path: str, public: Path, sources: Path, memo: dict) -> str:
    """resolve_output with a memo, the file's path as text: a plan's thousands of outputs are
    strings (a Path each cost a twentieth of a fresh clone's check, built and then printed)."""
    if "root" not in memo:
        memo["public"] = os.fspath(public)
        memo["root"] = Path(os.path.realpath(public))
        memo["src"] = Path(os.path.realpath(sources))
        memo["src_name"] = memo["src"].name
        memo["folders"] = {}  # site folder ("img/a") -> its real path, or why nothing goes there
    folder_part, _, name = site_path[1:].rpartition("/")
    dest = os.path.join(memo["public"], site_path[1:])
    try:
        st = os.lstat(dest)
    except OSError:
        mode = 0
    else:
        mode = st.st_mode
        if "lstat" in memo:  # kept for the run's later stats of the same file (Session.lstats)
            memo["lstat"][dest] = st
    if stat.S_ISLNK(mode) or stat.S_ISDIR(mode):
        return os.fspath(_resolve_one(site_path, public, sources))  # rare: the full checks
    folder = memo["folders"].get(folder_part)
    if folder is None:
        folder = memo["folders"][folder_part] = _resolve_folder(Path(os.path.dirname(dest)), memo["root"], memo["src"])
    if isinstance(folder, str):
        raise PathError("", folder)
    if name == memo["src_name"] and folder == memo["src"].parent:
        raise PathError("", "the path lands in the masters' folder; a master is never overwritten")
    return dest


#: Why nothing is written in git's own folder, which a web root of "." (Jekyll's) holds.
INTO_GIT = "the path leads into .git/, git's own folder"


def _into_git(real: Path, root: Path) -> bool:
    """Whether a real folder strictly inside the web root is, or is inside, a folder named .git."""
    return any(part.casefold() == ".git" for part in real.relative_to(root).parts)


def _resolve_folder(parent: Path, root: Path, src: Path) -> Path | str:
    """The real path of an output folder, or why no output can go there (resolve_output's order)."""
    real = Path(os.path.realpath(parent))
    if real != root and root not in real.parents:
        return "the path leads outside the web root (through a symbolic link)"
    if _into_git(real, root):
        return INTO_GIT
    for folder in (real, *real.parents):
        if folder == root:
            break
        if os.path.lexists(folder) and not os.path.isdir(folder):
            shown = "/" + folder.relative_to(root).as_posix()
            return f"{shown} is a file, so it cannot be a folder of this path"
    if real == src or src in real.parents:
        return "the path lands in the masters' folder; a master is never overwritten"
    return real


def _resolve_one(site_path: str, public: Path, sources: Path) -> Path:
    root = Path(os.path.realpath(public))
    dest = public.joinpath(*site_path.split("/")[1:])
    real = Path(os.path.realpath(dest))
    if real != root and root not in real.parents:
        raise PathError("", "the path leads outside the web root (through a symbolic link)")
    if real == root:
        raise PathError("", "the path is the web root itself, not a file")
    if _into_git(real.parent, root):
        raise PathError("", INTO_GIT)
    if os.path.islink(dest):
        raise PathError("", "the output is a symbolic link; renditions only writes plain files")
    if os.path.isdir(real):
        raise PathError("", "the path is a folder, not a file")
    for folder in real.parents:
        if folder == root:
            break
        if os.path.lexists(folder) and not os.path.isdir(folder):
            shown = "/" + folder.relative_to(root).as_posix()
            raise PathError("", f"{shown} is a file, so it cannot be a folder of this path")
    src = Path(os.path.realpath(sources))
    if real == src or src in real.parents:
        raise PathError("", "the path lands in the masters' folder; a master is never overwritten")
    return dest
