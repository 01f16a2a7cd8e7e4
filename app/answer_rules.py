"""Request parameters the upstream has no field for, applied by the gateway to the answer's
text (D32): `stop`, `max_tokens` / `max_completion_tokens`, `response_format`.

One `AnswerRules` per answer, fed the output batches as they arrive (streamed or not) and
flushed at the end:
* `stop`: the text is cut before the first stop sequence, also across piece boundaries (a tail
  as long as the longest stop minus one is held back); `finish_reason` becomes "stop" and the
  caller stops reading the upstream.
* a token limit: the visible text is cut once it reaches `max_tokens` tokens, counted with
  cl100k_base (app/tokenizer.py) piece by piece as the answer arrives, so close to the model's
  own count, not exact; `finish_reason` becomes "length".
* `response_format` json_object / json_schema: a leading ```json line and a trailing ``` are
  stripped. For a schema the whole text is held until the end and checked with `jsonschema`;
  an answer that fails becomes a refusal (`message.refusal`, `content` null).
Reasoning and tool calls pass unchanged (held text goes out before them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.cursor.events import ReasoningDelta, TextDelta, ToolCall
from app.json_schema import answer_problem
from app.tokenizer import cut_to_tokens

Output = TextDelta | ReasoningDelta | ToolCall
_FENCE_OPEN = re.compile(r"\s*```[A-Za-z0-9_-]*[ \t]*\n")
_FENCE_CLOSE = re.compile(r"\s*```\s*$")
_HELD_TAIL = re.compile(r"[\s`]*$")


class AnswerRules:
    def __init__(
        self,
        stops: Sequence[str] = (),
        max_tokens: int | None = None,
        json_mode: bool = False,
        schema: dict | None = None,
    ) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._stop_hold = max((len(stop) for stop in self._stops), default=1) - 1
        self._max_tokens = max_tokens
        self._json = json_mode or schema is not None
        self._schema = schema
        self._leading = self._json  # still deciding whether the answer opens with a fence
        self._held = ""  # text not yet passed on (a possible stop or fence is being matched)
        self._emitted_tokens = 0
        self._whole: list[str] = []  # the text of a schema answer, checked at the end
        self.finish_reason: str | None = None
        self.stop_sequence: str | None = None  # the stop that cut the text (Anthropic reports it)
        self.refusal: str | None = None

    @property
    def done(self) -> bool:
        """The answer is complete: stop reading the upstream."""
        return self.finish_reason is not None

    def feed(self, pieces: Sequence[Output]) -> list[Output]:
        out: list[Output] = []
        for piece in pieces:
            if self.done:
                break
            if isinstance(piece, TextDelta):
                self._text(piece.text, out)
            else:
                self._release(out)
                out.append(piece)
        return out

    def flush(self) -> list[Output]:
        """At the end of the answer: what is still held, and the schema check."""
        out: list[Output] = []
        if not self.done:
            held, self._held = self._held, ""
            if self._json:
                held = _FENCE_CLOSE.sub("", held) if not self._leading else held.strip().removeprefix("```")
            self._emit(held, out)
        if self._schema is not None:
            text = "".join(self._whole)
            self.refusal = answer_problem(text, self._schema)
            if self.refusal is None and text:
                out.append(TextDelta(text))
        return out

    # -- internals --------------------------------------------------------------------------
    def _text(self, text: str, out: list[Output]) -> None:
        text = self._held + text
        self._held = ""
        if self._leading:
            stripped = text.lstrip()
            if not stripped or (("```".startswith(stripped) or stripped.startswith("```")) and "\n" not in stripped):
                self._held = text  # not yet known whether this is a fence line
                return
            self._leading = False
            opening = _FENCE_OPEN.match(text)
            if opening:
                text = text[opening.end() :]
        # The earliest stop in the text cuts it, whichever of them the client listed first.
        found = [(at, stop) for stop in self._stops if (at := text.find(stop)) >= 0]
        if found:
            at, stop = min(found, key=lambda hit: hit[0])
            self._emit(text[:at], out)
            if self.finish_reason is None:
                self.finish_reason, self.stop_sequence = "stop", stop
            return
        keep = self._stop_hold
        if self._json:
            keep = max(keep, len(_HELD_TAIL.search(text).group()))  # type: ignore[union-attr]
        cut = len(text) - keep if keep else len(text)
        self._held = text[cut:]
        self._emit(text[:cut], out)

    def _release(self, out: list[Output]) -> None:
        held, self._held = self._held, ""
        self._emit(held, out)

    def _emit(self, text: str, out: list[Output]) -> None:
        if not text:
            return
        if self._max_tokens is not None:
            text, tokens = cut_to_tokens(text, self._max_tokens - self._emitted_tokens)
            self._emitted_tokens += tokens
            if self._emitted_tokens >= self._max_tokens:
                self.finish_reason = "length"
        if self._schema is not None:
            self._whole.append(text)
        elif text:
            out.append(TextDelta(text))
