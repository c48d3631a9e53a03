"""Read the front matter of one article, strictly and in bounded time and memory.

Three formats, as static-site generators write them: YAML between `---` lines, TOML between
`+++` lines (Hugo's default) and a JSON object at the start of the file (Hugo accepts it).
Hostile input is expected: duplicate keys, tags and aliases are refused rather than
interpreted, and the front matter's size is capped before a parser sees it.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import FrontMatterError

#: Deeper front matter is refused before Python's recursion limit is anywhere near.
MAX_DEPTH = 32


@dataclass(frozen=True)
class FrontMatter:
    data: dict
    #: 1-based line in the article file of each top-level key (for annotations).
    lines: dict
    format: str = "yaml"  # yaml | toml | json: the format --write-front-matter writes in


#: How each format's front matter opens (after an optional BOM).
OPENERS = {b"---": "yaml", b"+++": "toml"}
_JSON_START = re.compile(rb"\{\s*[\"}]")


#: What an article with a master but no front matter is told.
NO_FRONT_MATTER = "no front matter: the file must start with a --- line (YAML), +++ (TOML) or { (JSON)"


def format_of(raw: bytes) -> str | None:
    """ "yaml", "toml" or "json" from the file's first bytes; None when it has no front matter."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if _JSON_START.match(raw):  # `{"` or `{}`: a `{{< shortcode >}}` or `{% tag %}` is body text
        return "json"
    return OPENERS.get(raw.split(b"\n", 1)[0].rstrip())


def check_keys(loader: yaml.SafeLoader, node: yaml.MappingNode, merge: str | None = None) -> None:
    """Refuse a key given twice in one mapping (YAML would keep the last one silently) and a key
    that is not a plain value; a merge key (`<<`) too, with the reason `merge`, unless it is None.
    Shared by front matter and the config."""
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            if merge is not None:
                raise yaml.MarkedYAMLError(None, None, merge, key_node.start_mark)
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.MarkedYAMLError(None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in seen:
            raise yaml.MarkedYAMLError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)


class _StrictLoader(yaml.SafeLoader):
    """safe_load, plus: no duplicate keys, no aliases, no explicit tags."""

    depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in front matter", event.start_mark)
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and getattr(event, "implicit", (True,)) in (False, (False, False)):
            raise yaml.MarkedYAMLError(None, None, f"YAML tags ({tag}) are not allowed in front matter", event.start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        check_keys(self, node, merge="merge keys (<<) are not allowed in front matter")
        return super().construct_mapping(node, deep=deep)


def split(raw: bytes, name: str, max_bytes: int) -> tuple[str, int]:
    """Return the front matter text and the file line it starts on (1-based).

    Works on bytes up to the closing line, so the body may be in any encoding and
    size; only the front matter itself must be UTF-8 and at most `max_bytes`.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise FrontMatterError(name, "the file is empty: it needs front matter between --- lines")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FrontMatterError(name, "not UTF-8 text (the file is UTF-16: save it as UTF-8)", 1)
    lines = raw[: max_bytes + 8192].splitlines(keepends=True)
    first = lines[0].rstrip()
    if first not in OPENERS:
        raise FrontMatterError(name, NO_FRONT_MATTER, 1)
    closers = (b"---", b"...") if first == b"---" else (first,)
    size = 0
    for i, line in enumerate(lines[1:], start=2):
        if line.rstrip() in closers:
            return _decode(lines[1 : i - 1], name), 2
        size += len(line)
        if size > max_bytes:
            raise FrontMatterError(name, f"front matter is larger than {max_bytes} bytes (max_front_matter_bytes)", 1)
    raise FrontMatterError(name, f"front matter is not closed: add a {first.decode()} line after it", 1)


def _decode(lines: list[bytes], name: str) -> str:
    for i, line in enumerate(lines, start=2):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise FrontMatterError(name, "not UTF-8 text (save the file as UTF-8)", i) from None
    return b"".join(lines).decode("utf-8")


def parse(raw: bytes, name: str, max_bytes: int = 64 * 1024) -> FrontMatter:
    """Parse an article's bytes. Raises FrontMatterError with the line where known."""
    kind = format_of(raw)
    if kind == "json":
        return _parse_json(raw, name, max_bytes)
    text, start = split(raw, name, max_bytes)
    if kind == "toml":
        return _parse_toml(text, name, start)
    if not text.strip():
        return FrontMatter(data={}, lines={})  # `---` twice: Jekyll's "a page with no variables"
    _check_nesting(text, name, start)
    fast = _parse_plain(text, start)
    if fast is not None:
        return fast
    fast = _parse_fast(text, start)
    if fast is not None:
        return fast
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:  # only comments: as empty
            return FrontMatter(data={}, lines={})
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(name, "front matter must be a mapping of keys to values", start)
        data: Any = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = start + mark.line if mark else None
        raise FrontMatterError(name, f"front matter is not valid YAML: {_one_line(exc.problem or exc.context)}", line) from None
    except yaml.reader.ReaderError as exc:
        line = start + text[: exc.position].count("\n")
        raise FrontMatterError(
            name, f"front matter contains a character YAML does not allow (#x{exc.character:04x})", line
        ) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(name, f"front matter is not valid YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise FrontMatterError(name, "front matter is nested too deeply") from None
    except (ValueError, OverflowError) as exc:
        raise FrontMatterError(name, f"front matter has a value that cannot be read: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines = {}
    for key_node, _ in node.value:
        lines[loader_key(key_node)] = start + key_node.start_mark.line
    return FrontMatter(data=data, lines=lines)


if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _FastLoader(CParser, _StrictLoader):
        """libyaml's C parser with _StrictLoader's constructor (duplicate and merge keys refused)."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None  # type: ignore[assignment,misc]


def _parse_fast(text: str, start: int) -> FrontMatter | None:
    """The common case at C speed (a 2,000-article site parses in a fraction of a second).

    Only front matter without `&`, `*`, `!` or `<<` anywhere (so no anchor, alias, tag or merge
    key can occur) and no deeper than MAX_DEPTH; on any problem None, and the strict pure-Python
    loader runs and words the error.
    """
    if _FastLoader is None or any(c in text for c in "&*!") or "<<" in text:
        return None
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            return None
        todo, seen = [(node, 1)], 0
        while todo:
            n, depth = todo.pop()
            seen += 1
            if depth > MAX_DEPTH or seen > 100_000:
                return None
            if isinstance(n, yaml.MappingNode):
                todo.extend((c, depth + 1) for kv in n.value for c in kv)
            elif isinstance(n, yaml.SequenceNode):
                todo.extend((c, depth + 1) for c in n.value)
        data = loader.construct_document(node)
        lines = {loader_key(k): start + k.start_mark.line for k, _ in node.value}
    except Exception:
        return None
    finally:
        loader.dispose()
    return FrontMatter(data=data, lines=lines)


#: The front matter _parse_plain reads: top-level `key: value` lines, where the value is quoted
#: on one line without escapes, a plain word-like scalar, or empty and followed by `- item` lines.
_KEY = re.compile(r"[A-Za-z_][\w-]*")
_PLAIN = re.compile(r"(?:[\w./+~]|-(?=[\d.]))[\w .,/+~:()?'-]*")
_ITEM = re.compile(r"( +)- +(.*?) *")
_STR = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=4096)
def _plain_tag(raw: str) -> str:
    """The type YAML resolves a plain scalar to (yes: bool, 10:30: int, 2025-01-31: timestamp).
    Memoised: a site's articles repeat their keys and most of their plain values."""
    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, raw, (True, False))


def _scalar(raw: str) -> tuple[bool, Any]:
    """(True, value) for a scalar _parse_plain reads exactly as YAML does, else (False, None)."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        if raw[0] not in inner and "\\" not in inner:  # no escape: the text between the quotes
            return True, inner
        return False, None
    if _PLAIN.fullmatch(raw) is None or ": " in raw or raw.endswith(":"):
        return False, None
    tag = _plain_tag(raw)
    if tag == _STR:
        return True, raw
    constructor = yaml.constructor.SafeConstructor()  # PyYAML's own: 2025-01-31 is a date
    try:
        return True, constructor.yaml_constructors[tag](constructor, yaml.ScalarNode(tag, raw))
    except (ValueError, OverflowError, yaml.YAMLError):  # 2025-13-45: the YAML path words it
        return False, None


def _parse_plain(text: str, start: int) -> FrontMatter | None:
    """The front matter most sites write, read line by line at a fraction of even libyaml's cost
    (no parser object per article); None for anything else, which the YAML parsers then read.
    Plain scalars go through PyYAML's own resolver and constructors, so every value is the
    one YAML gives (tests/test_frontmatter_plain.py compares the two on tricky input)."""
    rows = text.replace("\r\n", "\n").split("\n")
    if not all(row.isprintable() for row in rows):
        return None  # tabs, other line breaks (NEL, U+2028, a lone CR), what YAML refuses: its parser words it
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    i, n = 0, len(rows)
    while i < n:
        row = rows[i]
        i += 1
        if not row or row[0] == "#" or row.isspace():
            continue
        key, colon, rest = row.partition(":")
        if not colon or (rest and rest[0] != " ") or _KEY.fullmatch(key) is None or key in data:
            return None  # a duplicate too: the strict loader words it
        if _plain_tag(key) != _STR:
            return None  # yes: or null: is no string key
        lines[key] = start + i - 1
        raw = rest.strip(" ")
        if raw:
            ok, data[key] = _scalar(raw)
            if not ok:
                return None
            continue
        items, indent = [], None
        while i < n and rows[i][:1] == " ":
            item = _ITEM.fullmatch(rows[i])
            if item is None or indent not in (None, item.group(1)):
                return None
            indent = item.group(1)
            ok, value = _scalar(item.group(2))
            if not ok:
                return None
            items.append(value)
            i += 1
        data[key] = items if indent is not None else None
    if not data:
        return None
    return FrontMatter(data=data, lines=lines)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:300]


def _check_nesting(text: str, name: str, start: int) -> None:
    """Refuse deep flow nesting ([[[[...) in linear time, before the YAML scanner slows on it."""
    if "[" not in text and "{" not in text:
        return  # no flow collections: nothing to count (most front matter)
    depth = 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = start + text.count("\n", 0, i)
                raise FrontMatterError(name, f"front matter is nested more than {MAX_DEPTH} levels deep", line)
        elif ch in "]}" and depth:
            depth -= 1


def loader_key(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_KEY = re.compile(r"""\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


def _parse_toml(text: str, name: str, start: int) -> FrontMatter:
    """TOML between +++ lines: tomllib refuses duplicate keys itself; the size cap is split()'s."""
    if sys.version_info >= (3, 11):  # imported here: a YAML site never needs it (5 ms a run)
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    if not text.strip():
        return FrontMatter(data={}, lines={}, format="toml")
    _check_nesting(text, name, start)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        at = _TOML_AT.search(msg)
        line = start + int(at.group(1)) - 1 if at else None
        raise FrontMatterError(
            name, f"front matter is not valid TOML: {_one_line(_TOML_AT.sub('', msg).strip())}", line
        ) from None
    except RecursionError:
        raise FrontMatterError(name, "front matter is nested too deeply") from None
    lines: dict[str, int] = {}
    for i, row in enumerate(text.splitlines(), start=start):
        if row.lstrip().startswith("["):
            break  # a [table]: keys after it are not top-level
        m = _TOML_KEY.match(row)
        if m:
            lines.setdefault(m.group(1) or m.group(2) or m.group(3), i)
    return FrontMatter(data=data, lines=lines, format="toml")


def _no_duplicates(pairs: list) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(ValueError):
    pass


def _refuse_constant(word: str) -> None:
    raise ValueError(f"{word} is not JSON")


def json_end(raw: bytes, name: str, max_bytes: int) -> tuple[dict, int, str]:
    """The JSON object at the start of `raw`: (data, end offset in the text, text).

    Only the object's own bytes must be UTF-8; the body after it may be anything.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    head = raw[: max_bytes + 1].decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    try:
        data, end = decoder.raw_decode(head)
    except _Duplicate as exc:
        raise FrontMatterError(
            name, f"front matter is not valid JSON: duplicate key {exc.args[0]!r}", _key_line(head, exc.args[0], 2)
        ) from None
    except json.JSONDecodeError as exc:
        if len(raw) > max_bytes and (exc.pos >= len(head) - 1 or exc.msg.startswith("Unterminated")):
            raise FrontMatterError(name, f"front matter is larger than {max_bytes} bytes (max_front_matter_bytes)", 1) from None
        raise FrontMatterError(name, f"front matter is not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise FrontMatterError(name, "front matter is nested too deeply") from None
    except ValueError as exc:
        raise FrontMatterError(name, f"front matter has a value that cannot be read: {exc}") from None
    bad = re.search("[\udc80-\udcff]", head[:end])
    if bad:
        raise FrontMatterError(name, "not UTF-8 text (save the file as UTF-8)", head.count("\n", 0, bad.start()) + 1)
    return data, end, head


def _key_line(text: str, key: str, nth: int = 1) -> int | None:
    quoted, at = json.dumps(key, ensure_ascii=False), -1
    for _ in range(nth):
        at = text.find(quoted, at + 1)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _parse_json(raw: bytes, name: str, max_bytes: int) -> FrontMatter:
    """A JSON object at the start of the file, as strictly as YAML: no duplicate keys, no NaN."""
    data, end, text = json_end(raw, name, max_bytes)
    if not isinstance(data, dict):
        raise FrontMatterError(name, "front matter must be a mapping of keys to values", 1)
    _check_nesting(text[:end], name, 1)
    return FrontMatter(data=data, lines={k: _key_line(text[:end], k) for k in data}, format="json")
