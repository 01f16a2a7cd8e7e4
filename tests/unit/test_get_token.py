"""The get-token command against a real SQLite database laid out like Cursor's (SPEC §16)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.support import ROOT


def run(home) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "app.tools.get_token"], env=env, capture_output=True, text=True, timeout=30
    )


def test_prints_the_signed_in_token(tmp_path):
    directory = tmp_path / ".config" / "Cursor" / "User" / "globalStorage"
    directory.mkdir(parents=True)
    with sqlite3.connect(directory / "state.vscdb") as db:
        db.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
        db.execute("INSERT INTO ItemTable VALUES ('cursorAuth/accessToken', ' eyJ.token.sig \n')")
    result = run(tmp_path)
    assert (result.returncode, result.stdout) == (0, "eyJ.token.sig\n")


def test_explains_a_missing_installation(tmp_path):
    result = run(tmp_path)
    assert result.returncode == 1 and "is the Cursor editor installed" in result.stderr and result.stdout == ""


def test_explains_a_signed_out_editor(tmp_path):
    directory = tmp_path / ".config" / "Cursor" / "User" / "globalStorage"
    directory.mkdir(parents=True)
    with sqlite3.connect(directory / "state.vscdb") as db:
        db.execute("CREATE TABLE ItemTable (key TEXT, value BLOB)")
    result = run(tmp_path)
    assert result.returncode == 1 and "not signed in" in result.stderr
