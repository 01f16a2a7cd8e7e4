"""Secrets on disk are private (issue #14 item 3): the data folder is 0700; the SQLite store, its
-wal and -shm files, the admin-token file and the token file are 0600, whatever the umask, and
files an earlier version left readable are made private at the next start."""

from __future__ import annotations

import contextlib
import os
import stat

import pytest

from app import boot
from app.services.token_pool import TokenPool
from app.settings import Settings
from app.store.sqlite import SqliteStore
from tests.support import make_token


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def start(data_dir) -> None:
    boot._prepared = None  # a new server start, even with the same settings
    boot.prepare(Settings.from_env({"DATA_DIR": str(data_dir), "TOKEN_LIST_FILE": str(data_dir / ".tokens")}))


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_a_first_start_creates_private_files(tmp_path, mask):
    data_dir = tmp_path / "data"
    with umask(mask):
        start(data_dir)
        store = SqliteStore(str(data_dir / "gateway.sqlite3"))  # a worker's connection
        store.put("doc", {"written": True})
        pool = TokenPool(store, str(data_dir / ".tokens"))
        pool.update(f"{make_token('user_private')},")
        assert mode(data_dir) == 0o700
        for name in ("gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm", "admin_token", ".tokens",
                     ".tokens.lock"):  # fmt: skip
            assert mode(data_dir / name) == 0o600, name
        store.close()


def test_files_left_readable_are_made_private_at_start(tmp_path):
    data_dir = tmp_path / "data"
    start(data_dir)
    store = SqliteStore(str(data_dir / "gateway.sqlite3"))
    store.put("doc", 1)  # -wal and -shm exist while a connection is open
    for path in (data_dir, *data_dir.iterdir()):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    start(data_dir)
    assert mode(data_dir) == 0o700
    for name in ("gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm", "admin_token", ".tokens"):
        assert mode(data_dir / name) == 0o600, name
    store.close()


def test_an_admin_token_whose_write_fails_leaves_no_file(tmp_path, monkeypatch):
    """A first start that fails while writing the generated token (disk full) must leave no
    empty token file behind: the next start would refuse it."""
    from app.services import admin_token

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(admin_token.os, "fsync", full_disk)
    with pytest.raises(OSError):
        admin_token.ensure_admin_token(None, str(tmp_path))
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    made = admin_token.ensure_admin_token(None, str(tmp_path))
    assert made.created_now and (tmp_path / "admin_token").read_text().strip() == made.value
    assert os.listdir(tmp_path) == ["admin_token"]
