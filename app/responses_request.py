"""Parse an OpenAI Responses API body (`POST /v1/responses`) into the chat core's ChatRequest
(D35), with what the response object repeats back.

Tools, tool_choice, the token limit and the answer format reuse the Chat Completions parsers,
so both fronts honour, emulate and refuse the same things (D32). Shape errors are 400 naming
the field (D31). An earlier response's items (`previous_response_id`) come first, then this
request's `input`; `instructions` are this request's own system message, as OpenAI does: they
are not carried over from the earlier response.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.cursor.messages import Role, ToolCallRef, ToolSpec
from app.errors import ApiError
from app.json_body import as_openai_error, expect, optional, shape_error
from app.openai_request import (
    ChatRequest,
    ImageRef,
    RequestMessage,
    _apply_tool_choice,
    _named_tool_results,
    _parse_max_tokens,
    answer_format,
    tool_spec,
)

ITEM_ROLES: dict[str, Role] = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
TEXT_PARTS = frozenset({"input_text", "output_text"})
UNSUPPORTED_PARTS = frozenset({"input_file", "input_audio"})  # D32: refused, never dropped silently
# Output items a client sends back as they came (the Agents SDK replays whole outputs): Cursor
# takes no reasoning as input, so these are skipped.
SKIPPED_ITEMS = frozenset({"reasoning"})
# Asking for what the gateway cannot do is refused, not ignored (D32).
UNSUPPORTED_FIELDS = {
    "background": "background responses are not supported: ask without `background`",
    "conversation": "the Conversations API is not supported: use `previous_response_id`",
    "prompt": "stored prompts are not supported",
}

History = Callable[[str], Sequence[Any]]
"""The stored input and output items before a response id (raises the 400 for an unknown one)."""


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    chat: ChatRequest  # what the chat core answers
    items: tuple[Any, ...]  # the earlier items, then this request's input: what a later turn continues
    store: bool
    echo: dict  # the request fields the response object repeats (tools, text, metadata, ...)


def parse_responses_request(body: Any, history: History) -> ResponsesRequest:
    """The typed request, or a 400 naming the first field of the wrong shape."""
    try:
        return _parse(body, history)
    except ApiError as error:
        raise as_openai_error(error) from None


def _parse(body: Any, history: History) -> ResponsesRequest:
    expect(body, dict, "body", "a JSON object")
    if "model" not in body:
        raise shape_error("model", "missing field `model`")
    model = expect(body["model"], str, "model", "a string")
    for field, why in UNSUPPORTED_FIELDS.items():
        if body.get(field) not in (None, False):
            raise ApiError(400, "unsupported_parameter", why, param=field)
    new_items = _input_items(body.get("input"))
    instructions = optional(body, "instructions", str, "a string")
    previous_id = optional(body, "previous_response_id", str, "a string")
    earlier = tuple(history(previous_id)) if previous_id is not None else ()
    located = [(item, "previous_response_id") for item in earlier]
    located += [(item, f"input[{index}]") for index, item in enumerate(new_items)]
    system = [RequestMessage("system", instructions, True, ())] if instructions else []
    messages = _named_tool_results(_messages(located, system))
    tools, policy = _apply_tool_choice(_chat_tool_choice(body), _parse_tools(body.get("tools")))
    text = optional(body, "text", dict, "an object") or {}
    json_mode, schema, format_lines = _parse_format(text.get("format"))
    reasoning = _parse_reasoning(body.get("reasoning"))
    chat = ChatRequest(
        model=model,
        messages=messages,
        stream=bool(optional(body, "stream", bool, "a boolean")),
        tools=tools,
        instructions=policy + format_lines,
        max_tokens=_parse_max_tokens(body, ("max_output_tokens",)),
        reasoning_effort=reasoning["effort"],
        json_mode=json_mode,
        schema=schema,
    )
    store = optional(body, "store", bool, "a boolean")
    echo = {
        "instructions": instructions,
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": optional(body, "metadata", dict, "an object") or {},
        "parallel_tool_calls": optional(body, "parallel_tool_calls", bool, "a boolean") is not False,
        "previous_response_id": previous_id,
        "reasoning": reasoning,
        "temperature": optional(body, "temperature", (int, float), "a number"),  # type: ignore[arg-type]
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": optional(body, "top_p", (int, float), "a number"),  # type: ignore[arg-type]
        "user": optional(body, "user", str, "a string"),
    }
    return ResponsesRequest(chat, (*earlier, *new_items), store is not False, echo)


def _input_items(value: Any) -> list[Any]:
    """`input` as a list of items: a string is one user message."""
    if value is None:
        raise shape_error("input", "missing field `input`")
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    items = expect(value, list, "input", "a string or an array of input items")
    if not items:
        raise ApiError(400, "invalid_value", "`input` must hold at least one item", param="input")
    return items


def _messages(located: list[tuple[Any, str]], messages: list[RequestMessage]) -> list[RequestMessage]:
    """The chat messages for the items (each with the param its errors name), after
    `messages`. Function calls that follow an assistant message join it, as one Chat
    Completions assistant message carries its text and its calls. A function_call_output must
    answer a function_call before it, as OpenAI requires: Cursor needs the call's name."""
    calls: set[str] = set()
    for item, param in located:
        message = _item_message(item, param, len(messages))
        if message is None:
            continue
        calls.update(call.id for call in message.tool_calls)
        if message.tool_call_id is not None and message.tool_call_id not in calls:
            what = f"no function_call with call_id {message.tool_call_id!r} comes before this function_call_output"
            raise ApiError(400, "invalid_value", what, param=f"{param}.call_id")
        previous = messages[-1] if messages else None
        if message.tool_calls and previous is not None and previous.role == "assistant" and not message.text:
            message = dataclasses.replace(previous, tool_calls=previous.tool_calls + message.tool_calls)
            messages.pop()
        messages.append(message)
    return messages


def _item_message(item: Any, param: str, position: int) -> RequestMessage | None:
    expect(item, dict, param, "an input item object")
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        return _message(item, param, position)
    if kind == "function_call":
        call_id = expect(item.get("call_id"), str, f"{param}.call_id", "a string")
        name = expect(item.get("name"), str, f"{param}.name", "a string")
        arguments = expect(item.get("arguments", ""), str, f"{param}.arguments", "a string of JSON")
        return RequestMessage("assistant", "", False, (), (ToolCallRef(call_id, name, arguments),))
    if kind == "function_call_output":
        call_id = expect(item.get("call_id"), str, f"{param}.call_id", "a string")
        text, _ = _content(item.get("output"), f"{param}.output", position, allow_images=False)
        return RequestMessage("tool", text, True, (), tool_call_id=call_id)
    if kind in SKIPPED_ITEMS:
        return None
    raise ApiError(
        400,
        "unsupported_parameter",
        f"input items of type {kind!r} are not supported: use message, function_call and function_call_output",
        param=param,
    )


def _message(item: dict, param: str, position: int) -> RequestMessage:
    role = expect(item.get("role"), str, f"{param}.role", "a string")
    canonical = ITEM_ROLES.get(role)
    if canonical is None:
        raise shape_error(
            f"{param}.role", f"unknown variant `{role}`, expected one of user, system, developer, assistant"
        )
    text, images = _content(item.get("content"), f"{param}.content", position, allow_images=True)
    return RequestMessage(canonical, text, isinstance(item.get("content"), str), images)


def _content(content: Any, param: str, position: int, *, allow_images: bool) -> tuple[str, tuple[ImageRef, ...]]:
    """A string, or parts: text parts joined by newlines, input_image parts as images."""
    if isinstance(content, str):
        return content, ()
    parts = expect(content, list, param, "a string or an array of content parts")
    texts: list[str] = []
    images: list[ImageRef] = []
    for index, part in enumerate(parts):
        part_param = f"{param}[{index}]"
        expect(part, dict, part_param, "an object")
        kind = expect(part.get("type"), str, f"{part_param}.type", "a string")
        if kind in TEXT_PARTS:
            texts.append(expect(part.get("text"), str, f"{part_param}.text", "a string"))
        elif kind == "refusal":  # an earlier answer's refusal, sent back as it came
            texts.append(expect(part.get("refusal"), str, f"{part_param}.refusal", "a string"))
        elif kind == "input_image" and allow_images:
            url = part.get("image_url")
            if url is None:  # a file_id names an upload to OpenAI, which Cursor cannot read
                raise ApiError(400, "unsupported_content", "an input_image needs an `image_url`", param=part_param)
            images.append(ImageRef(position, index, expect(url, str, f"{part_param}.image_url", "a URL string")))
        elif kind in UNSUPPORTED_PARTS or kind == "input_image":
            raise ApiError(400, "unsupported_content", f"`{kind}` parts cannot be passed to Cursor", param=part_param)
        else:
            raise shape_error(f"{part_param}.type", f"unknown content part type `{kind}`")
    return "\n".join(texts), tuple(images)


def _parse_tools(value: Any) -> tuple[ToolSpec, ...]:
    """Function tools (flat: `{type: function, name, description, parameters}`); OpenAI's
    hosted tools (web_search, file_search, ...) have no upstream counterpart."""
    if value is None:
        return ()
    tools = []
    for index, tool in enumerate(expect(value, list, "tools", "an array")):
        param = f"tools[{index}]"
        expect(tool, dict, param, "an object")
        if tool.get("type") != "function":
            message = f"only `function` tools are supported, not {tool.get('type')!r}"
            raise ApiError(400, "unsupported_parameter", message, param=f"{param}.type")
        tools.append(tool_spec(tool, param))
    return tuple(tools)


def _chat_tool_choice(body: dict) -> dict:
    """`tool_choice` in the Chat Completions shape `_apply_tool_choice` reads: a named function
    is `{type: function, name}` here."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        if choice.get("type") != "function":
            raise shape_error("tool_choice", 'expected none, auto, required or {"type": "function", "name": ...}')
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    return {"tool_choice": choice}


def _parse_format(value: Any) -> tuple[bool, dict | None, tuple[str, ...]]:
    """`text.format`: `{type: text | json_object | json_schema, name, schema, strict}`."""
    if value is None:
        return False, None, ()
    expect(value, dict, "text.format", "an object")
    kind = expect(value.get("type"), str, "text.format.type", "a string")
    return answer_format(kind, value.get("schema"), "text.format.type", "text.format.schema")


def _parse_reasoning(value: Any) -> dict:
    """`reasoning`, repeated back: `effort` is the model's effort parameter where it has one
    (as Chat Completions' `reasoning_effort`); the model's reasoning is always shown, as the
    reasoning item's summary, so `summary` changes nothing."""
    if value is None:
        return {"effort": None, "summary": None}
    expect(value, dict, "reasoning", "an object")
    effort = value.get("effort")
    if effort is not None:
        expect(effort, str, "reasoning.effort", "a string")
    summary = value.get("summary", value.get("generate_summary"))
    if summary is not None:
        expect(summary, str, "reasoning.summary", "a string")
    return {"effort": effort, "summary": summary}
