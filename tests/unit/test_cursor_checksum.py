"""Timestamp header, hashes and checksums against the vectors (PROTOCOL §5.1–5.3)."""

from __future__ import annotations

import base64

import pytest

from app.cursor import checksum
from tests.unit.vectors import VECTORS

CHECKSUM = VECTORS["checksum"]
REPAIR = CHECKSUM["repair"]
DEVICE, MAC = "a" * 64, "0123456789abcdef" * 4
NOW = 1736899200  # header "Jefp9nq+"


@pytest.mark.parametrize("case", VECTORS["tsheader"], ids=lambda c: str(c["unix_seconds"]))
def test_tsheader_vectors(case):
    header = checksum.tsheader(case["unix_seconds"])
    assert header == case["tsheader"]
    assert base64.b64decode(header).hex() == case["obfuscated_bytes_hex"]
    assert checksum.kiloseconds(case["unix_seconds"]) == case["kiloseconds"]
    assert checksum.decode_tsheader(header) == case["kiloseconds"]


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
    assert checksum.checksum_kiloseconds(case["ts8"] + DEVICE) == case["kiloseconds"]


@pytest.mark.parametrize(
    "header",
    ["Jefp9nq", "Jefp9nq+A", "Jefp9n==", "Jefp9nq!", "AAAAAAAA"],
    ids=["short", "long", "padded", "bad-char", "bytes-do-not-repeat"],
)
def test_strings_that_are_not_headers_decode_to_none(header):
    assert checksum.decode_tsheader(header) is None


def test_url_safe_alphabet_is_accepted_for_timestamp_headers():
    assert checksum.tsheader(NOW) == "Jefp9nq+"
    assert checksum.decode_tsheader("Jefp9nq-") == 1736899  # later Cursor clients (Appendix D)


@pytest.mark.parametrize("case", CHECKSUM["validate"], ids=lambda c: f"{len(c['checksum'])}-{c['valid']}")
def test_validate_vectors(case):
    assert checksum.is_valid_checksum(case["checksum"]) is case["valid"]


@pytest.mark.parametrize(
    "value,valid",
    [
        ("Jefp9nq+" + DEVICE.upper() + "/" + MAC.upper(), True),
        ("paaoq6+0" + DEVICE, True),  # an old time is fine: validation does not compare it with now
        ("Jefp9nq-" + DEVICE + "/" + MAC, False),  # rc4 allows only the standard alphabet here
        ("Jefp9nq+" + DEVICE[:-1] + "g", False),
        ("Jefp9nq+" + DEVICE + "\n", False),
        ("Jefp9nq+" + DEVICE + "/" + MAC + "0", False),
        ("Jefp9nq+" + DEVICE[:-1], False),
    ],
    ids=["upper-hex", "old-time", "url-safe-header", "non-hex", "newline", "138-chars", "71-chars"],
)
def test_validation_rules(value, valid):
    assert checksum.is_valid_checksum(value) is valid


@pytest.mark.parametrize("case", REPAIR["cases"], ids=lambda c: str(len(c["input"])))
def test_repair_vectors(case):
    fresh = iter(REPAIR["fresh_hashes_in_order"])
    assert checksum.repair_checksum(case["input"], now=REPAIR["now"], new_hash=lambda: next(fresh)) == case["output"]


def test_repair_keeps_hashes_behind_an_undecodable_header_but_not_behind_foreign_characters():
    assert checksum.repair_checksum("AAAAAAAA" + DEVICE + "/" + MAC, now=NOW) == "Jefp9nq+" + DEVICE + "/" + MAC
    assert DEVICE not in checksum.repair_checksum("!!!!!!!!" + DEVICE + "/" + MAC, now=NOW)


@pytest.mark.parametrize("value", ["", "zzz", "x" * 137, "Jefp9nq+" + DEVICE, "Jefp9nq+" + DEVICE + "/" + MAC])
def test_repair_always_gives_137_valid_chars_with_a_current_header(value):
    repaired = checksum.repair_checksum(value)
    assert len(repaired) == 137 and repaired.startswith(checksum.tsheader())
    assert checksum.is_valid_checksum(repaired)


def test_fresh_tsheader_keeps_the_hashes():
    old = checksum.build_checksum(DEVICE, MAC, now=0)
    fresh = checksum.with_fresh_tsheader(old, now=NOW)
    assert fresh == "Jefp9nq+" + old[8:]
    assert checksum.checksum_kiloseconds(fresh) == 1736899
