"""The client's functions as MCP tools of the `custom-user-tools` provider (AGENT_WIRE §3).

The model sees each tool under a wire name: `custom-user-tools-` plus the function name with
every character outside `[A-Za-z0-9_-]` replaced by `_`, at most 64 characters. A name that had
to be shortened, or that collides with another function's, ends with `-` and 6 hex digits of the
sha256 of the function name, so distinct functions keep distinct wire names. Calls come back
under the wire name and are mapped back to the client's name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence

from app.cursor.agent.values import to_value
from app.cursor.messages import ToolSpec
from app.cursor.proto import agent_pb2

PROVIDER = "custom-user-tools"
WIRE_PREFIX = f"{PROVIDER}-"
MAX_WIRE_NAME = 64
_HASH_SUFFIX = 7  # "-" and 6 hex digits
_OUTSIDE_ALPHABET = re.compile(r"[^A-Za-z0-9_-]")


def _plain_wire_name(name: str) -> str:
    return WIRE_PREFIX + _OUTSIDE_ALPHABET.sub("_", name)


def _hashed_wire_name(name: str) -> str:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return f"{_plain_wire_name(name)[: MAX_WIRE_NAME - _HASH_SUFFIX]}-{digest}"


class ToolNames:
    """Wire names for one turn's functions, both ways. Built from the whole tool list, because
    whether a name collides depends on the others."""

    def __init__(self, names: Iterable[str]) -> None:
        unique = list(dict.fromkeys(names))
        plain_counts: dict[str, int] = {}
        for name in unique:
            plain = _plain_wire_name(name)
            plain_counts[plain] = plain_counts.get(plain, 0) + 1
        self._wire: dict[str, str] = {}
        for name in unique:
            plain = _plain_wire_name(name)
            clashes = plain_counts[plain] > 1
            self._wire[name] = _hashed_wire_name(name) if clashes or len(plain) > MAX_WIRE_NAME else plain
        self._client = {wire: name for name, wire in self._wire.items()}

    def __bool__(self) -> bool:
        return bool(self._wire)

    def wire(self, name: str) -> str:
        """The wire name of a function; one the turn does not declare (a call from an earlier
        turn's tool list) gets the same rule without the collision check."""
        known = self._wire.get(name)
        if known is not None:
            return known
        plain = _plain_wire_name(name)
        return _hashed_wire_name(name) if len(plain) > MAX_WIRE_NAME else plain

    def client(self, wire_name: str, tool_name: str = "") -> str:
        """The client's function name for a call the server reports by wire name and by the
        definition's `tool_name`; a wire name this turn did not declare keeps the best name it
        came with."""
        if wire_name in self._client:
            return self._client[wire_name]
        return tool_name or wire_name.removeprefix(WIRE_PREFIX)


def tool_definitions(tools: Sequence[ToolSpec], names: ToolNames) -> list[agent_pb2.McpToolDefinition]:
    """One McpToolDefinition per function (the first of a repeated name), its schema both as a
    Value (field 3) and as JSON text (field 6): which one the backend reads is not known
    (PROTOCOL_AGENT §12), and sending both is harmless."""
    seen: set[str] = set()
    definitions = []
    for tool in tools:
        if tool.name in seen:
            continue
        seen.add(tool.name)
        definitions.append(
            agent_pb2.McpToolDefinition(
                name=names.wire(tool.name),
                description=tool.description,
                input_schema=to_value(tool.parameters),
                provider_identifier=PROVIDER,
                tool_name=tool.name,
                input_schema_json=json.dumps(tool.parameters, separators=(",", ":"), ensure_ascii=False),
            )
        )
    return definitions
