"""Fixtures: the strict fake of Cursor's service (a subprocess, the one boundary we mock) and
the gateway built from a clean environment pointing at it. The markers (pyproject.toml) are set
here, by where a test lives and what it uses, so that

    python -m pytest -m "not e2e and not browser and not redis"

runs the fast subset, which needs neither chromium nor redis-server. A run that selects tests
needing a program this machine lacks stops before the first test, naming it. Helpers that test
modules import live in tests/support.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.settings import Settings
from tests.fake_cursor.harness import FakeCursor
from tests.support import (
    INSTALL_HINT,
    RedisServer,
    checksum_for,
    gateway_env,
    make_token,
    missing_programs,
    png,
    running_redis,
)

TESTS = Path(__file__).resolve().parent
GUNICORN_DIRECTORIES = {"e2e", "fuzz", "browser", "clients"}  # every test there starts real gunicorn


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.resolve()
        top = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
        if top in GUNICORN_DIRECTORIES:
            item.add_marker(pytest.mark.e2e)
        if top == "browser":
            item.add_marker(pytest.mark.browser)
        if starts_redis_server(item):
            item.add_marker(pytest.mark.redis)


def starts_redis_server(item: pytest.Item) -> bool:
    """The test takes the `redis_server` fixture or starts its own (`running_redis`, `RedisServer`).
    A fixture that asks for the server at run time marks its parameter itself (test_store.py)."""
    if "redis_server" in getattr(item, "fixturenames", ()):
        return True
    code = getattr(getattr(item, "function", None), "__code__", None)
    return code is not None and not {"running_redis", "RedisServer"}.isdisjoint(code.co_names)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail at once, saying what to install, when a selected test needs a missing program."""
    if session.config.option.collectonly:
        return
    markers = {marker.name for item in session.items for marker in item.iter_markers()}
    missing = missing_programs(markers)
    if missing:
        raise pytest.UsageError(
            f"the selected tests need {' and '.join(missing)}, not found on PATH. Install "
            f"{'it' if len(missing) == 1 else 'them'} (Debian: `{INSTALL_HINT}`; .ci/run does this), or run "
            'the fast subset without them: python -m pytest -m "not e2e and not browser and not redis"'
        )


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
