"""The agent generation's entry point: a `ChatTurn` as one RunSSE + BidiAppend turn."""

from __future__ import annotations

from collections.abc import Iterator

from app.cursor.agent.run_request import prepare_turn
from app.cursor.agent.transport import AgentClient, AgentTurn
from app.cursor.agent.unary import AgentIdentity
from app.cursor.client import CursorClient
from app.cursor.events import Event, ReasoningDelta, TextDelta
from app.cursor.generations import BlobKeeper, GenerationOptions, UpstreamCredential
from app.cursor.messages import ChatTurn


def joined_deltas(events: list[Event]) -> list[Event]:
    """The events of one network read with each run of text (or of reasoning) deltas joined into
    one: a client sees the same text in fewer SSE events, and a large answer costs one encoding
    per read instead of one per delta (issue #15). Only here: on `legacy` the real capture's
    vector pins one event per upstream message."""
    joined: list[Event] = []
    run: list[TextDelta | ReasoningDelta] = []  # consecutive deltas of one kind

    def close_run() -> None:
        if run:
            joined.append(run[0] if len(run) == 1 else type(run[0])("".join(delta.text for delta in run)))
            run.clear()

    for event in events:
        if isinstance(event, (TextDelta, ReasoningDelta)):
            if run and type(run[0]) is not type(event):
                close_run()
            run.append(event)
        else:
            close_run()
            joined.append(event)
    close_run()
    return joined


class _KeptTurn:
    """An agent turn whose KV blobs are kept for the conversation's later turns when it closes."""

    def __init__(self, turn: AgentTurn, conversation_id: str, keeper: BlobKeeper) -> None:
        self._turn = turn
        self._conversation_id = conversation_id
        self._keeper = keeper

    def batches(self, tick: float | None = None) -> Iterator[list[Event] | None]:
        for events in self._turn.batches(tick):
            yield None if events is None else joined_deltas(events)

    def abort(self) -> None:
        self._turn.abort()

    def close(self) -> None:
        self._turn.close()
        if self._turn.stored_blobs:
            self._keeper.save(self._conversation_id, self._turn.stored_blobs)


class AgentGeneration:
    name = "agent"
    supports_tools = True

    def __init__(self, client: CursorClient, options: GenerationOptions) -> None:
        self.identity = AgentIdentity(options.client_type, options.client_version, options.ghost_mode)
        self._client = AgentClient(
            client.session, options.agent_base_url, self.identity, heartbeat_seconds=options.heartbeat_seconds
        )
        self._blobs = options.blobs

    def open(self, turn: ChatTurn, credential: UpstreamCredential, *, timeout: float, idle_timeout: float) -> _KeptTurn:
        prepared = prepare_turn(turn)
        blobs = self._blobs.load(prepared.conversation_id)
        opened = self._client.open_turn(
            prepared, token=credential.token, timeout=timeout, idle_timeout=idle_timeout, blobs=blobs
        )
        return _KeptTurn(opened, prepared.conversation_id, self._blobs)
