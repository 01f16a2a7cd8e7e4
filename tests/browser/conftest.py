"""A real browser (Debian's chromium, headless, driven by Playwright) on the gateway's pages,
served by real gunicorn. A failing test leaves a screenshot in its temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support import checksum_for, gateway_env, make_token, running_gateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's; tests/conftest.py checks it is there
# Without the background-networking flags chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("pages")
    token = make_token("user_pages")
    (data_dir / ".tokens").write_text(f"{token},{checksum_for(token)}")
    with running_gateway(gateway_env(data_dir, fake.url), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request, tmp_path: Path):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
