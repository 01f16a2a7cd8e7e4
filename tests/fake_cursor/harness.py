"""Running the fake from tests and benchmarks: `FakeCursor` starts `python -m tests.fake_cursor`
as a subprocess; `make_chat_request_body` builds a valid chat request for tests of the fake."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from app.cursor.framing import encode_frame
from app.cursor.proto import aiserver_pb2
from tests.fake_cursor.accounts import ACCOUNT_PATHS
from tests.fake_cursor.validation import CHAT_PATHS

ROOT = Path(__file__).resolve().parents[2]
AGENT_PATHS = ("/agent.v1.AgentService/RunSSE", "/aiserver.v1.BidiService/BidiAppend",
               "/aiserver.v1.AiService/AvailableModels", "/agent.v1.AgentService/GetUsableModels",
               "/auth/exchange_user_api_key")  # fmt: skip
READY_PREFIX = "fake-cursor listening on "
SYNTACTIC_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.x.y"  # well-formed; nothing checks a signature


class FakeCursor:
    """The fake in a subprocess on a free port: `with FakeCursor() as fake: fake.url ...`."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env or {}  # added to the fake's environment, e.g. FAKE_AGENT_HEARTBEAT_SECONDS
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> FakeCursor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 15) -> FakeCursor:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_cursor", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            text=True,  # cwd: so that `tests.fake_cursor` imports
        )
        try:
            self.url = self._ready_url(time.monotonic() + timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _ready_url(self, deadline: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            raise RuntimeError("the fake Cursor service did not report ready in time")
        line = self.process.stdout.readline()  # printed and flushed whole, in one write
        if not line.startswith(READY_PREFIX):
            raise RuntimeError(f"the fake Cursor service did not start: {line!r}")
        return line.strip().removeprefix(READY_PREFIX)

    def requests(self) -> list[dict]:
        """Everything the fake received (control calls aside), oldest first."""
        response = requests.get(f"{self.url}/__fake/requests", timeout=30)
        response.raise_for_status()
        return response.json()

    def chat_requests(self) -> list[dict]:
        """The legacy chat RPCs (StreamChat, StreamChatWeb) only."""
        return [record for record in self.requests() if record["path"] in CHAT_PATHS]

    def account_requests(self) -> list[dict]:
        return [record for record in self.requests() if record["path"] in ACCOUNT_PATHS]

    def agent_requests(self, path: str | None = None) -> list[dict]:
        """HTTP records of the agent calls (RunSSE, BidiAppend, catalog, key exchange), or of one path."""
        wanted = (path,) if path else AGENT_PATHS
        return [record for record in self.requests() if record["path"] in wanted]

    def agent_turns(self) -> list[dict]:
        """Every agent turn (one per accepted RunSSE), oldest first: README.md shows the shape."""
        response = requests.get(f"{self.url}/__fake/turns", timeout=30)
        response.raise_for_status()
        return response.json()

    def agent_turn(self, request_id: str) -> dict:
        return next(turn for turn in self.agent_turns() if turn["request_id"] == request_id)

    def counts(self) -> dict[str, int]:
        """Calls per agent route (run_sse, bidi_append, available_models, get_usable_models,
        exchange_user_api_key) and exchange_user_api_key_accepted; missing keys are 0."""
        response = requests.get(f"{self.url}/__fake/counts", timeout=10)
        response.raise_for_status()
        return response.json()

    def key_exchanges(self) -> int:
        """API keys successfully exchanged for a session token."""
        return self.counts().get("exchange_user_api_key_accepted", 0)

    def catalog_calls(self) -> int:
        counts = self.counts()
        return counts.get("available_models", 0) + counts.get("get_usable_models", 0)

    def connections(self) -> int:
        """TCP connections accepted so far (this call's own included)."""
        return requests.get(f"{self.url}/__fake/health", timeout=10).json()["connections"]

    def clear(self) -> None:
        requests.delete(f"{self.url}/__fake/requests", timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def make_chat_request_body(text: str, model: str = "gpt-4o", web: bool = False) -> tuple[bytes, dict[str, str]]:
    """A valid body and headers for StreamChat (StreamChatWeb when `web`), built from the schema
    directly, so that tests of the fake do not depend on the gateway's request builder."""
    from app.cursor.checksum import build_checksum, random_hash  # lazily, like validation

    message = aiserver_pb2.GetChatRequest(
        explicit_context=aiserver_pb2.ExplicitContext(context="Respond in Chinese by default"),
        request_id=str(uuid.uuid4()),
        conversation_id=str(uuid.uuid4()),
        allow_long_file_scan=False,
        is_bash=False,
        can_handle_filenames_after_language_ids=True,
        long_context_mode=False,
        is_eval=False,
        runnable_code_blocks=False,
        should_cache=False,
    )
    message.conversation.add(
        text=text, type=aiserver_pb2.ConversationMessage.MESSAGE_TYPE_HUMAN, bubble_id=str(uuid.uuid4())
    )
    message.model_details.model_name = model
    message.model_details.azure_state.SetInParent()  # present but empty, as Cursor expects
    if web:
        message.use_web = "full_search"
    trace = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/connect+proto",
        "Authorization": f"Bearer {SYNTACTIC_JWT}",
        "connect-accept-encoding": "gzip",
        "connect-protocol-version": "1",
        "User-Agent": "connect-es/1.6.1",
        "x-amzn-trace-id": f"Root={trace}",
        "x-client-key": random_hash(),
        "x-cursor-checksum": build_checksum(random_hash(), random_hash()),
        "x-cursor-client-version": "0.42.5",
        "x-cursor-timezone": "Asia/Shanghai",
        "x-ghost-mode": "true",
        "x-request-id": trace,
    }
    return encode_frame(message.SerializeToString()), headers
