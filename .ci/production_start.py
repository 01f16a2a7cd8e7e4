"""CI: prove the production install. `python3 .ci/production_start.py`, run by .ci/run before the
dev venv exists.

In a scratch copy of the repository (what a clone holds: git's tracked and unignored files, no
.venv, .env, .tokens or data/), build a clean venv from requirements.txt alone, start the fake of
Cursor's service from it (it needs only gevent, protobuf and requests), then run the README's
start command exactly as its first ```sh block writes it, with a free PORT, an AUTH_TOKEN, a
pooled token and the upstream URLs pointed at the fake. It must answer GET /health and one
non-streaming chat with content, then exit on SIGTERM. Any failure prints the server's log and
exits non-zero, so a dependency that only requirements-dev.txt brings in cannot hide a broken
start.

Only the standard library is used here (no venv exists yet). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIP_SECONDS = float(os.environ.get("PRODUCTION_PIP_SECONDS", "120"))  # venv + pip install
READY_SECONDS = 30.0  # the fake, once its venv exists
START_SECONDS = 90.0  # the README command: its (idempotent) venv and pip steps, then gunicorn
STOP_SECONDS = 40.0  # longer than gunicorn.conf.py's graceful_timeout (30 s)
AUTH_TOKEN = "ci-production-admin-token"
# Copied into the scratch repository: never the developer's state (also in .gitignore).
NOT_COPIED = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
              "data", ".tokens", ".env", "debug.log"}  # fmt: skip


class Failure(Exception):
    """The production start failed; the message says how."""


def log(message: str) -> None:
    print(f"production start: {message}", flush=True)


def readme_start_command(root: Path) -> str:
    """The README's first ```sh block: the command a newcomer copies (tests/unit/test_readme.py)."""
    blocks = re.findall(r"```sh\n(.*?)\n```", (root / "README.md").read_text(encoding="utf-8"), re.S)
    if not blocks:
        raise Failure("README.md has no ```sh block")
    command = blocks[0].strip()
    if "pip install -r requirements.txt" not in command or "gunicorn" not in command:
        raise Failure(f"README.md's first ```sh block is not the start command: {command!r}")
    return command


def repository_files(root: Path) -> list[Path]:
    """What a clone would hold: tracked plus untracked-but-not-ignored files (so work in progress
    is tested too). Outside a git checkout: every file except NOT_COPIED."""
    if (root / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True, timeout=60,
        ).stdout.decode()  # fmt: skip
        paths = [Path(name) for name in listed.split("\0") if name]
    else:
        paths = [path.relative_to(root) for path in root.rglob("*") if path.is_file()]
    return [path for path in paths if not NOT_COPIED.intersection(path.parts) and (root / path).is_file()]


def copy_repository(root: Path, target: Path) -> None:
    for relative in repository_files(root):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, destination)


def clean_environment() -> dict[str, str]:
    """The caller's environment without any Python or gateway setting: pip keeps its own
    configuration (index, proxy, certificates), nothing the gateway reads leaks in."""
    environment = dict(os.environ)
    active = environment.pop("VIRTUAL_ENV", None)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "GUNICORN_CMD_ARGS", "PROMETHEUS_MULTIPROC_DIR"):
        environment.pop(name, None)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M)):
        environment.pop(name, None)  # every variable the gateway reads
    if active:  # an activated venv's python3 must not build the production venv
        path = environment.get("PATH", "").split(os.pathsep)
        environment["PATH"] = os.pathsep.join(entry for entry in path if not entry.startswith(active))
    return environment


def run_bounded(command: list[str], cwd: Path, env: dict[str, str], seconds: float, what: str) -> str:
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired as expired:
        raise Failure(f"{what} did not finish within {seconds:.0f} s") from expired
    if result.returncode != 0:
        raise Failure(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                         **(headers or {})})  # fmt: skip
    # Loopback only, never through a proxy the environment names.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(sent, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(predicate, seconds: float, what: str, alive=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise Failure(f"{what}: the process exited")
        if predicate():
            return
        time.sleep(0.2)
    raise Failure(f"{what}: not within {seconds:.0f} s")


def answers_health(url: str) -> bool:
    try:
        return request("GET", f"{url}/health")[0] == 200
    except OSError:
        return False


def processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found.append((int(stat.parent.name), int(fields[1]), int(fields[2])))
    return found


def children_of(pid: int) -> list[int]:
    return [child for child, parent, _ in processes() if parent == pid]


def group_members(group: int) -> list[int]:
    return [pid for pid, _, member_of in processes() if member_of == group]


def is_gunicorn(pid: int) -> bool:
    try:
        return b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def gunicorn_master(shell: int) -> int:
    """bash runs the command's last step, gunicorn, in its own process (exec) or as its child."""
    if is_gunicorn(shell):
        return shell
    masters = [pid for pid in children_of(shell) if is_gunicorn(pid)]
    if len(masters) != 1:
        raise Failure(f"expected one gunicorn master under the start command, found {masters}")
    return masters[0]


def stop_group(process: subprocess.Popen | None) -> None:
    """Leave nothing running that this script started (its own process group)."""
    if process is None:
        return
    for how in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, how)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their master
    except ProcessLookupError:
        pass


def check(scratch: Path) -> None:
    command = readme_start_command(scratch)
    environment = clean_environment()
    python = scratch / ".venv" / "bin" / "python"

    log(f"building a clean venv from requirements.txt only in {scratch}")
    started = time.monotonic()
    run_bounded(["python3", "-m", "venv", ".venv"], scratch, environment, PIP_SECONDS, "python3 -m venv .venv")
    run_bounded([str(python), "-m", "pip", "install", "-q", "-r", "requirements.txt"], scratch, environment,
                PIP_SECONDS - (time.monotonic() - started), "pip install -r requirements.txt")  # fmt: skip

    state = scratch.parent / "state"
    state.mkdir()
    # One pooled token: a synthetic JWT with a valid checksum (tests/support.py, SPEC Appendix A).
    make_line = "from tests.support import checksum_for, make_token; t = make_token('user_ci_prod'); print(f'{t},{checksum_for(t)}')"
    token_line = run_bounded([str(python), "-c", make_line], scratch, environment, 60, "making a pool token").strip()
    (state / ".tokens").write_text(token_line + "\n", encoding="utf-8")

    ready_file = state / "fake.url"
    fake_log_path, gateway_log_path = state / "fake.log", state / "gunicorn.log"
    fake_log = open(fake_log_path, "wb")
    fake = gateway = None
    try:
        fake = subprocess.Popen(
            [str(python), "-m", "tests.fake_cursor", "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready_file)],
            cwd=scratch, env=environment, stdout=fake_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(
            ready_file.exists, READY_SECONDS, "the fake Cursor service reports ready", alive=lambda: fake.poll() is None
        )
        upstream = ready_file.read_text(encoding="utf-8").strip()

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        environment.update(
            PORT=str(port), AUTH_TOKEN=AUTH_TOKEN, DATA_DIR=str(state / "data"), TOKEN_LIST_FILE=str(state / ".tokens"),
            CURSOR_API2_BASE_URL=upstream, CURSOR_WEB_BASE_URL=upstream, CURSOR_AGENT_BASE_URL=upstream,
            WEB_CONCURRENCY="2", PROXIES="no",
        )  # fmt: skip
        log(f"running the README's start command on port {port}, upstream {upstream}: {command}")
        with open(gateway_log_path, "wb") as gateway_log:
            gateway = subprocess.Popen(["bash", "-c", command], cwd=scratch, env=environment, stdout=gateway_log,
                                       stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            serve_and_stop(gateway, url)
    except Failure:
        for what, path in (
            ("the start command's output (gunicorn)", gateway_log_path),
            ("the fake's output", fake_log_path),
        ):
            if path.exists():
                print(f"----- {what}: {path} -----\n{path.read_text(errors='replace')}\n-----", flush=True)
        raise
    finally:
        stop_group(gateway)
        stop_group(fake)
        fake_log.close()


def serve_and_stop(gateway: subprocess.Popen, url: str) -> None:
    try:
        wait_for(
            lambda: answers_health(url),
            START_SECONDS,
            f"GET {url}/health answers 200",
            alive=lambda: gateway.poll() is None,
        )
    except Failure:
        if gateway.returncode is not None:
            raise Failure(f"the start command exited with {gateway.returncode} before GET /health answered") from None
        raise
    log("GET /health: 200")

    body = {"model": "default", "messages": [{"role": "user", "content": "Hello from CI"}], "stream": False}
    status, raw = request("POST", f"{url}/v1/chat/completions", body, {"Authorization": f"Bearer {AUTH_TOKEN}"})
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        content = None
    if status != 200 or not isinstance(content, str) or not content:
        raise Failure(f"POST /v1/chat/completions answered {status} without content: {raw[:500]!r}")
    log(f"POST /v1/chat/completions: 200, content {content[:60]!r}")

    master = gunicorn_master(gateway.pid)
    os.kill(master, signal.SIGTERM)
    started = time.monotonic()
    try:
        code = gateway.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired as expired:
        raise Failure(f"gunicorn was still running {STOP_SECONDS:.0f} s after SIGTERM") from expired
    if code != 0:
        raise Failure(f"gunicorn exited with {code} after SIGTERM")
    elapsed = time.monotonic() - started
    try:
        wait_for(lambda: not group_members(gateway.pid), 5, "gunicorn's workers exit with it")
    except Failure:
        raise Failure(f"gunicorn's master exited but these processes remain: {group_members(gateway.pid)}") from None
    log(f"SIGTERM: gunicorn exited (0) after {elapsed:.1f} s, workers and all")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cursor-api-production-") as temporary:
        scratch = Path(temporary) / "repo"
        copy_repository(ROOT, scratch)
        try:
            check(scratch)
        except Failure as failure:
            print(f"production start: FAILED: {failure}", file=sys.stderr, flush=True)
            return 1
        except (OSError, subprocess.SubprocessError) as error:
            print(f"production start: FAILED: {error!r}", file=sys.stderr, flush=True)
            return 1
    log("ok: requirements.txt alone gives a server that starts, answers and stops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
