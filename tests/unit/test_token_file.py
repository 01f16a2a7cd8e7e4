"""The .tokens file: normalisation (SPEC §7.2, row 65–66), order (D9), atomic writes."""

from __future__ import annotations

import os

from app.cursor.checksum import build_checksum, is_valid_checksum, tsheader
from app.services.token_file import format_token_lines, parse_token_text, read_and_normalise, write_atomically
from tests.support import file_lock_held_elsewhere, make_token

T1, T2 = make_token("user_one"), make_token("user_two")
C137 = build_checksum("a" * 64, "b" * 64, now=0)


def test_normalisation_row_65(tmp_path):
    path = tmp_path / ".tokens"
    path.write_bytes(f"# comment\r\n{T2}\r\nuser%3A%3A{T1},{C137}\r\n{T1},bad\r\n".encode())
    [line] = read_and_normalise(str(path))
    assert line.token == T1 and len(line.checksum) == 137 and is_valid_checksum(line.checksum)
    text = path.read_text()
    assert "\r" not in text and text == f"{T1},{line.checksum}"


def test_checksum_repair_on_load_row_66():
    [kept] = parse_token_text(f"{T1},{C137[:72]}")
    assert kept.checksum.startswith(tsheader()) and kept.checksum[8:72] == "a" * 64 and len(kept.checksum) == 137


def test_first_occurrence_order_and_later_checksum():
    lines = parse_token_text(f"{T2},{C137}\n{T1},{C137}\n{T2},{build_checksum('c' * 64, 'd' * 64)}")
    assert [line.token for line in lines] == [T2, T1]
    assert lines[0].checksum[8:72] == "c" * 64


def test_missing_file_is_created_empty(tmp_path):
    path = tmp_path / ".tokens"
    assert read_and_normalise(str(path)) == [] and path.read_text() == ""


def test_unreadable_file_is_left_untouched(tmp_path):
    path = tmp_path / ".tokens"
    path.write_bytes(b"\xff\xfe not utf-8")
    assert read_and_normalise(str(path)) == []
    assert path.read_bytes() == b"\xff\xfe not utf-8"


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = tmp_path / ".tokens"
    write_atomically(str(path), format_token_lines(parse_token_text(f"{T1},{C137}")))
    assert os.listdir(tmp_path) == [".tokens"] and path.stat().st_mode & 0o077 == 0


# -- issue #14 items 4 and 7: a lock that never blocks the process, fewer fsyncs, no debris ----


def test_a_lock_held_elsewhere_is_given_up_with_a_clear_error(tmp_path):
    import threading
    import time

    from app.services.token_file import TokenFileBusy, locked

    path = tmp_path / ".tokens"
    outcome: list[object] = []

    def take() -> None:
        started = time.monotonic()
        try:
            with locked(str(path), wait=0.3):
                outcome.append("entered")
        except TokenFileBusy as busy:
            outcome.append((busy, time.monotonic() - started))

    with file_lock_held_elsewhere(path):
        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        taker.join(timeout=5)
        still_waiting = taker.is_alive()
    assert not still_waiting, "locked() kept waiting for the other process"
    [(busy, waited)] = outcome
    assert isinstance(busy, OSError) and "stayed locked by another process" in str(busy) and waited < 2
    with locked(str(path), wait=1):  # free again once the holder is gone
        pass


def test_token_changes_fsync_once_and_an_unchanged_file_is_not_rewritten(tmp_path, monkeypatch):
    from app.services import token_file
    from app.services.token_pool import TokenPool
    from app.store.sqlite import SqliteStore

    pool = TokenPool(SqliteStore(str(tmp_path / "s.sqlite3")), str(tmp_path / ".tokens"))
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(token_file.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    assert pool.update(f"# a comment\n{T1},{C137}\n") == 1
    assert len(synced) == 2  # the file, then its folder (the rename)
    synced.clear()
    assert pool.reload() == 1 and synced == []  # already normal: not rewritten
    assert pool.add([]) == (0, 1) and synced == []


def test_temporary_files_a_crash_left_are_removed_at_start(tmp_path):
    from app.services.token_file import remove_leftovers

    path = tmp_path / ".tokens"
    path.write_text(f"{T1},{C137}")
    path.chmod(0o644)
    debris = [".tokens-k2j4_9xq", ".tokens-ab12cd34.tmp"]  # before issue #14, and now
    kept = [".tokens-backup", "notes.txt", ".tokens.lock"]
    for name in debris + kept:
        (tmp_path / name).write_text(f"{T1},{C137}")
    assert sorted(remove_leftovers(str(path))) == sorted(debris)
    assert sorted(os.listdir(tmp_path)) == sorted([".tokens", *kept])
    assert path.stat().st_mode & 0o077 == 0
