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
    assert e.value.message == 'config/renditions.yaml: variants.article.width: expected a positive integer up to 65535, got "wide"'


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
    assert any(p.startswith("colour: expected one of") for p in problems)
    assert 'public: expected a non-empty string, got ""' in problems
    assert "variants.a.width: expected a positive integer up to 65535, got 0" in problems
    assert any(p.startswith('variants.a.fit: expected one of cover, contain, inside, got "stretch"') for p in problems)
    assert any(p.startswith("variants.a.sharpen: expected one of") for p in problems)
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
    cfg_file = tmp_path / "etc" / "r.yaml"
    cfg_file.write_text("public: out/www\nsources: masters\nvariants:\n  a: {key: image, path: '/i/{slug}.png', width: 10, height: 10}\n")
    cfg = load_config(tmp_path / "site", cfg_file)
    assert cfg.public == (tmp_path / "site" / "out" / "www")
    assert cfg.sources == (tmp_path / "site" / "masters")
