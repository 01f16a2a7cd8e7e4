""".ci/run proves the production install before anything else, and runs the gates before the tests."""

from __future__ import annotations

import importlib.util

from tests.support import ROOT, readme_shell_blocks


def ci_lines() -> list[str]:
    return [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]


def test_the_production_start_runs_before_any_dev_requirement_is_installed():
    lines = ci_lines()
    production = lines.index("python3 .ci/production_start.py")
    assert all("requirements-dev.txt" not in line for line in lines[:production])


def test_the_gates_run_after_the_dev_install_and_before_the_tests():
    lines = ci_lines()
    gates = [lines.index(gate) for gate in ("ruff check .", "ruff format --check .", "mypy")]
    dev_install = next(at for at, line in enumerate(lines) if "pip install -r requirements-dev.txt" in line)
    assert dev_install < min(gates) and max(gates) < len(lines) - 1
    assert "python -m pytest" in lines[-1]


def test_the_production_start_runs_the_readme_start_command():
    spec = importlib.util.spec_from_file_location("production_start", ROOT / ".ci" / "production_start.py")
    assert spec is not None and spec.loader is not None
    production_start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(production_start)
    assert production_start.readme_start_command(ROOT) == readme_shell_blocks()[0]
