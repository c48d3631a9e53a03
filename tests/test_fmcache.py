"""The cache of what each article's front matter said: an unchanged article is not parsed again,
an edited one is, and the answers (outputs, errors) are the same either way."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from renditions import fmcache, frontmatter
from renditions.cli import main


def cli(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


@pytest.fixture
def counted(monkeypatch):
    """Counts the articles whose front matter is parsed; caches even files written just now."""
    monkeypatch.setattr(fmcache, "RACY_NS", 0)
    calls = []
    real = frontmatter.parse

    def parse(raw, name, *a, **k):
        calls.append(name)
        return real(raw, name, *a, **k)

    monkeypatch.setattr(frontmatter, "parse", parse)
    return calls


def small_site(site):
    site.config('variants:\n  card: {key: image, path: "/img/{slug}.png", width: 64, height: 48}\n')
    for slug in ("a", "b"):
        site.master(slug, size=(200, 150))
        site.article(slug, keys={"image": "/img/{slug}.png"})


def test_unchanged_articles_are_not_parsed_again(site, counted):
    small_site(site)
    assert cli(site, "build").exit_code == 0
    assert sorted(counted) == ["content/a.md", "content/b.md"]
    counted.clear()
    r = cli(site, "build")
    assert r.exit_code == 0 and "2 up to date" in r.output
    assert counted == []
    r = cli(site, "check")
    assert r.exit_code == 0, r.output
    assert counted == []


def test_an_edited_article_is_read_again(site, counted):
    small_site(site)
    assert cli(site, "build").exit_code == 0
    counted.clear()
    # the same number of bytes, pointing at another file
    site.article("a", keys={"image": "/img/z.png"})
    r = cli(site, "build")
    assert r.exit_code == 0, r.output
    assert counted == ["content/a.md"]
    assert (site.public / "img" / "z.png").is_file()


def test_a_front_matter_error_is_the_same_from_the_cache(site, counted):
    small_site(site)
    (site.root / "content" / "b.md").write_text("---\nimage: [unclosed\n---\n")
    first = cli(site, "build")
    counted.clear()
    second = cli(site, "build")
    assert counted == []
    assert first.exit_code == second.exit_code == 1
    line = [ln for ln in first.output.splitlines() if "b.md" in ln]
    assert line and line == [ln for ln in second.output.splitlines() if "b.md" in ln]


def test_values_json_cannot_carry_are_parsed_every_time(site, counted):
    small_site(site)
    (site.root / "content" / "b.md").write_text('---\nslug: 2024-01-01\nimage: "/img/b.png"\n---\n')
    first = cli(site, "build")
    counted.clear()
    second = cli(site, "build")
    assert counted == ["content/b.md"]  # a YAML date is not cached
    assert "slug: expected a name" in first.output and first.output.count("slug:") == second.output.count("slug:")


def test_just_written_articles_are_not_cached(site, monkeypatch):
    """File times tick coarsely: an article changed within RACY_NS of the build may change again
    with the same signature, so it is parsed again next time."""
    monkeypatch.setattr(fmcache, "RACY_NS", 3600 * 10**9)  # "recently": the last hour, however slow this machine
    calls = []
    real = frontmatter.parse
    monkeypatch.setattr(frontmatter, "parse", lambda raw, name, *a, **k: calls.append(name) or real(raw, name, *a, **k))
    small_site(site)
    assert cli(site, "build").exit_code == 0
    calls.clear()
    assert cli(site, "build").exit_code == 0
    assert sorted(calls) == ["content/a.md", "content/b.md"]


def test_another_config_drops_the_cache(site, counted):
    small_site(site)
    assert cli(site, "build").exit_code == 0
    counted.clear()
    site.config('variants:\n  card: {key: photo, path: "/img/{slug}.png", width: 64, height: 48}\n')
    r = cli(site, "build")
    assert sorted(counted) == ["content/a.md", "content/b.md"]  # `photo` was never recorded
    assert "no `photo` key" in r.output
