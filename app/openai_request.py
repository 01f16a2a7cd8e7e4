"""Parse and validate an OpenAI chat-completions body into a typed ChatRequest.

Shape errors are 400 (D31; the reference's 422) with `param` naming the offending field (SPEC §4.1, §6.1); the model and
message-list checks of SPEC §6.2 come after, in that order, in `validate_chat_request`.
Unknown keys are ignored everywhere, as OpenAI clients send many (temperature, tools, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from app import errors
from app.answer_rules import AnswerRules
from app.cursor.messages import Role, ToolCallRef, ToolSpec
from app.errors import ApiError
from app.json_body import as_openai_error, expect, shape_error
from app.json_schema import invalid_schema
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
UNSUPPORTED_PARTS = frozenset({"file", "input_audio"})  # D32: refused, never dropped silently
MAX_STOPS = 4
MAX_N = 8
JSON_INSTRUCTION = "Answer with a single JSON object only: no prose and no code fences."


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
    is_error: bool = False  # a tool result that reports a failure (Anthropic's `is_error`)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str  # as requested, echoed back to the client
    messages: tuple[RequestMessage, ...]
    stream: bool
    tools: tuple[ToolSpec, ...] = ()
    instructions: tuple[str, ...] = ()  # policy lines the gateway adds (tool_choice)
    include_usage: bool = False  # stream_options.include_usage
    stop: tuple[str, ...] = ()  # applied by the gateway (D32)
    max_tokens: int | None = None  # max_completion_tokens or max_tokens: the gateway cuts (D32)
    json_mode: bool = False  # response_format json_object or json_schema
    schema: dict | None = None  # response_format json_schema's schema, checked (D32)
    n: int = 1  # choices, each its own upstream turn (D32)
    reasoning_effort: str | None = None  # the model's effort parameter, where it has one

    def answer_rules(self) -> AnswerRules:
        """What the gateway applies to this answer itself (D32), a fresh one per answer."""
        return AnswerRules(self.stop, self.max_tokens, self.json_mode, self.schema)

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
        if kind in UNSUPPORTED_PARTS:
            raise ApiError(
                400, "unsupported_content", f"`{kind}` content parts cannot be passed to Cursor", param=part_param
            )
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
        tools.append(tool_spec(function, f"{param}.function"))
    return tuple(tools)


def tool_spec(function: dict, param: str) -> ToolSpec:
    """A function's name, description and parameters, at `param` (Chat Completions nests them
    under `function`, the Responses API does not)."""
    name = expect(function.get("name"), str, f"{param}.name", "a string")
    description = function.get("description") or ""
    expect(description, str, f"{param}.description", "a string")
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    expect(parameters, dict, f"{param}.parameters", "a JSON Schema object")
    return ToolSpec(name, description, parameters)


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


def _parse_stop(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,) if stop else ()
    stops = expect(stop, list, "stop", "a string or an array of up to 4 strings")
    if len(stops) > MAX_STOPS:
        raise ApiError(400, "invalid_value", f"`stop` takes at most {MAX_STOPS} sequences", param="stop")
    for index, value in enumerate(stops):
        expect(value, str, f"stop[{index}]", "a string")
    return tuple(value for value in stops if value)


def _parse_max_tokens(body: dict, keys: tuple[str, ...] = ("max_tokens", "max_completion_tokens")) -> int | None:
    limit = None
    for key in keys:  # the newer name wins
        value = body.get(key)
        if value is not None:
            expect(value, int, key, "an integer")
            if value < 1:
                raise ApiError(400, "invalid_value", f"`{key}` must be at least 1", param=key)
            limit = value
    return limit


def _parse_reasoning_effort(body: dict) -> str | None:
    effort = body.get("reasoning_effort")
    return None if effort is None else expect(effort, str, "reasoning_effort", "a string")


def _parse_n(body: dict) -> int:
    n = body.get("n")
    if n is None:
        return 1
    expect(n, int, "n", "an integer")
    if n < 1:
        raise ApiError(400, "invalid_value", "`n` must be at least 1", param="n")
    if n > MAX_N:  # each choice is a whole upstream turn, run side by side (D32)
        raise ApiError(400, "unsupported_parameter", f"`n` is at most {MAX_N}", param="n")
    return n


def _refuse_outputs_we_cannot_give(body: dict) -> None:
    """Parameters asking for output the upstream never gives are refused, not ignored (D32)."""
    if body.get("logprobs") is True:
        raise ApiError(400, "unsupported_parameter", "Cursor returns no log probabilities", param="logprobs")
    modalities = body.get("modalities")
    if body.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        param = "audio" if body.get("audio") is not None else "modalities"
        raise ApiError(400, "unsupported_parameter", "Cursor answers in text only", param=param)


def _parse_response_format(body: dict) -> tuple[bool, dict | None, tuple[str, ...]]:
    """(json mode, the schema to check, the instruction lines)."""
    value = body.get("response_format")
    if value is None:
        return False, None, ()
    expect(value, dict, "response_format", "an object")
    kind = expect(value.get("type"), str, "response_format.type", "a string")
    spec = value.get("json_schema") if kind == "json_schema" else {}
    expect(spec, dict, "response_format.json_schema", "an object")
    return answer_format(kind, spec.get("schema"), "response_format.type", "response_format.json_schema.schema")


def answer_format(
    kind: str, schema: Any, kind_param: str, schema_param: str
) -> tuple[bool, dict | None, tuple[str, ...]]:
    """(json mode, the schema to check, the instruction lines) for a format `kind` and its
    `schema` (Chat Completions' `response_format`, the Responses API's `text.format`)."""
    if kind == "text":
        return False, None, ()
    if kind == "json_object":
        return True, None, (JSON_INSTRUCTION,)
    if kind != "json_schema":
        raise shape_error(kind_param, f"unknown variant `{kind}`, expected one of text, json_object, json_schema")
    schema = schema or {}
    expect(schema, dict, schema_param, "a JSON Schema object")
    problem = invalid_schema(schema)
    if problem is not None:
        raise ApiError(400, "invalid_value", problem, param=schema_param)
    line = f"{JSON_INSTRUCTION} It must match this JSON Schema: {json.dumps(schema, ensure_ascii=False)}"
    return True, schema, (line,)


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
            message = replace(message, tool_name=name)
        named.append(message)
    return tuple(named)


def parse_chat_request(body: Any) -> ChatRequest:
    """The typed request, or a 400 naming the first field of the wrong shape (D31: OpenAI's
    status, not the reference's 422)."""
    try:
        return _parse_chat_request(body)
    except ApiError as error:
        raise as_openai_error(error) from None


def _parse_chat_request(body: Any) -> ChatRequest:
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
    n = _parse_n(body)
    _refuse_outputs_we_cannot_give(body)
    json_mode, schema, format_lines = _parse_response_format(body)
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
        instructions=instructions + format_lines,
        include_usage=bool(include_usage),
        stop=_parse_stop(body),
        max_tokens=_parse_max_tokens(body),
        json_mode=json_mode,
        schema=schema,
        n=n,
        reasoning_effort=_parse_reasoning_effort(body),
    )


def validate_chat_request(request: ChatRequest, *, allow_any_claude: bool) -> None:
    """SPEC §6.2 steps 2–3: the model, then a non-empty message list."""
    claude_passthrough = allow_any_claude and request.model.startswith("claude")
    if not (request.is_listed_model or claude_passthrough):
        raise errors.model_not_supported(request.model)
    if not request.messages:
        raise errors.empty_messages()
