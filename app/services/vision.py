"""Which images of a request go upstream, and their bytes (SPEC §6.7, decision D23).

The operator's vision mode decides what is allowed: an image it does not allow is dropped
silently (the operator's choice); an allowed image that cannot be used is the client's
mistake and gets a 400 `invalid_image` naming where it is and why.
"""

from __future__ import annotations

from collections.abc import Callable

from app.cursor.errors import TransportError
from app.cursor.images import ImageError, decode_data_url, inspect_image
from app.cursor.messages import ChatMessage, Image
from app.errors import ApiError
from app.openai_request import ImageRef, RequestMessage
from app.settings import VisionAbility

Fetcher = Callable[[str], bytes]  # downloads a URL; raises ImageError or TransportError


def _invalid_image(ref: ImageRef, reason: str) -> ApiError:
    return ApiError(
        400,
        "invalid_image",
        f"messages[{ref.message_index}]: image at content[{ref.part_index}] cannot be used: {reason}",
        param=f"messages[{ref.message_index}].content[{ref.part_index}].image_url",
    )


class ImageResolver:
    def __init__(self, mode: VisionAbility, fetch: Fetcher, max_bytes: int) -> None:
        self._mode = mode
        self._fetch = fetch
        self._max_bytes = max_bytes

    def _allowed(self, url: str) -> bool:
        if self._mode is VisionAbility.NONE:
            return False
        return url.startswith("data:") or self._mode is VisionAbility.ALL

    def _load(self, ref: ImageRef) -> Image:
        try:
            if ref.url.startswith("data:"):
                data, _declared = decode_data_url(ref.url, self._max_bytes)
            else:
                data = self._fetch(ref.url)
            return inspect_image(data)
        except ImageError as exc:
            raise _invalid_image(ref, str(exc)) from None
        except TransportError as exc:
            raise _invalid_image(ref, f"download failed: {exc}") from None

    def resolve(self, message: RequestMessage, vision_disabled: bool) -> ChatMessage:
        """The message with its usable images attached (system messages never carry any)."""
        images: tuple[Image, ...] = ()
        if not vision_disabled and message.role != "system":
            images = tuple(self._load(ref) for ref in message.images if self._allowed(ref.url))
        return ChatMessage(message.role, message.text, images, message.plain_string)
