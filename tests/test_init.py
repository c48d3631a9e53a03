"""`renditions init`: a commented config that loads, the folders, and never an overwrite."""
from __future__ import annotations

from click.testing import CliRunner

from renditions.cli import main
from renditions.config import load_config


def test_init_then_build(tmp_path, monkeypatch):
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 0, result.output
    text = (root / "config" / "renditions.yaml").read_text()
    assert text.count("\n#") >= 5  # commented
    cfg = load_config(root)
    assert [(v.key, v.width, v.height) for v in cfg.variants] == [
        ("image", 800, 450), ("mobile", 640, 360), ("singleImage", 1600, 900), ("MobileSingleImage", 800, 600)
    ]
    assert (root / "content").is_dir() and (root / "source_images").is_dir()
    check = CliRunner().invoke(main, ["check", "--root", str(root)])
    # a check that checks nothing fails (issue 13): the new site has no article yet
    assert check.exit_code == 1 and "content/**/*.md: `content` in config/renditions.yaml matches no article: fix the glob" in check.output


def test_init_refuses_to_overwrite(tmp_path):
    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "config" / "renditions.yaml").write_text("mine: true\n")
    result = CliRunner().invoke(main, ["init", "--root", str(root)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "never overwrites" in result.output
    assert (root / "config" / "renditions.yaml").read_text() == "mine: true\n"
    assert not (root / "content").exists()
