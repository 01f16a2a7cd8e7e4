"""Parse and validate an OpenAI chat-completions body into a typed ChatRequest.

Shape errors are 422 with `param` naming the offending field (SPEC §4.1, §6.1); the model and
message-list checks of SPEC §6.2 come after, in that order, in `validate_chat_request`.
Unknown keys are ignored everywhere, as OpenAI clients send many (temperature, tools, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app import errors
from app.cursor.messages import Role, ToolCallRef, ToolSpec
from app.json_body import expect, shape_error
from app.settings import MODEL_IDS

ROLE_ALIASES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "tool": "tool",
    "function": "tool",  # the legacy function-calling role
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
    tool_calls: tuple[ToolCallRef, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str  # as requested, echoed back to the client
    messages: tuple[RequestMessage, ...]
    stream: bool
    tools: tuple[ToolSpec, ...] = ()
    instructions: tuple[str, ...] = ()  # policy lines the gateway adds (tool_choice)
    include_usage: bool = False  # stream_options.include_usage

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
            f"unknown variant `{role}`, expected one of system, developer, user, human, assistant, ai, tool, function",
        )
    tool_calls = _parse_tool_calls(message.get("tool_calls"), index) if canonical == "assistant" else ()
    content = message.get("content")
    if content is None and not (tool_calls or canonical == "tool"):
        raise shape_error(f"messages[{index}].content", "expected a string or an array of content parts")
    text, plain, images = _parse_content("" if content is None else content, index)
    if canonical != "tool":
        return RequestMessage(canonical, text, plain, images, tool_calls)
    call_id = message.get("tool_call_id") if role == "tool" else message.get("name")
    what = "`tool_call_id`, the id of the call it answers" if role == "tool" else "`name`, the function it answers"
    expect(call_id, str, f"messages[{index}].{'tool_call_id' if role == 'tool' else 'name'}", what)
    return RequestMessage("tool", text, plain, (), tool_call_id=call_id)


def _parse_tool_calls(value: Any, index: int) -> tuple[ToolCallRef, ...]:
    if value is None:
        return ()
    calls = []
    for number, call in enumerate(expect(value, list, f"messages[{index}].tool_calls", "an array")):
        param = f"messages[{index}].tool_calls[{number}]"
        expect(call, dict, param, "an object")
        function = expect(call.get("function"), dict, f"{param}.function", "an object")
        name = expect(function.get("name"), str, f"{param}.function.name", "a string")
        arguments = function.get("arguments", "")
        expect(arguments, str, f"{param}.function.arguments", "a string of JSON")
        calls.append(ToolCallRef(expect(call.get("id"), str, f"{param}.id", "a string"), name, arguments))
    return tuple(calls)


def _parse_tools(body: dict) -> tuple[ToolSpec, ...]:
    value = body.get("tools")
    if value is None:
        return ()
    tools = []
    for number, tool in enumerate(expect(value, list, "tools", "an array")):
        param = f"tools[{number}]"
        expect(tool, dict, param, "an object")
        if tool.get("type", "function") != "function":
            raise shape_error(f"{param}.type", "only `function` tools are supported")
        function = expect(tool.get("function"), dict, f"{param}.function", "an object")
        name = expect(function.get("name"), str, f"{param}.function.name", "a string")
        description = function.get("description") or ""
        expect(description, str, f"{param}.function.description", "a string")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        expect(parameters, dict, f"{param}.function.parameters", "a JSON Schema object")
        tools.append(ToolSpec(name, description, parameters))
    return tuple(tools)


def _apply_tool_choice(body: dict, tools: tuple[ToolSpec, ...]) -> tuple[tuple[ToolSpec, ...], tuple[str, ...]]:
    """`tool_choice` has no protocol field (PROTOCOL_AGENT §5.1): `none` sends no tools; a named
    function sends only that one; `required` and a named function add a policy line."""
    choice = body.get("tool_choice")
    if choice is None or choice == "auto" or not tools:
        return tools, ()
    if choice == "none":
        return (), ()
    if choice == "required":
        return tools, ("You must answer by calling one or more of the available tools.",)
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        chosen = tuple(tool for tool in tools if tool.name == name)
        if not chosen:
            raise shape_error("tool_choice", f"names no tool of `tools`: {name!r}")
        return chosen, (f"You must answer by calling the tool {json.dumps(name)}.",)
    raise shape_error("tool_choice", 'expected none, auto, required or {"type": "function", ...}')


def _named_tool_results(messages: list[RequestMessage]) -> tuple[RequestMessage, ...]:
    """Each tool result with the function name of the call it answers (from the assistant's
    tool calls before it)."""
    names: dict[str, str] = {}
    named = []
    for message in messages:
        for call in message.tool_calls:
            names[call.id] = call.name
        if message.role == "tool" and message.tool_call_id is not None:
            name = names.get(message.tool_call_id, message.tool_call_id)
            message = RequestMessage("tool", message.text, message.plain_string, (), (), message.tool_call_id, name)
        named.append(message)
    return tuple(named)


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
    messages = _named_tool_results([_parse_message(m, i) for i, m in enumerate(raw_messages)])
    tools, instructions = _apply_tool_choice(body, _parse_tools(body))
    stream_options = body.get("stream_options")
    if stream_options is not None:
        expect(stream_options, dict, "stream_options", "an object")
    include_usage = (stream_options or {}).get("include_usage")
    if include_usage is not None:
        expect(include_usage, bool, "stream_options.include_usage", "a boolean")
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(stream),
        tools=tools,
        instructions=instructions,
        include_usage=bool(include_usage),
    )


def validate_chat_request(request: ChatRequest, *, allow_any_claude: bool) -> None:
    """SPEC §6.2 steps 2–3: the model, then a non-empty message list."""
    claude_passthrough = allow_any_claude and request.model.startswith("claude")
    if not (request.is_listed_model or claude_passthrough):
        raise errors.model_not_supported(request.model)
    if not request.messages:
        raise errors.empty_messages()
