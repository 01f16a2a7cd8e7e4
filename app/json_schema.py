"""JSON Schema checks for `response_format` / `text.format` json_schema (D32), with the
`jsonschema` library (Draft 2020-12).

The library is imported on first use, not at start-up: about 3 MB in every gateway process
(master and workers) that most chats never need (issue #15: the memory of 1000 streams)."""

from __future__ import annotations

import json


def invalid_schema(schema: dict) -> str | None:
    """Why `schema` is not a valid JSON Schema, or None when it is."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    return None


def answer_problem(text: str, schema: dict) -> str | None:
    """Why `text` is not JSON valid against `schema`, or None when it is."""
    import jsonschema

    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"The model's answer is not valid JSON ({exc}), so it cannot match the requested schema"
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"The model's answer does not match the requested schema at {where}: {error.message}"
