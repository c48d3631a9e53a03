"""Every command and option explains itself, and every command is in the README."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from renditions.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def commands():
    return sorted(main.commands.items())


def test_every_command_and_option_has_help():
    assert len(commands()) >= 8
    missing = []
    for name, cmd in commands():
        if not (cmd.help or "").strip():
            missing.append(name)
        for p in cmd.params:
            if isinstance(p, click.Option) and not (p.help or "").strip():
                missing.append(f"{name} {p.opts[0]}")
    assert not missing, f"no help text: {missing}"


def test_every_command_is_in_the_readme():
    text = README.read_text()
    absent = [name for name, _ in commands() if f"renditions {name}" not in text]
    assert not absent, f"commands the README never mentions: {absent}"


def test_help_runs_for_every_command():
    for name, _ in commands():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name
