"""JSON values as `google.protobuf.Value` and back (tool schemas out, tool arguments in)."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2


def to_value(data: dict) -> struct_pb2.Value:
    """A JSON object (a tool's JSON Schema) as a Value."""
    return json_format.ParseDict(data, struct_pb2.Value())


def from_value(value: struct_pb2.Value) -> object:
    """The Python value of a Value, recursively. Value has only doubles, so a whole-number
    double becomes an int: a tool declared `{"type": "integer"}` must get `3`, not `3.0`
    (PROTOCOL_AGENT §5.2, AGENT_WIRE §5). An unset Value reads as null."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return {key: from_value(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [from_value(item) for item in value.list_value.values]
    return None
