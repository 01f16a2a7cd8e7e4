"""Timestamp header, hashes and checksums against the vectors (PROTOCOL §5.1–5.3)."""
from __future__ import annotations

import pytest

from app.cursor import checksum
from tests.unit.vectors import VECTORS

CHECKSUM = VECTORS["checksum"]


@pytest.mark.parametrize("case", VECTORS["tsheader"], ids=lambda c: str(c["unix_seconds"]))
def test_tsheader_vectors(case):
    assert checksum.tsheader(case["unix_seconds"]) == case["tsheader"]
    assert checksum.decode_tsheader(case["tsheader"]) == case["kiloseconds"]


@pytest.mark.parametrize("case", VECTORS["hash"], ids=lambda c: c["hash"][:8])
def test_hash_vectors(case):
    assert checksum.hash_of(bytes.fromhex(case["random_32_bytes_hex"])) == case["hash"]


def test_random_hashes_are_fresh_lowercase_hex():
    first, second = checksum.random_hash(), checksum.random_hash()
    assert first != second and len(first) == 64 and first == first.lower()
    int(first, 16)


@pytest.mark.parametrize("case", CHECKSUM["build"], ids=lambda c: str(len(c["checksum"])))
def test_build_vectors(case):
    assert checksum.build_checksum(case["device_hash"], case["mac_hash"], now=case["now"]) == case["checksum"]


@pytest.mark.parametrize("case", CHECKSUM["extract_time_ks"], ids=lambda c: c["ts8"])
def test_extract_time_vectors(case):
    assert checksum.decode_tsheader(case["ts8"]) == case["kiloseconds"]


@pytest.mark.parametrize("case", CHECKSUM["validate"], ids=lambda c: f"{len(c['checksum'])}-{c['valid']}")
def test_validate_vectors(case):
    assert checksum.is_valid_checksum(case["checksum"]) is case["valid"]


@pytest.mark.parametrize("case", CHECKSUM["repair"]["cases"], ids=lambda c: str(len(c["input"])))
def test_repair_vectors(case):
    fresh = iter(CHECKSUM["repair"]["fresh_hashes_in_order"])
    assert checksum.repair_checksum(case["input"], now=CHECKSUM["repair"]["now"], new_hash=lambda: next(fresh)) == case["output"]


def test_repair_always_gives_137_chars_with_a_current_header():
    for value in ("", "zzz", "x" * 137, checksum.build_checksum("a" * 64)):
        repaired = checksum.repair_checksum(value)
        assert len(repaired) == 137 and repaired.startswith(checksum.tsheader())
        assert checksum.is_valid_checksum(repaired)


def test_fresh_tsheader_keeps_the_hashes():
    old = checksum.build_checksum("b" * 64, "c" * 64, now=0)
    assert checksum.with_fresh_tsheader(old, now=1736899200) == "Jefp9nq+" + old[8:]
    assert checksum.checksum_kiloseconds(checksum.with_fresh_tsheader(old, now=1736899200)) == 1736899


def test_url_safe_alphabet_is_accepted_for_timestamp_headers():
    standard = checksum.tsheader(1736899200)  # "Jefp9nq+"
    assert checksum.decode_tsheader(standard.replace("+", "-")) == 1736899
