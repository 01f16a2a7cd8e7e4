"""Typed items decoded from a StreamChat response (PROTOCOL §4.2).

One data frame yields at most one item; an end-of-stream frame yields StreamEnd or raises an
UpstreamError (app.cursor.errors). Consumers match on the type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A non-empty piece of the answer (`StreamChatResponse.text`)."""

    text: str


@dataclass(frozen=True, slots=True)
class FilledPrompt:
    """The prompt the server built (`filled_prompt`); kept in the request log, never shown."""

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
    """A zero-length frame: the server is about to send text. Produces no output."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The success end-of-stream frame (`{}`)."""


Event = TextDelta | FilledPrompt | WebReferences | ContentStart | StreamEnd
