"""count_tokens' tokenizer (D35): the vendored cl100k_base is tiktoken's own, loaded offline and
refused when the file is not the one OpenAI published."""

from __future__ import annotations

import pytest
from tiktoken_ext import openai_public

from app import tokenizer


def test_the_encoding_is_tiktokens_cl100k_base(monkeypatch):
    asked = {}

    def no_download(url: str, expected_hash: str) -> dict:
        asked.update(url=url, expected_hash=expected_hash)
        return {}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", no_download)
    definition = openai_public.cl100k_base()
    assert definition["pat_str"] == tokenizer.PATTERN
    assert asked["url"].endswith("/cl100k_base.tiktoken") and asked["expected_hash"] == tokenizer.ENCODING_SHA256
    # The example of OpenAI's cookbook for cl100k_base.
    assert tokenizer.encoding().encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]


def test_a_changed_encoding_file_is_refused(tmp_path, monkeypatch):
    changed = tmp_path / "cl100k_base.tiktoken"
    changed.write_bytes(tokenizer.ENCODING_FILE.read_bytes().replace(b"IQ== 0", b"IQ== 1", 1))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(tokenizer, "ENCODING_FILE", changed)
    tokenizer.encoding.cache_clear()
    try:
        with pytest.raises(ValueError, match="Hash mismatch"):
            tokenizer.encoding()
    finally:
        tokenizer.encoding.cache_clear()
