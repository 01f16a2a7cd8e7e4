"""Parse an Anthropic Messages API body (`POST /v1/messages`, `/v1/messages/count_tokens`) into
the ChatRequest every front hands the chat core (D35).

Content blocks become the core's messages: `text` and `image` blocks the text and images of a
message, an assistant's `tool_use` blocks its tool calls, each `tool_result` block a tool message
(placed before the rest of its user message, where Anthropic requires them). An assistant's own
`thinking` blocks, sent back as history, are dropped: Cursor's history has no place for them.
`tool_choice` takes the Chat Completions path (`any` is `required`, `tool` a named function).
Shape errors are 400 naming the field; unknown keys (`temperature`, `top_p`, `top_k`,
`metadata`, ...) are ignored, as on every front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import errors
from app.cursor.messages import ToolCallRef, ToolSpec
from app.errors import ApiError
from app.json_body import as_openai_error, expect, optional, shape_error
from app.openai_format import dumps
from app.openai_request import ChatRequest, ImageRef, RequestMessage, _apply_tool_choice, _named_tool_results

MIN_THINKING_BUDGET = 1024  # Anthropic refuses less
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}  # `tool` names one: see _tool_choice
_DROPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    chat: ChatRequest
    show_thinking: bool  # `thinking` enabled: the reasoning goes out as thinking blocks, else nowhere


def parse_messages_request(body: Any, *, counting: bool = False) -> MessagesRequest:
    """The typed request, or a 400 naming the first field of the wrong shape. `counting`:
    for count_tokens, which takes no `max_tokens` and never streams."""
    try:
        return _parse(body, counting)
    except ApiError as error:
        raise as_openai_error(error) from None  # the 422 of a shape error becomes 400 here too


def _parse(body: Any, counting: bool) -> MessagesRequest:
    expect(body, dict, "body", "a JSON object")
    model = expect(_required(body, "model"), str, "model", "a string")
    raw_messages = expect(_required(body, "messages"), list, "messages", "an array")
    if not raw_messages:  # the system text alone is no conversation
        raise errors.empty_messages()
    max_tokens = None if counting else _max_tokens(body)
    stream = optional(body, "stream", bool, "a boolean", False)
    messages = _system(body.get("system"))
    for index, message in enumerate(raw_messages):
        messages.extend(_message(message, index))
    tools, instructions = _apply_tool_choice({"tool_choice": _tool_choice(body)}, _tools(body))
    chat = ChatRequest(
        model=model,
        messages=_named_tool_results(messages),
        stream=stream and not counting,
        tools=tools,
        instructions=instructions,
        stop=_stop_sequences(body),
        max_tokens=max_tokens,
    )
    return MessagesRequest(chat, _show_thinking(body, max_tokens))


def _required(body: dict, key: str) -> Any:
    if body.get(key) is None:
        raise shape_error(key, f"missing field `{key}`")
    return body[key]


def _max_tokens(body: dict) -> int:
    """Required, as Anthropic requires it; the gateway cuts the answer there (D32)."""
    value = expect(_required(body, "max_tokens"), int, "max_tokens", "an integer")
    if value < 1:
        raise ApiError(400, "invalid_value", "`max_tokens` must be at least 1", param="max_tokens")
    return value


def _system(value: Any) -> list[RequestMessage]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [RequestMessage("system", value, True, ())]
    blocks = expect(value, list, "system", "a string or an array of text blocks")
    texts = [_text_block(block, f"system[{index}]") for index, block in enumerate(blocks)]
    return [RequestMessage("system", "\n".join(texts), False, ())] if texts else []


def _text_block(block: Any, param: str) -> str:
    expect(block, dict, param, "an object")
    if block.get("type") != "text":
        raise shape_error(f"{param}.type", "expected `text`")
    return expect(block.get("text"), str, f"{param}.text", "a string")


def _message(message: Any, index: int) -> list[RequestMessage]:
    """One Anthropic message as the core's messages: a user message's tool results first, each
    its own tool message, then its text and images (when it has any besides the results)."""
    param = f"messages[{index}]"
    expect(message, dict, param, "an object")
    role = expect(message.get("role"), str, f"{param}.role", "a string")
    if role not in ("user", "assistant"):
        raise shape_error(f"{param}.role", f"unknown variant `{role}`, expected one of user, assistant")
    content = message.get("content")
    if content is None:
        raise shape_error(f"{param}.content", "missing field `content`")
    if isinstance(content, str):
        return [RequestMessage(role, content, True, ())]
    blocks = expect(content, list, f"{param}.content", "a string or an array of content blocks")
    texts: list[str] = []
    images: list[ImageRef] = []
    calls: list[ToolCallRef] = []
    results: list[RequestMessage] = []
    for number, block in enumerate(blocks):
        block_param = f"{param}.content[{number}]"
        expect(block, dict, block_param, "an object")
        kind = expect(block.get("type"), str, f"{block_param}.type", "a string")
        if kind == "text":
            texts.append(_text_block(block, block_param))
        elif kind == "image" and role == "user":
            images.append(ImageRef(index, number, _image_url(block, block_param)))
        elif kind == "tool_use" and role == "assistant":
            calls.append(_tool_use(block, block_param))
        elif kind == "tool_result" and role == "user":
            results.append(_tool_result(block, block_param))
        elif not (kind in _DROPPED_BLOCKS and role == "assistant"):
            raise ApiError(
                400,
                "unsupported_content",
                f"`{kind}` blocks in {role} messages cannot be passed to Cursor",
                param=block_param,
            )
    if results and not (texts or images):
        return results
    return [*results, RequestMessage(role, "\n".join(texts), False, tuple(images), tuple(calls))]


def _image_url(block: dict, param: str) -> str:
    """A base64 image as a data URL, or the image's URL: the core fetches and checks both."""
    source = expect(block.get("source"), dict, f"{param}.source", "an object")
    kind = expect(source.get("type"), str, f"{param}.source.type", "a string")
    if kind == "base64":
        media_type = expect(source.get("media_type"), str, f"{param}.source.media_type", "a string")
        data = expect(source.get("data"), str, f"{param}.source.data", "a string of base64")
        return f"data:{media_type};base64,{data}"
    if kind == "url":
        return expect(source.get("url"), str, f"{param}.source.url", "a string")
    raise ApiError(
        400,
        "unsupported_content",
        f"`{kind}` image sources cannot be passed to Cursor (use base64 or url)",
        param=f"{param}.source.type",
    )


def _tool_use(block: dict, param: str) -> ToolCallRef:
    call_id = expect(block.get("id"), str, f"{param}.id", "a string")
    name = expect(block.get("name"), str, f"{param}.name", "a string")
    arguments = expect(block.get("input"), dict, f"{param}.input", "an object")
    return ToolCallRef(call_id, name, dumps(arguments))


def _tool_result(block: dict, param: str) -> RequestMessage:
    call_id = expect(block.get("tool_use_id"), str, f"{param}.tool_use_id", "a string, the id of the call it answers")
    content = block.get("content")
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        parts = expect(content, list, f"{param}.content", "a string or an array of text blocks")
        text = "\n".join(_text_block(part, f"{param}.content[{index}]") for index, part in enumerate(parts))
    is_error = optional(block, "is_error", bool, "a boolean", False)
    return RequestMessage("tool", text, isinstance(content, str), (), tool_call_id=call_id, is_error=is_error)


def _tools(body: dict) -> tuple[ToolSpec, ...]:
    value = body.get("tools")
    if value is None:
        return ()
    tools = []
    for number, tool in enumerate(expect(value, list, "tools", "an array")):
        param = f"tools[{number}]"
        expect(tool, dict, param, "an object")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            raise ApiError(
                400,
                "unsupported_parameter",
                f"`{kind}` tools run on Anthropic's side and cannot be passed to Cursor; declare custom tools",
                param=f"{param}.type",
            )
        name = expect(tool.get("name"), str, f"{param}.name", "a string")
        description = tool.get("description") or ""
        expect(description, str, f"{param}.description", "a string")
        schema = expect(tool.get("input_schema"), dict, f"{param}.input_schema", "a JSON Schema object")
        tools.append(ToolSpec(name, description, schema))
    return tuple(tools)


def _tool_choice(body: dict) -> Any:
    """Anthropic's `tool_choice` in Chat Completions' terms; `disable_parallel_tool_use` has no
    upstream field and is ignored."""
    value = body.get("tool_choice")
    if value is None:
        return None
    expect(value, dict, "tool_choice", "an object")
    kind = expect(value.get("type"), str, "tool_choice.type", "a string")
    if kind == "tool":
        name = expect(value.get("name"), str, "tool_choice.name", "a string")
        return {"type": "function", "function": {"name": name}}
    if kind not in _TOOL_CHOICES:
        raise shape_error("tool_choice.type", f"unknown variant `{kind}`, expected one of auto, any, tool, none")
    return _TOOL_CHOICES[kind]


def _stop_sequences(body: dict) -> tuple[str, ...]:
    value = body.get("stop_sequences")
    if value is None:
        return ()
    stops = expect(value, list, "stop_sequences", "an array of strings")
    for index, stop in enumerate(stops):
        expect(stop, str, f"stop_sequences[{index}]", "a string")
    return tuple(stop for stop in stops if stop)


def _show_thinking(body: dict, max_tokens: int | None) -> bool:
    """Whether the reasoning is shown. The budget is checked as Anthropic checks it, and then
    not sent: Cursor's turn has no field for it."""
    value = body.get("thinking")
    if value is None:
        return False
    expect(value, dict, "thinking", "an object")
    kind = expect(value.get("type"), str, "thinking.type", "a string")
    if kind == "disabled":
        return False
    if kind == "enabled":
        budget = expect(value.get("budget_tokens"), int, "thinking.budget_tokens", "an integer")
        if budget < MIN_THINKING_BUDGET or (max_tokens is not None and budget >= max_tokens):
            raise ApiError(
                400,
                "invalid_value",
                f"`thinking.budget_tokens` must be at least {MIN_THINKING_BUDGET} and less than `max_tokens`",
                param="thinking.budget_tokens",
            )
    elif kind != "adaptive":
        raise shape_error("thinking.type", f"unknown variant `{kind}`, expected one of enabled, adaptive, disabled")
    return value.get("display") != "omitted"
