"""The chat input app/cursor converts for Cursor: roles already normalised, images resolved.

The gateway parses and validates OpenAI JSON into these (app/openai_format.py); images are
fetched and inspected before conversion (app/cursor/images.py), so conversion is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Image:
    """Raw image file bytes with their dimensions when they could be read."""

    data: bytes
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message. `text` is the string content, or the text parts joined with "\\n".
    `plain_string` is true when the OpenAI content was a string (only those get an echoed
    WebReferences block stripped, PROTOCOL §3.4)."""

    role: Role
    text: str
    images: tuple[Image, ...] = field(default=())
    plain_string: bool = True
