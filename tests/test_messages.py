"""Messages read well: plurals, and a `status` table that fits in 100 columns unless --wide."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from renditions.cli import main

LONG = "5-breakthroughs-transforming-pediatric-leukemia-treatment-in-2025"


def cli(*args: str) -> subprocess.CompletedProcess:
    """In a child process, as test_status.py does (libvips threads and forked workers)."""
    return subprocess.run([sys.executable, "-m", "renditions", *args], capture_output=True, text=True)


def test_one_of_a_thing_is_singular(site):
    site.article("alpha")
    site.master("alpha")
    site.article("gamma")  # stays: prune refuses on a site with no article left (issue 13)
    site.master("gamma")
    r = CliRunner().invoke(main, ["build", "--root", str(site.root)])
    assert r.exit_code == 0
    site.out("image", "alpha").unlink()
    r = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 1 and "1 problem, 7 outputs up to date" in r.stderr
    (site.root / "content" / "alpha.md").unlink()
    r = CliRunner().invoke(main, ["prune", "--root", str(site.root)])
    assert r.stdout.splitlines()[-1] == "3 orphaned outputs deleted"
    (site.root / "content" / "gamma.md").unlink()  # its outputs stay (orphans: warnings); one article is left
    site.article("beta", keys={"image": "/img/artical/articles/{slug}.png"})
    site.master("beta")
    site.config(
        (site.root / "config" / "renditions.yaml").read_text().split("variants:")[0]
        + 'variants:\n  article: {key: image, path: "/img/artical/articles/{slug}.png", width: 80, height: 45}\n'
    )
    assert CliRunner().invoke(main, ["build", "--root", str(site.root)]).exit_code == 0
    r = CliRunner().invoke(main, ["check", "--root", str(site.root)])
    assert r.exit_code == 0 and r.stderr.strip() == "the 1 output is up to date"
    r = cli("preview", "--root", str(site.root))
    assert r.returncode == 0 and r.stdout.rstrip().endswith(": 1 article, 0 problems shown")


def test_status_fits_in_100_columns_and_wide_shows_everything(site):
    for slug in (LONG, "short"):
        site.article(slug)
        site.master(slug)
    assert CliRunner().invoke(main, ["build", "--root", str(site.root), "--only", "short"]).exit_code == 0
    wide = cli("status", "--root", str(site.root), "--wide")
    assert wide.returncode == 0
    assert max(map(len, wide.stdout.splitlines())) > 100  # the full table really is wider
    assert f"{LONG}  {LONG}.png 1920×1080" in wide.stdout
    r = cli("status", "--root", str(site.root))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].split() == ["slug", "master", "article", "mobile-article", "single", "mobile-single"]
    long_row = next(ln for ln in lines if ln.startswith("5-breakthrough"))
    assert "…" in long_row.split()[0] and long_row.split()[0].endswith("in-2025")
    assert long_row.split()[1:] == ["png", "1920×1080", "missing", "missing", "missing", "missing"]
    assert next(ln for ln in lines if ln.startswith("short ")).count("up to date") == 4
    assert "status --wide" in r.stderr


def test_many_variants_fold_into_counts(site):
    variants = "".join(
        f'  v{i}-with-a-long-name: {{key: k{i}, path: "/img/v{i}/{{slug}}.png", width: 64, height: 36}}\n' for i in range(8)
    )
    site.config("variants:\n" + variants)
    site.article("alpha", keys={f"k{i}": f"/img/v{i}/{{slug}}.png" for i in range(8)})
    site.master("alpha")
    assert CliRunner().invoke(main, ["build", "--root", str(site.root)]).exit_code == 0
    site.public.joinpath("img", "v3", "alpha.png").unlink()
    r = cli("status", "--root", str(site.root))
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].split() == ["slug", "master", "variants"]
    assert lines[2].split(None, 3)[3] == "7 up to date, 1 missing"
