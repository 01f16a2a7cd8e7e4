"""Fixtures for the client-compatibility suite (issue #10 item 6): one gateway under real gunicorn
with two gevent workers on the agent protocol, in front of the strict fake, shared by every
client module here."""

from __future__ import annotations

import pytest

from tests.support import checksum_for, gateway_env, make_token, running_gateway


@pytest.fixture(scope="package")
def server(fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("clients-gateway")
    token = make_token("user_clients")
    (data_dir / ".tokens").write_text(f"{token},{checksum_for(token)}")
    env = gateway_env(data_dir, fake.url, CURSOR_PROTOCOL="agent", DEFAULT_INSTRUCTIONS="")
    with running_gateway(env, workers=2) as running:
        yield running
