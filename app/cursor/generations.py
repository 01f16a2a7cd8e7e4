"""Cursor's protocol generations behind one seam (D25, docs/ARCHITECTURE.md "Fronts and generations").

Each generation turns one `ChatTurn` into the same typed events (app/cursor/events.py); the
services pick one by name from the settings and never see its messages. Adding the next
generation is a module with a `Generation` and one line in `GENERATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.cursor.client import CursorClient
from app.cursor.events import Event
from app.cursor.messages import ChatTurn


class UpstreamAnswer(Protocol):
    """An open answer, read by one thread or greenlet."""

    def batches(self, tick: float | None = None) -> Iterator[list[Event] | None]:
        """The events of each network read, and None after every `tick` seconds without one
        (never, when `tick` is None); raises a CursorError when the answer fails."""
        ...

    def abort(self) -> None:
        """Stop a read in progress, from another thread or greenlet."""
        ...

    def close(self) -> None:
        """Release the answer (ending the upstream turn if it is still running)."""
        ...


@dataclass(frozen=True, slots=True)
class UpstreamCredential:
    """What a generation sends as the account: a session token (an access token on `agent`),
    and the checksum `legacy` needs."""

    token: str
    checksum: str


class BlobKeeper(Protocol):
    """Where the KV blobs of a conversation live between its turns (the store)."""

    def load(self, conversation_id: str) -> Mapping[bytes, bytes]: ...

    def save(self, conversation_id: str, blobs: Mapping[bytes, bytes]) -> None: ...


class Generation(Protocol):
    name: str
    supports_tools: bool

    def open(
        self, turn: ChatTurn, credential: UpstreamCredential, *, timeout: float, idle_timeout: float
    ) -> UpstreamAnswer:
        """Send the turn and wait up to `timeout` for the answer to start. Raises a CursorError
        (UpstreamTimeout, TransportError, UpstreamError) or ValueError for a turn that cannot be
        encoded."""
        ...


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """What a generation may need from the settings."""

    agent_base_url: str
    client_type: str
    client_version: str
    ghost_mode: bool
    heartbeat_seconds: float
    blobs: BlobKeeper


def _legacy(client: CursorClient, options: GenerationOptions) -> Generation:
    from app.cursor.legacy import LegacyGeneration

    return LegacyGeneration(client)


def _agent(client: CursorClient, options: GenerationOptions) -> Generation:
    from app.cursor.agent.generation import AgentGeneration

    return AgentGeneration(client, options)


GENERATIONS: dict[str, Callable[[CursorClient, GenerationOptions], Generation]] = {
    "agent": _agent,
    "legacy": _legacy,
}
