"""The line-by-line reader for everyday front matter (frontmatter._parse_plain) gives what YAML
gives, or steps aside.

For each input it either returns None (a YAML parser reads it) or exactly the data and key lines
the strict YAML loader gives: checked on a table of YAML's traps (yes, ~, 10:30, 0o17, quotes,
comments, CRLF) and on generated front matter built from the same pieces.
"""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from renditions.frontmatter import _parse_plain, _StrictLoader, parse

START = 2  # the file line the front matter's first line is on


def strict(text: str):
    """What the strict YAML loader makes of `text`: (data, key lines), or None if it refuses it."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if not isinstance(node, yaml.MappingNode):
            return None
        data = loader.construct_document(node)
    except (yaml.YAMLError, ValueError, OverflowError):
        return None
    finally:
        loader.dispose()
    return data, {k.value: START + k.start_mark.line for k, _ in node.value}


def same_as_yaml(text: str) -> bool:
    """True if the plain reader took `text` (and then it must agree with YAML)."""
    got = _parse_plain(text, START)
    if got is None:
        return False
    want = strict(text)
    assert want is not None, f"the plain reader took what YAML refuses: {text!r}"
    assert repr(got.data) == repr(want[0]) and type(got.data) is type(want[0]), text  # repr: nan == nan
    assert got.lines == want[1], text
    return True


EVERYDAY = [
    'title: "5 breakthroughs"\nimage: "/img/artical/articles/x.png"\nmobile: "/img/artical/mobile-articles/x.png"\n',
    "title: Hello world\ndraft: true\ndate: 2025-01-31\nweight: 10\n",
    "title: 'Single quoted: with a colon'\ntags:\n  - news\n  - health\nslug: x\n",
    '# a comment line\ntitle: "x"\n\nimage: "/img/a.png"\n',
    'title: "x"\r\nimage: "/img/a.png"\r\n',
    "date: 2025-01-31T10:00:00Z\nlastmod: 2025-02-01 10:00:00\n",
    "title: Don't stop\nsummary: Why? Because (it works), mostly.\n",
    "empty:\ntitle: x\n",
    "title: Über uns\nauthor: José\n",
]

# each is read differently by YAML than a naive reader would, or must go to a YAML parser
TRAPS = [
    "a: yes\nb: No\nc: off\nd: ON\ne: y\nf: n\n",
    "a: ~\nb: null\nc: Null\nd: \n",
    "a: 10:30\nb: 1_000\nc: 0o17\nd: 017\ne: 0x1F\nf: +1\ng: -1\n",
    "a: 1.0\nb: .inf\nc: -.inf\nd: .nan\ne: 1e3\nf: 6.8523015e+5\n",
    "a: 2025-13-45\n",
    "title: a: b\n",
    "title: a #b\n",
    "title: a# b\n",
    'title: "a" # comment\n',
    "title: 'it''s'\n",
    'title: "tab\\there"\n',
    "title: x\ntitle: y\n",
    "yes: x\n",
    "null: x\n",
    "1: x\n",
    "title: x\n  indented: y\n",
    "tags:\n- a\n- b\n",
    "tags:\n  - a\n\n  - b\n",
    "tags:\n  - a\n    - b\n",
    "tags:\n  - a: b\n",
    "tags: [a, b]\n",
    "title: |\n  block\n",
    "title: >\n  folded\n",
    "title: x\r\ny: 1\n",
    "title: x\ty\n",
    "title: a\x85b\n",
    "title: a\u2028b\n",
    "title: -x\n",
    "title: ?x\n",
    "title: :x\n",
    "title: x:\n",
    "title:x\n",
    "title : x\n",
    "---\ntitle: x\n",
    "title: x\n...\n",
    "title: %x\n",
    "title: @x\n",
    "title: `x`\n",
    "title: !x\n",
    "title: &a x\n",
    "title: *a\n",
    "<<: x\n",
    "",
    "# only a comment\n",
]


def test_everyday_front_matter_is_read_line_by_line_and_as_yaml_reads_it():
    assert all(same_as_yaml(text) for text in EVERYDAY)


def test_yaml_traps_are_read_as_yaml_reads_them_or_left_to_yaml():
    taken = [text for text in TRAPS if same_as_yaml(text)]
    # the scalars YAML types by resolution are taken (through PyYAML's own resolver), the rest not
    assert taken == TRAPS[:4] + ["title: x\r\ny: 1\n"]  # a lone CRLF among LFs: YAML reads both


def test_parse_gives_the_same_answer_either_way():
    raw = b'---\ntitle: "x"\ndraft: yes\nweight: 10:30\n---\nbody\n'
    fm = parse(raw, "content/x.md")
    assert fm.data == {"title": "x", "draft": True, "weight": 630} and fm.lines == {"title": 2, "draft": 3, "weight": 4}


KEYS = st.sampled_from(["title", "image", "draft", "date", "tags", "yes", "on", "_x", "a-b", "null", "Ünï"])
PIECES = st.sampled_from(
    ["x", "yes", "No", "~", "1", "10:30", "0o7", "1.5", ".nan", "2025-01-31", "a: b", "a #b", "a#b", "-", "?", ":", "'", '"']
    + ["#", " ", "Don't", "(x)", "x,y", "é", "\\", "/img/a.png", "[a]", "{a}", "&a", "*a", "!x", "|", ">", "\t"]
)
VALUES = st.one_of(
    st.lists(PIECES, max_size=4).map("".join),
    st.lists(PIECES, max_size=3).map(lambda p: '"' + "".join(p) + '"'),
    st.lists(PIECES, max_size=3).map(lambda p: "'" + "".join(p) + "'"),
    st.lists(st.lists(PIECES, min_size=1, max_size=3).map("".join), min_size=1, max_size=3).map(
        lambda items: "\n" + "\n".join("  - " + i for i in items)
    ),
)
LINES = st.one_of(
    st.tuples(KEYS, st.sampled_from([": ", ":", ":  ", " : "]), VALUES).map("".join),
    st.sampled_from(["", "# note", "  ", "---"]),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=6), st.sampled_from(["\n", "\r\n"]))
def test_generated_front_matter_is_read_as_yaml_reads_it_or_left_to_yaml(lines, newline):
    same_as_yaml(newline.join(lines) + newline)
