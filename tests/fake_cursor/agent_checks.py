"""What the agent service refuses (AGENT_WIRE §1, §3, §6): the identity and framing of every
agent call (answered with an HTTP status and a Connect JSON body), and the run request's
meaning (answered on the RunSSE stream with an ErrorDetails trailer)."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass

from google.protobuf.json_format import MessageToDict

from tests.fake_cursor import catalog
from tests.fake_cursor.proto import agent_fake_pb2 as pb
from tests.fake_cursor.request import Request
from tests.fake_cursor.validation import Rejection

CONNECT_PROTO = "application/connect+proto"
UNARY_PROTO = "application/proto"
CLI_FLOOR = (2026, 10, 1)  # cli-2026.10.01-e373342: older builds get "Update Required"
SDK_FLOOR = (1, 0, 30)
TOOL_PROVIDER = "custom-user-tools"
WIRE_PREFIX = f"{TOOL_PROVIDER}-"
WIRE_NAME_LIMIT = 64
ALLOWED_TOOLS_HEADER = "x-cursor-agent-allowed-tools"
COMPLETE_FLAGS = (
    "git_repo_info_complete", "mcp_info_complete", "rules_info_complete", "env_info_complete",
    "repository_info_complete", "custom_subagents_info_complete", "agent_skills_info_complete",
    "mcp_file_system_info_complete", "git_status_info_complete",
)  # fmt: skip
IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
AGENT_MODE = 1

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CLI_VERSION = re.compile(r"cli-(\d{4})\.(\d{2})\.(\d{2})-[0-9a-f]{7}")
_SDK_VERSION = re.compile(r"sdk-(\d+)\.(\d+)\.(\d+)")
_UNSAFE_TOOL_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_WIRE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HASHED_WIRE_NAME = re.compile(r"custom-user-tools-[A-Za-z0-9_-]*-[0-9a-f]{6}")


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def bearer_of(request: Request) -> str:
    return (request.header("Authorization") or "").removeprefix("Bearer ")


@dataclass(frozen=True)
class Identity:
    bearer: str
    client_type: str
    client_version: str
    stale: bool  # older than the floor: "Update Required"


def check_identity(request: Request, content_type: str, streaming: bool = False) -> Identity:
    """The checks every agent call passes (AGENT_WIRE §1), in the order a Connect server and
    Cursor's gate apply them; a failure is a Rejection with Connect's HTTP status."""
    if request.method != "POST":
        raise Rejection(405, "unimplemented", f"method {request.method} not allowed")
    if request.header("Content-Type") != content_type:
        raise Rejection(
            415, "invalid_argument", f"content type {request.header('Content-Type')!r} is not {content_type}"
        )
    if request.header("connect-protocol-version") != "1":
        raise Rejection(400, "invalid_argument", "connect-protocol-version must be 1")
    auth = request.header("Authorization") or ""
    if not (auth.startswith("Bearer ") and _JWT.fullmatch(auth.removeprefix("Bearer "))):
        raise Rejection(401, "unauthenticated", "missing or malformed Authorization: Bearer <jwt>")
    client_type = request.header("x-cursor-client-type") or ""
    version = request.header("x-cursor-client-version") or ""
    stale = _stale_version(client_type, version)
    if stale is None:
        raise Rejection(
            403, "permission_denied", f"client type {client_type!r} with version {version!r} is not allowed here"
        )
    if request.header("x-ghost-mode") not in ("true", "false"):
        raise Rejection(400, "invalid_argument", "x-ghost-mode must be true or false")
    if streaming and request.header("x-cursor-streaming") != "true":
        raise Rejection(400, "invalid_argument", "RunSSE needs x-cursor-streaming: true")
    if not is_uuid(request.header("x-request-id") or ""):
        raise Rejection(400, "invalid_argument", "x-request-id must be a UUID")
    if len(request.framing) != 1:
        raise Rejection(
            400,
            "invalid_argument",
            f"body framing must be Content-Length or chunked, got {request.framing or 'neither'}",
        )
    return Identity(auth.removeprefix("Bearer "), client_type, version, stale)


def _stale_version(client_type: str, version: str) -> bool | None:
    """True below the floor, False at or above it, None for a version of another product."""
    if client_type == "cli":
        match = _CLI_VERSION.fullmatch(version)
        if match is None:
            return None
        parts = tuple(int(part) for part in match.groups())
        try:
            datetime.date(*parts)
        except ValueError:
            return None  # not a real build date
        return parts < CLI_FLOOR
    if client_type == "sdk":
        match = _SDK_VERSION.fullmatch(version)
        if match is None:
            return None
        return tuple(int(part) for part in match.groups()) < SDK_FLOOR
    return None


# -- the run request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """How the service refuses a run request: an error trailer with this ErrorDetails."""

    error: str
    title: str
    detail: str

    @classmethod
    def bad_request(cls, detail: str) -> Refusal:
        return cls("ERROR_BAD_REQUEST", "Bad request", detail)

    @classmethod
    def bad_model(cls, detail: str) -> Refusal:
        return cls("ERROR_BAD_MODEL_NAME", "Invalid model", detail)


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


def plain_wire_name(tool_name: str) -> str:
    return WIRE_PREFIX + _UNSAFE_TOOL_CHARS.sub("_", tool_name)


def check_run_request(run: pb.AgentRunRequest, headers: Request, user_id: str | None) -> None:
    """Everything AGENT_WIRE §3 requires of a run request (Refused otherwise); `headers` is the
    RunSSE request."""
    bad = Refusal.bad_request
    if run.HasField("custom_system_prompt"):
        raise Refused(bad("unknown option '--system-prompt'"))
    if run.exclude_workspace_context:
        raise Refused(bad("Workspace context exclusion is not allowed for this user, team, or selected model"))
    if run.conversation_state.mode != AGENT_MODE:
        raise Refused(bad(f"conversation_state.mode must be {AGENT_MODE} (AGENT)"))
    if not run.HasField("requested_model"):
        raise Refused(Refusal.bad_model("requested_model is missing"))
    reason = catalog.check_requested_model(user_id, run.requested_model)
    if reason:
        raise Refused(Refusal.bad_model(reason))
    if run.model_details.model_id != run.requested_model.model_id:
        raise Refused(bad("model_details.model_id must equal requested_model.model_id"))
    if not is_uuid(run.conversation_id) or run.conversation_group_id != run.conversation_id:
        raise Refused(bad("conversation_id must be a UUID equal to conversation_group_id"))
    if not is_uuid(run.run_id):
        raise Refused(bad("run_id must be a UUID"))
    if run.action.WhichOneof("action") != "user_message_action":
        raise Refused(bad("action must be a user_message_action"))
    action = run.action.user_message_action
    tools = list(run.mcp_tools.tools)
    for check in (
        lambda: _user_message(action.user_message),
        lambda: _tools(run, headers),
        lambda: _request_context(action, tools),
        lambda: _prepended(action),
        lambda: _history(action),
        lambda: _images(run, action),
    ):
        reason = check()
        if reason:
            raise Refused(bad(reason))


def _user_message(message: pb.UserMessage) -> str | None:
    if not is_uuid(message.message_id):
        return "user_message.message_id must be a UUID"
    if message.mode != AGENT_MODE:
        return f"user_message.mode must be {AGENT_MODE} (AGENT)"
    if message.rich_text != message.text:
        return "user_message.rich_text must equal its text"
    if not message.text and not message.selected_context.selected_images:
        return "user_message has neither text nor images"
    for index, image in enumerate(message.selected_context.selected_images):
        reason = _image(image.data if image.WhichOneof("source") == "data" else b"", image.mime_type)
        if reason:
            return f"user_message image {index}: {reason}"
    return None


def _image(data: bytes, mime_type: str) -> str | None:
    if not data:
        return "no image bytes (data)"
    magic = IMAGE_MAGIC.get(mime_type)
    if magic is None:
        return f"unsupported mime_type {mime_type!r}"
    if not data.startswith(magic):
        return f"bytes are not {mime_type}"
    return None


def _tools(run: pb.AgentRunRequest, headers: Request) -> str | None:
    allowed = [part.strip() for part in (headers.header(ALLOWED_TOOLS_HEADER) or "").split(",") if part.strip()]
    if not run.HasField("mcp_tools"):
        return None
    if not run.mcp_tools.tools:
        return "mcp_tools is present but holds no tool"
    if "mcp_tool_call" not in allowed:
        return f"mcp_tools need the header {ALLOWED_TOOLS_HEADER}: mcp_tool_call"
    tools = list(run.mcp_tools.tools)
    plain = [plain_wire_name(tool.tool_name) for tool in tools]
    names, tool_names = set(), set()
    for tool, wanted in zip(tools, plain, strict=True):
        reason = _tool(tool, wanted, needs_hash=len(wanted) > WIRE_NAME_LIMIT or plain.count(wanted) > 1)
        if reason:
            return f"tool {tool.tool_name!r}: {reason}"
        if tool.name in names or tool.tool_name in tool_names:
            return f"tool {tool.tool_name!r} is declared twice"
        names.add(tool.name)
        tool_names.add(tool.tool_name)
    return None


def _tool(tool: pb.McpToolDefinition, plain: str, needs_hash: bool) -> str | None:
    if tool.provider_identifier != TOOL_PROVIDER:
        return f"provider_identifier must be {TOOL_PROVIDER!r}"
    if not tool.tool_name:
        return "tool_name is empty"
    if not _WIRE_NAME.fullmatch(tool.name):
        return f"name {tool.name!r} is not 1-64 characters of [A-Za-z0-9_-]"
    hashed = bool(_HASHED_WIRE_NAME.fullmatch(tool.name)) and plain.startswith(tool.name[:-7])
    if tool.name != plain and not (needs_hash and hashed):
        expected = "a shortened name ending in '-' and 6 hex" if needs_hash else repr(plain)
        return f"name {tool.name!r} should be {expected}"
    return _schema(tool)


def _schema(tool: pb.McpToolDefinition) -> str | None:
    from_value = None
    if tool.HasField("input_schema"):
        from_value = MessageToDict(tool.input_schema)
        if not isinstance(from_value, dict):
            return "input_schema must hold a JSON Schema object"
    if tool.input_schema_json:
        try:
            from_json = json.loads(tool.input_schema_json)
        except ValueError:
            return "input_schema_json is not JSON"
        if not isinstance(from_json, dict):
            return "input_schema_json must be a JSON Schema object"
        if from_value is not None and from_value != from_json:
            return "input_schema and input_schema_json differ"
    elif from_value is None:
        return "no schema: neither input_schema nor input_schema_json"
    return None


def _request_context(action: pb.UserMessageAction, tools: list[pb.McpToolDefinition]) -> str | None:
    if not action.HasField("request_context"):
        return "user_message_action.request_context is missing"
    return request_context_problem(action.request_context, tools)


def request_context_problem(context: pb.RequestContext, tools: list[pb.McpToolDefinition]) -> str | None:
    """What is wrong with a RequestContext (in the run request or a request_context_result)."""
    missing = [name for name in COMPLETE_FLAGS if not getattr(context, name)]
    if missing:
        return f"request_context flags not true: {', '.join(missing)}"
    if list(context.tools) != tools:
        return "request_context.tools must be the same tools as mcp_tools"
    return None


def _prepended(action: pb.UserMessageAction) -> str | None:
    if not action.prepend_user_messages:
        return None
    system = action.prepend_user_messages[0].text
    if not (system.startswith("<system>\n") and system.endswith("\n</system>")):
        return "prepend_user_messages[0] must be the system text as '<system>\\n...\\n</system>'"
    return None


def _history(action: pb.UserMessageAction) -> str | None:
    calls: dict[str, str] = {}  # tool_call_id -> wire name, from the assistant turns so far
    messages = list(action.conversation_history.messages)
    for index, entry in enumerate(messages):
        kind = entry.WhichOneof("message")
        where = f"conversation_history[{index}]"
        if kind is None:
            return f"{where} is empty"
        if kind == "user":
            if not entry.user.content:
                return f"{where}: a user message without content"
            reason = _contents(entry.user.content)
        elif kind == "assistant":
            reason = _assistant(entry.assistant, calls)
        else:
            tool = entry.tool
            if tool.tool_call_id not in calls:
                reason = f"tool result for unknown call {tool.tool_call_id!r}"
            elif calls[tool.tool_call_id] != tool.tool_name:
                reason = f"tool result names {tool.tool_name!r}, the call was {calls[tool.tool_call_id]!r}"
            else:
                reason = _contents(tool.content)
        if reason:
            return f"{where}: {reason}"
    results = trailing_tool_results(action)
    text = action.user_message.text
    for result in results:
        header = f"[Tool Result] call_id={result.tool_call_id} tool={result.tool_name}"
        if header not in text or content_text(result.content) not in text:
            return f"the user message must repeat the tool result of {result.tool_call_id!r} ('{header}\\n<content>')"
    return None


def _assistant(message: pb.HistoryAssistant, calls: dict[str, str]) -> str | None:
    if not message.content:
        return "an assistant message without content"
    for part in message.content:
        kind = part.WhichOneof("content")
        if kind is None:
            return "empty assistant content"
        if kind == "tool_call":
            call = part.tool_call
            if not call.tool_call_id:
                return "a tool call without tool_call_id"
            if not call.tool_name.startswith(WIRE_PREFIX):
                return f"tool call name {call.tool_name!r} is not a wire name ({WIRE_PREFIX}...)"
            try:
                json.loads(call.args_json)
            except ValueError:
                return f"tool call {call.tool_call_id!r}: args_json is not JSON"
            calls[call.tool_call_id] = call.tool_name
    return None


def _contents(contents) -> str | None:
    for part in contents:
        kind = part.WhichOneof("content")
        if kind is None:
            return "empty content"
        if kind == "image":
            reason = _image(part.image.data, part.image.mime_type)
            if reason:
                return f"image: {reason}"
    return None


def content_text(contents) -> str:
    return "".join(part.text.text for part in contents if part.WhichOneof("content") == "text")


def trailing_tool_results(action: pb.UserMessageAction) -> list[pb.HistoryTool]:
    """The tool messages at the very end of the history (a request that ends with tool results)."""
    results: list[pb.HistoryTool] = []
    for entry in reversed(action.conversation_history.messages):
        if entry.WhichOneof("message") != "tool":
            break
        results.append(entry.tool)
    return results[::-1]


def _images(run: pb.AgentRunRequest, action: pb.UserMessageAction) -> str | None:
    has_images = bool(action.user_message.selected_context.selected_images) or any(
        part.WhichOneof("content") == "image"
        for entry in action.conversation_history.messages
        for part in (entry.user.content if entry.WhichOneof("message") == "user" else entry.tool.content)
    )
    if has_images and not run.client_supports_inline_images:
        return "images sent without client_supports_inline_images = true"
    return None
