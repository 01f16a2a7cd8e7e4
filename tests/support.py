"""Test helpers shared by unit and end-to-end tests: synthetic tokens (SPEC Appendix A), a real
gunicorn server running the gateway, and a throw-away redis-server for the shared store."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


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
        PROXIES="no",
        DEFAULT_INSTRUCTIONS="Respond in Chinese by default",
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
