"""The .tokens file: normalisation (SPEC §7.2, row 65–66), order (D9), atomic writes."""

from __future__ import annotations

import os

from app.cursor.checksum import build_checksum, is_valid_checksum, tsheader
from app.services.token_file import format_token_lines, parse_token_text, read_and_normalise, write_atomically
from tests.support import make_token

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
