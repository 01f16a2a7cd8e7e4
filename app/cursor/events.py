"""Typed items decoded from Cursor's answer, the same for every protocol generation.

A generation turns its upstream frames into these (legacy: PROTOCOL §4.2; agent:
docs/AGENT_WIRE.md §5); an error ends the answer as an UpstreamError (app.cursor.errors) instead.
Consumers match on the type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A non-empty piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A non-empty piece of the model's reasoning summary (agent `thinking_delta`)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete call of one of the client's tools: our call id, the client's function name and
    the arguments as JSON text (whole numbers kept integers)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """The upstream's token count for the turn (agent `turn_ended`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class FilledPrompt:
    """The prompt the server built (legacy `filled_prompt`); kept in the request log, never shown."""

    text: str


@dataclass(frozen=True, slots=True)
class WebReferences:
    """Web citations as (url, title) pairs, ordered by url, one entry per url (last title wins)."""

    references: tuple[tuple[str, str], ...]

    def to_markdown(self) -> str:
        """The content block the gateway emits for citations (PROTOCOL §4.2, SPEC §6.8)."""
        lines = "".join(f"{i}. [{title}]({url})\n" for i, (url, title) in enumerate(self.references, 1))
        return f"WebReferences:\n{lines}\n"


@dataclass(frozen=True, slots=True)
class ContentStart:
    """A zero-length legacy frame: the server is about to send text. Produces no output."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The answer ended cleanly (the success end-of-stream frame, or the end of a tool-call step)."""


Event = TextDelta | ReasoningDelta | ToolCall | Usage | FilledPrompt | WebReferences | ContentStart | StreamEnd
