"""Config validation: every problem named with file, key, expected and found, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from renditions.config import load_config, parse_config
from renditions.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_reproduces_the_site():
    cfg = load_config(REPO)
    got = {v.name: (v.key, v.path, v.width, v.height, v.fit, v.position) for v in cfg.variants}
    assert got == {
        "article": ("image", "/img/artical/articles/{slug}.png", 800, 450, "cover", "centre"),
        "mobile-article": ("mobile", "/img/artical/mobile-articles/{slug}.png", 640, 360, "cover", "centre"),
        "single": ("singleImage", "/img/artical/single-articles/{slug}.png", 1600, 900, "cover", "centre"),
        "mobile-single": ("MobileSingleImage", "/img/artical/mobile-single-articles/{slug}.png", 800, 600, "cover", "centre"),
    }
    assert cfg.public == REPO / "public"
    assert cfg.sources == REPO / "source_images"
    assert cfg.manifest == REPO / "renditions.lock.json"


def _parse(data):
    return parse_config(data, Path("/site"), Path("config/renditions.yaml"))


GOOD = {"key": "image", "path": "/img/{slug}.png", "width": 800, "height": 450}


def test_width_wide_names_file_key_expected_and_found():
    with pytest.raises(ConfigError) as e:
        _parse({"variants": {"article": {**GOOD, "width": "wide"}}})
    assert (
        e.value.message == 'config/renditions.yaml: variants.article.width: expected a positive integer up to 65535, got "wide"'
    )


def test_all_problems_reported_together():
    with pytest.raises(ConfigError) as e:
        _parse(
            {
                "colour": 1,
                "public": "",
                "variants": {
                    "a": {**GOOD, "width": 0, "fit": "stretch", "sharpen": True},
                    "b": {"key": "mobile", "path": "/img/x.gif", "height": -1},
                },
            }
        )
    problems = e.value.problems
    assert any(p.startswith("colour: not a setting renditions knows; ") for p in problems)
    assert 'public: expected a non-empty string, got ""' in problems
    assert "variants.a.width: expected a positive integer up to 65535, got 0" in problems
    assert any(p.startswith('variants.a.fit: expected one of cover, contain, inside, got "stretch"') for p in problems)
    assert any(p.startswith("variants.a.sharpen: not a setting renditions knows; ") for p in problems)
    assert "variants.b.width: missing (expected a positive integer)" in problems
    assert "variants.b.height: expected a positive integer up to 65535, got -1" in problems
    assert len(problems) >= 7
    assert all(line.startswith("config/renditions.yaml: ") for line in e.value.message.splitlines())


def test_settings_defaults_and_overrides():
    cfg = _parse(
        {
            "defaults": {"fit": "contain", "background": "#000", "png": {"compression": 9}},
            "variants": {"a": {**GOOD, "position": "top", "png": {"palette": True}}, "b": {**GOOD, "key": "k2", "fit": "cover"}},
        }
    )
    a, b = cfg.variants
    assert (a.fit, a.position, a.background) == ("contain", "north", (0, 0, 0))
    assert a.encoder("png").get("compression") == 9 and a.encoder("png").get("palette") is True
    assert b.fit == "cover" and b.encoder("png").get("palette") is False


@pytest.mark.parametrize(
    "variant, fragment",
    [
        ({**GOOD, "path": "/img/fixed.png"}, 'variants.v.path: expected a template containing "{slug}"'),
        ({**GOOD, "path": "/img/{slug}.bmp"}, "variants.v.path: expected a path ending in .png, .jpg, .jpeg, .webp or .avif"),
        # a template's paths go into the manifest and the articles: each must be a plain site path
        (
            {**GOOD, "path": "img/{slug}.png"},
            'variants.v.path: "img/{slug}.png" is not a site path like /img/{slug}.png: a site path must start with /',
        ),
        (
            {**GOOD, "path": "https://x.com/{slug}.png"},
            'variants.v.path: "https://x.com/{slug}.png" is not a site path like /img/{slug}.png: a URL',
        ),
        (
            {**GOOD, "path": "/img//{slug}.png"},
            'variants.v.path: "/img//{slug}.png" is not a site path like /img/{slug}.png: the path has an empty segment',
        ),
        (
            {**GOOD, "path": "/img/%2e%2e/{slug}.png"},
            "variants.v.path: \"/img/%2e%2e/{slug}.png\" is not a site path like /img/{slug}.png: the path contains a '..'",
        ),
        (
            {**GOOD, "path": "/img/{slug}%2F.png"},
            'variants.v.path: "/img/{slug}%2F.png" is not a site path like /img/{slug}.png: the path contains an encoded /',
        ),
        (
            {**GOOD, "path": "/../../etc/{slug}.png"},
            "variants.v.path: \"/../../etc/{slug}.png\" is not a site path like /img/{slug}.png: the path contains a '..'",
        ),
        (
            {**GOOD, "path": "/img/{slug}.png?v=2"},
            'variants.v.path: "/img/{slug}.png?v=2" is not a site path like /img/{slug}.png: write it plainly',
        ),
        ({**GOOD, "background": "blue-ish"}, 'variants.v.background: expected a colour like "#ffffff"'),
        ({**GOOD, "also": ["gif"]}, "variants.v.also: expected a list of formats"),
        ({**GOOD, "webp": {"quality": 101}}, "variants.v.webp.quality: expected an integer from 1 to 100, got 101"),
        ({**GOOD, "upscale": "yes"}, 'variants.v.upscale: expected true or false, got "yes"'),
    ],
)
def test_bad_values(variant, fragment):
    with pytest.raises(ConfigError) as e:
        _parse({"variants": {"v": variant}})
    assert any(p.startswith(fragment) for p in e.value.problems), e.value.problems


@pytest.mark.parametrize("where", ["../x.json", "/tmp/abs.json", ".git/x.json", "source_images/x.json", "sub/../../x.json"])
def test_the_data_file_stays_inside_the_site_and_out_of_the_masters_and_git(where):
    """Every build writes it: `data: ../x.json` wrote outside the site, `.git/x.json` into git's own folder."""
    with pytest.raises(ConfigError) as e:
        _parse({"data": where, "variants": {"v": GOOD}})
    assert e.value.problems == [
        f'data: expected a path inside the site root, outside the masters\' folder and .git, got "{where}"'
    ]


def test_duplicate_key_and_no_variants():
    with pytest.raises(ConfigError) as e:
        _parse({"variants": {"a": GOOD, "b": GOOD}})
    assert any("variants.b.key" in p and "variants.a" in p for p in e.value.problems)
    with pytest.raises(ConfigError) as e:
        _parse({})
    assert e.value.problems[0].startswith("variants: expected a mapping")


def test_missing_and_unparsable_config_files(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    assert "config/renditions.yaml" in e.value.message and "renditions init" in e.value.message
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "renditions.yaml").write_text("variants: [\n")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    assert "not valid YAML" in e.value.message


def test_relative_paths_resolve_against_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "site").mkdir()  # a root that is not there is refused
    cfg_file = tmp_path / "etc" / "r.yaml"
    cfg_file.write_text(
        "public: out/www\nsources: masters\nvariants:\n  a: {key: image, path: '/i/{slug}.png', width: 10, height: 10}\n"
    )
    cfg = load_config(tmp_path / "site", cfg_file)
    assert cfg.public == (tmp_path / "site" / "out" / "www")
    assert cfg.sources == (tmp_path / "site" / "masters")


# -- every number has a sane range; the YAML is read as strictly as front matter -------------

SHIPPED = (REPO / "config" / "renditions.yaml").read_text()


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "max_front_matter_bytes: 1000000000000",
            "max_front_matter_bytes: expected an integer from 1 to 16777216, got 1000000000000",
        ),
        ("max_pixels: 0", "max_pixels: expected an integer from 1 to 1000000000, got 0"),
        ("max_bytes: -5", "max_bytes: expected an integer from 1 to 4294967296, got -5"),
        ("max_bytes: 1.5e+3", "max_bytes: expected an integer from 1 to 4294967296, got 1500.0"),
        ("max_pixels: true", "max_pixels: expected an integer from 1 to 1000000000, got True"),
    ],
)
def test_top_numbers_out_of_range_are_config_errors(site, line, expected):
    from click.testing import CliRunner

    from renditions.cli import main

    site.config(SHIPPED + "\n" + line + "\n")
    site.article("one")
    for cmd in ("build", "check"):
        r = CliRunner().invoke(main, [cmd, "--root", str(site.root)])
        assert r.exit_code == 2, r.output
        assert r.stderr.strip().splitlines() == [f"error: config/renditions.yaml: {expected}"]
        assert not site.public.exists() and not (site.root / "renditions.lock.json").exists()


def test_numbers_inside_their_range_are_accepted(site):
    site.config(SHIPPED + "\nmax_front_matter_bytes: 16777216\nmax_pixels: 1000000000\nmax_bytes: 1\n")
    cfg = load_config(site.root)
    assert (cfg.max_front_matter_bytes, cfg.max_pixels, cfg.max_bytes) == (16777216, 1000000000, 1)


def test_a_duplicate_key_in_the_config_is_refused(site):
    from click.testing import CliRunner

    from renditions.cli import main

    site.config(SHIPPED + "\nmax_pixels: 5\nmax_pixels: 6\n")
    r = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 2
    n = (SHIPPED + "\nmax_pixels: 5\n").count("\n") + 1  # the second one
    assert r.stderr.strip().splitlines() == [
        f"error: config/renditions.yaml: line {n}: not valid YAML (duplicate key 'max_pixels')"
    ]


def test_deeply_nested_config_is_one_line(site):
    from click.testing import CliRunner

    from renditions.cli import main

    site.config("defaults: " + "[" * 100_000 + "]" * 100_000 + "\n")
    r = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "nested more than 32 levels deep" in lines[0]


def test_anchors_and_merge_keys_still_share_settings(site):
    site.config(
        "variants:\n"
        '  a: &base {key: image, path: "/img/{slug}.png", width: 800, height: 450}\n'
        '  b: {<<: *base, key: mobile, path: "/m/{slug}.png"}\n'
    )
    cfg = load_config(site.root)
    assert [(v.key, v.width, v.height) for v in cfg.variants] == [("image", 800, 450), ("mobile", 800, 450)]


def test_an_unknown_key_names_its_line_and_the_key_meant(site):
    """A typo in the config is one line per key, with its YAML line and a did-you-mean, exit 2."""
    text = (site.root / "config" / "renditions.yaml").read_text()
    text = text.replace("content:", "contnet:", 1).replace("width: 800,  height: 450", "widht: 800, height: 450", 1)
    site.config(text)
    from click.testing import CliRunner

    from renditions.cli import main

    r = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if "not a setting" in ln]
    n_content = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("contnet:"))) + 1
    n_article = text.splitlines().index(next(ln for ln in text.splitlines() if ln.lstrip().startswith("article:"))) + 1
    assert (
        f'error: config/renditions.yaml: line {n_content}: contnet: not a setting renditions knows; did you mean "content"?'
        in lines
    )
    assert (
        f'error: config/renditions.yaml: line {n_article}: variants.article.widht: not a setting renditions knows; did you mean "width"?'
        in lines
    )
    assert "Traceback" not in r.output


def test_run_from_inside_a_site_names_the_site_folder(site, monkeypatch):
    """A designer in content/ (or deeper) is told where the site is, not to create a second one."""
    from click.testing import CliRunner

    from renditions.cli import main

    site.article("alpha")
    deep = site.root / "content" / "posts"
    deep.mkdir()
    for folder, where in ((site.root / "content", ".."), (deep, "../..")):
        monkeypatch.chdir(folder)
        for command in ("check", "build", "status"):
            r = CliRunner().invoke(main, [command])
            assert r.exit_code == 2, r.output
            assert r.output.strip().splitlines() == [
                f"error: config/renditions.yaml: no config file here: this is a folder of the site in {where}/ "
                f"(run renditions there, or pass --root {where})"
            ]
            assert not (folder / "config").exists() and not (folder / "public").exists()
    # --root into a site's folder: the advice is from where the command runs, as --root takes it
    monkeypatch.chdir(site.root)
    r = CliRunner().invoke(main, ["check", "--root", "content/posts"])
    assert r.exit_code == 2 and r.output.strip().endswith(
        "this is a folder of the site in the current folder (run renditions there, or pass --root .)"
    )
    monkeypatch.chdir(site.root.parent)
    r = CliRunner().invoke(main, ["check", "--root", f"{site.root.name}/content"])
    assert r.exit_code == 2 and r.output.strip().endswith(
        f"this is a folder of the site in {site.root.name}/ (run renditions there, or pass --root {site.root.name})"
    )
    r = CliRunner().invoke(main, ["check"])  # outside any site: the old advice
    assert r.exit_code == 2 and "run `renditions init` in" in r.output


def test_a_config_or_root_that_does_not_exist_is_named_so(site, tmp_path, monkeypatch):
    """--config naming a missing file is `no such file`, as given; --root naming a missing folder is
    `no such folder`, not advice to run init in it."""
    from click.testing import CliRunner

    import renditions
    from renditions.cli import main

    monkeypatch.chdir(site.root)
    for command in ("check", "build", "status", "prune"):
        r = CliRunner().invoke(main, [command, "--config", "../nonexist.yaml"])
        assert r.exit_code == 2 and r.output.strip().splitlines() == ["error: ../nonexist.yaml: no such file"], r.output
        r = CliRunner().invoke(main, [command, "--root", str(tmp_path / "nonexistent")])
        assert r.exit_code == 2 and r.output.strip().splitlines() == [f"error: {tmp_path / 'nonexistent'}: no such folder"]
    r = CliRunner().invoke(main, ["check", "--root", "gone", "--config", "config/renditions.yaml"])  # the config is there
    assert r.exit_code == 2 and r.output.strip().splitlines() == ["error: gone: no such folder"], r.output
    with pytest.raises(renditions.ConfigError) as exc:
        renditions.check(site.root / "config" / "renditions.yaml")
    assert exc.value.message == f"{site.root / 'config' / 'renditions.yaml'}: not a folder"


def test_the_data_file_is_refused_among_the_masters_through_a_link(tmp_path):
    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "source_images").mkdir()
    (root / "link").symlink_to(root / "source_images")
    (root / "config" / "renditions.yaml").write_text(
        'data: link/x.json\nvariants:\n  v: {key: image, path: "/img/{slug}.png", width: 8, height: 8}\n'
    )
    with pytest.raises(ConfigError, match="data: expected a path inside the site root, outside the masters' folder"):
        load_config(root)
