"""The chat input app/cursor converts for Cursor: roles already normalised, images resolved.

The fronts parse their API's JSON into these (app/openai_request.py for Chat Completions); images
are fetched and inspected before conversion (app/cursor/images.py), so conversion is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class Image:
    """Raw image file bytes with their dimensions when they could be read."""

    data: bytes
    width: int | None = None
    height: int | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRef:
    """A tool call the assistant made earlier in the conversation, as the client sends it back:
    the call id, the client's function name and the arguments as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message. `text` is the string content, or the text parts joined with "\\n".
    `plain_string` is true when the OpenAI content was a string (only those get an echoed
    WebReferences block stripped, PROTOCOL §3.4).

    An assistant message may carry `tool_calls`; a `tool` message answers one of them
    (`tool_call_id`, and `tool_name`, the function it answers, when known)."""

    role: Role
    text: str
    images: tuple[Image, ...] = field(default=())
    plain_string: bool = True
    tool_calls: tuple[ToolCallRef, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: its name, description and JSON Schema parameters."""

    name: str
    description: str
    parameters: dict


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One chat request as every protocol generation receives it, whichever front it came from.

    `model` is the id sent upstream (legacy: the base model name; agent: the catalog's model id)
    with the catalog's `parameters`. `instructions` are extra lines the gateway adds to the system
    text (a tool-choice policy, a response format); `default_instructions` apply only when the
    client sent no system text (D30: empty unless the operator sets it)."""

    model: str
    messages: tuple[ChatMessage, ...]
    parameters: tuple[tuple[str, str], ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    instructions: tuple[str, ...] = ()
    default_instructions: str = ""
    web_search: bool = False
    slow_pool: bool = False
