"""`renditions merge` reads shard manifests anyone could have written: each is checked like the
site's manifest, conflicts name both files, and no message is ever longer than a line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from renditions.cli import main
from renditions.shard import in_shard

KEY = "/img/artical/articles/one.png"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def entry(site, monkeypatch, tmp_path):
    """A real manifest entry, from a real build."""
    site.article("one")
    site.master("one", (1600, 900))
    r = run("build", "--root", site.root)
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(tmp_path)
    return json.loads((site.root / "renditions.lock.json").read_text())["outputs"][KEY]


def write(path, outputs, shard):
    path.write_text(json.dumps({"format": "renditions-manifest", "version": 1, "shard": shard, "outputs": outputs}))
    return path


def article_in(k, n):
    return next(f"content/a{i}.md" for i in range(1000) if in_shard(f"content/a{i}.md", (k, n)))


def refused(tmp_path, paths, expected):
    out = tmp_path / "out.json"
    r = run("merge", out.name, *(p.name for p in paths))  # run in tmp_path: the files as a user names them
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert len(lines[0]) < 300
    assert not out.exists()
    assert r.exception is None or isinstance(r.exception, SystemExit)
    return lines[0]


def test_a_non_string_article_is_one_line(tmp_path, entry):
    one = write(tmp_path / "1.json", {KEY: {**entry, "article": 7}}, "1/1")
    line = refused(tmp_path, [one], "`article` must be a non-empty string, got 7")
    assert line.startswith("error: 1.json: the entry for")


@pytest.mark.parametrize("key", ["/etc/passwd/..", "etc/passwd", "//etc/passwd", "/img/../../etc/passwd"])
def test_keys_that_fail_the_path_gate_are_refused(tmp_path, entry, key):
    one = write(tmp_path / "1.json", {key: entry}, "1/1")
    refused(tmp_path, [one], "is not a site path like /img/x.png")


def test_two_shards_recording_one_output_differently_name_both_files(tmp_path, entry):
    a1, a2 = article_in(1, 2), article_in(2, 2)
    one = write(tmp_path / "runner-1.json", {KEY: {**entry, "article": a1}}, "1/2")
    two = write(tmp_path / "runner-2.json", {KEY: {**entry, "article": a2, "hash": "0" * 64}}, "2/2")
    line = refused(tmp_path, [one, two], f"{KEY}: ")
    assert "runner-1.json" in line and "runner-2.json" in line and "record different outputs for it" in line


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("1/20000000", 'its shard "1/20000000" splits the site into more than 1024 slices'),
        ("1/" + "9" * 4000, "splits the site into more than 1024 slices"),
        ("1/" + "9" * 5000, "is not K/N"),
        ("x" * 5000, 'its shard "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." is not K/N'),
    ],
)
def test_an_absurd_shard_field_is_a_short_line(tmp_path, entry, spec, expected):
    one = write(tmp_path / "1.json", {KEY: entry}, spec)
    refused(tmp_path, [one], expected)


def test_many_missing_shards_are_summarised(tmp_path, entry):
    one = write(tmp_path / "1.json", {}, "1/1000")
    refused(tmp_path, [one], "missing shard 2/1000, 3/1000, 4/1000, 5/1000, 6/1000 and 994 more")


def test_valid_shards_still_merge(tmp_path, entry):
    owner = article_in(1, 2)
    one = write(tmp_path / "1.json", {KEY: {**entry, "article": owner}}, "1/2")
    two = write(tmp_path / "2.json", {}, "2/2")
    r = run("merge", tmp_path / "out.json", one, two)
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "out.json").read_text())["outputs"] == {KEY: {**entry, "article": owner}}
