"""Hostile input (issue #6 item 4): schemathesis generates valid and invalid requests for every
route of /openapi.json and sends them to the gateway under real gunicorn. No answer may be an
unplanned 5xx or carry a traceback, no request may hang, and the gateway must stay healthy."""

from __future__ import annotations

import itertools

import psutil
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from app.openapi import openapi_document
from tests.fuzz.conftest import ADMIN_TOKEN, EXAMPLES, Tally

# The document the gateway serves (a test below checks it is the same), loaded at collection
# time: schemathesis' fixture-based loader does not work with pytest 9.
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict({"generation": {"mode": "all", "max-examples": EXAMPLES}}),
)

# Most requests carry the admin token so the fuzzer reaches the handlers behind authentication;
# every fourth keeps whatever credentials (or none) schemathesis generated.
_CREDENTIALS = itertools.cycle([True, True, True, False])
_SAFE_VISION = {"all": "base64", "base64-http": "base64"}
CALL_TIMEOUT = 30  # seconds; a request that takes longer counts as a hung worker


def keep_traffic_local(case) -> None:
    """Settings that would make the gateway contact hosts the fuzzer invents (an outbound proxy,
    fetching image URLs) are replaced: only 127.0.0.1 may be contacted from here."""
    if isinstance(case.body, dict):
        if isinstance(case.body.get("proxies"), str):
            case.body["proxies"] = "no"
        vision = case.body.get("vision_ability")
        if isinstance(vision, str) and vision in _SAFE_VISION:
            case.body["vision_ability"] = _SAFE_VISION[vision]


def planned_5xx(case, response: requests.Response) -> str | None:
    """The 5xx answers the SPEC prescribes, by name; None for any other."""
    body = response.text
    if response.status_code == 503 and ('"no_tokens"' in body or '"no_usable_tokens"' in body):
        return "503 pool empty or unusable (SPEC §5.2)"
    if case.path == "/config" and response.status_code == 500 and "无效的路径" in body:
        return "500 unknown page path (SPEC §8.2)"
    return None


# The state is reset once per route on purpose: within a route the examples may build on each
# other (a deleted pool stays deleted), which is part of what a hostile client can do. No
# deadline: a chat's time is the fake's, not the generator's.
@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_generated_requests_get_planned_answers(case, fresh_state, tally: Tally):
    keep_traffic_local(case)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if next(_CREDENTIALS) else {}
    response = case.call(base_url=fresh_state.url, headers=headers, timeout=CALL_TIMEOUT)
    tally.sent += 1
    tally.statuses[response.status_code] += 1
    tally.routes[case.operation.label] += 1
    assert "Traceback" not in response.text
    if response.status_code >= 500:
        planned = planned_5xx(case, response)
        if planned is None:
            tally.unexpected_5xx.append(f"{case.method} {case.path}: {response.status_code} {response.text[:300]}")
        assert planned, f"unplanned {response.status_code} on {case.method} {case.path}: {response.text[:300]}"
        tally.expected_5xx[planned] += 1


def test_the_fuzzed_description_is_the_served_one(fuzz_target):
    assert requests.get(f"{fuzz_target.url}/openapi.json", timeout=5).json() == openapi_document()


def test_gateway_is_healthy_after_the_fuzzing(fuzz_target, tally: Tally):
    assert tally.sent > 0, "the fuzz tests above sent nothing"
    assert requests.get(f"{fuzz_target.url}/health", timeout=5).json()["status"] == "healthy"
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "still there?"}]}
    answer = requests.post(f"{fuzz_target.url}/v1/chat/completions", json=body,
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    workers = {child.pid for child in psutil.Process(fuzz_target.process.pid).children()}
    assert workers == fuzz_target.worker_pids, "a worker was restarted (timed out or crashed) during the fuzzing"
    log = fuzz_target.log()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log[-3000:]
