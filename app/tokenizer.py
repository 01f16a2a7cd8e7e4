"""The gateway's own token counts: the estimate `POST /v1/messages/count_tokens` answers with
(D35), and the cut of an answer at a client's token limit (D32).

Cursor has no call that counts a prompt's tokens and no output limit on the agent path, and
Claude's tokenizer is not public, so the gateway counts with tiktoken's `cl100k_base` encoding:
close to GPT-4's and Claude's counts for English and code, and an estimate either way (README).
tiktoken downloads its encoding files at run time, which a gateway must not need, so the file is
vendored.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from app.openai_format import dumps

if TYPE_CHECKING:  # the request module cuts answers with this one
    import tiktoken

    from app.openai_request import ChatRequest

# OpenAI's published file (openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken),
# taken from the wheel of litellm 1.110.2 on PyPI, which ships it for the same reason as
# litellm/litellm_core_utils/tokenizers/9b5ad71b2ce5302211f9c61530b329a4922fc6a4 (tiktoken's cache
# name for that URL). tiktoken refuses it unless its sha256 is the one tiktoken_ext.openai_public
# expects for cl100k_base.
ENCODING_FILE = Path(__file__).parent / "data" / "cl100k_base.tiktoken"
ENCODING_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# tiktoken_ext.openai_public.cl100k_base's split pattern, which that function only builds together
# with a download (tests/unit/test_tokenizer.py checks the two are the same).
PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
# Images are not decoded for a count: each is Anthropic's figure for a full-size image (about
# 1.15 megapixels at width * height / 750 tokens).
IMAGE_TOKENS = 1600


@functools.cache
def encoding() -> tiktoken.Encoding:
    """Loaded on first use (a fraction of a second, once per worker), not at start-up; tiktoken
    itself too, as most chats never count (issue #15: the memory of 1000 streams)."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(ENCODING_FILE), expected_hash=ENCODING_SHA256)
    return tiktoken.Encoding("cl100k_base", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens={})


def estimate_input_tokens(chat: ChatRequest) -> int:
    """The tokens of everything the request sends: system and message texts, earlier tool calls,
    the policy lines, each tool's definition; plus IMAGE_TOKENS per image. Special-token text
    such as `<|endoftext|>` counts as the plain text it is."""
    texts = [*chat.instructions]
    for message in chat.messages:
        texts.append(message.text)
        texts.extend(f"{call.name} {call.arguments}" for call in message.tool_calls)
    for tool in chat.tools:
        texts.extend((tool.name, tool.description, dumps(tool.parameters)))
    images = sum(len(message.images) for message in chat.messages)
    counter = encoding()
    return sum(len(counter.encode_ordinary(text)) for text in texts if text) + IMAGE_TOKENS * images


def cut_to_tokens(text: str, limit: int) -> tuple[str, int]:
    """The longest start of `text` within `limit` tokens, and its token count. A character
    split between two tokens at the cut is dropped, never half-sent."""
    tokens = encoding().encode_ordinary(text)
    if len(tokens) <= limit:
        return text, len(tokens)
    kept = tokens[: max(limit, 0)]
    return encoding().decode_bytes(kept).decode("utf-8", errors="ignore"), len(kept)
