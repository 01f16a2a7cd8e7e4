"""OpenAI-style messages to Cursor's GetChatRequest (PROTOCOL §3.1–3.5, §3.7).

Pure: images are already resolved, ids come from an injectable source so the request vector
can be reproduced byte for byte.
"""
from __future__ import annotations

import random
import uuid
from typing import Callable, Sequence
from urllib.parse import urlsplit

from app.cursor.framing import encode_frame
from app.cursor.messages import ChatMessage, Image
from app.cursor.proto import aiserver_pb2

WEB_SEARCH_SUFFIX = "-online"
LONG_CONTEXT_MODELS = frozenset({"gpt-4o-128k", "gemini-1.5-flash-500k", "claude-3-haiku-200k", "claude-3-5-sonnet-200k"})
_HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
_AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI
_WEB_REFERENCES_HEAD = "WebReferences:"


def web_search_model(model: str) -> tuple[str, bool]:
    """`gpt-4o-online` → (`gpt-4o`, True): the base name and whether to search the web."""
    if model.endswith(WEB_SEARCH_SUFFIX):
        return model[: -len(WEB_SEARCH_SUFFIX)], True
    return model, False


def _new_uuid() -> str:
    return str(uuid.uuid4())


def instructions_of(messages: Sequence[ChatMessage], default: str) -> str:
    joined = "\n\n".join(m.text for m in messages if m.role == "system")
    return joined if joined != "" else default


def _strip_echoed_references(message: ChatMessage) -> ChatMessage:
    """Our own WebReferences block, sent back by a client as history, is not re-sent."""
    if message.role == "assistant" and message.plain_string and message.text.startswith(_WEB_REFERENCES_HEAD):
        head, separator, rest = message.text.partition("\n\n")
        if separator:
            return ChatMessage(message.role, rest, message.images, message.plain_string)
    return message


def alternate(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """User/assistant history reshaped the way Cursor expects: starting and ending with the
    user, strictly alternating, with empty fillers where needed (pitfall P13)."""
    chat = [_strip_echoed_references(m) for m in messages if m.role in ("user", "assistant")]
    shaped: list[ChatMessage] = []
    for message in chat:
        previous_role = shaped[-1].role if shaped else "assistant"  # a leading reply gets a user first
        if message.role == previous_role:
            shaped.append(ChatMessage("user" if message.role == "assistant" else "assistant", ""))
        shaped.append(message)
    if shaped and shaped[-1].role == "assistant":
        shaped.append(ChatMessage("user", ""))
    return shaped


def external_links(text: str) -> list[str]:
    """Every `@` followed by an absolute http(s) URL, up to the next whitespace (§3.5)."""
    urls = []
    position = text.find("@")
    while position >= 0:
        end = position + 1
        while end < len(text) and not text[end].isspace():
            end += 1
        candidate = text[position + 1:end]
        if _is_web_url(candidate):
            urls.append(candidate)
        position = text.find("@", end)
    return urls


def _is_web_url(candidate: str) -> bool:
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _add_image(target: aiserver_pb2.ConversationMessage, image: Image) -> None:
    proto = target.images.add(data=image.data)
    if image.width is not None and image.height is not None:
        proto.dimension.width = image.width
        proto.dimension.height = image.height


def build_chat_request(
    messages: Sequence[ChatMessage],
    *,
    model_name: str,
    default_instructions: str,
    web_search: bool,
    slow_pool: bool,
    new_uuid: Callable[[], str] = _new_uuid,
    link_base: int | None = None,
) -> aiserver_pb2.GetChatRequest:
    """The request rc4 sends; ids are drawn as: one bubble id per message in order, then the
    request id, then the conversation id."""
    request = aiserver_pb2.GetChatRequest()
    shaped = alternate(messages)
    if shaped:
        for message in shaped:
            entry = request.conversation.add(text=message.text, type=_HUMAN if message.role == "user" else _AI)
            for image in message.images:
                _add_image(entry, image)
            entry.bubble_id = new_uuid()
    else:
        request.conversation.add(type=_HUMAN, bubble_id=new_uuid(), is_capability_iteration=False)
    instructions = instructions_of(messages, default_instructions)
    if instructions.strip():
        request.explicit_context.context = instructions
    request.model_details.model_name = model_name
    request.model_details.azure_state.SetInParent()  # present but empty on the wire (P2)
    if slow_pool:
        request.model_details.enable_slow_pool = True
    request.request_id = new_uuid()
    request.allow_long_file_scan = False
    request.is_bash = False
    request.conversation_id = new_uuid()
    request.can_handle_filenames_after_language_ids = True
    if web_search:
        request.use_web = "full_search"
    if shaped:
        base = random.randrange(65536) if link_base is None else link_base
        for index, url in enumerate(external_links(shaped[-1].text)):
            request.external_links.add(url=url, uuid=str((base + index) % 65536))
    request.long_context_mode = model_name in LONG_CONTEXT_MODELS
    request.is_eval = False
    request.runnable_code_blocks = False
    request.should_cache = False
    return request


def encode_chat_body(request: aiserver_pb2.GetChatRequest) -> bytes:
    """The HTTP body: exactly one uncompressed envelope (PROTOCOL §2.2)."""
    return encode_frame(request.SerializeToString())
