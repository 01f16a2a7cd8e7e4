"""What the fake's agent turns answer, chosen by a `fake:NAME[:ARG]` token: in the run request's
user message text first, then (unless the history ends with tool results, which get the
`tool_results` answer) in the history's user messages, newest first. README.md lists them.

Each scenario checks its argument when called (BadArgument: a bad-request trailer) and returns
the generator of its writes; it ends through `turn.finish()` / `turn.fail()` (TurnOver)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from google.protobuf.json_format import ParseDict

from tests.fake_cursor.agent_checks import (
    TOOL_PROVIDER,
    Refused,
    check_run_request,
    content_text,
    trailing_tool_results,
)
from tests.fake_cursor.agent_frames import (
    STEP_COMPLETED,
    STEP_STARTED,
    UPDATE_REQUIRED_ACTION,
    UPDATE_REQUIRED_DETAIL,
    UPDATE_REQUIRED_ERROR,
    UPDATE_REQUIRED_TITLE,
    checkpoint,
    end_stream,
    error_body,
    error_name,
    frame,
    token_delta,
    update,
)  # fmt: skip
from tests.fake_cursor.agent_turn import BadArgument, Query, Turn, TurnOver, decoded, history_user_texts
from tests.fake_cursor.frames import split_text
from tests.fake_cursor.proto import agent_fake_pb2 as pb
from tests.fake_cursor.scenarios import ACCOUNT_FAILURES, GARBAGE, Directive, _numbers, directive

# Usage reported by turn_ended unless `fake:usage:...` says otherwise (OpenAI: prompt = 1200 +
# 300 + 100 = 1600, completion = 48, cached 300, reasoning 16).
DEFAULT_USAGE = {
    "input_tokens": 1200,
    "output_tokens": 48,
    "cache_read_tokens": 300,
    "cache_write_tokens": 100,
    "reasoning_tokens": 16,
}
USAGE_FIELDS = tuple(DEFAULT_USAGE)
USAGE_TEXT = "Counted."
SNAPSHOT_DIVISOR = 2  # usage_snapshots: a first turn_ended with the numbers halved
REASONING_PIECES = ("Thinking about ", "the question", "...")
REASONING_DURATION_MS = 1200
REASONING_ANSWER = "Reasoned answer."
CHUNK_PAUSE = 0.02
MID_ERROR_PIECES = ("Partial ", "answer")
CUT_PIECES = ("Before ", "the cut")
COMPLETE_TEXT = "Complete answer."
SILENCE_PIECES = ("Before the silence. ", "After it.")
LATE_TEXT = "Late start."
BIG_PIECE = "x" * 1024
BIG_PIECES_PER_WRITE = 64
UNICODE_TEXT = "你好，世界！🙂 Cursor 的回答 — ünïcödé ✓ 𝄞 end"
UNICODE_WRITE_BYTES = 5
GZIP_PIECES = ("Compressed ", "frames ", "work.")
INTERACTION_BEFORE = "Let me search the web. "
INTERACTION_AFTER = "I will answer without searching."
WEB_SEARCH_TERM = "fake cursor search"
BUILTIN_BEFORE = "Let me look at the workspace. "
BUILTIN_AFTER = "Done without the built-in tools."
SHELL_COMMAND = "ls -la"
READ_PATH = "README.md"
KV_TEXT = "Blobs round-tripped."
CHECKPOINT_PIECES = ("Before the checkpoint. ", "After it.")
TOOL_RESULT_LINE = "Tool result for {call_id}: {content}"
PARTIAL_PIECES = 3  # partial_tool_call updates per call (cumulative args text)
SLOW_HEADERS_MARKER = "slowheaders"  # user id `..._slowheaders3_...`: RunSSE headers after 3 s
SLOW_HEADERS_SECONDS = 5.0

AgentScenario = Callable[[Turn, Directive], Iterator[bytes]]
AGENT_SCENARIOS: dict[str, AgentScenario] = {}


def agent_scenario(name: str) -> Callable[[AgentScenario], AgentScenario]:
    def register(function: AgentScenario) -> AgentScenario:
        AGENT_SCENARIOS[name] = function
        return function

    return register


# -- the turn's script -----------------------------------------------------------------------


def script(turn: Turn) -> Iterator[bytes]:
    """Headers, run request, checks, queries, scenario (AGENT_WIRE §2)."""
    delay = slow_headers_seconds(turn.user_id)
    if delay:
        yield from turn.pause(delay)  # nothing written: pywsgi has not sent the headers yet
    turn.wire.send_headers()
    turn.last_append = time.monotonic()  # the client can append only from now on
    yield from turn.idle(lambda: turn.run is not None)
    run = turn.run
    assert run is not None
    turn.record["run_request"] = decoded(run)
    turn.record["unknown_fields"] = unknown_fields(run)
    try:
        check_run_request(run, turn.request, turn.user_id)
    except Refused as refused:
        refusal = refused.refusal
        body = error_body(refusal.error, refusal.title, refusal.detail)
        raise TurnOver("refused", refusal.detail, (end_stream(body),)) from None
    failure = account_failure(turn.user_id)
    if failure:
        raise turn.fail(failure)
    chosen = choose(run)
    turn.record["scenario"] = chosen.name
    handler = AGENT_SCENARIOS.get(chosen.name)
    try:
        if handler is None:
            raise BadArgument(f"unknown fake scenario {chosen.name!r}")
        plays = handler(turn, chosen)
    except BadArgument as exc:
        detail = str(exc) if handler is None else f"fake:{chosen.name}: {exc}"
        body = error_body("ERROR_BAD_REQUEST", "Bad request", detail)
        raise TurnOver("refused", detail, (end_stream(body),)) from None
    if turn.silence_before:
        yield from turn.pause(turn.silence_before)
    if not turn.skip_queries:
        yield from initial_queries(turn)
    yield from plays


def choose(run: pb.AgentRunRequest) -> Directive:
    action = run.action.user_message_action
    found = directive(action.user_message.text)
    if found.name != "echo":
        return found
    if trailing_tool_results(action):
        return Directive("tool_results")
    for text in history_user_texts(list(action.conversation_history.messages)):
        found = directive(text)
        if found.name != "echo":
            return found
    return Directive("echo")


def account_failure(user_id: str | None) -> str | None:
    return next((name for marker, name in ACCOUNT_FAILURES.items() if marker in (user_id or "")), None)


def slow_headers_seconds(user_id: str | None) -> float:
    """`slowheaders` in the user id delays RunSSE's headers (5 s, or the digits after it)."""
    user_id = user_id or ""
    at = user_id.find(SLOW_HEADERS_MARKER)
    if at < 0:
        return 0.0
    digits = ""
    for character in user_id[at + len(SLOW_HEADERS_MARKER) :]:
        if not character.isdigit():
            break
        digits += character
    return float(digits) if digits else SLOW_HEADERS_SECONDS


def history_blob(turn: Turn) -> bytes:
    """What the fake keeps in a KV blob for a turn with history: the first earlier message, as a
    Vercel-AI-SDK-shaped JSON message (PROTOCOL_AGENT §5.3 B)."""
    first = turn.history()[0]
    role = first.WhichOneof("message")
    text = content_text(first.user.content) if role == "user" else ""
    return json.dumps({"role": role, "content": [{"type": "text", "text": text}]}, separators=(",", ":")).encode()


def initial_queries(turn: Turn) -> Iterator[bytes]:
    """request_context_args always; for a turn with history also a blob set, then read back."""
    queries: list[Query] = [turn.request_context_query()]
    data = history_blob(turn) if turn.history() else None
    if data is not None:
        queries.append(turn.set_blob_query(data))
    yield from turn.ask(queries)
    if data is not None:
        yield from turn.ask([turn.get_blob_query(turn.blob_ids[-1], data)])


def unknown_fields(message) -> list[str]:
    """Dotted paths of fields this schema does not know (the real service ignores them; tests
    can insist there are none)."""
    from google.protobuf.unknown_fields import UnknownFieldSet

    found = [f"{field.field_number}" for field in UnknownFieldSet(message)]
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None or descriptor.message_type.GetOptions().map_entry:
            continue
        values = value if descriptor.is_repeated else [value]
        for index, item in enumerate(values):
            if descriptor.message_type.full_name.startswith("google.protobuf."):
                continue
            where = descriptor.name if not descriptor.is_repeated else f"{descriptor.name}[{index}]"
            found += [f"{where}.{path}" for path in unknown_fields(item)]
    return found


# -- building blocks -------------------------------------------------------------------------


def answer(turn: Turn, pieces: list[str], compress: bool = False) -> Iterator[bytes]:
    """One model step of text."""
    yield STEP_STARTED
    for piece in pieces:
        if piece:
            yield turn.text(piece, compress)
    yield token_delta(len(pieces))
    yield STEP_COMPLETED


def words(text: str) -> list[str]:
    first, *others = text.split(" ")
    return [first, *(" " + piece for piece in others)]


def usage_from(arg: str) -> dict[str, int]:
    values = _numbers(arg, *DEFAULT_USAGE.values())
    return dict(zip(USAGE_FIELDS, (int(value) for value in values), strict=True))


# -- normal answers --------------------------------------------------------------------------


@agent_scenario("echo")
def echo(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    text = turn.run.action.user_message_action.user_message.text
    yield from answer(turn, split_text(f"Echo: {text}"))
    yield from turn.finish(DEFAULT_USAGE)


@agent_scenario("text")
def text(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    if not chosen.rest:
        raise BadArgument("text needs WORDS")
    return _plain(turn, words(chosen.rest))


def _plain(turn: Turn, pieces: list[str], usage: dict[str, int] = DEFAULT_USAGE) -> Iterator[bytes]:
    yield from answer(turn, pieces)
    yield from turn.finish(usage)


@agent_scenario("chunks")
def chunks(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    pieces = [piece for piece in chosen.rest.split("|") if piece]
    if not pieces:
        raise BadArgument("chunks needs A|B|C")

    def writes() -> Iterator[bytes]:
        yield STEP_STARTED
        for piece in pieces:
            yield turn.text(piece)
            yield from turn.pause(CHUNK_PAUSE)
        yield STEP_COMPLETED
        yield from turn.finish(DEFAULT_USAGE)

    return writes()


@agent_scenario("reasoning")
def reasoning(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    yield STEP_STARTED
    for piece in REASONING_PIECES:
        yield turn.thinking(piece)
    yield update(thinking_completed=pb.ThinkingDone(thinking_duration_ms=REASONING_DURATION_MS))
    for piece in split_text(REASONING_ANSWER):
        yield turn.text(piece)
    yield STEP_COMPLETED
    yield from turn.finish(DEFAULT_USAGE)


@agent_scenario("usage")
def usage(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    return _plain(turn, [USAGE_TEXT], usage_from(chosen.arg))


@agent_scenario("usage_snapshots")
def usage_snapshots(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    """Two turn_ended: a snapshot (halved), then the final numbers: the last one wins."""
    final = usage_from(chosen.arg)

    def writes() -> Iterator[bytes]:
        yield from answer(turn, [USAGE_TEXT])
        yield update(turn_ended=pb.TurnEnded(**{key: value // SNAPSHOT_DIVISOR for key, value in final.items()}))
        yield from turn.finish(final)

    return writes()


@agent_scenario("gzip")
def gzipped(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    accepted = turn.request.header("connect-accept-encoding") or ""
    if "gzip" not in [part.strip() for part in accepted.split(",")]:
        raise BadArgument("the client did not send connect-accept-encoding: gzip")

    def writes() -> Iterator[bytes]:
        yield from answer(turn, list(GZIP_PIECES), compress=True)
        yield from turn.finish(DEFAULT_USAGE)

    return writes()


@agent_scenario("unicode")
def unicode(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    """CJK, emoji and accents in 4-character deltas, the whole stream in 5-byte writes."""

    def writes() -> Iterator[bytes]:
        body = b"".join(answer(turn, split_text(UNICODE_TEXT, 4)))
        body += checkpoint(turn.blob_ids) + update(turn_ended=pb.TurnEnded(**DEFAULT_USAGE)) + end_stream()
        turn.record["usage"] = dict(DEFAULT_USAGE)
        pieces = [body[start : start + UNICODE_WRITE_BYTES] for start in range(0, len(body), UNICODE_WRITE_BYTES)]
        for piece in pieces[:-1]:
            yield piece
            yield from turn.pause(0.001)  # so the client really reads the writes one by one
        raise TurnOver("completed", None, (pieces[-1],))

    return writes()


# -- tool calls ------------------------------------------------------------------------------


def _tool_args(text: str) -> dict:
    try:
        args = json.loads(text) if text else {}
    except ValueError:
        raise BadArgument(f"JSON_ARGS is not JSON: {text!r}") from None
    if not isinstance(args, dict):
        raise BadArgument("JSON_ARGS must be a JSON object")
    return args


def _call(turn: Turn, tool_name: str, args: dict, index: int) -> tuple[list[bytes], Query]:
    """A call's partial_tool_call updates and tool_call_started, and its mcp_args exec."""
    tool = turn.tool_named(tool_name)
    call_id = f"toolu_fake_{turn.request_id[:8]}_{index}"
    model_call_id = f"mc_{turn.request_id[-12:]}_{index}"
    args_json = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
    bare = pb.McpArgs(name=tool.name, tool_call_id=call_id, provider_identifier=TOOL_PROVIDER, tool_name=tool.tool_name)
    full = pb.McpArgs()
    full.CopyFrom(bare)
    for key, value in args.items():
        ParseDict(value, full.args[key])
    updates = []
    for piece in range(1, PARTIAL_PIECES + 1):
        cumulative = args_json[: len(args_json) * piece // PARTIAL_PIECES]
        partial = pb.PartialToolCall(
            call_id=call_id,
            tool_call=pb.ToolCall(mcp_tool_call=pb.McpToolCall(args=bare)),
            args_text_delta=cumulative,
            model_call_id=model_call_id,
        )
        updates.append(update(partial_tool_call=partial))
    started = pb.ToolCallEvent(
        call_id=call_id, tool_call=pb.ToolCall(mcp_tool_call=pb.McpToolCall(args=full)), model_call_id=model_call_id
    )
    updates.append(update(tool_call_started=started))

    call = {
        "call_id": call_id,
        "model_call_id": model_call_id,
        "name": tool.name,
        "tool_name": tool.tool_name,
        "args": args,
        "exec_id": None,
        "id": None,
        "result": None,
    }

    def check(result: pb.McpResult) -> str | None:  # same-stream resume (PROTOCOL_AGENT §5.3 A)
        got = result.WhichOneof("result")
        if got != "success":
            return f"mcp_result is {got}, expected success"
        call["result"] = content_text(result.success.content)
        return None

    query = turn.exec_query("mcp_args", full, "mcp_result", check, times_out=False)
    call.update(exec_id=query.exec_id, id=query.id)
    turn.record["tool_calls"].append(call)
    return updates, query


def _tool_step(turn: Turn, calls: list[tuple[str, dict]]) -> Iterator[bytes]:
    for name, _ in calls:
        turn.tool_named(name)  # BadArgument now, before any query

    def writes() -> Iterator[bytes]:
        built = [_call(turn, name, args, index) for index, (name, args) in enumerate(calls)]
        yield STEP_STARTED
        for updates, _ in built:
            yield from updates
        queries = [query for _, query in built]
        for query in queries:
            yield from turn.send_query(query)
        turn.record["parked"] = True
        # parked: heartbeats only, until the client leaves, stops appending, or answers them all
        yield from turn.idle(lambda: all(query.answered for query in queries))
        turn.record["parked"] = False
        by_id = {call["id"]: call for call in turn.record["tool_calls"]}
        lines = [
            TOOL_RESULT_LINE.format(call_id=by_id[query.id]["call_id"], content=by_id[query.id]["result"])
            for query in queries
        ]
        yield STEP_COMPLETED
        yield from _plain(turn, split_text("\n".join(lines)))

    return writes()


@agent_scenario("tool")
def tool(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    name, _, args = chosen.arg.partition(":")
    if not name:
        raise BadArgument("tool needs NAME[:JSON_ARGS]")
    return _tool_step(turn, [(name, _tool_args(args))])


@agent_scenario("tools")
def tools(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    names = [name for name in chosen.arg.split(",") if name]
    if len(names) < 2:
        raise BadArgument("tools needs NAME1,NAME2")
    return _tool_step(turn, [(name, {}) for name in names])


@agent_scenario("tool_results")
def tool_results(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    """A turn whose history ends with tool results: `Tool result for <call_id>: <text>` each."""
    results = trailing_tool_results(turn.run.action.user_message_action)
    lines = [
        TOOL_RESULT_LINE.format(call_id=result.tool_call_id, content=content_text(result.content)) for result in results
    ]
    return _plain(turn, split_text("\n".join(lines)))


# -- queries mid-answer ----------------------------------------------------------------------


@agent_scenario("interaction")
def interaction(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    yield STEP_STARTED
    yield turn.text(INTERACTION_BEFORE)
    yield from turn.ask([turn.web_search_query(WEB_SEARCH_TERM)])
    yield turn.text(INTERACTION_AFTER)
    yield STEP_COMPLETED
    yield from turn.finish(DEFAULT_USAGE)


@agent_scenario("builtin_exec")
def builtin_exec(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    yield STEP_STARTED
    yield turn.text(BUILTIN_BEFORE)
    shell = turn.rejected_exec_query(
        "shell_args", pb.ShellArgs(command=SHELL_COMMAND, working_directory="/"), "shell_result"
    )
    read = turn.rejected_exec_query("read_args", pb.ReadArgs(path=READ_PATH), "read_result")
    yield from turn.ask([shell, read])
    abort = pb.ExecServerControlMessage(abort=pb.ExecAbort(id=shell.id))  # answer owed: none
    yield frame(pb.AgentServerMessage(exec_server_control_message=abort))
    yield turn.text(BUILTIN_AFTER)
    yield STEP_COMPLETED
    yield from turn.finish(DEFAULT_USAGE)


@agent_scenario("kv")
def kv(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    """Set a blob and read it back, read an unknown blob (must be empty), and read back every
    blob this fake set in earlier kv turns of the conversation (the client's store keeps them)."""
    conversation = turn.run.conversation_id
    earlier = list(turn.service.blob_memory.get(conversation, ()))
    data = json.dumps({"run_id": turn.run.run_id, "at": time.time()}).encode()
    yield from turn.ask([turn.set_blob_query(data)])
    unknown = bytes(32)  # no client was ever asked to keep it
    reads = [turn.get_blob_query(turn.blob_ids[-1], data), turn.get_blob_query(unknown, b"")]
    reads += [turn.get_blob_query(blob_id, blob) for blob_id, blob in earlier]
    yield from turn.ask(reads)
    turn.service.blob_memory.setdefault(conversation, []).append((turn.blob_ids[-1], data))
    yield from _plain(turn, [KV_TEXT])


@agent_scenario("checkpoint")
def checkpoint_scenario(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    before, after = CHECKPOINT_PIECES
    yield STEP_STARTED
    yield turn.text(before)
    yield checkpoint([*turn.blob_ids, bytes(range(32))])
    yield turn.text(after)
    yield STEP_COMPLETED
    yield from turn.finish(DEFAULT_USAGE)


# -- errors and broken streams ---------------------------------------------------------------


def _error_name(arg: str) -> str:
    try:
        return error_name(arg)
    except ValueError:
        raise BadArgument(f"{arg!r} is not an ErrorDetails.Error name") from None


def failure(turn: Turn, name: str) -> TurnOver:
    if name == UPDATE_REQUIRED_ERROR:
        body = error_body(name, UPDATE_REQUIRED_TITLE, UPDATE_REQUIRED_DETAIL, UPDATE_REQUIRED_ACTION)
        return TurnOver("error", name, (end_stream(body),))
    return turn.fail(name)


@agent_scenario("error")
def error(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    name = _error_name(chosen.arg)
    turn.skip_queries = True

    def writes() -> Iterator[bytes]:
        raise failure(turn, name)
        yield  # a generator

    return writes()


@agent_scenario("error_mid")
def error_mid(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    name = _error_name(chosen.arg)

    def writes() -> Iterator[bytes]:
        yield STEP_STARTED
        for piece in MID_ERROR_PIECES:
            yield turn.text(piece)
            yield from turn.pause(CHUNK_PAUSE)
        raise failure(turn, name)

    return writes()


@agent_scenario("soft_block")
def soft_block(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    raise TurnOver("soft_block", "a clean end with nothing in it", (end_stream(),))
    yield  # a generator


@agent_scenario("cut")
def cut(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    yield STEP_STARTED
    for piece in CUT_PIECES:
        yield turn.text(piece)
    yield from turn.pause(CHUNK_PAUSE)  # let the client read the text before the connection goes
    turn.wire.drop()
    raise TurnOver("cut", "the connection was dropped mid-stream")


@agent_scenario("garbage_after_end")
def garbage_after_end(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    yield from answer(turn, split_text(COMPLETE_TEXT))
    yield from turn.finish(DEFAULT_USAGE, after=(GARBAGE,))


# -- timing ----------------------------------------------------------------------------------


@agent_scenario("slow_first_frame")
def slow_first_frame(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    [seconds] = _numbers(chosen.arg, 5.0)
    turn.silence_before = seconds
    return _plain(turn, [LATE_TEXT])


@agent_scenario("slow_headers")
def slow_headers(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    raise BadArgument(
        "the run request arrives after RunSSE's headers: use an account whose user id contains "
        f"{SLOW_HEADERS_MARKER}[SECONDS]"
    )


@agent_scenario("silence")
def silence(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    [seconds] = _numbers(chosen.arg, 5.0)
    before, after = SILENCE_PIECES

    def writes() -> Iterator[bytes]:
        yield STEP_STARTED
        yield turn.text(before)
        yield from turn.pause(seconds)
        yield turn.text(after)
        yield STEP_COMPLETED
        yield from turn.finish(DEFAULT_USAGE)

    return writes()


@agent_scenario("ticks")
def ticks(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    count, interval_ms = _numbers(chosen.arg, 10, 100.0)

    def writes() -> Iterator[bytes]:
        yield STEP_STARTED
        started = time.monotonic()
        for index in range(count):
            # to the schedule, not a fixed pause, so drift does not accumulate
            yield from turn.pause(max(0.0, started + (index + 1) * interval_ms / 1000 - time.monotonic()))
            yield turn.text(f"tick {index} ")
        yield STEP_COMPLETED
        yield from turn.finish(DEFAULT_USAGE)

    return writes()


@agent_scenario("big")
def big(turn: Turn, chosen: Directive) -> Iterator[bytes]:
    [total] = _numbers(chosen.arg, 8 * 1024 * 1024)
    pieces = -(-total // len(BIG_PIECE))

    def writes() -> Iterator[bytes]:
        yield STEP_STARTED
        one = turn.text(BIG_PIECE)  # built once; the record keeps only the first 64 KiB of text anyway
        turn.record["text_length"] += (pieces - 1) * len(BIG_PIECE)
        for start in range(0, pieces, BIG_PIECES_PER_WRITE):
            yield one * min(BIG_PIECES_PER_WRITE, pieces - start)
        yield STEP_COMPLETED
        yield from turn.finish(DEFAULT_USAGE)

    return writes()
