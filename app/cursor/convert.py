"""OpenAI-style messages to Cursor's GetChatRequest (PROTOCOL §3.1–3.5, §3.7).

Pure: images are already resolved, and ids come from an injectable source so the request
vector can be reproduced byte for byte.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from app.cursor.framing import encode_frame
from app.cursor.messages import ChatMessage, Image
from app.cursor.proto import aiserver_pb2

WEB_SEARCH_SUFFIX = "-online"
WEB_SEARCH_MODE = "full_search"
LONG_CONTEXT_MODELS = frozenset(
    {"gpt-4o-128k", "gemini-1.5-flash-500k", "claude-3-haiku-200k", "claude-3-5-sonnet-200k"}
)
_HUMAN = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN
_AI = aiserver_pb2.ConversationMessage.MESSAGE_TYPE_AI
_WEB_REFERENCES_HEAD = "WebReferences:"
_LINK_UUID_SPACE = 65536  # link uuids are decimal 16-bit numbers (§3.5)


def web_search_model(model: str) -> tuple[str, bool]:
    """`gpt-4o-online` → (`gpt-4o`, True): the base name Cursor knows and whether to search
    the web (the client's model string is echoed back unchanged elsewhere)."""
    if model.endswith(WEB_SEARCH_SUFFIX):
        return model[: -len(WEB_SEARCH_SUFFIX)], True
    return model, False


def _new_uuid() -> str:
    return str(uuid.uuid4())


def instructions_of(messages: Sequence[ChatMessage], default: str) -> str:
    """System texts joined by a blank line. Only an exactly empty result falls back to the
    default: a whitespace-only system message is kept (and then sends no instructions), as rc4."""
    joined = "\n\n".join(m.text for m in messages if m.role == "system")
    return joined if joined != "" else default


def _strip_echoed_references(message: ChatMessage) -> ChatMessage:
    """Our own WebReferences block, sent back by a client as history, is not re-sent. Only
    plain-string content qualifies: a part array was not produced by us verbatim."""
    if message.role == "assistant" and message.plain_string and message.text.startswith(_WEB_REFERENCES_HEAD):
        _, separator, rest = message.text.partition("\n\n")
        if separator:
            return ChatMessage(message.role, rest, message.images, message.plain_string)
    return message


def alternate(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """User/assistant history reshaped the way Cursor expects: starting and ending with the
    user, strictly alternating, with empty fillers where needed (pitfall P13). Empty when there
    is no user/assistant message at all."""
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
    """Every `@` followed by an absolute http(s) URL, up to the next whitespace (§3.5). The run
    after an `@` is consumed whether or not it is a URL, so `@a@https://x` yields nothing."""
    urls = []
    position = text.find("@")
    while position >= 0:
        end = position + 1
        while end < len(text) and not text[end].isspace():
            end += 1
        candidate = text[position + 1 : end]
        if _is_web_url(candidate):
            urls.append(candidate)
        position = text.find("@", end)
    return urls


def _is_web_url(candidate: str) -> bool:
    """Python's stand-in for rc4's WHATWG parser: an http(s) scheme and some authority."""
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _image_proto(image: Image) -> aiserver_pb2.ImageProto:
    """Dimensions go only as a pair: rc4 omits them whenever the image could not be decoded."""
    proto = aiserver_pb2.ImageProto(data=image.data)
    if image.width is not None and image.height is not None:
        proto.dimension.CopyFrom(aiserver_pb2.ImageProto.Dimension(width=image.width, height=image.height))
    return proto


def _add_conversation(
    request: aiserver_pb2.GetChatRequest, shaped: list[ChatMessage], new_uuid: Callable[[], str]
) -> None:
    """One entry per shaped message, bubble ids drawn in order; with nothing to send, the single
    placeholder rc4 sends (the only entry carrying `is_capability_iteration`, present-false)."""
    if not shaped:
        request.conversation.add(type=_HUMAN, bubble_id=new_uuid(), is_capability_iteration=False)
        return
    for message in shaped:
        request.conversation.add(
            text=message.text,
            type=_HUMAN if message.role == "user" else _AI,
            images=[_image_proto(image) for image in message.images],
            bubble_id=new_uuid(),
        )


def _add_external_links(request: aiserver_pb2.GetChatRequest, text: str, link_base: int | None) -> None:
    base = random.randrange(_LINK_UUID_SPACE) if link_base is None else link_base
    for index, url in enumerate(external_links(text)):
        request.external_links.add(url=url, uuid=str((base + index) % _LINK_UUID_SPACE))


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
    """The GetChatRequest rc4 sends for `messages` (`model_name` without `-online`).

    Ids are drawn from `new_uuid` in this order: one bubble id per conversation entry, then the
    request id, then the conversation id. `link_base` fixes the first external-link uuid
    (random otherwise). The proto3 `optional` flags are assigned even when false so that they
    are on the wire (pitfall P2); protobuf writes fields in number order whatever the order here.
    """
    shaped = alternate(messages)
    request = aiserver_pb2.GetChatRequest(
        allow_long_file_scan=False,
        is_bash=False,
        can_handle_filenames_after_language_ids=True,
        long_context_mode=model_name in LONG_CONTEXT_MODELS,
        is_eval=False,
        runnable_code_blocks=False,
        should_cache=False,
    )
    _add_conversation(request, shaped, new_uuid)
    instructions = instructions_of(messages, default_instructions)
    if instructions.strip():
        request.explicit_context.context = instructions
    request.model_details.model_name = model_name
    request.model_details.azure_state.SetInParent()  # present but empty: bytes 22 00
    if slow_pool:
        request.model_details.enable_slow_pool = True  # never sent as false
    request.request_id = new_uuid()
    request.conversation_id = new_uuid()
    if web_search:
        request.use_web = WEB_SEARCH_MODE
    if shaped:
        _add_external_links(request, shaped[-1].text, link_base)
    return request


def encode_chat_body(request: aiserver_pb2.GetChatRequest) -> bytes:
    """The HTTP body: exactly one uncompressed envelope (PROTOCOL §2.2)."""
    return encode_frame(request.SerializeToString())
