"""The token pool's hot path: a successful chat on a healthy token costs no second read of the
whole token list (it grows with the pool and its profiles), yet an "ok" still heals a token
that had a health record."""

from __future__ import annotations

from app.services.token_health import Verdict
from app.services.token_pool import TOKENS_KEY, TokenPool
from app.store.sqlite import SqliteStore
from tests.support import checksum_for, make_token


class CountingStore(SqliteStore):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.list_reads = 0

    def get(self, key: str):
        self.list_reads += key == TOKENS_KEY
        return super().get(key)


def make_pool(tmp_path, tokens: list[str]) -> tuple[TokenPool, CountingStore]:
    store = CountingStore(str(tmp_path / "store.sqlite3"))
    store.put(TOKENS_KEY, [{"token": token, "checksum": checksum_for(token)} for token in tokens])
    return TokenPool(store, str(tmp_path / ".tokens")), store


def test_ok_for_a_healthy_token_reads_nothing_more(tmp_path):
    pool, store = make_pool(tmp_path, [make_token("user_fast")])
    picked = pool.next_token()
    reads = store.list_reads
    pool.report(picked.token, Verdict("ok"))
    assert store.list_reads == reads


def test_ok_heals_a_token_that_had_a_health_record(tmp_path):
    token = make_token("user_healing")
    pool, store = make_pool(tmp_path, [token])
    pool.report(token, Verdict("rate_limited", "slow down"))
    assert pool.entries()[0]["health"]["state"] == "cooling"
    store.put(TOKENS_KEY, [{**pool.entries()[0], "health": {"state": "cooling", "until": 0}}])  # cooled off
    assert pool.next_token().token == token
    pool.report(token, Verdict("ok"))
    assert "health" not in pool.entries()[0]
