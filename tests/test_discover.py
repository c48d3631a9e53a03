"""discover: a front-matter value of the wrong shape costs its article, with the key and the line."""
from __future__ import annotations

import os

from renditions.config import load_config
from renditions.discover import discover
from renditions.plan import make_plan
from renditions.manifest import Manifest


def articles(site):
    cfg = load_config(site.root)
    return cfg, {a.slug: a for a in discover(cfg)}


def write(site, name: str, raw: bytes):
    path = site.root / "content" / name
    path.write_bytes(raw)
    return path


def test_wrong_types_name_the_key_and_line(site):
    write(site, "lists.md", b"---\ntitle: t\nimage: [/img/a.png, /img/b.png]\nmobile: 42\nsingleImage:\nMobileSingleImage: {p: 1}\n---\n")
    cfg, found = articles(site)
    a = found["lists"]
    by_variant = {t.variant: t for t in a.targets}
    assert by_variant["article"].error == "image: expected a path string like /img/x.png, got list"
    assert by_variant["article"].line == 3
    assert by_variant["mobile-article"].error == "mobile: expected a path string like /img/x.png, got int"
    assert by_variant["single"].error == "singleImage: expected a path string like /img/x.png, got nothing"
    assert by_variant["mobile-single"].error == "MobileSingleImage: expected a path string like /img/x.png, got dict"
    assert by_variant["mobile-single"].line == 6


def test_bad_slug_and_focus_are_errors_not_crashes(site):
    write(site, "s1.md", b"---\nslug: [a, b]\n---\n")
    write(site, "s2.md", b"---\nslug: ../../etc\n---\n")
    write(site, "s3.md", b"---\nslug: s3\nfocus: [2, -1]\n---\n")
    write(site, "s4.md", b"---\nslug: s4\nfocus: {nosuch: [0.5, 0.5]}\n---\n")
    write(site, "s5.md", b"---\nslug: s5\nfocus: centre\n---\n")
    _, found = articles(site)
    assert "slug: expected a name without / or \\" in found["s1"].errors[0]
    assert "slug: expected a name without / or \\" in found["s2"].errors[0]
    assert "expected [x, y] with fractions from 0 to 1" in found["s3"].errors[0]
    assert "focus.nosuch: not a variant" in found["s4"].errors[0]
    assert "focus: expected [x, y]" in found["s5"].errors[0]


def test_broken_front_matter_becomes_one_problem_with_line(site):
    write(site, "dup.md", b"---\nimage: /img/a.png\nimage: /img/b.png\n---\n")
    write(site, "crlf.md", b"\xef\xbb\xbf---\r\nslug: crlf\r\n---\r\n")
    site.master("crlf", size=(1600, 900))
    cfg, found = articles(site)
    assert found["dup"].errors == ("front matter is not valid YAML: duplicate key 'image'",)
    assert found["dup"].error_line == 3
    assert found["crlf"].errors == ()
    plan = make_plan(cfg, list(found.values()), Manifest(cfg.manifest), lambda p: "h", "test")
    assert plan.failed_articles == ("content/dup.md",)
    [p] = [p for p in plan.problems if p.error]
    assert (p.path, p.line) == ("content/dup.md", 3)
    assert [j.slug for j in plan.jobs] == ["crlf"]


def test_unreadable_things_matching_the_glob(site):
    (site.root / "content" / "folder.md").mkdir()  # a folder is not an article
    os.mkfifo(site.root / "content" / "fifo.md")  # nor is a pipe (reading it would hang)
    os.symlink("/nonexistent/x.md", site.root / "content" / "dangling.md")
    write(site, "ok.md", b"---\nslug: ok\nimage: /img/ok.png\n---\n")  # a key: an image article
    _, found = articles(site)
    assert list(found) == ["ok"]
