"""Safe image fetching (issue #6 item 3). No test sends traffic to a non-loopback address: the
address check is tested on its own, and end to end only loopback servers are contacted."""

from __future__ import annotations

import socket

import pytest

from app.services import image_fetch
from app.services.image_fetch import is_public_address
from tests.api.test_chat_upstream import image_message
from tests.conftest import ADMIN
from tests.support import make_token


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "127.0.0.1",
        "127.1.2.3",
        "0.0.0.0",
        "192.168.1.1",
        "172.16.0.1",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "fc00::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "ff02::1",
        "::",
        "198.18.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)


def image_chat(client, url):
    return client.post("/v1/chat/completions", json=image_message(url), headers=ADMIN)


def refused_because(response) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_image"
    return error["message"]


def test_loopback_url_is_refused_unless_allowed(make_gateway, image_server, upstream):
    closed = make_gateway(tokens=[make_token()], VISION_ABILITY="all")
    assert "not a public address" in refused_because(image_chat(closed, f"{image_server}/cat.png"))
    assert upstream.chat_requests() == []
    opened = make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    assert image_chat(opened, f"{image_server}/cat.png").status_code == 200


def test_a_name_resolving_to_loopback_is_refused(make_gateway, image_server, monkeypatch):
    port = int(image_server.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        return real("127.0.0.1" if host == "images.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    url = f"http://images.example:{port}/cat.png"
    closed = make_gateway(tokens=[make_token()], VISION_ABILITY="all")
    assert "images.example is not a public address" in refused_because(image_chat(closed, url))
    opened = make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    assert image_chat(opened, url).status_code == 200


def test_a_redirect_to_loopback_is_refused(make_gateway, image_server, monkeypatch):
    # The first hop passes the check as a public name; the redirect it answers points at
    # 127.0.0.1, which must be checked and refused. (The connection itself goes to loopback.)
    port = int(image_server.rsplit(":", 1)[1])
    real_resolve, real_dns = image_fetch.resolve, socket.getaddrinfo
    monkeypatch.setattr(
        image_fetch, "resolve", lambda host, p: ["93.184.216.34"] if host == "public.example" else real_resolve(host, p)
    )
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_dns("127.0.0.1" if host == "public.example" else host, *a, **k),
    )
    closed = make_gateway(tokens=[make_token()], VISION_ABILITY="all")
    assert "127.0.0.1 is not a public address" in refused_because(
        image_chat(closed, f"http://public.example:{port}/redirect")
    )
    opened = make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    assert image_chat(opened, f"http://public.example:{port}/redirect").status_code == 200


def test_other_schemes_size_and_missing_images(make_gateway, image_server):
    opened = make_gateway(
        tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true", IMAGE_MAX_BYTES="50"
    )
    assert "only http and https" in refused_because(image_chat(opened, "ftp://127.0.0.1/cat.png"))
    assert "larger than 50 bytes" in refused_because(image_chat(opened, f"{image_server}/cat.png"))
    roomy = make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")
    assert "HTTP 404" in refused_because(image_chat(roomy, f"{image_server}/missing.png"))
