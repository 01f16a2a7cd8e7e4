"""Which images of a request go upstream, and their bytes (SPEC §6.7, decision D23).

The operator's vision mode decides what is allowed: an image it does not allow is dropped
silently (the operator's choice); an allowed image that cannot be used is the client's
mistake and gets a 400 `invalid_image` naming where it is and why.

A request's image work is bounded (issue #14): at most IMAGE_MAX_COUNT allowed images and
IMAGE_MAX_TOTAL_BYTES of image bytes in all. Data URLs are measured before any is decoded;
remote images are fetched at most FETCH_CONCURRENCY at a time (greenlets under gevent, one
after another elsewhere), each stopped as soon as the request's bytes are over the total.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import gevent
from gevent import monkey

from app.cursor.images import ImageError, data_url_size, decode_data_url, inspect_image
from app.cursor.messages import ChatMessage, Image
from app.errors import ApiError
from app.openai_request import ImageRef, RequestMessage
from app.settings import Settings, VisionAbility

FETCH_CONCURRENCY = 4
T = TypeVar("T")


class OverBudget(ImageError):
    """The request's images together are over IMAGE_MAX_TOTAL_BYTES."""


class ByteBudget:
    """The image bytes a request may still use, shared by its concurrent fetches."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._left = total
        self._lock = threading.Lock()  # gevent's own under gevent's monkey-patching

    def check(self, size: int) -> None:
        """OverBudget when `size` more bytes would not fit (nothing is taken)."""
        if size > self._left:
            raise OverBudget(f"over {self.total} bytes")

    def take(self, size: int) -> None:
        with self._lock:
            self.check(size)
            self._left -= size


Fetcher = Callable[[str, ByteBudget], Image]  # downloads an image within the budget; raises ImageError


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int  # IMAGE_MAX_BYTES, per image
    max_count: int  # IMAGE_MAX_COUNT, per request
    max_total_bytes: int  # IMAGE_MAX_TOTAL_BYTES, per request

    @classmethod
    def of(cls, settings: Settings) -> ImageLimits:
        return cls(settings.image_max_bytes, settings.image_max_count, settings.image_max_total_bytes)


def _invalid_image(ref: ImageRef, reason: str) -> ApiError:
    return ApiError(
        400,
        "invalid_image",
        f"messages[{ref.message_index}]: image at content[{ref.part_index}] cannot be used: {reason}",
        param=f"messages[{ref.message_index}].content[{ref.part_index}].image_url",
    )


def _over_total(total: int) -> ApiError:
    return ApiError(
        400,
        "invalid_image",
        f"the images of this request are larger than {total} bytes in total (IMAGE_MAX_TOTAL_BYTES)",
        param="messages",
    )


def bounded_map(tasks: Sequence[Callable[[], T]], width: int, *, greenlets: bool | None = None) -> list[T]:
    """Each task's result, in order, with at most `width` running at once: greenlets when
    gevent has patched the sockets (or `greenlets` says so), else one after another. The first
    failure is raised once the tasks still running are killed; tasks not started never start."""
    if greenlets is None:
        greenlets = monkey.is_module_patched("socket")
    if not greenlets or width <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    results: list[T | None] = [None] * len(tasks)
    pending = iter(enumerate(tasks))

    def work() -> None:
        for index, task in pending:
            results[index] = task()

    workers = [gevent.spawn(work) for _ in range(min(width, len(tasks)))]
    try:
        for finished in gevent.iwait(workers):
            if finished.exception is not None:
                raise finished.exception
    finally:
        gevent.killall(workers)
    return cast(list[T], results)  # every slot was filled


class ImageResolver:
    def __init__(self, mode: VisionAbility, fetch: Fetcher, limits: ImageLimits) -> None:
        self._mode = mode
        self._fetch = fetch
        self._limits = limits

    def _allowed(self, url: str) -> bool:
        if self._mode is VisionAbility.NONE:
            return False
        return url.startswith("data:") or self._mode is VisionAbility.ALL

    def resolve_all(self, messages: Sequence[RequestMessage], vision_disabled: bool) -> list[ChatMessage]:
        """The messages with their usable images attached (system messages never carry any).
        Raises ApiError 400 invalid_image for an unusable image or a request over its limits."""
        refs = [
            ref
            for message in messages
            if not vision_disabled and message.role != "system"
            for ref in message.images
            if self._allowed(ref.url)
        ]
        limits = self._limits
        if len(refs) > limits.max_count:
            raise ApiError(
                400,
                "invalid_image",
                f"the request has {len(refs)} images; at most {limits.max_count} are accepted (IMAGE_MAX_COUNT)",
                param="messages",
            )
        budget = ByteBudget(limits.max_total_bytes)
        for ref in refs:  # data URLs are measured, all of them, before any is decoded
            if ref.url.startswith("data:"):
                try:
                    budget.take(data_url_size(ref.url, limits.max_bytes))
                except OverBudget:
                    raise _over_total(budget.total) from None
                except ImageError as exc:
                    raise _invalid_image(ref, str(exc)) from None
        try:
            images = bounded_map([self._loader(ref, budget) for ref in refs], FETCH_CONCURRENCY)
        except OverBudget:
            raise _over_total(budget.total) from None
        loaded = {(ref.message_index, ref.part_index): image for ref, image in zip(refs, images, strict=True)}
        return [
            ChatMessage(
                message.role,
                message.text,
                tuple(
                    loaded[key]
                    for key in ((ref.message_index, ref.part_index) for ref in message.images)
                    if key in loaded
                ),
                message.plain_string,
                message.tool_calls,
                message.tool_call_id,
                message.tool_name,
                message.is_error,
            )
            for message in messages
        ]

    def _loader(self, ref: ImageRef, budget: ByteBudget) -> Callable[[], Image]:
        def load() -> Image:
            try:
                if ref.url.startswith("data:"):
                    data, _declared = decode_data_url(ref.url, self._limits.max_bytes)
                    return inspect_image(data)
                return self._fetch(ref.url, budget)
            except OverBudget:
                raise
            except ImageError as exc:
                raise _invalid_image(ref, str(exc)) from None

        return load
