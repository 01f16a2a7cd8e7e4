"""Fixtures: the strict fake of Cursor's service (a subprocess, the one boundary we mock) and
the gateway built from a clean environment pointing at it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.settings import Settings
from tests.fake_cursor.harness import FakeCursor
from tests.support import RedisServer, checksum_for, gateway_env, make_token, running_redis

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture(scope="session")
def fake() -> FakeCursor:
    with FakeCursor() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """One redis-server (Debian's package) on a free loopback port for the whole run; call
    `flush()` before a test that needs an empty server."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def upstream(fake: FakeCursor) -> FakeCursor:
    """The fake with an empty record for this test."""
    fake.clear()
    return fake


GatewayFactory = Callable[..., FlaskClient]


@pytest.fixture
def make_gateway(tmp_path: Path, upstream: FakeCursor) -> GatewayFactory:
    """Build an in-process gateway: `make_gateway(tokens=[...], VISION_ABILITY="all", ...)`."""

    built = itertools.count()

    def build(tokens: list[str] | None = None, **env: str) -> FlaskClient:
        data_dir = tmp_path / f"gateway{next(built)}"  # each gateway its own store and pool
        data_dir.mkdir()
        environment = gateway_env(data_dir, upstream.url, **env)
        if tokens is not None:
            lines = [f"{token},{checksum_for(token)}" for token in tokens]
            Path(environment["TOKEN_LIST_FILE"]).write_text("\n".join(lines), encoding="utf-8")
        app = create_app(Settings.from_env(environment))
        app.testing = True
        return app.test_client()

    return build


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> FlaskClient:
    """A gateway with a pool of one token."""
    return make_gateway(tokens=[make_token("user_pool1")])


@pytest.fixture(scope="session")
def image_server() -> str:
    """A loopback HTTP server with one 4×5 PNG at /cat.png (and /redirect to it), for
    server-side image fetching."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.api.test_chat_upstream import png

    image = png(4, 5)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":  # to the same server by its loopback address
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/cat.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = self.path == "/cat.png"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(image)

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def chat_body(text: str = "hello", *, model: str = "gpt-4o", stream: bool = False, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream, **extra}
