"""Byte budgets: build warns naming the file, its size and what would help; check --strict fails."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from PIL import Image

from renditions.cli import main
from renditions.config import parse_budget

CONFIG = """
variants:
  hero: {key: image, path: "/img/{slug}.png", width: 800, height: 600, budget: BUDGET}
"""


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def noise(size):
    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))  # incompressible: a heavy PNG


@pytest.mark.parametrize(
    "text, expected", [("300KB", 300_000), ("1.5MB", 1_500_000), ("250000", 250_000), ("120 kb", 120_000), ("900B", 900)]
)
def test_budget_units_are_decimal(text, expected):
    assert parse_budget(text) == expected


def test_over_budget_warns_on_build_and_fails_check_strict(site):
    site.config(CONFIG.replace("BUDGET", "300KB"))
    site.article("heavy", keys={"image": "/img/{slug}.png"})
    site.master("heavy", image=noise((800, 600)))
    r = run(site, "build")
    assert r.exit_code == 0, r.output  # a warning, not a failure: the file is written
    size = (site.public / "img" / "heavy.png").stat().st_size
    assert size > 1_000_000
    line = f"warning: /img/heavy.png: {size / 1e6:.2f} MB, over the 300 KB budget of variant hero: "
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith(line)]
    assert len(warnings) == 1, r.stderr
    assert "also: [webp]" in warnings[0] and "png: {palette: true}" in warnings[0] and "a smaller width and height" in warnings[0]
    r = run(site, "build")  # still said on a no-op build
    assert line in r.stderr
    r = run(site, "check")
    assert r.exit_code == 0 and "warning: /img/heavy.png: " in r.stdout
    r = run(site, "check", "--strict")
    assert r.exit_code == 1
    assert f"/img/heavy.png: {size / 1e6:.2f} MB, over the 300 KB budget" in r.stdout


def test_within_budget_says_nothing_and_a_bad_budget_is_a_config_error(site):
    site.config(CONFIG.replace("BUDGET", "1.5MB"))
    site.article("light", keys={"image": "/img/{slug}.png"})
    site.master("light", (800, 600))
    r = run(site, "build")
    assert r.exit_code == 0 and "budget" not in r.stderr
    assert run(site, "check", "--strict").exit_code == 0
    site.config(CONFIG.replace("BUDGET", "lots"))
    r = run(site, "build")
    assert r.exit_code == 2
    assert 'variants.hero.budget: expected a size like "300KB", "1.5MB" or a number of bytes, got "lots"' in r.stderr


def test_a_wider_extra_file_gets_the_budget_times_its_extra_pixels():
    from renditions.budgets import budget_for
    from renditions.config import Variant

    v = Variant("card", "image", "/img/{slug}.png", 640, 360, budget=100_000)
    assert budget_for(v, 640) == 100_000
    assert budget_for(v, 320) == 100_000  # a narrower file keeps the whole budget
    assert budget_for(v, 1280) == 400_000  # 2×: four times the pixels
    assert budget_for(v, 960) == 225_000
