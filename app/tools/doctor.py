"""A doctor for when Cursor moves (issue #12): which protocol generation still answers, and which
setting to change when one does not.

    python -m app.tools.doctor [--token TOKEN[,CHECKSUM] | --key crsr_…]

Without a credential it takes the first usable token of the pool (the settings' store). For
each generation it calls the model list (agent) and a one-word chat, and prints what worked and
what failed, with Cursor's own error text and the setting to change. No quota is spent beyond
those calls; tokens are masked in the output. The config page runs the same checks (admin only).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass

from app.cursor.agent.api_keys import exchange_api_key
from app.cursor.agent.models import fetch_catalog
from app.cursor.agent.unary import AgentIdentity
from app.cursor.checksum import repair_checksum
from app.cursor.client import CursorClient, Upstream
from app.cursor.errors import CursorError, EmptyAnswer, TransportError, UpstreamError, UpstreamTimeout, is_stale_client
from app.cursor.events import TextDelta
from app.cursor.generations import GENERATIONS, GenerationOptions, UpstreamCredential
from app.cursor.messages import ChatMessage, ChatTurn
from app.cursor.session_token import is_api_key
from app.services.request_log import masked
from app.settings import Settings

PROMPT = "Answer with one word: hello."
LEGACY_MODEL = "gpt-4o"
AUTH_ERRORS = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Check:
    generation: str
    step: str
    ok: bool
    detail: str
    setting: str | None = None  # what to change when it failed


class _NoBlobs:
    def load(self, conversation_id: str) -> dict[bytes, bytes]:
        return {}

    def save(self, conversation_id: str, blobs) -> None:
        pass


def advice(exc: BaseException, generation: str, settings: Settings) -> str:
    """The setting an operator changes for this failure."""
    if is_stale_client(exc):
        return f"CURSOR_CLIENT_VERSION (now {settings.cursor_client_version}): set a current Cursor CLI build id"
    if isinstance(exc, UpstreamError) and exc.error_name == "ERROR_DEPRECATED":
        return "CURSOR_PROTOCOL=agent: Cursor no longer serves this generation"
    if isinstance(exc, UpstreamError) and (exc.http_status in AUTH_ERRORS or "LOGGED_IN" in (exc.error_name or "")):
        return "the credential: sign in to Cursor again, or use another token or crsr_ key"
    if isinstance(exc, (TransportError, UpstreamTimeout)):
        host = "CURSOR_AGENT_BASE_URL" if generation == "agent" else "CURSOR_API2_BASE_URL"
        return f"{host} (or PROXIES): Cursor could not be reached"
    if isinstance(exc, EmptyAnswer):
        return "CURSOR_CLIENT_VERSION or CURSOR_CLIENT_TYPE: Cursor answered nothing (a soft block)"
    return "none known: see Cursor's message"


def _said(exc: BaseException) -> str:
    if isinstance(exc, UpstreamError):
        return ": ".join(part for part in (exc.title or exc.label, exc.detail) if part)
    return str(exc) or type(exc).__name__


def _chat(generation, turn: ChatTurn, credential: UpstreamCredential, timeout: float) -> str:
    answer = generation.open(turn, credential, timeout=timeout, idle_timeout=timeout)
    text = ""
    try:
        deadline = time.monotonic() + timeout
        for events in answer.batches(tick=1.0):  # a silent upstream still meets the deadline
            text += "".join(event.text for event in events or () if isinstance(event, TextDelta))
            if time.monotonic() > deadline:
                break
    finally:
        answer.close()
    if not text:
        raise EmptyAnswer()
    return text


def diagnose(settings: Settings, token: str, checksum: str = "") -> list[Check]:
    """Every check, in order; never raises for Cursor's answers."""
    upstream = Upstream(settings.cursor_api2_base_url, settings.cursor_web_base_url, settings.reverse_proxy_host)
    proxies = settings.proxies
    client = CursorClient(
        upstream,
        proxy_url=proxies.url if proxies.mode == "url" else None,
        use_environment_proxy=proxies.mode == "system",
    )
    options = GenerationOptions(
        agent_base_url=settings.cursor_agent_base_url,
        client_type=settings.cursor_client_type,
        client_version=settings.cursor_client_version,
        ghost_mode=settings.ghost_mode,
        heartbeat_seconds=settings.agent_heartbeat_seconds,
        blobs=_NoBlobs(),
    )
    timeout = float(settings.service_timeout)
    checks: list[Check] = []
    try:
        access = token
        if is_api_key(token):
            try:
                access = exchange_api_key(client.session, settings.cursor_api2_base_url, token, timeout).access_token
                checks.append(Check("agent", "API key exchange", True, "exchanged for a session token"))
            except CursorError as exc:
                checks.append(Check("agent", "API key exchange", False, _said(exc), advice(exc, "agent", settings)))
                return checks
        model = "default"
        identity = AgentIdentity(settings.cursor_client_type, settings.cursor_client_version, settings.ghost_mode)
        try:
            catalog = fetch_catalog(client.session, settings.cursor_api2_base_url, identity, access, timeout=timeout)
            listed = catalog.listed()
            model = listed[0].id if listed else model
            checks.append(Check("agent", "model list", True, f"{len(listed)} models"))
        except CursorError as exc:
            checks.append(Check("agent", "model list", False, _said(exc), advice(exc, "agent", settings)))
        user = (ChatMessage("user", PROMPT),)
        cases = (
            ("agent", ChatTurn(model=model, messages=user)),
            ("legacy", ChatTurn(model=LEGACY_MODEL, messages=user)),
        )
        for name, turn in cases:
            if name == "legacy" and is_api_key(token):
                continue  # StreamChat never took API keys
            generation = GENERATIONS[name](client, options)
            credential = UpstreamCredential(access, checksum or repair_checksum(""))
            try:
                text = _chat(generation, turn, credential, timeout)
                checks.append(Check(name, f"one-word chat ({turn.model})", True, f"answered {text[:60]!r}"))
            except CursorError as exc:
                checks.append(
                    Check(name, f"one-word chat ({turn.model})", False, _said(exc), advice(exc, name, settings))
                )
    finally:
        client.close()
    return checks


def report(checks: list[Check], settings: Settings, token: str) -> str:
    lines = [
        f"cursor-api doctor: CURSOR_PROTOCOL={settings.cursor_protocol}, client {settings.cursor_client_type} "
        f"{settings.cursor_client_version}, credential {masked(token)}"
    ]
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        lines.append(f"  {mark} {check.generation:6} {check.step}: {check.detail}")
        if check.setting:
            lines.append(f"       change: {check.setting}")
    working = sorted({check.generation for check in checks if check.ok and "chat" in check.step})
    if working and settings.cursor_protocol not in working:
        lines.append(f"  -> chats work on {', '.join(working)}: set CURSOR_PROTOCOL={working[0]}")
    return "\n".join(lines)


def as_json(checks: list[Check]) -> list[dict]:
    return [asdict(check) for check in checks]


def pool_token(settings: Settings) -> tuple[str, str] | None:
    """The first usable pooled token and its checksum, from the settings' store."""
    from app.services.token_health import usable
    from app.store import open_store

    store = open_store(settings.data_dir, settings.store_url)
    try:
        entries = store.get("tokens") or []
    finally:
        store.close()
    now = time.time()
    entry = next((entry for entry in entries if usable(entry.get("health"), now)), None)
    return (entry["token"], entry["checksum"]) if entry else None


def main(argv: list[str] | None = None) -> int:
    from app.settings import load_dotenv_file

    parser = argparse.ArgumentParser(prog="python -m app.tools.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--token", help="a session token, token,checksum, or a crsr_ key (default: the pool's)")
    options = parser.parse_args(argv)
    load_dotenv_file()
    settings = Settings.from_env()
    if options.token:
        token, _, checksum = options.token.partition(",")
    else:
        found = pool_token(settings)
        if found is None:
            print("no usable token in the pool: pass --token", file=sys.stderr)
            return 2
        token, checksum = found
    checks = diagnose(settings, token.strip(), checksum.strip())
    print(report(checks, settings, token.strip()))
    return 0 if any(check.ok and "chat" in check.step for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
