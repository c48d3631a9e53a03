"""Load `config/renditions.yaml` into frozen dataclasses, reporting every problem at once.

All defaults live in DEFAULTS below; the README's config reference documents the same table.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, PathError
from .formats import OUTPUT_FORMATS, WRITTEN, listed, output_for
from .frontmatter import check_keys
from .geometry import SMART_POSITIONS
from .paths import CONFIG_NAME, clean_site_path, config_file

#: Formats an output may have (chosen by a path's extension, see formats.output_for) or add with `also:`.
SIBLING_FORMATS = tuple(f.name for f in WRITTEN)
FITS = ("cover", "contain", "inside")
GRAVITIES = ("centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
POSITIONS = GRAVITIES + SMART_POSITIONS
POSITION_ALIASES = {"center": "centre", "top": "north", "bottom": "south", "left": "west", "right": "east"}

#: Encoder defaults, per format. Chosen by measurement (see BENCHMARKS.md).
ENCODER_DEFAULTS: dict[str, dict[str, Any]] = {
    "png": {"compression": 5, "filter": True, "palette": False, "quality": 90, "colours": 256},
    "jpeg": {"quality": 82, "progressive": True},
    "webp": {"quality": 80, "effort": 4, "lossless": False},
    "avif": {"quality": 55, "effort": 2},
}

#: Settings a variant may override; `defaults:` in the config sets them for all variants.
SETTING_DEFAULTS: dict[str, Any] = {
    "fit": "cover",
    "position": "centre",
    "background": "#ffffff",
    "upscale": False,
    "also": (),
    "widths": (),
    "densities": (),
    "budget": None,
}

TOP_DEFAULTS: dict[str, Any] = {
    "content": "content/**/*.md",
    "sources": "source_images",
    "public": "public",
    "manifest": "renditions.lock.json",
    "focus_key": "focus",
    "max_pixels": 100_000_000,
    "max_bytes": 200 * 1024 * 1024,
    "max_front_matter_bytes": 64 * 1024,
    "max_decoded_bytes": 512 * 1024 * 1024,
    "timeout": 120,
}
#: List settings: which files are articles, and the language codes a file name may end in.
LIST_DEFAULTS: dict[str, tuple[str, ...]] = {"exclude": (), "languages": ()}

#: The sane range of each top-level number: beyond it a typo, never a site (10**12 bytes of front
#: matter would make every command die allocating it).
TOP_RANGES: dict[str, tuple[int, int]] = {
    "max_pixels": (1, 1_000_000_000),
    "max_bytes": (1, 4 * 1024**3),
    "max_front_matter_bytes": (1, 16 * 1024**2),
}

#: Numbers with a range: (key, lowest, highest, unit shown in the error).
RANGES: tuple[tuple[str, int, int, str], ...] = (
    ("timeout", 1, 24 * 3600, "seconds"),
    ("max_decoded_bytes", 1024 * 1024, 1 << 40, "bytes"),
)

VARIANT_KEYS = {"key", "path", "width", "height"} | set(SETTING_DEFAULTS) | set(ENCODER_DEFAULTS)
TOP_KEYS = set(TOP_DEFAULTS) | set(LIST_DEFAULTS) | {"variants", "defaults", "data"}

#: A budget's units: KB and MB are decimal (1 KB = 1000 bytes), as browsers' network panels count.
BUDGET_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000 * 1000}


def parse_budget(value: Any) -> int | None:
    """`300KB`, `1.5MB`, `250000` or `"250000B"` → bytes; None if it is none of those."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KkMm]?[Bb]?)\s*", value)
    if not m:
        return None
    n = round(float(m.group(1)) * BUDGET_UNITS[m.group(2).upper()])
    return n if n > 0 else None


@dataclass(frozen=True)
class Encoder:
    """Encoder settings for one format, as sorted (name, value) pairs so they hash stably."""

    format: str
    options: tuple[tuple[str, Any], ...]

    def get(self, name: str) -> Any:
        return dict(self.options)[name]


@dataclass(frozen=True)
class Variant:
    name: str
    key: str
    path: str
    width: int
    height: int
    fit: str = "cover"
    position: str = "centre"
    background: tuple[int, int, int] = (255, 255, 255)
    upscale: bool = False
    also: tuple[str, ...] = ()
    encoders: tuple[Encoder, ...] = ()
    widths: tuple[int, ...] = ()  # extra widths written beside the front-matter path (see extra_widths)
    densities: tuple[float, ...] = ()  # extra widths as multiples of `width`
    budget: int | None = None  # bytes the front-matter path's file should stay under

    def encoder(self, fmt: str) -> Encoder:
        for enc in self.encoders:
            if enc.format == fmt:
                return enc
        raise KeyError(fmt)


@dataclass(frozen=True)
class Config:
    root: Path
    file: Path
    content: tuple[str, ...]  # globs, relative to root: the files that may be articles
    sources: Path
    public: Path
    manifest: Path
    focus_key: str
    max_pixels: int
    max_bytes: int
    max_front_matter_bytes: int
    max_decoded_bytes: int = TOP_DEFAULTS["max_decoded_bytes"]  # width × height × bands × bytes per sample
    timeout: int = TOP_DEFAULTS["timeout"]  # seconds one article may take to render
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    exclude: tuple[str, ...] = ()  # globs of files that are never articles
    languages: tuple[str, ...] = ()  # `trip.fr.md` is a translation of `trip` when "fr" is listed (lower case)
    data: Path | None = None  # the data file for templates (see datafile.py), when asked for

    def variant(self, name: str) -> Variant:
        return self._by_name[name]

    @functools.cached_property
    def _by_name(self) -> dict[str, Variant]:
        """Variants by name: looked up for every output of every article."""
        return {v.name: v for v in self.variants}


def format_for(path: str) -> str | None:
    """The output format a site path asks for, from its extension (None if unsupported)."""
    return output_for(path)


def parse_colour(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, str):
        m = re.fullmatch(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})", value.strip())
        if m:
            h = m.group(1)
            if len(h) == 3:
                h = "".join(c * 2 for c in h)
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    if (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value)
    ):
        return (value[0], value[1], value[2])
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "nothing"
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__


def _inside(root: Path, value: str, *, glob_pattern: bool = False) -> bool:
    """Whether a path (or the fixed part of a glob) from the config stays inside the site root,
    symbolic links followed: the config must not aim renditions at files outside the site."""
    parts = value.replace("\\", "/").split("/")
    if os.path.isabs(value) or ".." in parts:
        return False
    if glob_pattern:
        import glob

        parts = parts[: next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root, *[p for p in parts if p]))
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _unknown(key: str, known: Any, line: int | None) -> str:
    """`line 3: contnet: not a setting renditions knows; did you mean "content"?` (else the list)."""
    name = key.rsplit(".", 1)[-1]
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6) or [
        k for k in sorted(known) if k.lower() == name.lower()
    ]
    hint = f'did you mean "{near[0]}"?' if near else "known: " + ", ".join(sorted(known))
    return (f"line {line}: " if line else "") + f"{key}: not a setting renditions knows; {hint}"


def _line_of(text: str, key: str) -> int | None:
    """The line where `key:` first appears in the config's text (for the message; None if not found)."""
    m = re.search(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*:", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


class _Checker:
    """Collects problems as `key: expected X, got Y` instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, key: str, expected: str, got: Any) -> None:
        self.problems.append(f"{key}: expected {expected}, got {_shown(got)}")

    def check(self, key: str, value: Any, ok: Callable[[Any], bool], expected: str) -> bool:
        if ok(value):
            return True
        self.bad(key, expected, value)
        return False


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: _is_int(v) and lo <= v <= hi


def _nonempty_str(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


ENCODER_CHECKS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "png": {
        "compression": (_int_in(0, 9), "an integer from 0 to 9"),
        "filter": (lambda v: isinstance(v, bool), "true or false"),
        "palette": (lambda v: isinstance(v, bool), "true or false"),
        "quality": (_int_in(1, 100), "an integer from 1 to 100"),
        "colours": (_int_in(2, 256), "an integer from 2 to 256"),
    },
    "jpeg": {
        "quality": (_int_in(1, 100), "an integer from 1 to 100"),
        "progressive": (lambda v: isinstance(v, bool), "true or false"),
    },
    "webp": {
        "quality": (_int_in(1, 100), "an integer from 1 to 100"),
        "effort": (_int_in(0, 6), "an integer from 0 to 6"),
        "lossless": (lambda v: isinstance(v, bool), "true or false"),
    },
    "avif": {
        "quality": (_int_in(1, 100), "an integer from 1 to 100"),
        "effort": (_int_in(0, 9), "an integer from 0 to 9"),
    },
}


def _settings(raw: dict, prefix: str, base: dict[str, Any], c: _Checker) -> dict[str, Any]:
    """Validate the per-variant settings in `raw` and merge them over `base`."""
    out = dict(base)
    out["encoders"] = {f: dict(o) for f, o in base["encoders"].items()}
    if "fit" in raw:
        if c.check(f"{prefix}fit", raw["fit"], lambda v: v in FITS, "one of " + ", ".join(FITS)):
            out["fit"] = raw["fit"]
    if "position" in raw:
        pos = POSITION_ALIASES.get(raw["position"], raw["position"]) if isinstance(raw["position"], str) else None
        if c.check(f"{prefix}position", raw["position"], lambda v: pos in POSITIONS, "one of " + ", ".join(POSITIONS)):
            out["position"] = pos
    if "background" in raw:
        colour = parse_colour(raw["background"])
        if colour is None:
            c.bad(f"{prefix}background", 'a colour like "#ffffff" or [255, 255, 255]', raw["background"])
        else:
            out["background"] = colour
    if "upscale" in raw:
        if c.check(f"{prefix}upscale", raw["upscale"], lambda v: isinstance(v, bool), "true or false"):
            out["upscale"] = raw["upscale"]
    if "also" in raw:
        also = raw["also"]
        if c.check(
            f"{prefix}also",
            also,
            lambda v: isinstance(v, list) and all(x in SIBLING_FORMATS for x in v),
            "a list of formats from " + ", ".join(SIBLING_FORMATS),
        ):
            out["also"] = tuple(dict.fromkeys(also))
    if "widths" in raw:
        if c.check(
            f"{prefix}widths",
            raw["widths"],
            lambda v: isinstance(v, list) and all(_int_in(1, 65535)(x) for x in v),
            "a list of widths in pixels, like [480, 960]",
        ):
            out["widths"] = tuple(sorted(set(raw["widths"])))
    if "densities" in raw:
        if c.check(
            f"{prefix}densities",
            raw["densities"],
            lambda v: (
                isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 8 for x in v)
            ),
            "a list of pixel densities from 0 to 8, like [1, 2]",
        ):
            out["densities"] = tuple(sorted(set(float(x) for x in raw["densities"])))
    if "budget" in raw:
        budget = parse_budget(raw["budget"])
        if budget is None:
            c.bad(f"{prefix}budget", 'a size like "300KB", "1.5MB" or a number of bytes', raw["budget"])
        else:
            out["budget"] = budget
    for fmt, checks in ENCODER_CHECKS.items():
        if fmt not in raw:
            continue
        opts = raw[fmt]
        if not isinstance(opts, dict):
            c.bad(f"{prefix}{fmt}", "a mapping of encoder settings", opts)
            continue
        for name, value in opts.items():
            if name not in checks:
                c.bad(f"{prefix}{fmt}.{name}", "one of " + ", ".join(sorted(checks)), name)
                continue
            ok, expected = checks[name]
            if c.check(f"{prefix}{fmt}.{name}", value, ok, expected):
                out["encoders"][fmt][name] = value
    return out


def _base_settings() -> dict[str, Any]:
    base = dict(SETTING_DEFAULTS)
    base["background"] = parse_colour(base["background"])
    base["encoders"] = {f: dict(o) for f, o in ENCODER_DEFAULTS.items()}
    return base


def parse_config(data: Any, root: Path, file: Path, text: str = "") -> Config:
    """Validate parsed YAML. Raises ConfigError listing every problem."""
    c = _Checker()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(file, [f"expected a mapping at the top level, got {type(data).__name__}"])
    for key in data:
        if key not in TOP_KEYS:
            c.problems.append(_unknown(str(key), TOP_KEYS, _line_of(text, str(key))))
    top = dict(TOP_DEFAULTS)
    content = data.get("content", top["content"])
    if isinstance(content, str):
        content = [content]
    if c.check(
        "content",
        content,
        lambda v: isinstance(v, list) and bool(v) and all(_nonempty_str(x) for x in v),
        "a glob or a list of globs",
    ):
        top["content"] = tuple(content)
    else:
        top["content"] = (TOP_DEFAULTS["content"],)
    for key in LIST_DEFAULTS:
        top[key] = LIST_DEFAULTS[key]
        if key in data and c.check(
            key, data[key], lambda v: isinstance(v, list) and all(_nonempty_str(x) for x in v), "a list of non-empty strings"
        ):
            top[key] = tuple(data[key])
    for key in ("sources", "public", "manifest", "focus_key"):
        if key in data and c.check(key, data[key], _nonempty_str, "a non-empty string"):
            top[key] = data[key]
    if "data" in data and c.check("data", data["data"], _nonempty_str, "a path like data/renditions.json"):
        top["data"] = data["data"]
    for key, (lo, hi) in TOP_RANGES.items():
        if key in data and c.check(key, data[key], _int_in(lo, hi), f"an integer from {lo} to {hi}"):
            top[key] = data[key]
    for key, lo, hi, unit in RANGES:
        if key in data and c.check(key, data[key], _int_in(lo, hi), f"an integer from {lo} to {hi} ({unit})"):
            top[key] = data[key]
    for key in ("sources", "public", "manifest"):
        if not _inside(root, top[key]):
            c.bad(key, "a path inside the site root (renditions never reads or writes outside it)", top[key])
            top[key] = TOP_DEFAULTS[key]
    if "data" in top:  # written by every build: inside the site, and never among the masters or in git's folder
        parts = os.path.normpath(top["data"]).split(os.sep)
        data_at = os.path.normcase(os.path.realpath(root / top["data"]))  # links followed, as _inside does
        among_masters = data_at.startswith(os.path.normcase(os.path.realpath(root / top["sources"])) + os.sep)
        if not _inside(root, top["data"]) or any(p.lower() == ".git" for p in parts) or among_masters:
            c.bad("data", "a path inside the site root, outside the masters' folder and .git", top["data"])
            del top["data"]
    for key in ("content", "exclude"):  # globs, one or a list
        outside = [g for g in top[key] if not _inside(root, g, glob_pattern=True)]
        if outside:
            c.bad(key, "a path inside the site root (renditions never reads or writes outside it)", outside[0])
            top[key] = (TOP_DEFAULTS["content"],) if key == "content" else ()

    base = _base_settings()
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        c.bad("defaults", "a mapping of variant settings", defaults)
        defaults = {}
    for key in defaults:
        if key not in VARIANT_KEYS - {"key", "path", "width", "height"}:
            c.bad(
                f"defaults.{key}",
                "a variant setting (" + ", ".join(sorted(SETTING_DEFAULTS) + sorted(ENCODER_DEFAULTS)) + ")",
                str(key),
            )
    base = _settings(defaults, "defaults.", base, c)

    variants: list[Variant] = []
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, dict) or not raw_variants:
        c.bad("variants", "a mapping of variant name to {key, path, width, height}", raw_variants)
        raw_variants = {}
    seen_keys: dict[str, str] = {}
    for name, raw in raw_variants.items():
        p = f"variants.{name}."
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            c.bad(f"variants.{name}", "a name of letters, digits, '-', '_' or '.'", name)
            continue
        if not isinstance(raw, dict):
            c.bad(f"variants.{name}", "a mapping with key, path, width and height", raw)
            continue
        for key in raw:
            if key not in VARIANT_KEYS:
                c.problems.append(_unknown(f"{p}{key}", VARIANT_KEYS, _line_of(text, str(name))))
        ok = True
        for key in ("key", "path"):
            if key not in raw:
                c.problems.append(f"{p}{key}: missing (expected a non-empty string)")
                ok = False
            elif not c.check(f"{p}{key}", raw[key], _nonempty_str, "a non-empty string"):
                ok = False
        for key in ("width", "height"):
            if key not in raw:
                c.problems.append(f"{p}{key}: missing (expected a positive integer)")
                ok = False
            elif not c.check(f"{p}{key}", raw[key], _int_in(1, 65535), "a positive integer up to 65535"):
                ok = False
        if ok and "{slug}" not in raw["path"]:
            c.bad(f"{p}path", 'a template containing "{slug}"', raw["path"])
            ok = False
        if ok and (why := _template_problem(raw["path"])):
            c.problems.append(f"{p}path: {_shown(raw['path'])} is not a site path like /img/{{slug}}.png: {why}")
            ok = False
        if ok and format_for(raw["path"]) is None:
            c.bad(f"{p}path", "a path ending in " + listed(tuple(OUTPUT_FORMATS)), raw["path"])
            ok = False
        if ok and raw["key"] in seen_keys:
            c.bad(f"{p}key", f"a key not already used by variants.{seen_keys[raw['key']]}", raw["key"])
            ok = False
        s = _settings(raw, p, base, c)
        if ok and raw["width"] * raw["height"] > top["max_pixels"]:
            c.bad(f"{p}width", f"width × height within max_pixels ({top['max_pixels']})", f"{raw['width']}×{raw['height']}")
            ok = False
        if not ok:
            continue
        seen_keys[raw["key"]] = name
        variants.append(
            Variant(
                name=name,
                key=raw["key"],
                path=raw["path"],
                width=raw["width"],
                height=raw["height"],
                fit=s["fit"],
                position=s["position"],
                background=s["background"],
                upscale=s["upscale"],
                also=s["also"],
                widths=s["widths"],
                densities=s["densities"],
                budget=s["budget"],
                encoders=tuple(Encoder(fmt, tuple(sorted(opts.items()))) for fmt, opts in sorted(s["encoders"].items())),
            )
        )
    if c.problems:
        raise ConfigError(file, c.problems)
    return Config(
        root=root,
        file=file,
        content=top["content"],
        sources=(root / top["sources"]),
        public=(root / top["public"]),
        manifest=(root / top["manifest"]),
        focus_key=top["focus_key"],
        max_pixels=top["max_pixels"],
        max_bytes=top["max_bytes"],
        max_front_matter_bytes=top["max_front_matter_bytes"],
        max_decoded_bytes=top["max_decoded_bytes"],
        timeout=top["timeout"],
        variants=tuple(variants),
        exclude=top["exclude"],
        languages=tuple(code.lower() for code in top["languages"]),  # as Hugo reads them: zh-Hans is zh-hans
        data=(root / top["data"]) if top.get("data") else None,
    )


def _template_problem(template: str) -> str:
    """Why a variant's path template can't name a file under the web root ("" when it can): the
    paths it makes go into the manifest and into articles, so they must be the site paths a
    front-matter key may hold, written plainly. A slug holds no `/`, `%`, `?` or `#` and no
    leading dot, so one sample slug stands for all."""
    sample = template.replace("{slug}", "x")
    try:
        clean = clean_site_path(sample)
    except PathError as exc:
        return exc.reason
    if clean != sample:
        return "write it plainly, without percent escapes, a query, a fragment or surrounding spaces"
    return ""


#: Deeper YAML is refused before Python's recursion limit is anywhere near.
MAX_DEPTH = 32


class _ConfigLoader(yaml.SafeLoader):
    """safe_load, plus: a key given twice is an error (as in front matter), not silently the last
    one; and nesting is bounded. Anchors and merge keys stay allowed: configs share settings."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        check_keys(self, node)  # merge keys allowed: `<<: *defaults` is how a config shares settings
        return super().construct_mapping(node, deep=deep)


def site_above(folder: Path) -> Path | None:
    """The nearest folder above `folder` that holds a renditions config, if any."""
    for parent in folder.parents:
        try:
            if (parent / CONFIG_NAME).is_file():
                return parent
        except OSError:  # a folder above that can't be looked into: no site found there
            continue
    return None


def load_config(root: str | os.PathLike = ".", config: str | os.PathLike | None = None) -> Config:
    """Read and validate the config. Relative paths in it resolve against `root`."""
    root_path = Path(root).absolute()
    file = config_file(root, config)
    shown = os.path.relpath(file) if config else CONFIG_NAME
    if not root_path.is_dir():  # not "run renditions init in" a folder that is not there
        raise ConfigError(os.fspath(root), ["not a folder" if os.path.lexists(root_path) else "no such folder"])
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if config:  # the file named, not a site, is what is missing: name it as it was given
            raise ConfigError(os.fspath(config), ["no such file"]) from None
        site = site_above(root_path)
        if site is not None:  # run from inside a site (its content/, say): name the site's folder
            where = os.path.relpath(site)  # from where the command runs, as --root takes it
            folder = "the current folder" if where == "." else f"{where}/"
            raise ConfigError(
                shown,
                [f"no config file here: this is a folder of the site in {folder} (run renditions there, or pass --root {where})"],
            ) from None
        raise ConfigError(shown, [f"no config file here (run `renditions init` in {root_path} to create one)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [f"cannot read the config: {exc}"]) from None
    try:
        data = yaml.load(text, Loader=_ConfigLoader)
    except RecursionError:
        raise ConfigError(shown, [f"nested more than {MAX_DEPTH} levels deep: not a renditions config"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(shown, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    return parse_config(data, root_path, Path(shown), text)
