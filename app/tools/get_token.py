"""Print the session token of the Cursor editor installed on this machine (SPEC §16).

    python -m app.tools.get_token

The token is read from the editor's own database, `state.vscdb`, and can be added to the
gateway with the tokens page or `POST /tokens/add`. Only reads; changes nothing.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

KEY = "cursorAuth/accessToken"
LOCATIONS = {
    "win32": ("AppData", "Roaming", "Cursor", "User", "globalStorage", "state.vscdb"),
    "darwin": ("Library", "Application Support", "Cursor", "User", "globalStorage", "state.vscdb"),
}
LINUX = (".config", "Cursor", "User", "globalStorage", "state.vscdb")


def database_path(platform: str = sys.platform) -> Path:
    home = os.environ.get("HOME") or os.environ.get("USERPROFILE")
    if not home:
        raise LookupError("neither HOME nor USERPROFILE is set, so the Cursor profile cannot be found")
    return Path(home).joinpath(*LOCATIONS.get(platform, LINUX))


def read_token(path: Path) -> str:
    if not path.is_file():
        raise LookupError(f"no Cursor database at {path}: is the Cursor editor installed and signed in?")
    # Read-only URI: never lock or modify the editor's database.
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        row = db.execute("SELECT value FROM ItemTable WHERE key = ?", (KEY,)).fetchone()
    if row is None or not str(row[0]).strip():
        raise LookupError("Cursor is installed but not signed in (no access token in its database)")
    return str(row[0]).strip()


def main() -> int:
    try:
        print(read_token(database_path()))
    except (LookupError, sqlite3.Error) as error:
        print(f"get-token: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
