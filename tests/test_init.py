"""`renditions init`: a commented config that loads, the folders, and never an overwrite."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import SIZES, VARIANT_KEYS, gradient
from PIL import Image

from renditions.cli import main
from renditions.config import load_config
from renditions.discover import path_slug


def test_init_then_build(tmp_path, monkeypatch):
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    text = (root / "config" / "renditions.yaml").read_text()
    assert text.count("\n#") >= 5  # commented
    cfg = load_config(root)
    assert [(v.key, v.width, v.height) for v in cfg.variants] == [
        ("image", 800, 450),
        ("mobile", 640, 360),
        ("singleImage", 1600, 900),
        ("MobileSingleImage", 800, 600),
    ]
    assert (root / "content").is_dir() and (root / "source_images").is_dir()
    check = CliRunner().invoke(main, ["check", "--root", str(root)])
    # a check that checks nothing fails (issue 13): the new site has no article yet, and says so
    # (the glob is right: "fix the glob" sent a new user after a typo there is not)
    yet = "content/ holds no article yet: add one, and its master in source_images/"
    assert check.exit_code == 1 and f"content/**/*.md: {yet}" in check.output, check.output
    # the Quick start's next step: a build of nothing is no error, and writes nothing
    build = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert build.exit_code == 0 and f"note: {yet}" in build.output and "nothing to do" not in build.output, build.output
    assert sorted(p.name for p in root.iterdir()) == [".gitignore", "config", "content", "source_images"]
    prune = CliRunner().invoke(main, ["prune", "--root", str(root)])
    assert prune.exit_code == 2 and "content/ holds no article yet: prune deletes nothing" in prune.output
    # a content folder holding files the glob passes over is a glob to fix, as a misspelt folder is
    (root / "content" / "post.markdown").write_text("---\ntitle: x\n---\n")
    for args in (["build"], ["check"]):
        result = CliRunner().invoke(main, [*args, "--root", str(root)])
        assert result.exit_code == (2 if args == ["build"] else 1)
        assert "`content` in config/renditions.yaml matches no article: fix the glob" in result.output


def test_init_refuses_to_overwrite(tmp_path):
    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "config" / "renditions.yaml").write_text("mine: true\n")
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "never overwrites" in result.output
    assert (root / "config" / "renditions.yaml").read_text() == "mine: true\n"
    assert not (root / "content").exists()


def test_init_inside_a_site_names_the_site_and_creates_nothing(tmp_path, monkeypatch):
    """Run from a site's content/ folder, init would start a second site inside the first one
    (a config, content/ and source_images/ in content/): it says where the site is instead, as
    every other command does. Naming the folder with --root starts one there anyway."""
    root = tmp_path / "site"
    assert CliRunner().invoke(main, ["init", "--root", str(root)]).exit_code == 0
    inner = root / "content" / "posts"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 2, result.output
    assert "this is a folder of the site in ../../" in result.output and "--root ." in result.output
    assert sorted(p.name for p in inner.iterdir()) == []
    forced = CliRunner().invoke(main, ["init", "--root", "."])
    assert forced.exit_code == 0, forced.output
    assert (inner / "config" / "renditions.yaml").is_file()


HUGO_TOML = 'baseURL = "/"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n'


def test_init_in_a_hugo_site_writes_static_and_its_languages(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "hugo.toml").write_text(HUGO_TOML)
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "a Hugo site" in result.output
    cfg = load_config(root)
    assert cfg.public == root / "static"  # Hugo's public/ is its output, wiped by --cleanDestinationDir
    assert cfg.content == ("content/**/*.md", "content/**/*.markdown") and cfg.languages == ("en", "fr")
    assert (root / ".gitignore").read_text() == ".renditions.lock\n.renditions.journal\n.renditions/\n"


def test_init_reads_a_hugo_config_folder_and_its_own_folders(tmp_path):
    """A Hugo site configured in config/_default/ was taken for no generator (web root public/,
    Hugo's output, which --cleanDestinationDir wipes; no languages), and hugo.toml's staticDir
    and contentDir were ignored, so build found no article (a user's trial on a real Hugo site)."""
    split = tmp_path / "split"
    (split / "config" / "_default").mkdir(parents=True)
    (split / "config" / "_default" / "hugo.toml").write_text("baseURL = 'https://example.org/'\ntitle = 'Split'\n")
    (split / "config" / "_default" / "languages.toml").write_text("[en]\nweight = 1\n[fr]\nweight = 2\n")
    result = CliRunner().invoke(main, ["init", "--root", str(split)])
    assert result.exit_code == 0 and "a Hugo site" in result.output, result.output
    cfg = load_config(split)
    assert cfg.public == split / "static" and cfg.languages == ("en", "fr")
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "hugo.toml").write_text("title = 'Moved'\nstaticDir = 'assets-static'\ncontentDir = 'src/content'\n")
    result = CliRunner().invoke(main, ["init", "--root", str(moved)])
    assert result.exit_code == 0, result.output
    assert "Hugo copies assets-static/ into its public/" in result.output and "put articles in src/content/" in result.output
    cfg = load_config(moved)
    assert cfg.public == moved / "assets-static"
    assert cfg.content == ("src/content/**/*.md", "src/content/**/*.markdown")


@pytest.mark.parametrize(
    "marker, public, words",
    [
        ("_config.yml", ".", "exclude: [source_images, config, renditions.lock.json]"),
        ("eleventy.config.js", "public", 'addPassthroughCopy({ "public": "/" })'),
        (".eleventy.js", "public", "addPassthroughCopy"),
        ("hugo.yaml", "static", "static/"),
        ("config.toml", "static", "static/"),
    ],
)
def test_init_knows_the_generator(tmp_path, marker, public, words):
    root = tmp_path / "site"
    root.mkdir()
    (root / marker).write_text("")
    (root / ".gitignore").write_text("_site\n/.renditions.lock\n.renditions.journal\n/.renditions/")  # already ignored
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert words in result.output
    cfg = load_config(root)
    assert cfg.public == (root / public if public != "." else root)
    assert cfg.languages == ()
    assert (root / ".gitignore").read_text() == "_site\n/.renditions.lock\n.renditions.journal\n/.renditions/"  # no duplicate


def test_gitignore_gains_the_lock_line_once(tmp_path):
    """The lock, the journal of a build in progress and the preview's folder: this machine's alone."""
    root = tmp_path / "site"
    root.mkdir()
    (root / ".gitignore").write_bytes(b"node_modules\n.renditions.lock")
    assert CliRunner().invoke(main, ["init", "--root", str(root)]).exit_code == 0
    assert (root / ".gitignore").read_bytes() == b"node_modules\n.renditions.lock\n.renditions.journal\n.renditions/\n"


def test_init_says_what_it_added_to_an_existing_gitignore(tmp_path):
    """An existing .gitignore is appended to, not created: init names the lines it added."""
    root = tmp_path / "site"
    root.mkdir()
    (root / ".gitignore").write_text("node_modules\n.renditions.lock\n")
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"added .renditions.journal and .renditions/ to {root / '.gitignore'}" in lines
    assert not any(line.startswith("created") and line.endswith(".gitignore") for line in lines)
    fresh = tmp_path / "fresh"
    result = CliRunner().invoke(main, ["init", "--root", str(fresh)])
    assert f"created {fresh / '.gitignore'}" in result.stdout.splitlines()


@pytest.mark.parametrize(
    "marker, name, data",
    [
        ("hugo.toml", "a Hugo site", "data/renditions.json"),
        ("_config.yml", "a Jekyll site", "_data/renditions.json"),
        ("eleventy.config.js", "an Eleventy site", "_data/renditions.json"),
    ],
)
def test_init_suggests_the_data_folder_the_generator_reads(tmp_path, marker, name, data):
    """Eleventy and Jekyll read template data from _data/: the suggested data/ was never seen
    by their templates (the shipped Eleventy snippet reads _data/renditions.json)."""
    root = tmp_path / "site"
    root.mkdir()
    (root / marker).write_text("")
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0 and result.stdout.startswith(f"{name}: the config fits its layout"), result.output
    text = (root / "config" / "renditions.yaml").read_text()
    assert f"# data: {data}    # a data file for templates" in text
    (root / "config" / "renditions.yaml").write_text(text.replace(f"# data: {data}", f"data: {data}"))
    assert load_config(root).data == root / data


@pytest.mark.parametrize(
    "marker, where",
    [
        (None, "in content/"),
        ("hugo.toml", "in content/"),
        ("_config.yml", "in _posts/ (any .md or .markdown file of the site is read: content is **/*.md, **/*.markdown)"),
        ("eleventy.config.js", "in any folder of the site, as .md files (content is **/*.md)"),
    ],
)
def test_init_next_line_names_where_articles_go(tmp_path, marker, where):
    """A Jekyll or Eleventy site gets no content/ (its glob is **/*.md): `next:` says where articles go."""
    root = tmp_path / "site"
    root.mkdir()
    if marker:
        (root / marker).write_text("")
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"next: put articles {where}, one master per article in source_images/, then run renditions build"
    )
    assert (root / "content").is_dir() == (where == "in content/")


@pytest.mark.parametrize(
    "marker, post, public",
    [
        ("_config.yml", "_posts/2025-01-03-welcome-to-jekyll.markdown", "."),  # as `jekyll new` names it
        ("hugo.toml", "content/posts/welcome-to-jekyll.markdown", "static"),
        ("_config.yml", "_posts/2025-01-04-welcome-to-jekyll.md", "."),
    ],
)
def test_inits_config_reads_the_markdown_files_the_generator_reads(tmp_path, monkeypatch, marker, post, public):
    """Jekyll and Hugo read `.markdown` as they read `.md`: so does the config init writes for them,
    or the page would show no image while build and check said nothing was wrong."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    root.mkdir()
    (root / marker).write_text("")
    assert CliRunner().invoke(main, ["init", "--root", str(root)]).exit_code == 0
    keys = "".join(f'{k}: "{p.format(slug="welcome-to-jekyll")}"\n' for k, p in VARIANT_KEYS.items())
    (root / post).parent.mkdir(parents=True, exist_ok=True)
    (root / post).write_text(f"---\nlayout: post\ntitle: Welcome\n{keys}---\nHello.\n")
    gradient((2000, 1500)).save(root / "source_images" / "welcome-to-jekyll.jpg")
    built = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert built.exit_code == 0, built.output
    for key, path in VARIANT_KEYS.items():
        with Image.open(root / public / path.format(slug="welcome-to-jekyll").lstrip("/")) as im:
            assert im.size == SIZES[key]
    checked = CliRunner().invoke(main, ["check", "--root", str(root)])
    assert checked.exit_code == 0, checked.output


def test_a_markdown_file_no_glob_reads_is_named_when_a_master_waits_for_it(tmp_path, monkeypatch):
    """A config that reads `.md` only (an older init's, or hand-written) and a `.markdown` post
    with its master in source_images/: build warns, check fails (the page shows no image), status
    lists it; each names the file, the master and the glob to add. A README.markdown, with no
    master of its own, is left alone; once the glob is added the post builds and check passes."""
    import json

    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    root.mkdir()
    (root / "_config.yml").write_text("")
    assert CliRunner().invoke(main, ["init", "--root", str(root)]).exit_code == 0
    cfg_file = root / "config" / "renditions.yaml"
    cfg_file.write_text(cfg_file.read_text().replace('["**/*.md", "**/*.markdown"]', '"**/*.md"'))
    keys = "".join(f'{k}: "{p.format(slug="{slug}")}"\n' for k, p in VARIANT_KEYS.items())
    (root / "_posts").mkdir()
    for name, slug in (("2025-01-02-hello.md", "hello"), ("2025-01-03-welcome.markdown", "welcome")):
        (root / "_posts" / name).write_text(f"---\ntitle: t\n{keys.format(slug=slug)}---\n")
        gradient((2000, 1500)).save(root / "source_images" / f"{slug}.jpg")
    (root / "README.markdown").write_text("# notes\n")
    # not named: drafts (by folder or front matter), and a .mdown file (Jekyll does not read it)
    (root / "_drafts").mkdir()
    for rel, extra in (
        ("_drafts/soon.markdown", ""),
        ("_posts/2025-02-01-later.markdown", "draft: true\n"),
        ("_posts/x.mdown", ""),
    ):
        slug = path_slug(rel)
        (root / rel).write_text(f"---\n{extra}{keys.format(slug=slug)}---\n")
        gradient((2000, 1500)).save(root / "source_images" / f"{slug}.jpg")
    # named by its front matter's slug
    (root / "_posts" / "2025-02-02-other-name.markdown").write_text(f"---\nslug: custom\n{keys.format(slug='custom')}---\n")
    gradient((2000, 1500)).save(root / "source_images" / "custom.jpg")
    custom = (
        "_posts/2025-02-02-other-name.markdown: not read as an article: no `content` glob matches it, though "
        'source_images/custom.jpg is named for it (its page shows no image): add "**/*.markdown" to `content` '
        "in config/renditions.yaml"
    )
    line = (
        "_posts/2025-01-03-welcome.markdown: not read as an article: no `content` glob matches it, though "
        'source_images/welcome.jpg is named for it (its page shows no image): add "**/*.markdown" to `content` '
        "in config/renditions.yaml"
    )
    built = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert built.exit_code == 0, built.output
    warned = [ln for ln in built.output.splitlines() if "not read as an article" in ln]
    assert warned == [f"warning: {line}", f"warning: {custom}"] and "README" not in built.output
    assert (root / "img/artical/articles/hello.png").is_file() and not (root / "img/artical/articles/welcome.png").exists()
    checked = CliRunner().invoke(main, ["check", "--root", str(root)])
    assert checked.exit_code == 1 and {line, custom} <= set(checked.output.splitlines()), checked.output
    status = CliRunner().invoke(main, ["status", "--root", str(root), "--json"])
    doc = json.loads(status.stdout)
    assert doc["unread_articles"] == [
        {"file": "_posts/2025-01-03-welcome.markdown", "master": "source_images/welcome.jpg", "reason": line.split(": ", 1)[1]},
        {
            "file": "_posts/2025-02-02-other-name.markdown",
            "master": "source_images/custom.jpg",
            "reason": custom.split(": ", 1)[1],
        },
    ]
    assert "source_images/welcome.jpg" not in doc["unused_masters"]  # named above, as the unread post's
    cfg_file.write_text(cfg_file.read_text().replace('content: "**/*.md"', 'content: ["**/*.md", "**/*.markdown"]'))
    built = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert built.exit_code == 0 and "not read as an article" not in built.output, built.output
    with Image.open(root / "img/artical/articles/welcome.png") as im:
        assert im.size == SIZES["image"]
    assert CliRunner().invoke(main, ["check", "--root", str(root)]).exit_code == 0


def test_prune_keeps_the_outputs_of_an_article_no_glob_reads_any_more(tmp_path, monkeypatch):
    """A `.markdown` post built under both globs, then a config that reads `.md` only: its outputs
    are orphans, but its file is still there and names them: check says prune keeps them, and
    prune deletes none of them (only the outputs of an article that is really gone)."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    root.mkdir()
    (root / "_config.yml").write_text("")
    assert CliRunner().invoke(main, ["init", "--root", str(root)]).exit_code == 0
    keys = "".join(f'{k}: "{p}"\n' for k, p in VARIANT_KEYS.items())
    (root / "_posts").mkdir()
    for name, slug in (
        ("2025-01-02-hello.md", "hello"),
        ("2025-01-03-welcome.markdown", "welcome"),
        ("2025-01-04-bye.md", "bye"),
    ):
        (root / "_posts" / name).write_text(f"---\ntitle: t\n{keys.format(slug=slug)}---\n")
        gradient((1700, 1000)).save(root / "source_images" / f"{slug}.jpg")
    assert CliRunner().invoke(main, ["build", "--root", str(root)]).exit_code == 0
    cfg_file = root / "config" / "renditions.yaml"
    cfg_file.write_text(cfg_file.read_text().replace('["**/*.md", "**/*.markdown"]', '"**/*.md"'))
    (root / "_posts" / "2025-01-04-bye.md").unlink()  # really gone: its outputs go
    checked = CliRunner().invoke(main, ["check", "--root", str(root)])
    kept = (
        "warning: /img/artical/articles/welcome.png: orphan: no article references it (renditions wrote it for "
        "_posts/2025-01-03-welcome.markdown, which no `content` glob reads: `renditions prune` keeps it)"
    )
    assert kept in checked.output.splitlines(), checked.output
    pruned = CliRunner().invoke(main, ["prune", "--root", str(root), "--yes"])
    assert pruned.exit_code == 0, pruned.output
    for key, path in VARIANT_KEYS.items():
        assert (root / path.format(slug="welcome").lstrip("/")).is_file(), key
        assert not (root / path.format(slug="bye").lstrip("/")).exists(), key
