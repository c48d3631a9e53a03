"""Errors become exit codes in one place, the CLI: one `error: path: reason` line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import VARIANT_KEYS


def cli(site, *args):
    return subprocess.run(
        [sys.executable, "-m", "renditions", *args, "--root", str(site.root)], capture_output=True, text=True, timeout=120
    )


def test_lock_path_is_a_folder(site):
    site.article("a")
    site.master("a")
    (site.root / ".renditions.lock").mkdir()
    r = cli(site, "build")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and ".renditions.lock" in lines[0], r.stderr
    assert not site.public.exists()  # nothing was done


def test_manifest_path_is_a_folder(site):
    site.article("a")
    site.master("a")
    (site.root / "renditions.lock.json").mkdir()
    for command in ("build", "check"):
        r = cli(site, command)
        assert r.returncode == 2, (command, r.stderr)
        assert "Traceback" not in r.stderr
        assert "renditions.lock.json" in r.stderr


def test_web_root_is_a_file_fails_the_articles_not_the_run(site):
    """An output folder that can't be made costs the articles, each named once (exit 1)."""
    site.article("a")
    site.master("a")
    site.public.write_text("not a folder")
    r = cli(site, "build")
    assert r.returncode in (1, 2)
    assert "Traceback" not in r.stderr
    assert "public" in r.stderr
    assert site.public.read_text() == "not a folder"


def test_watch_prints_problems_like_build(site, tmp_path):
    """`watch` reports a front-matter problem with its line, in the same words as `build`."""
    from renditions.watch import run_build

    site.article("a", extra='image: "no-slash.png"')
    site.master("a")
    lines: list[str] = []
    run_build(site.root, None, None, None, 1, lambda msg, err=False: lines.append(msg))
    b = cli(site, "build")
    built = [line for line in b.stderr.splitlines() if line.startswith("error: ")]
    watched = [line for line in lines if line.startswith("error: ")]
    assert built and built == watched
    assert any(re.match(r"error: content/a\.md:\d+: ", line) for line in built), built


def test_check_prints_warnings_as_lines(site):
    """A warning (an orphan file) is one `warning: path: reason` line and leaves exit 0."""
    site.article("a")
    site.master("a")
    assert cli(site, "build").returncode == 0
    stray = site.out("image", "a").with_name("stray.png")
    stray.write_bytes(site.out("image", "a").read_bytes())
    r = cli(site, "check")
    assert r.returncode == 0, r.stderr
    assert "warning: /img/artical/articles/stray.png: orphan" in r.stdout
    assert "Traceback" not in r.stderr


def test_a_json_report_stdout_cannot_take_is_one_error_line(site):
    """stdout on a full disk: the report can't be written, nor the error document after it. One
    `error:` line on stderr and exit 2, no traceback (the error document's own failure is quiet)."""
    import os

    if not os.path.exists("/dev/full"):
        import pytest

        pytest.skip("no /dev/full")
    site.article("a")
    site.master("a")
    assert cli(site, "build").returncode == 0
    for command in (["check", "--json"], ["status"]):  # the error names stdout, not the tool
        with open("/dev/full", "w") as full:
            r = subprocess.run(
                [sys.executable, "-m", "renditions", *command, "--root", str(site.root)],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
            )
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.strip().splitlines() == ["error: stdout: cannot write the output: No space left on device"]


def test_the_quick_exit_keeps_the_report_and_the_exit_code(site):
    """The process ends without Python's teardown (__main__._exit), after flushing: the whole
    report arrives, and the exit code is the command's (0, 1 for an article's problem)."""
    import json

    for slug in "abc":
        site.article(slug)
        site.master(slug)
    build = cli(site, "build", "--json")
    assert build.returncode == 0, build.stderr
    assert json.loads(build.stdout)["totals"]["written"] == 12
    check = cli(site, "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["totals"]["up_to_date"] == 12
    (site.root / "content" / "a.md").write_text("---\ntitle: [unclosed\n---\n")
    broken = cli(site, "check", "--json")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr, broken.stderr
    assert json.loads(broken.stdout)["ok"] is False


def test_a_path_template_that_is_no_site_path_stops_before_anything_is_written(site):
    """A typo in a variant's `path:` (the leading / forgotten) used to write public/mg/a.png and
    record a manifest key every later command refused (exit 2 until the manifest was deleted)."""
    site.article("a", keys={k: v for k, v in VARIANT_KEYS.items() if k != "mobile"})
    site.master("a")
    cfg = site.root / "config" / "renditions.yaml"
    good = cfg.read_text()
    cfg.write_text(good.replace('"/img/artical/mobile-articles/{slug}.png"', '"img/{slug}.png"'))
    r = cli(site, "build")
    assert r.returncode == 2, r.stderr
    assert 'variants.mobile-article.path: "img/{slug}.png" is not a site path like /img/{slug}.png' in r.stderr
    assert not site.public.exists() and not (site.root / "renditions.lock.json").exists()
    cfg.write_text(good)  # the config fixed: the site builds
    r = cli(site, "build")
    assert r.returncode == 0, r.stderr
    assert (site.public / "img/artical/mobile-articles/a.png").is_file()


def test_a_slug_too_long_for_a_template_costs_its_own_article(site):
    long = "a" * 248  # its own files' names fit; the template's longer name made of it would not
    cfg = site.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace('"/img/artical/mobile-articles/{slug}.png"', '"/img/m/{slug}-mobile.png"'))
    for slug in (long, "b"):
        site.article(slug, keys={k: v for k, v in VARIANT_KEYS.items() if k != "mobile"})
        site.master(slug)
    r = cli(site, "build")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"mobile (from the config's template): /img/m/{long}-mobile.png: the path is too long" in r.stderr
    assert (site.public / "img/m/b-mobile.png").is_file()
