"""Several upstream answers streamed as one: Chat Completions' `n` (D32) runs that many turns
side by side and interleaves their output, each batch tagged with its choice's index."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from app.answer_rules import AnswerRules
from app.cursor.events import Usage
from app.services.background import run_in_background
from app.services.chat import Output, UpstreamChat

_ENDED = object()
T = TypeVar("T")


class Choice(NamedTuple):
    upstream: UpstreamChat
    first: list[Output] | None
    rules: AnswerRules


def gather(calls: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Run the calls side by side (greenlets under gunicorn, threads in-process) and return
    each one's result or the exception it raised, in order."""
    outcomes: queue.Queue = queue.Queue()

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            outcomes.put((index, call()))
        except Exception as failure:
            outcomes.put((index, failure))

    for index, call in enumerate(calls):
        run_in_background(run, index, call)
    results: dict[int, T | Exception] = dict(outcomes.get() for _ in calls)
    return [results[index] for index in range(len(calls))]


def merge_live(
    choices: Sequence[Choice], keepalive: float | None, client_gone: Callable[[], bool]
) -> Iterator[tuple[int, list[Output]] | None]:
    """(choice index, shaped batch) in arrival order, or None when the client should get a
    keep-alive (every `keepalive` seconds without output from any choice). Ends when every
    choice has ended; raises the first failure a choice met (ApiError, ClientLeft), after
    which the others stop reading within a tick (the caller closes every upstream)."""
    inbox: queue.Queue = queue.Queue()
    stopped = threading.Event()

    def gone() -> bool:
        return stopped.is_set() or client_gone()

    def feed(index: int, choice: Choice) -> None:
        try:
            for batch in choice.upstream.live(choice.first, choice.rules, None, gone):
                if batch:
                    inbox.put((index, batch))
            inbox.put((index, _ENDED))
        except Exception as failure:  # handed to the reader, which raises it
            inbox.put((index, failure))

    for index, choice in enumerate(choices):
        run_in_background(feed, index, choice)
    running = len(choices)
    try:
        while running:
            try:
                index, item = inbox.get(timeout=keepalive)
            except queue.Empty:
                yield None
                continue
            if item is _ENDED:
                running -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield index, item
    finally:
        stopped.set()


def combined_usage(usages: Sequence[Usage | None]) -> Usage | None:
    """The usage of several turns as one (OpenAI reports `n` choices' tokens together)."""
    counted = [usage for usage in usages if usage is not None]
    if not counted:
        return None
    return Usage(
        input_tokens=sum(usage.input_tokens for usage in counted),
        output_tokens=sum(usage.output_tokens for usage in counted),
        cache_read_tokens=sum(usage.cache_read_tokens for usage in counted),
        cache_write_tokens=sum(usage.cache_write_tokens for usage in counted),
        reasoning_tokens=sum(usage.reasoning_tokens for usage in counted),
    )
