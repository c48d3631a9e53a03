"""The path gate: a front-matter value either names a plain file inside the web root, or is refused.

Each rejection class of the issue has its own case and reason; a property test throws generated
strings (built from the characters and segments attacks are made of) at a web root full of
symlinks and asserts that nothing lands outside it and nothing but PathError is raised.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renditions.errors import PathError
from renditions.paths import clean_site_path, output_file, resolve_output


def reason(value: object) -> str:
    with pytest.raises(PathError) as info:
        clean_site_path(value)
    return info.value.reason


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/img/../../../tmp/x.png", "'..'"),
        ("/img/./x.png", "'..' or '.'"),
        ("/..", "'..'"),
        ("img/x.png", "must start with /"),
        ("../x.png", "must start with /"),
        ("~/x.png", "home-folder"),
        ("~root/x.png", "home-folder"),
        ("C:\\Windows\\x.png", "backslash"),
        ("C:/Windows/x.png", "drive-letter"),
        ("c:x.png", "drive-letter"),
        ("https://cdn.example.com/x.png", "URL"),
        ("file:///etc/x.png", "URL"),
        ("data:image/png;base64,AAAA", "URL"),
        ("//cdn.example.com/x.png", "URL"),
        ("/img/x.png\x00.jpg", "NUL"),
        ("/img/x\n.png", "control character"),
        ("/img/x\x7f.png", "control character"),
        ("/img\\..\\..\\x.png", "backslash"),
        ("/img//x.png", "empty segment"),
        ("/img/", "empty segment"),
        ("/", "empty segment"),
        ("", "empty"),
        ("   ", "empty"),
        ("?v=2", "must start with /"),
        ("/img/" + "a" * 300 + ".png", "too long"),
        ("/" + "/".join(["abcdefgh"] * 200) + ".png", "too long"),
        ("/img/\ud800.png", "not valid Unicode"),
        ("/img/%2e%2e/%2e%2e/x.png", "'..'"),
        ("/img/%2E%2e/x.png", "'..'"),
        ("/img/%2e/x.png", "'..' or '.'"),
        ("/img/..%2Fx.png", "encoded /"),
        ("/img%2f..%2f..%2fx.png", "encoded /"),
        ("/img/x.png%00.jpg", "encoded NUL"),
        ("/img/x%0A.png", "encoded control"),
        ("/img/..%5C..%5Cx.png", "encoded backslash"),
        ("/img/%FF.png", "not UTF-8"),
        (None, "got nothing"),
        (["/img/x.png"], "got list"),
        ({"path": "/img/x.png"}, "got dict"),
        (42, "got int"),
        (True, "got bool"),
    ],
)
def test_rejections_name_the_reason(value, expected):
    assert expected in reason(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/img/x.png", "/img/x.png"),
        ("  /img/x.png  ", "/img/x.png"),
        ("/img/x.png?v=2", "/img/x.png"),  # query strings are stripped (documented in README)
        ("/img/x.png#top", "/img/x.png"),
        ("/img/x.png?v=2#top", "/img/x.png"),
        ("/etc/passwd.png", "/etc/passwd.png"),  # a site path: lands in public/etc/, inside the root
        # a URL path: decoded as the web server decodes it, so the file is the one it serves
        ("/img/Summer%20Picnic.png", "/img/Summer Picnic.png"),
        ("/img/caf%C3%A9.png", "/img/caf\u00e9.png"),
        ("/img/100%.png", "/img/100%.png"),  # not an escape: kept
        ("/img/a%2520b.png", "/img/a%20b.png"),  # decoded once, as a server does
        ("/img/caf\u00e9 d\u00e9j\u00e0.png", "/img/caf\u00e9 d\u00e9j\u00e0.png"),
        ("/img/.../x.png", "/img/.../x.png"),  # three dots is an ordinary name
    ],
)
def test_accepted_paths(value, expected):
    assert clean_site_path(value) == expected


@pytest.fixture
def layout(tmp_path):
    """A web root with every kind of symlink trap, and the masters' folder inside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"secret")
    public = tmp_path / "site" / "public"
    img = public / "img"
    img.mkdir(parents=True)
    sources = public / "src"  # a site that keeps its masters under the web root
    sources.mkdir()
    (sources / "hero.png").write_bytes(b"master")
    (img / "plain.png").write_bytes(b"old")
    (img / "file").write_bytes(b"a file, not a folder")
    os.symlink(outside, img / "out")  # a folder leading outside
    os.symlink("../../../outside/secret.png", img / "link.png")  # a file leading outside
    os.symlink("plain.png", img / "inner.png")  # a symlinked file inside
    os.symlink(img, img / "loop")  # a folder leading back inside: fine
    os.symlink(public, img / "up")  # leads to the root itself
    os.symlink(sources, img / "masters")  # leads into the sources
    os.symlink("self", img / "self")  # a symlink to itself
    os.symlink("missing-target", img / "dangling")  # a link to nothing
    os.symlink(tmp_path, public / "whole")
    return public, sources, outside


def resolve(layout, site_path: str) -> Path:
    public, sources, _ = layout
    return resolve_output(clean_site_path(site_path), public, sources)


def resolve_reason(layout, site_path: str) -> str:
    with pytest.raises(PathError) as info:
        resolve(layout, site_path)
    return info.value.reason


def test_resolve_plain_and_new(layout):
    public, _, _ = layout
    assert resolve(layout, "/img/plain.png") == public / "img" / "plain.png"
    assert resolve(layout, "/img/new/deep/x.png") == public / "img" / "new" / "deep" / "x.png"
    assert resolve(layout, "/img/loop/x.png") == public / "img" / "loop" / "x.png"


@pytest.mark.parametrize(
    "site_path, expected",
    [
        ("/img/out/x.png", "outside the web root"),
        ("/img/out/secret.png", "outside the web root"),
        ("/img/link.png", "outside the web root"),
        ("/whole/outside/x.png", "outside the web root"),
        ("/img/inner.png", "symbolic link"),
        ("/img/dangling", "symbolic link"),
        ("/img/up", "web root itself"),
        ("/img", "folder"),
        ("/img/loop", "symbolic link"),
        ("/src/hero.png", "masters' folder"),
        ("/img/masters/hero.png", "masters' folder"),
        ("/img/masters/new.png", "masters' folder"),
        ("/img/file/x.png", "/img/file is a file"),
    ],
)
def test_resolve_rejections(layout, site_path, expected):
    assert expected in resolve_reason(layout, site_path)


@pytest.mark.parametrize("site_path", ["/.git/a.png", "/.GIT/hooks/b.png", "/pics/c.png", "/pics/deep/d.png"])
def test_nothing_is_written_into_git_s_own_folder(tmp_path, site_path):
    """A web root of "." (Jekyll's layout) holds .git: a front-matter path into it, in any case
    or through a link, is refused, with the plan's memo as without it."""
    from renditions.paths import INTO_GIT

    root = tmp_path / "site"
    (root / ".git" / "hooks").mkdir(parents=True)
    os.symlink(".git", root / "pics")
    sources = root / "source_images"
    sources.mkdir()
    for memo in (None, {}):
        with pytest.raises(PathError) as info:
            resolve_output(clean_site_path(site_path), root, sources, memo)
        assert info.value.reason == INTO_GIT
    assert resolve_output("/img/.gitkeep.png", root, sources, {}) == root / "img" / ".gitkeep.png"


def test_self_referencing_symlink_is_refused_or_inside(layout):
    public, _, _ = layout
    try:
        dest = resolve(layout, "/img/self/x.png")
    except PathError:
        return
    assert Path(os.path.realpath(dest)).is_relative_to(os.path.realpath(public))


SEGMENTS = st.sampled_from(
    [
        "img",
        "out",
        "link.png",
        "inner.png",
        "loop",
        "up",
        "masters",
        "self",
        "dangling",
        "file",
        "whole",
        "outside",
        "src",
        "hero.png",
        "plain.png",
        "..",
        ".",
        "",
        "~",
        "C:",
        "x.png",
        "%2e%2e",
        "a?b",
        "#",
        "...",
    ]
)
JOINERS = st.sampled_from(["/", "\\", "//", "/./", "/../"])
NASTY = st.text(alphabet=st.sampled_from(list("/\\.:?#~%\x00\n ab\u2215\u00e9") + ["\ud800", "\uff0e"]), max_size=30)


@st.composite
def site_paths(draw):
    parts = draw(st.lists(st.one_of(SEGMENTS, NASTY), max_size=8))
    text = ""
    for p in parts:
        text += draw(JOINERS) + p
    prefix = draw(st.sampled_from(["", "", "/", "file://", "https://", "~", "C:", " "]))
    suffix = draw(st.sampled_from(["", "?v=2", "#x", ".png", "/"]))
    return prefix + text + suffix


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(site_paths(), st.text(max_size=60)))
def test_no_path_escapes_the_web_root(layout, value):
    """Property: any string either raises PathError or names a plain file strictly inside
    the web root (following every symlink that exists), outside the masters' folder."""
    public, sources, outside = layout
    try:
        dest = resolve(layout, value)
    except PathError:
        return
    real = Path(os.path.realpath(dest))
    root = Path(os.path.realpath(public))
    assert real != root and real.is_relative_to(root)
    assert not real.is_relative_to(os.path.realpath(sources))
    assert not real.is_relative_to(os.path.realpath(outside))
    assert not os.path.islink(dest) and not os.path.isdir(dest)
    assert dest.is_relative_to(public)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.binary(max_size=10),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    )
)
def test_non_strings_raise_only_path_error(value):
    with pytest.raises(PathError):
        clean_site_path(value)


def test_a_plan_resolves_folders_of_any_name_the_same_with_or_without_its_memo(tmp_path):
    # the memo that resolves each folder once keeps its own entries too; no folder name may alias them
    public, sources = tmp_path / "public", tmp_path / "source_images"
    public.mkdir()
    sources.mkdir()
    memo: dict = {}
    for site in ["/public/a.png", "/src/a.png", "/root/a.png", "/folders/a.png", "/a.png", "/img/x/a.png"]:
        assert resolve_output(site, public, sources, memo) == resolve_output(site, public, sources) == public / site[1:]
        # the text a plan keys its outputs by (stat cache, lstats, stamp) is the Path's own, character for character
        assert output_file(site, public, sources, {}) == str(public / site[1:])


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="/._-aZ09?#~ :\\\x00é", max_size=40) | st.text(max_size=300))
def test_the_fast_path_answers_what_every_check_answers(value):
    """clean_site_path's one-regex shortcut accepts only paths the full checks return unchanged."""
    from renditions.paths import _clean

    try:
        slow = _clean(value)
    except PathError as exc:
        slow = ("refused", exc.reason)
    try:
        fast = clean_site_path(value)
    except PathError as exc:
        fast = ("refused", exc.reason)
    assert fast == slow


def test_all_plain_agrees_with_clean_site_path_one_by_one():
    """A manifest's keys are checked in one regex (all_plain); when it says yes, each key is one
    clean_site_path passes unchanged, and a single odd key (a line break in it) says no."""
    from renditions.paths import all_plain

    plain = ["/img/a.png", "/img/artical/articles/x-1_2.webp", "/a"]
    assert all_plain(plain) and all(clean_site_path(p) == p for p in plain)
    for odd in ("/a\n/b", "/a/../b", "img/a.png", "/a//b", "/.hidden", "/a b.png", "/" + "a" * 300, "/café.png", ""):
        assert not all_plain([*plain, odd]), odd
    assert not all_plain([])
