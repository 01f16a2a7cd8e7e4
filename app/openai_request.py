"""Parse and validate an OpenAI chat-completions body into a typed ChatRequest.

Shape errors are 422 with `param` naming the offending field (SPEC §4.1, §6.1); the model and
message-list checks of SPEC §6.2 come after, in that order, in `validate_chat_request`.
Unknown keys are ignored everywhere, as OpenAI clients send many (temperature, tools, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import errors
from app.cursor.messages import Role
from app.json_body import expect, shape_error
from app.settings import MODEL_IDS

ROLE_ALIASES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}
WEB_SEARCH_SUFFIX = "-online"
_KNOWN_MODELS = frozenset(MODEL_IDS)


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image_url part: where it came from (for error messages) and its URL."""

    message_index: int
    part_index: int
    url: str


@dataclass(frozen=True, slots=True)
class RequestMessage:
    role: Role  # canonical
    text: str
    plain_string: bool
    images: tuple[ImageRef, ...]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str  # as requested, echoed back to the client
    messages: tuple[RequestMessage, ...]
    stream: bool

    @property
    def web_search(self) -> bool:
        return self.model.endswith(WEB_SEARCH_SUFFIX)

    @property
    def base_model(self) -> str:
        """The model name sent upstream: without the -online suffix."""
        return self.model[: -len(WEB_SEARCH_SUFFIX)] if self.web_search else self.model

    @property
    def is_listed_model(self) -> bool:
        return self.base_model in _KNOWN_MODELS


def _parse_content(content: Any, index: int) -> tuple[str, bool, tuple[ImageRef, ...]]:
    param = f"messages[{index}].content"
    if isinstance(content, str):
        return content, True, ()
    parts = expect(content, list, param, "a string or an array of content parts")
    texts: list[str] = []
    images: list[ImageRef] = []
    for part_index, part in enumerate(parts):
        part_param = f"{param}[{part_index}]"
        expect(part, dict, part_param, "an object")
        kind = expect(part.get("type"), str, f"{part_param}.type", "a string")
        text = part.get("text")
        if text is not None:
            expect(text, str, f"{part_param}.text", "a string")
        image_url = part.get("image_url")
        if image_url is not None:
            expect(image_url, dict, f"{part_param}.image_url", "an object")
            url = expect(image_url.get("url"), str, f"{part_param}.image_url.url", "a string")
        if kind == "text" and text is not None:
            texts.append(text)
        elif kind == "image_url" and image_url is not None:
            images.append(ImageRef(index, part_index, url))
    return "\n".join(texts), False, tuple(images)


def _parse_message(message: Any, index: int) -> RequestMessage:
    expect(message, dict, f"messages[{index}]", "an object")
    role = expect(message.get("role"), str, f"messages[{index}].role", "a string")
    canonical = ROLE_ALIASES.get(role)
    if canonical is None:
        raise shape_error(
            f"messages[{index}].role",
            f"unknown variant `{role}`, expected one of system, developer, user, human, assistant, ai",
        )
    if "content" not in message or message["content"] is None:
        raise shape_error(f"messages[{index}].content", "expected a string or an array of content parts")
    text, plain, images = _parse_content(message["content"], index)
    return RequestMessage(canonical, text, plain, images)


def parse_chat_request(body: Any) -> ChatRequest:
    """The typed request, or a 422 naming the first field of the wrong shape."""
    expect(body, dict, "body", "a JSON object")
    if "model" not in body:
        raise shape_error("model", "missing field `model`")
    model = expect(body["model"], str, "model", "a string")
    if "messages" not in body:
        raise shape_error("messages", "missing field `messages`")
    raw_messages = expect(body["messages"], list, "messages", "an array")
    stream = body.get("stream")
    if stream is not None:
        expect(stream, bool, "stream", "a boolean")
    messages = tuple(_parse_message(m, i) for i, m in enumerate(raw_messages))
    return ChatRequest(model=model, messages=messages, stream=bool(stream))


def validate_chat_request(request: ChatRequest, *, allow_any_claude: bool) -> None:
    """SPEC §6.2 steps 2–3: the model, then a non-empty message list."""
    claude_passthrough = allow_any_claude and request.model.startswith("claude")
    if not (request.is_listed_model or claude_passthrough):
        raise errors.model_not_supported(request.model)
    if not request.messages:
        raise errors.empty_messages()
