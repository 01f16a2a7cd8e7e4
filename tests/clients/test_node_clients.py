"""Node clients against the gateway under gunicorn and the fake (issue #10 item 6): the `openai`
package's `runTools()` and the Vercel AI SDK (`generateText` with a tool and `stopWhen`, over
Chat Completions and over the Responses API, `generateObject`, `streamText` usage). Each scenario is a script in tests/clients/node (pinned in
its package.json and package-lock.json, installed by `npm ci`) that prints JSON of what it got;
these tests check that and the fake's record of the upstream turns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.clients.common import COMPLETION_TOKENS, PROMPT_TOKENS
from tests.support import ROOT

NODE_DIR = ROOT / "tests" / "clients" / "node"
INSTALL = "npm ci --prefix tests/clients/node"


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary; the packages installed, else a failure saying how (CI runs `npm ci`)."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("these tests need Node.js 20 or later on PATH")
    if not (NODE_DIR / "node_modules" / ".package-lock.json").is_file():
        pytest.fail(f"the Node clients are not installed: run `{INSTALL}` first")
    return binary


def run_script(node: str, server, script: str, *arguments: str) -> dict:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TZ") if key in os.environ}
    env.update(GATEWAY_URL=server.url, GATEWAY_API_KEY="admin-secret", NO_COLOR="1")
    done = subprocess.run(
        [node, script, *arguments], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"node {script} exited with {done.returncode}:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def two_tool_turns(fake) -> tuple[dict, dict]:
    """The fake's last two turns: the one that called get_weather and the one with its result."""
    first, second = fake.agent_turns()[-2:]
    assert [tool["tool_name"] for tool in first["run_request"]["mcp_tools"]["tools"]] == ["get_weather"]
    assert first["scenario"] == "tool" and second["scenario"] == "tool_results"
    return first, second


def last_history_message(turn: dict) -> dict:
    return turn["run_request"]["action"]["user_message_action"]["conversation_history"]["messages"][-1]


def test_openai_run_tools_completes_a_two_step_loop(node, server, upstream):
    got = run_script(node, server, "openai-run-tools.mjs")
    assert got["finish_reasons"] == ["tool_calls", "stop"]
    assert [message["role"] for message in got["messages"]] == ["user", "assistant", "tool", "assistant"]
    (call,) = got["messages"][1]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert got["content"] == f"Tool result for {call['id']}: sunny in Paris"
    _, second = two_tool_turns(upstream)
    assert last_history_message(second)["tool"]["tool_call_id"] == call["id"]


@pytest.mark.parametrize(
    "api",
    [
        "chat",  # createOpenAI(...).chat(id): Chat Completions
        "responses",  # createOpenAI(...)(id), the provider's default: the Responses API
    ],
)
def test_ai_sdk_generate_text_with_a_tool_takes_two_steps(node, server, upstream, api):
    got = run_script(node, server, "ai-generate-text.mjs", api)
    call_step, text_step = got["steps"]
    assert call_step["finishReason"] == "tool-calls" and text_step["finishReason"] == "stop"
    (call,) = call_step["toolCalls"]
    assert call["toolName"] == "get_weather" and call["input"] == {"city": "Paris"}
    assert call_step["toolResults"] == [{"toolCallId": call["toolCallId"], "output": "sunny in Paris"}]
    assert got["text"] == text_step["text"] == f"Tool result for {call['toolCallId']}: sunny in Paris"
    # The text step carries Cursor's count. (The tool-call step reports 0: the gateway ends a turn
    # parked on a tool call before Cursor's turn_ended, so no count exists for it.)
    assert (text_step["usage"]["inputTokens"], text_step["usage"]["outputTokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    _, second = two_tool_turns(upstream)
    assert last_history_message(second)["tool"]["tool_call_id"] == call["toolCallId"]


def test_ai_sdk_generate_object_parses_into_the_zod_schema(node, server, upstream):
    got = run_script(node, server, "ai-generate-object.mjs")
    assert got["object"] == {"name": "Paris", "population": 2100000} and got["finishReason"] == "stop"
    (system,) = upstream.agent_turns()[-1]["run_request"]["action"]["user_message_action"]["prepend_user_messages"]
    assert "JSON Schema" in system["text"] and '"population"' in system["text"]


def test_ai_sdk_stream_text_reads_usage(node, server):
    got = run_script(node, server, "ai-stream-text.mjs")
    assert got["pieces"] == ["Streamed", " to", " the", " SDK"] and got["text"] == "Streamed to the SDK"
    usage = got["usage"]
    assert (usage["inputTokens"], usage["outputTokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert usage["totalTokens"] == PROMPT_TOKENS + COMPLETION_TOKENS
    assert usage["inputTokenDetails"]["cacheReadTokens"] == 300
    assert usage["outputTokenDetails"]["reasoningTokens"] == 16
