"""Test helpers shared by unit, API and end-to-end tests: synthetic tokens (SPEC Appendix A), chat
requests and images, a real gunicorn server running the gateway, and a throw-away redis-server
for the shared store. Fixtures live in conftest.py; everything a test module imports lives here,
never in conftest.py or in another test module."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
ADMIN = {"Authorization": "Bearer admin-secret"}  # the AUTH_TOKEN of gateway_env
# Programs from Debian that some tests need, by the marker that selects those tests.
NEEDED_PROGRAMS = {"browser": "chromium", "redis": "redis-server"}
INSTALL_HINT = "apt-get install chromium redis-server"


def missing_programs(markers: set[str]) -> list[str]:
    """The Debian programs that tests carrying `markers` need and this machine lacks (not on PATH)."""
    return [program for marker, program in NEEDED_PROGRAMS.items() if marker in markers and not shutil.which(program)]


def readme_shell_blocks() -> list[str]:
    """The README's ```sh blocks: the first starts the gateway, the one with pytest runs the tests."""
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def make_token(
    user: str = "user_test01",
    *,
    issued: int | None = None,
    lifetime: int = 2592000000,
    randomness: str = "0123abcd-4567-89ef",
    signature: str = "c2lnbmF0dXJl",
) -> str:
    """A token that passes the gateway's validation (SPEC §7.1); Cursor would reject it."""
    issued = int(time.time()) - 3600 if issued is None else issued
    claims = {
        "sub": f"auth0|{user}",
        "time": str(issued),
        "randomness": randomness,
        "exp": issued + lifetime,
        "iss": "https://authentication.cursor.sh",
        "scope": "openid profile email offline_access",
        "aud": "https://cursor.com",
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{JWT_HEADER}.{payload}.{signature}"


def checksum_for(token: str) -> str:
    """A stable, valid checksum per token (device hash derived from the token)."""
    from app.cursor.checksum import build_checksum

    device = hashlib.sha256(token.encode()).hexdigest()
    return build_checksum(device, hashlib.sha256(device.encode()).hexdigest())


def chat_body(text: str = "hello", *, model: str = "gpt-4o", stream: bool = False, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream, **extra}


def chat(client, text: str, *, stream: bool = False, model: str = "gpt-4o", headers=ADMIN, **extra):
    """POST one chat to an in-process gateway (a Flask test client), as the admin by default."""
    return client.post(
        "/v1/chat/completions", json=chat_body(text, model=model, stream=stream, **extra), headers=headers
    )


def log_entries(client) -> list[dict]:
    """The request log of an in-process gateway, as `POST /logs` shows it."""
    return client.application.extensions["gateway"].request_log.entries()


def png(width: int, height: int) -> bytes:
    """A valid, tiny RGB PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def image_message(url: str, text: str = "what is this?") -> dict:
    """A chat body whose one user message holds a text part and an image part."""
    return {
        "model": "gpt-4o",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}],
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway_env(data_dir: Path, upstream_url: str, **overrides: str) -> dict[str, str]:
    """A clean environment for a gateway under test: nothing inherited that the gateway reads."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TZ", "VIRTUAL_ENV")}
    env.update(
        AUTH_TOKEN="admin-secret",
        DATA_DIR=str(data_dir),
        TOKEN_LIST_FILE=str(data_dir / ".tokens"),
        CURSOR_API2_BASE_URL=upstream_url,
        CURSOR_WEB_BASE_URL=upstream_url,
        CURSOR_AGENT_BASE_URL=upstream_url,  # never Cursor's real host from a test
        PROXIES="no",
        DEFAULT_INSTRUCTIONS="Respond in Chinese by default",
        # The tests written for rc.4's StreamChat; agent-path tests set CURSOR_PROTOCOL=agent.
        CURSOR_PROTOCOL="legacy",
    )
    env.update(overrides)
    return env


def stop_process(process: subprocess.Popen | None, how: signal.Signals, timeout: float) -> None:
    """Ask a child to stop (`how`), and kill it if it has not within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_expecting_failure(env: dict[str, str]) -> tuple[int, str, int]:
    """Start gunicorn as the Procfile does, expecting it to refuse: (exit code, stderr, port)."""
    port = free_port()
    process = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return process.returncode, process.stderr, port


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class GunicornServer:
    """The gateway under real gunicorn with gevent workers, as deployed (Procfile)."""

    def __init__(self, env: dict[str, str], workers: int = 2, cwd: Path = ROOT) -> None:
        self.cwd = cwd  # where .env is looked for
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = Path(env["DATA_DIR"]) / "gunicorn.log"

    def start(self, timeout: float = 30) -> GunicornServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--pythonpath",
                str(ROOT),
                "wsgi:app",
            ],
            cwd=self.cwd,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                # Not /health: a test must be able to make the first /health call itself (D5).
                if requests.get(f"{self.url}/get-tsheader", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout=35)  # longer than graceful_timeout


@contextlib.contextmanager
def running_gateway(env: dict[str, str], workers: int = 2, cwd: Path = ROOT) -> Iterator[GunicornServer]:
    server = GunicornServer(env, workers, cwd).start()
    try:
        yield server
    finally:
        server.stop()


class RedisServer:
    """A throw-away redis-server on a free loopback port: no persistence, its files in
    `directory`. Needs Debian's `redis-server` (`.ci/run` installs it)."""

    BINARY = "redis-server"

    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.directory = directory
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        userinfo = f":{self.password}@" if self.password else ""
        return f"redis://{userinfo}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = [self.BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]  # fmt: skip
        if self.password:
            arguments += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            arguments, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if self._answers_ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout}s")

    def _answers_ping(self) -> bool:
        command = f"AUTH {self.password}\r\nPING\r\n" if self.password else "PING\r\n"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(command.encode())
                reply = b""
                while b"PONG" not in reply and b"-" not in reply:
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
                return b"+PONG" in reply
        except OSError:
            return False

    def flush(self) -> None:
        """Forget every key, so each test starts from an empty server."""
        import redis

        with redis.Redis.from_url(self.url) as client:
            client.flushall()

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout=10)


@contextlib.contextmanager
def running_redis(directory: Path, password: str | None = None) -> Iterator[RedisServer]:
    server = RedisServer(directory, password).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def file_lock_held_elsewhere(token_file: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the token file's lock (`<file>.lock`, flock) until the block ends."""
    code = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(token_file) + '.lock'!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(10)


class FullDisk:
    """Stands in for a SqliteStore's sqlite3 connection on a full disk: while `full`, every
    statement that writes fails the way SQLite reports it; reads still work."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN", "REPLACE")

    def __init__(self, db) -> None:
        self._db = db
        self.full = True

    @classmethod
    def under(cls, store) -> FullDisk:
        """Put a SqliteStore (`store._db`) on a full disk; `.full = False` frees space again."""
        disk = store._db = cls(store._db)
        return disk

    def execute(self, sql: str, *args):
        import sqlite3

        if self.full and sql.lstrip().upper().startswith(self.WRITES):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._db, name)
