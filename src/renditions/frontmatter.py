"""Read the YAML front matter of one article, strictly and in bounded time and memory.

Hostile input is expected: duplicate keys, tags and aliases are refused rather than
interpreted, and the front matter's size is capped before YAML sees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .errors import FrontMatterError


@dataclass(frozen=True)
class FrontMatter:
    data: dict
    #: 1-based line in the article file of each top-level key (for annotations).
    lines: dict


class _StrictLoader(yaml.SafeLoader):
    """safe_load, plus: no duplicate keys, no aliases, no explicit tags."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "aliases (*name) are not allowed in front matter", event.start_mark)
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and getattr(event, "implicit", (True,)) in (False, (False, False)):
            raise yaml.MarkedYAMLError(None, None, f"YAML tags ({tag}) are not allowed in front matter", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.MarkedYAMLError(None, None, "a mapping key must be a plain value", key_node.start_mark) from None
            if key in seen:
                raise yaml.MarkedYAMLError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def split(raw: bytes, name: str, max_bytes: int) -> tuple[str, int]:
    """Return the front matter text and the file line it starts on (1-based)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw[: max_bytes + 4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < max_bytes:
            line = raw[: exc.start].count(b"\n") + 1
            raise FrontMatterError(name, "not UTF-8 text (save the file as UTF-8)", line) from None
        text = raw[: exc.start].decode("utf-8")
    lines = text.splitlines(keepends=True)
    if not lines:
        raise FrontMatterError(name, "the file is empty: it needs front matter between --- lines")
    first = lines[0].rstrip("\r\n").rstrip()
    if first == "+++":
        raise FrontMatterError(name, "TOML front matter (+++) is not supported: use YAML between --- lines", 1)
    if first != "---":
        raise FrontMatterError(name, "no front matter: the file must start with a --- line", 1)
    size = 0
    for i, line in enumerate(lines[1:], start=2):
        if line.rstrip("\r\n").rstrip() in ("---", "..."):
            return "".join(lines[1 : i - 1]), 2
        size += len(line.encode("utf-8"))
        if size > max_bytes:
            raise FrontMatterError(name, f"front matter is larger than {max_bytes} bytes (max_front_matter_bytes)", 1)
    raise FrontMatterError(name, "front matter is not closed: add a --- line after it", 1)


def parse(raw: bytes, name: str, max_bytes: int = 64 * 1024) -> FrontMatter:
    """Parse an article's bytes. Raises FrontMatterError with the line where known."""
    text, start = split(raw, name, max_bytes)
    if not text.strip():
        raise FrontMatterError(name, "front matter is empty", start - 1)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise FrontMatterError(name, "front matter is empty", start - 1)
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(name, "front matter must be a mapping of keys to values", start)
        data: Any = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = start + mark.line if mark else None
        raise FrontMatterError(name, f"front matter is not valid YAML: {exc.problem or exc.context}", line) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(name, f"front matter is not valid YAML: {exc}") from None
    except RecursionError:
        raise FrontMatterError(name, "front matter is nested too deeply") from None
    finally:
        loader.dispose()
    lines = {}
    for key_node, _ in node.value:
        lines[loader_key(key_node)] = start + key_node.start_mark.line
    return FrontMatter(data=data, lines=lines)


def loader_key(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None
