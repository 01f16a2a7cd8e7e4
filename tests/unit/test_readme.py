"""The README's two commands are the ones a newcomer copies: keep them true."""

from __future__ import annotations

from tests.support import ROOT
from tests.support import readme_shell_blocks as shell_blocks


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(block for block in shell_blocks() if "pytest" in block)
    ci_lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == test_command


def test_readme_start_command_uses_the_procfile_server():
    start_command = shell_blocks()[0]
    procfile = (ROOT / "Procfile").read_text().strip()
    assert start_command.endswith(procfile.removeprefix("web: "))
    assert "pip install -r requirements.txt" in start_command


def test_contributing_copies_both_readme_commands_as_they_are():
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    for command in shell_blocks()[:2]:
        assert command in contributing, command
