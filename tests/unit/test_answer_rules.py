"""The gateway's own `stop`, token limit and `response_format` handling (D32)."""

from __future__ import annotations

from app.answer_rules import AnswerRules
from app.cursor.events import ReasoningDelta, TextDelta, ToolCall


def run(rules: AnswerRules, *pieces: str) -> str:
    out = []
    for piece in pieces:
        out += rules.feed([TextDelta(piece)])
        if rules.done:
            break
    out += rules.flush()
    return "".join(p.text for p in out if isinstance(p, TextDelta))


def test_stop_cuts_before_the_sequence_also_across_pieces():
    rules = AnswerRules(stops=("END",))
    assert run(rules, "one E", "N", "D two") == "one "
    assert rules.finish_reason == "stop"
    plain = AnswerRules(stops=("END",))
    assert run(plain, "no E", "nd here") == "no End here" and plain.finish_reason is None


def test_the_earliest_stop_cuts_and_is_named():
    rules = AnswerRules(stops=("later", "soon"))
    assert run(rules, "a soon b later") == "a " and rules.stop_sequence == "soon"
    assert AnswerRules(stops=("x",)).stop_sequence is None


def test_stop_holds_back_only_a_possible_prefix():
    rules = AnswerRules(stops=("XYZ",))
    assert [p.text for p in rules.feed([TextDelta("abcdef")])] == ["abcd"]
    assert [p.text for p in rules.feed([ReasoningDelta("r")])] == ["ef", "r"]


def test_token_limit_cuts_at_the_limit_in_cl100k_tokens():
    rules = AnswerRules(max_tokens=3)  # cl100k: abc|de, then f|gh|ij
    assert run(rules, "abcde", "fghij", "more") == "abcdef"
    assert rules.finish_reason == "length"
    exact = AnswerRules(max_tokens=1)
    assert run(exact, "你好") == "你" and exact.finish_reason == "length"  # no half character
    roomy = AnswerRules(max_tokens=50)
    assert run(roomy, "abcde", "fghij") == "abcdefghij" and roomy.finish_reason is None


def test_json_fences_are_stripped_streamed_in_pieces():
    rules = AnswerRules(json_mode=True)
    assert run(rules, "``", '`json\n{"a"', ": 1}\n`", "``\n") == '{"a": 1}'
    assert run(AnswerRules(json_mode=True), '{"a": "`x`"}') == '{"a": "`x`"}'


def test_schema_answer_is_checked():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    good = AnswerRules(schema=schema)
    assert run(good, "```json\n", '{"a": 1}', "\n```") == '{"a": 1}' and good.refusal is None
    bad = AnswerRules(schema=schema)
    assert run(bad, '{"a": "x"}') == "" and "schema" in (bad.refusal or "")
    prose = AnswerRules(schema=schema)
    assert run(prose, "sorry") == "" and "not valid JSON" in (prose.refusal or "")


def test_tool_calls_pass_and_release_held_text():
    rules = AnswerRules(stops=("STOP",))
    call = ToolCall("id", "f", "{}")
    out = rules.feed([TextDelta("ab"), call])
    assert "".join(p.text for p in out if isinstance(p, TextDelta)) == "ab" and out[-1] == call
