"""Hash, checksum, timestamp-header and calibration helpers (SPEC §11.2–11.3; rows 90–93)."""

from __future__ import annotations

import re
import time

from app.cursor.checksum import build_checksum, tsheader
from tests.support import checksum_for, make_token

CHECKSUM_137 = re.compile(r"^.{8}[0-9a-f]{64}/[0-9a-f]{64}$")


def test_get_hash(gateway):
    first, second = gateway.get("/get-hash"), gateway.get("/get-hash")
    assert first.headers["Content-Type"] == "text/plain;charset=utf-8"
    assert re.fullmatch(r"[0-9a-f]{64}", first.get_data(as_text=True)) and first.data != second.data


def test_get_checksum(gateway):
    fresh = gateway.get("/get-checksum").get_data(as_text=True)
    assert CHECKSUM_137.match(fresh) and fresh.startswith(tsheader())
    old = build_checksum("a" * 64, "b" * 64, now=0)
    repaired = gateway.get("/get-checksum", query_string={"checksum": old}).get_data(as_text=True)
    assert repaired == tsheader() + old[8:]
    short = gateway.get("/get-checksum", query_string={"checksum": old[:72]}).get_data(as_text=True)
    assert short[8:72] == "a" * 64 and len(short) == 137
    garbage = gateway.get("/get-checksum?checksum=zzz").get_data(as_text=True)
    assert CHECKSUM_137.match(garbage) and "a" * 64 not in garbage


def test_get_tsheader_matches_checksums_of_the_same_window(gateway):
    header = gateway.get("/get-tsheader").get_data(as_text=True)
    assert len(header) == 8 and gateway.get("/get-checksum").get_data(as_text=True)[:8] == header


def test_basic_calibration(gateway):
    assert gateway.post("/basic-calibration", json={}).get_json() == {"status": "error", "message": "未提供授权令牌"}
    token = make_token("user_cal", issued=1737000000)
    bare = gateway.post("/basic-calibration", json={"token": token}).get_json()
    assert bare == {"status": "error", "message": "无效令牌或无效校验和"}
    ok = gateway.post("/basic-calibration", json={"token": f"{token},{checksum_for(token)}"}).get_json()
    assert ok["status"] == "success" and ok["message"] == "校验成功" and ok["user_id"] == "user_cal"
    assert ok["checksum_time"] == int(time.time() // 1000)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d", ok["create_at"])
