"""What the benchmark asks of each protocol generation: the model, and the fake's own scenarios
(tests/fake_cursor/scenarios.py for `legacy`, agent_scenarios.py for `agent`) with exactly what
each must deliver. The same four measures on both paths, with the same texts where the fakes
allow."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tests.fake_cursor import agent_scenarios, scenarios

PROTOCOLS = ("agent", "legacy")  # the default generation first (issue #15)
# a model each path's fake serves: gpt-4o is in the usage check's default list (SPEC §6.5), so the
# default gateway fetches account profiles on `legacy`; claude-4.5-sonnet is in the agent catalog
MODELS = {"agent": "claude-4.5-sonnet", "legacy": "gpt-4o"}


@dataclass(frozen=True)
class Scenario:
    message: str  # the fake:... directive
    stream: bool
    expected_text: str
    marker: str = ""  # TTFB is the time until this text arrives
    body_sha256: str = ""  # through the relay or direct, the body must be exactly the fake's


def ticks(count: int) -> str:
    return "".join(f"tick {index} " for index in range(count))


def scenarios_for(protocol: str, big_bytes: int, stream_frames: int) -> dict[str, Scenario]:
    found = {}  # in the order they are measured
    if protocol == "agent":
        # no one-write answer on the agent path: a delta per word, each its own write
        found["short"] = Scenario(f"fake:text:{scenarios.ONESHOT_TEXT}", False, scenarios.ONESHOT_TEXT)
        # the stream carries per-turn ids (the exec query's), so the text is checked, not a hash
        big_text = agent_scenarios.BIG_PIECE * -(-big_bytes // len(agent_scenarios.BIG_PIECE))
        found["big"] = Scenario(f"fake:big:{big_bytes}", True, big_text)
    else:
        found["short"] = Scenario("fake:oneshot", False, scenarios.ONESHOT_TEXT)
        # the body exactly as the fake writes it, so the relay's copy is checked byte for byte
        big_body = b"".join(scenarios.big(scenarios.Call(str(big_bytes), "", "", None)).writes)
        big_text = scenarios.BIG_FRAME_TEXT * -(-big_bytes // len(scenarios.BIG_FRAME_TEXT))
        found["big"] = Scenario(
            f"fake:big:{big_bytes}", True, big_text, body_sha256=hashlib.sha256(big_body).hexdigest()
        )
    found["ttfb"] = Scenario("fake:ticks:3:0", True, ticks(3), marker="tick 0 ")
    found["streams"] = Scenario(f"fake:ticks:{stream_frames}:100", True, ticks(stream_frames), marker="tick 0 ")
    return found
