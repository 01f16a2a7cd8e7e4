"""The fake's agent service (AGENT_WIRE): RunSSE + BidiAppend, the model catalog and the API-key
exchange, served beside the legacy RPCs on the same port. Keeps the per-turn record
(`GET /__fake/turns`) and call counts (`GET /__fake/counts`)."""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus

from google.protobuf.message import DecodeError

from app.cursor.framing import HEADER
from tests.fake_cursor import catalog
from tests.fake_cursor.accounts import user_id_of
from tests.fake_cursor.agent_checks import CONNECT_PROTO, UNARY_PROTO, check_identity, is_uuid
from tests.fake_cursor.agent_frames import HTTP_STATUS, end_stream, error_body, plain_error, update_required_body
from tests.fake_cursor.agent_scenarios import script
from tests.fake_cursor.agent_turn import FAILED, Timing, Turn, decoded
from tests.fake_cursor.proto import agent_fake_pb2 as pb
from tests.fake_cursor.request import Request
from tests.fake_cursor.validation import Rejection
from tests.fake_cursor.wire import Reply, Wire

RUN_SSE_PATH = "/agent.v1.AgentService/RunSSE"
APPEND_PATH = "/aiserver.v1.BidiService/BidiAppend"
AVAILABLE_MODELS_PATH = "/aiserver.v1.AiService/AvailableModels"
USABLE_MODELS_PATH = "/agent.v1.AgentService/GetUsableModels"
EXCHANGE_PATH = "/auth/exchange_user_api_key"
TURN_LIMIT = 10000
API_KEY = re.compile(r"crsr_[A-Za-z0-9]{32,}")
REVOKED_KEY_MARKER = "revoked"  # a well-formed key containing this is refused (a dead key)
INVALID_KEY_MESSAGE = "Invalid User API Key"
EXCHANGED_TOKEN_SECONDS = 60 * 86400
LOGGED_OUT_MARKER = "loggedout"  # such accounts cannot list models either
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


def _json(status: int, value: object) -> Reply:
    try:
        line = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        line = f"{status} Error"
    return Reply(
        [json.dumps(value, ensure_ascii=False).encode()], status=line, content_type="application/json", whole=True
    )


def _proto(message) -> Reply:
    return Reply([message.SerializeToString()], content_type=UNARY_PROTO, whole=True)


def connect_error(body: dict) -> Reply:
    """A unary Connect error: Connect's HTTP status for the code, the JSON body."""
    return _json(HTTP_STATUS.get(body["code"], 500), body)


def exchanged_token(api_key: str) -> str:
    """A session JWT (the shape of tests/support.py make_token) whose user id encodes the key,
    valid for 60 days."""
    now = int(time.time())
    claims = {
        "sub": f"auth0|user_{api_key.removeprefix('crsr_')}",
        "time": str(now),
        "randomness": str(uuid.uuid4())[:18],
        "exp": now + EXCHANGED_TOKEN_SECONDS,
        "iss": "https://authentication.cursor.sh",
        "scope": "openid profile email offline_access",
        "aud": "https://cursor.com",
        "type": "session",
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest()).rstrip(b"=").decode()
    return f"{JWT_HEADER}.{payload}.{signature}"


def new_turn_record(request_id: str, request: Request, identity, user_id: str | None) -> dict:
    return {
        "request_id": request_id,
        "started_at": time.time(),
        "headers": request.headers,
        "client_type": identity.client_type,
        "client_version": identity.client_version,
        "user_id": user_id,
        "run_request": None,
        "unknown_fields": [],
        "scenario": None,
        "appends": [],
        "client_heartbeats": [],
        "server_heartbeats": [],
        "queries": [],
        "stray_answers": [],
        "tool_calls": [],
        "parked": False,
        "text": "",
        "text_length": 0,
        "thinking": "",
        "thinking_length": 0,
        "usage": None,
        "cancel_at": None,
        "client_closed_at": None,
        "ended_at": None,
        "outcome": None,
        "reason": None,
    }


class AgentService:
    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self.live: dict[str, Turn] = {}
        self.seen: set[str] = set()  # request ids ever used: a RunSSE may not reuse one
        self.records: collections.deque[dict] = collections.deque(maxlen=TURN_LIMIT)
        self.counts: collections.Counter[str] = collections.Counter()
        self.blob_memory: dict[str, list[tuple[bytes, bytes]]] = {}  # conversation id -> blobs of kv turns
        self.routes: dict[str, tuple[str, Callable[[Request, dict, Wire], Reply]]] = {
            RUN_SSE_PATH: ("run_sse", self.run_sse),
            APPEND_PATH: ("bidi_append", self.append),
            AVAILABLE_MODELS_PATH: ("available_models", self.available_models),
            USABLE_MODELS_PATH: ("get_usable_models", self.usable_models),
            EXCHANGE_PATH: ("exchange_user_api_key", self.exchange),
        }

    def handles(self, path: str) -> bool:
        return path in self.routes

    def handle(self, request: Request, record: dict, wire: Wire) -> Reply:
        name, handler = self.routes[request.path]
        self.counts[name] += 1
        try:
            return handler(request, record, wire)
        except Rejection as rejection:
            record["reason"] = rejection.reason
            return _json(rejection.status, plain_error(rejection.code, rejection.reason))

    def clear(self) -> None:
        """Forget the record, the counts and the blobs kv turns set (live turns keep running)."""
        self.records.clear()
        self.counts.clear()
        self.blob_memory.clear()

    def turn_records(self) -> list[dict]:
        return list(self.records)

    def retire(self, turn: Turn) -> None:
        """The turn is over: its request id is unknown to appends from now on."""
        turn.finished = True
        if self.live.get(turn.request_id) is turn:
            del self.live[turn.request_id]

    # -- RunSSE -------------------------------------------------------------------------------

    def run_sse(self, request: Request, record: dict, wire: Wire) -> Reply:
        identity = check_identity(request, CONNECT_PROTO, streaming=True)
        body = request.body
        if len(body) < HEADER.size or HEADER.unpack_from(body) != (0, len(body) - HEADER.size):
            raise Rejection(400, "invalid_argument", "the body must be exactly one uncompressed envelope")
        try:
            message = pb.BidiRequestId.FromString(body[HEADER.size :])
        except DecodeError:
            raise Rejection(400, "invalid_argument", "the envelope does not hold a BidiRequestId") from None
        request_id = message.request_id
        if not is_uuid(request_id):
            raise Rejection(400, "invalid_argument", "BidiRequestId.request_id must be a UUID")
        if request.header("x-request-id") != request_id:
            raise Rejection(400, "invalid_argument", "x-request-id must equal BidiRequestId.request_id")
        if request_id in self.seen:
            raise Rejection(409, "already_exists", f"request id {request_id} was already used")
        self.seen.add(request_id)
        record.update(request={"request_id": request_id}, accepted=True)
        user_id = user_id_of(identity.bearer)
        turn_record = new_turn_record(request_id, request, identity, user_id)
        self.records.append(turn_record)
        if identity.stale:
            turn_record.update(outcome="refused", reason="Update Required", ended_at=time.time())
            return Reply([end_stream(update_required_body())])
        turn = Turn(request_id, identity.bearer, user_id, request, wire, self.timing, turn_record, self)
        self.live[request_id] = turn
        return Reply(turn.play(script))

    # -- BidiAppend ---------------------------------------------------------------------------

    def append(self, request: Request, record: dict, wire: Wire) -> Reply:
        identity = check_identity(request, UNARY_PROTO)
        if identity.stale:
            return connect_error(update_required_body())
        try:
            message = pb.BidiAppendRequest.FromString(request.body)
        except DecodeError:
            raise Rejection(400, "invalid_argument", "the body is not a BidiAppendRequest") from None
        request_id = message.request_id.request_id
        if not is_uuid(request_id):
            raise Rejection(400, "invalid_argument", "BidiAppendRequest.request_id must hold a UUID")
        if request.header("x-request-id") != request_id:
            raise Rejection(400, "invalid_argument", "x-request-id must equal the append's request id")
        record["request"] = {"request_id": request_id, "append_seqno": message.append_seqno}
        turn = self.live.get(request_id)
        if turn is None or turn.bearer != identity.bearer:
            state = "finished" if request_id in self.seen else "unknown"
            raise Rejection(404, "not_found", f"{state} request id {request_id}")
        at = time.time()
        entry = {"seqno": message.append_seqno, "at": at, "kind": None, "message": None, "status": 200, "reason": None}
        turn.record["appends"].append(entry)
        try:
            client_message = self._client_message(turn, message, entry)
        except Rejection as rejection:
            entry.update(status=rejection.status, reason=rejection.reason)
            turn.failure = plain_error(rejection.code, rejection.reason)
            self.retire(turn)
            turn.inbox.put(FAILED)
            raise
        turn.next_seqno += 1
        turn.last_append = time.monotonic()
        kind = entry["kind"]
        if kind == "client_heartbeat":
            turn.record["client_heartbeats"].append(at)
        elif kind == "conversation_action" and client_message.conversation_action.HasField("cancel_action"):
            turn.record["cancel_at"] = turn.record["cancel_at"] or at
        turn.inbox.put((at, client_message))
        record["accepted"] = True
        return _proto(pb.BidiAppendResponse())

    def _client_message(self, turn: Turn, message: pb.BidiAppendRequest, entry: dict) -> pb.AgentClientMessage:
        if message.append_seqno != turn.next_seqno:
            raise Rejection(
                400,
                "invalid_argument",
                f"append_seqno out of order: expected {turn.next_seqno}, got {message.append_seqno}",
            )
        if message.data:
            if not re.fullmatch(r"(?:[0-9a-f]{2})+", message.data):
                raise Rejection(400, "invalid_argument", "data must be lowercase hex")
            payload = bytes.fromhex(message.data)
        else:
            payload = message.data_binary
        if not payload:
            raise Rejection(400, "invalid_argument", "the append carries no message")
        try:
            client_message = pb.AgentClientMessage.FromString(payload)
        except DecodeError:
            raise Rejection(400, "invalid_argument", "data is not an AgentClientMessage") from None
        kind = client_message.WhichOneof("message")
        entry["kind"] = kind
        entry["message"] = {} if kind == "client_heartbeat" else decoded(client_message)
        if message.append_seqno == 0:
            if kind != "run_request":
                raise Rejection(400, "invalid_argument", "First message must be a run request")
            run = client_message.run_request
            if not run.HasField("conversation_state") or run.conversation_state.ByteSize() == 0:
                raise Rejection(400, "invalid_argument", "Conversation state is required")
        return client_message

    # -- unary calls --------------------------------------------------------------------------

    def _catalog_user(self, request: Request) -> tuple[str | None, Reply | None]:
        identity = check_identity(request, UNARY_PROTO)
        if identity.stale:
            return None, connect_error(update_required_body())
        user_id = user_id_of(identity.bearer)
        if LOGGED_OUT_MARKER in (user_id or ""):
            return None, connect_error(error_body("ERROR_NOT_LOGGED_IN", "Not logged in", "Log in to Cursor."))
        return user_id, None

    def available_models(self, request: Request, record: dict, wire: Wire) -> Reply:
        user_id, refusal = self._catalog_user(request)
        if refusal is not None:
            record["reason"] = "refused"
            return refusal
        try:
            message = pb.AvailableModelsRequest.FromString(request.body)
        except DecodeError:
            raise Rejection(400, "invalid_argument", "the body is not an AvailableModelsRequest") from None
        record.update(request=decoded(message), accepted=True)
        return _proto(catalog.available_models(user_id, message.use_model_parameters))

    def usable_models(self, request: Request, record: dict, wire: Wire) -> Reply:
        user_id, refusal = self._catalog_user(request)
        if refusal is not None:
            record["reason"] = "refused"
            return refusal
        try:
            message = pb.GetUsableModelsRequest.FromString(request.body)
        except DecodeError:
            raise Rejection(400, "invalid_argument", "the body is not a GetUsableModelsRequest") from None
        record.update(request=decoded(message), accepted=True)
        return _proto(catalog.usable_models(user_id))

    def exchange(self, request: Request, record: dict, wire: Wire) -> Reply:
        if request.method != "POST":
            raise Rejection(405, "unimplemented", f"method {request.method} not allowed")
        if request.header("Content-Type") != "application/json":
            raise Rejection(415, "invalid_argument", "the key exchange takes application/json")
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Rejection(400, "invalid_argument", "the body must be a JSON object ({})")
        key = (request.header("Authorization") or "").removeprefix("Bearer ")
        if not (API_KEY.fullmatch(key) and REVOKED_KEY_MARKER not in key):
            record["reason"] = INVALID_KEY_MESSAGE
            return _json(401, plain_error("unauthenticated", INVALID_KEY_MESSAGE))
        self.counts["exchange_user_api_key_accepted"] += 1
        record["accepted"] = True
        return _json(200, {"accessToken": exchanged_token(key)})
