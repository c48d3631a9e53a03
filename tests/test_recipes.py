"""The README's recipes: the CI workflow, the pre-commit hook, the Makefile target, the Python API."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import renditions
from renditions.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_makefile_snippet_runs_renditions():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    readme = (REPO / "README.md").read_text()
    snippet = re.search(r"```make\n(.*?)```", readme, re.S).group(1)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # `make test` runs us
    out = subprocess.run(
        [make, "--no-print-directory", "-n", "-f", "-", "images", "images-check"],
        input=snippet,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["renditions build", "renditions check"]


def test_python_api_returns_what_json_prints(site):
    site.article("alpha")
    site.master("alpha")
    site.article("lost")
    built = renditions.build(site.root)
    cli = CliRunner().invoke(main, ["build", "--root", str(site.root), "--json"])
    assert json.loads(cli.stdout)["totals"]["up_to_date"] == built.to_json()["totals"]["written"] == 4
    api = renditions.check(site.root).to_json()
    cli = CliRunner().invoke(main, ["check", "--root", str(site.root), "--json"])
    assert cli.exit_code == 1
    assert json.loads(cli.stdout) == json.loads(json.dumps(api))
    assert api["ok"] is False and api["problems"][0]["path"] == "content/lost.md"
