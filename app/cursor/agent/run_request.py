"""A ChatTurn as the agent run request (AGENT_WIRE §3): the stateless turn carries the whole
conversation, so any worker can serve the next one.

Pure: ids come from an injectable source, drawn in a fixed order (request id, run id, then
message ids and image uuids in the order they appear), so a test can rebuild the bytes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.cursor.agent.tools import ToolNames, tool_definitions
from app.cursor.convert import instructions_of
from app.cursor.images import sniff_format
from app.cursor.messages import ChatMessage, ChatTurn, Image
from app.cursor.proto import agent_pb2

AGENT_TYPE = "agent"
_AGENT = agent_pb2.AGENT_MODE_AGENT
_CONVERSATION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cursor-api.invalid/agent/conversation")
_EXTENSIONS = {"image/jpeg": "jpg"}


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class RequestEnv:
    """The environment the request context reports; the gateway has no workspace."""

    os_version: str = "linux"
    shell: str = "bash"
    time_zone: str = "UTC"
    workspace_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """One turn ready to send: its ids, the run request (append seqno 0), and what the stream
    decoder needs to answer the server (the request context, the tool names)."""

    request_id: str
    run_id: str
    conversation_id: str
    run_request: agent_pb2.AgentClientMessage
    request_context: agent_pb2.RequestContext
    tool_names: ToolNames

    @property
    def has_tools(self) -> bool:
        return bool(self.tool_names)


def conversation_id_for(messages: Sequence[ChatMessage]) -> str:
    """A UUID that stays the same for every turn of one OpenAI conversation: made from its
    system text and first user message (text and image digests), which later turns repeat.
    Cursor binds prompt caching to it (PROTOCOL_AGENT §3.2)."""
    first_user = next((m for m in messages if m.role == "user"), None)
    seed = [
        instructions_of(messages, ""),
        first_user.text if first_user else "",
        [hashlib.sha256(image.data).hexdigest() for image in first_user.images] if first_user else [],
    ]
    return str(uuid.uuid5(_CONVERSATION_NAMESPACE, json.dumps(seed, ensure_ascii=False)))


def mime_type_of(image: Image) -> str:
    """The declared type, else the one the bytes name (images are checked before this)."""
    if image.mime_type:
        return image.mime_type
    kind = sniff_format(image.data)
    return f"image/{kind}" if kind else "application/octet-stream"


def _system_text(turn: ChatTurn) -> str:
    """System and developer texts (or the default), then the gateway's own instructions."""
    parts = [instructions_of(turn.messages, turn.default_instructions), *turn.instructions]
    return "\n\n".join(part for part in parts if part.strip())


def _user_message(text: str, message_id: str) -> agent_pb2.UserMessage:
    return agent_pb2.UserMessage(text=text, message_id=message_id, mode=_AGENT, rich_text=text)


def _selected_image(image: Image, number: int, image_id: str) -> agent_pb2.SelectedImage:
    mime_type = mime_type_of(image)
    extension = _EXTENSIONS.get(mime_type, mime_type.rpartition("/")[2])
    selected = agent_pb2.SelectedImage(
        uuid=image_id, path=f"image-{number}.{extension}", mime_type=mime_type, data=image.data
    )
    if image.width is not None and image.height is not None:
        selected.dimension.CopyFrom(agent_pb2.ImageDimension(width=image.width, height=image.height))
    return selected


def _content(message: ChatMessage) -> list[agent_pb2.HistoryContent]:
    """Text (kept even when empty, unless images carry the message), then images."""
    content = []
    if message.text or not message.images:
        content.append(agent_pb2.HistoryContent(text=agent_pb2.TextContent(text=message.text)))
    for image in message.images:
        image_content = agent_pb2.ImageContent(data=image.data, mime_type=mime_type_of(image))
        content.append(agent_pb2.HistoryContent(image=image_content))
    return content


class _Conversation:
    """Where each message goes (AGENT_WIRE §3 "Where the conversation goes")."""

    def __init__(self, messages: Sequence[ChatMessage], names: ToolNames) -> None:
        self._names = names
        self._tool_of_call = {call.id: call.name for m in messages for call in m.tool_calls}
        chat = [m for m in messages if m.role != "system"]
        last_user = max((i for i, m in enumerate(chat) if m.role == "user"), default=None)
        if last_user is None or chat[-1].role == "tool":
            # The request ends with tool results (or has no user message): everything is history,
            # and the user message repeats the newest results for the model.
            self.history = chat
            self.user: ChatMessage | None = None
        elif last_user == len(chat) - 1:
            self.history, self.user = chat[:last_user], chat[last_user]
        else:
            # A trailing assistant message (a prefill) stays in order after the user message.
            self.history, self.user = chat, None

    def user_text(self) -> str:
        if self.user is not None:
            return self.user.text
        results = []
        for message in reversed(self.history):
            if message.role != "tool":
                break
            results.append(
                f"[Tool Result] call_id={message.tool_call_id or ''} tool={self._tool_name(message)}\n{message.text}"
            )
        return "\n\n".join(reversed(results))

    def user_images(self) -> tuple[Image, ...]:
        return self.user.images if self.user is not None else ()

    def history_messages(self) -> list[agent_pb2.ConversationHistoryMessage]:
        return [self._history_message(message) for message in self.history]

    def _tool_name(self, message: ChatMessage) -> str:
        """The wire name of the function a tool message answers ("" when nothing names it)."""
        name = self._tool_of_call.get(message.tool_call_id or "") or message.tool_name
        return self._names.wire(name) if name else ""

    def _history_message(self, message: ChatMessage) -> agent_pb2.ConversationHistoryMessage:
        if message.role == "user":
            return agent_pb2.ConversationHistoryMessage(user=agent_pb2.UserHistoryMessage(content=_content(message)))
        if message.role == "tool":
            tool = agent_pb2.ToolHistoryMessage(
                tool_call_id=message.tool_call_id or "",
                tool_name=self._tool_name(message),
                content=_content(message),
                is_error=message.is_error,
            )
            return agent_pb2.ConversationHistoryMessage(tool=tool)
        content = []
        if message.text or not message.tool_calls:
            content.append(agent_pb2.AssistantContent(text=agent_pb2.TextContent(text=message.text)))
        for call in message.tool_calls:
            history_call = agent_pb2.HistoryToolCall(
                tool_call_id=call.id, tool_name=self._names.wire(call.name), args_json=call.arguments
            )
            content.append(agent_pb2.AssistantContent(tool_call=history_call))
        return agent_pb2.ConversationHistoryMessage(assistant=agent_pb2.AssistantHistoryMessage(content=content))


def request_context(definitions: Sequence[agent_pb2.McpToolDefinition], env: RequestEnv) -> agent_pb2.RequestContext:
    """Our RequestContext: the tools, a bare environment and every "…_complete" flag true, so
    the server waits for no more workspace information."""
    return agent_pb2.RequestContext(
        env=agent_pb2.RequestContextEnv(
            os_version=env.os_version,
            workspace_paths=env.workspace_paths,
            shell=env.shell,
            time_zone=env.time_zone,
        ),
        tools=definitions,
        git_repo_info_complete=True,
        mcp_info_complete=True,
        rules_info_complete=True,
        env_info_complete=True,
        repository_info_complete=True,
        custom_subagents_info_complete=True,
        agent_skills_info_complete=True,
        mcp_file_system_info_complete=True,
        git_status_info_complete=True,
    )


def prepare_turn(
    turn: ChatTurn, *, new_id: Callable[[], str] = new_uuid, env: RequestEnv = RequestEnv()
) -> PreparedTurn:
    """The run request for `turn` with fresh request and run ids and its conversation's id."""
    request_id, run_id = new_id(), new_id()
    conversation_id = conversation_id_for(turn.messages)
    names = ToolNames(tool.name for tool in turn.tools)
    definitions = tool_definitions(turn.tools, names)
    context = request_context(definitions, env)
    conversation = _Conversation(turn.messages, names)

    action = agent_pb2.UserMessageAction(request_context=context)
    system_text = _system_text(turn)
    if system_text:
        action.prepend_user_messages.append(_user_message(f"<system>\n{system_text}\n</system>", new_id()))
    user_message = _user_message(conversation.user_text(), new_id())
    for number, image in enumerate(conversation.user_images(), 1):
        user_message.selected_context.selected_images.append(_selected_image(image, number, new_id()))
    action.user_message.CopyFrom(user_message)
    history = conversation.history_messages()
    if history:
        action.conversation_history.messages.extend(history)

    run = agent_pb2.AgentRunRequest(
        conversation_state=agent_pb2.ConversationStateStructure(mode=_AGENT, agent_type=AGENT_TYPE),
        action=agent_pb2.ConversationAction(user_message_action=action),
        model_details=agent_pb2.ModelDetails(model_id=turn.model),
        conversation_id=conversation_id,
        requested_model=agent_pb2.RequestedModel(
            model_id=turn.model,
            parameters=[agent_pb2.RequestedModel.Parameter(id=key, value=value) for key, value in turn.parameters],
            built_in_model=True,
        ),
        conversation_group_id=conversation_id,
        client_supports_inline_images=any(m.images for m in turn.messages),
        run_id=run_id,
    )
    if definitions:
        run.mcp_tools.mcp_tools.extend(definitions)
    message = agent_pb2.AgentClientMessage(run_request=run)
    return PreparedTurn(request_id, run_id, conversation_id, message, context, names)
