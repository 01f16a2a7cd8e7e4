"""OpenAI response shapes: completions, stream chunks, the model list, SSE encoding.

JSON is compact and keeps non-ASCII as is (PROTOCOL §4.5). Stream chunks are built from a
per-stream prefix so the hot path only encodes the content string.
"""

from __future__ import annotations

import json
import time
import uuid

from app.settings import MODEL_IDS, MODEL_OWNERS

MODELS_CREATED = 1706659200
DONE_EVENT = "data: [DONE]\n\n"


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def sse_event(payload: object) -> str:
    return f"data: {dumps(payload)}\n\n"


def completion_body(completion_id: str, model: str, content: str) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class ChunkEncoder:
    """The SSE events of one streamed completion (SPEC §6.12 step 4).

    Only the first content chunk carries `model` and `delta.role`; `created` is taken per chunk.
    """

    def __init__(self, completion_id: str, model: str) -> None:
        self._head = f'data: {{"id":{dumps(completion_id)},"object":"chat.completion.chunk","created":'
        self._model = dumps(model)
        self._sent_first = False

    def content(self, text: str) -> str:
        created = int(time.time())
        if self._sent_first:
            delta = f'"delta":{{"content":{dumps(text)}}}'
            return f'{self._head}{created},"choices":[{{"index":0,{delta},"finish_reason":null}}]}}\n\n'
        self._sent_first = True
        delta = f'"delta":{{"role":"assistant","content":{dumps(text)}}}'
        return (
            f'{self._head}{created},"model":{self._model},"choices":[{{"index":0,{delta},"finish_reason":null}}]}}\n\n'
        )

    def finish(self) -> str:
        created = int(time.time())
        final = f'{self._head}{created},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}\n\n'
        return final + DONE_EVENT


def model_list() -> dict:
    return {
        "object": "list",
        "data": [
            {"id": model, "created": MODELS_CREATED, "object": "model", "owned_by": MODEL_OWNERS[model]}
            for model in MODEL_IDS
        ],
    }
