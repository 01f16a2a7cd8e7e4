"""Safe image fetching (issue #6 item 3, issue #14 items 1, 2 and 10).

No test sends traffic beyond loopback. Names are answered by a patched resolver (any other name
fails to resolve, so nothing asks a real DNS server); 127.0.0.2 stands for a public address
(the address check is told so) while 127.0.0.1 is the private network an attacker is after;
and every socket connection to a non-loopback address is refused and recorded, so a case the
gateway would wrongly let through fails here instead of reaching out.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
import socket
import time
import tracemalloc
from urllib.parse import quote

import gevent
import pytest

from app.cursor.images import ImageError
from app.services import image_fetch, vision
from app.services.image_fetch import NOT_FETCHED, NOT_PLAIN, ONLY_HTTP, ImageFetcher, is_public_address
from app.services.vision import bounded_map
from app.settings import ProxySetting
from tests.image_hosts import CAT, ImageHost, RecordingProxy, image_host, make_certificates
from tests.support import ADMIN, image_message, make_token

PUBLIC = "127.0.0.2"  # stands for a public address in these tests
MIB = 1024 * 1024


# -- fixtures: loopback only, a resolver, a "public" and a private image host ------------------


@pytest.fixture(autouse=True)
def outside_attempts(monkeypatch) -> list[str]:
    """Connections to anything but loopback are refused; the addresses tried are returned."""
    attempts: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if isinstance(address, tuple):
            ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            mapped = getattr(ip, "ipv4_mapped", None)
            if not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
                attempts.append(str(address[0]))
                raise ConnectionRefusedError(111, "test: only loopback may be contacted")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture(autouse=True)
def names(monkeypatch) -> dict:
    """The resolver: name → list of addresses (or a function giving them, called per lookup).
    Unknown names do not resolve; numeric hosts ("2130706433", "0x7f.1") go to the C library,
    which reads them without DNS."""
    table: dict = {"public.example": [PUBLIC], "other.example": [PUBLIC]}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host in table:
            answer = table[host]
            addresses = answer() if callable(answer) else answer
            return [info for address in addresses for info in real(address, port, *args, **kwargs)]
        if host == "localhost" or re.fullmatch(r"[0-9][0-9a-fA-FxX.]*|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*", host or ""):
            return real(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "test: no such name")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture(autouse=True)
def public_loopback(monkeypatch) -> None:
    real = image_fetch.is_public_address
    monkeypatch.setattr(image_fetch, "is_public_address", lambda address: address == PUBLIC or real(address))


@pytest.fixture(scope="module")
def hosts():
    # Both on one port number, so that a fetch that goes by name to wherever the name points
    # now (rebinding) would find the private host there.
    for _attempt in range(20):
        public = ImageHost(PUBLIC)
        try:
            private = ImageHost("127.0.0.1", port=public.port)
            break
        except OSError:
            public.close()
    yield private, public
    private.close()
    public.close()


@pytest.fixture
def private(hosts) -> ImageHost:
    """The operator's network: nothing may ever reach it unless IMAGE_FETCH_ALLOW_PRIVATE."""
    hosts[0].clear()
    return hosts[0]


@pytest.fixture
def public(hosts) -> ImageHost:
    hosts[1].clear()
    return hosts[1]


@pytest.fixture(scope="module")
def tls_host(tmp_path_factory):
    """An https image host at the "public" address, with a certificate for public.example."""
    ca, context = make_certificates(tmp_path_factory.mktemp("tls"), "public.example")
    host = ImageHost(PUBLIC, tls=context)
    yield host, ca
    host.close()


def image_chat(client, *urls: str):
    body = image_message(urls[0])
    body["messages"][0]["content"] += [{"type": "image_url", "image_url": {"url": url}} for url in urls[1:]]
    return client.post("/v1/chat/completions", json=body, headers=ADMIN)


def refused_because(response) -> str:
    """The reason of a 400 invalid_image for one image."""
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_image"
    return error["message"].split(" cannot be used: ", 1)[-1]


@pytest.fixture
def closed_gateway(make_gateway):
    return make_gateway(tokens=[make_token()], VISION_ABILITY="all")


@pytest.fixture
def open_gateway(make_gateway):
    return make_gateway(tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true")


# -- the address check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "127.1.2.3", "0.0.0.0", "192.168.1.1",
        "172.16.0.1", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "fc00::1",
        "fe80::1%eth0", "ff02::1", "::", "198.18.0.1",
        # IPv6 forms that embed a private IPv4 address are judged by it (issue #14):
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # v4-mapped
        "::127.0.0.1", "::7f00:1", "::10.0.0.1", "::169.254.169.254",  # v4-compatible
        "64:ff9b::7f00:1", "64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe",  # NAT64
        "2002:7f00:1::", "2002:7f00:1:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::",  # 6to4
        "64:ff9b:1::808:808",  # a site's own NAT64 prefix (RFC 8215)
        "2001::1",  # Teredo
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)


# -- the one reading of a URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url,reason",
    [
        ("ftp://example.com/cat.png", ONLY_HTTP), ("file:///etc/passwd", ONLY_HTTP), ("http:/x", ONLY_HTTP),
        ("javascript:alert(1)", ONLY_HTTP), ("gopher://127.0.0.1:6379/_", ONLY_HTTP),
        ("http://user@example.com/cat.png", NOT_PLAIN), ("http://user:pw@example.com/", NOT_PLAIN),
        ("http://@example.com/", NOT_PLAIN), ("http://example.com@127.0.0.1/", NOT_PLAIN),
        ("http://127.0.0.1:80\\@example.com/", NOT_PLAIN), ("http://example.com\\.127.0.0.1/", NOT_PLAIN),
        ("http:\\\\example.com/", ONLY_HTTP), ("http://example.com/a\\b", NOT_PLAIN),
        ("http://127.0.0.1:80\t@example.com/", NOT_PLAIN), ("http://example.com /", NOT_PLAIN),
        ("http://example.com/\r\nX-Injected: 1", NOT_PLAIN), ("http://exa\x00mple.com/", NOT_PLAIN),
        ("http://example.com\u3000/", NOT_PLAIN),
        ("http://%31%32%37.0.0.1/", NOT_PLAIN), ("http://b\u00fccher.example/", NOT_PLAIN),
        ("http://127\u30020\u30020\u30021/", NOT_PLAIN), ("http://[::1%25eth0]/", NOT_PLAIN),
        ("http:///cat.png", NOT_PLAIN), ("http://example.com:0/", NOT_PLAIN), ("http://example.com:/", NOT_PLAIN),
        ("http://example.com:99999/", NOT_PLAIN), ("http://[::1/", NOT_PLAIN), ("http://exa_mple.com:x/", NOT_PLAIN),
    ],
)  # fmt: skip
def test_urls_not_in_plain_form_are_refused_before_any_lookup(url, reason):
    with pytest.raises(ImageError) as refused:
        image_fetch.parse_image_url(url)
    assert str(refused.value) == reason


def test_a_plain_url_is_read_once_into_what_the_fetch_uses():
    target = image_fetch.parse_image_url("HTTPS://Images.Example.COM:8443/a/\u00fc.png?sig=x#part")
    assert (target.scheme, target.host, target.port) == ("https", "images.example.com", 8443)
    assert (target.authority, target.request_uri) == ("images.example.com:8443", "/a/%C3%BC.png?sig=x")
    assert target.shown == "https://images.example.com:8443/a/%C3%BC.png"
    v6 = image_fetch.parse_image_url("http://[2606:4700::1]/x")
    assert (v6.host, v6.port, v6.authority) == ("2606:4700::1", 80, "[2606:4700::1]")


# -- the SSRF table: nothing private is ever contacted ---------------------------------------

# {p}: the private host's port, {q}: the public host's port. Every URL here, fetched through a
# gateway with the default settings, must end in a 400 without a byte sent to the private host
# nor a connection attempted beyond loopback.
REFUSED = [
    "http://127.0.0.1:{p}/cat.png",
    "http://localhost:{p}/cat.png",
    "http://[::1]:{p}/cat.png",
    # the exploit of issue #14: the check read public.example, the fetch 127.0.0.1
    "http://127.0.0.1:{p}\\@public.example/cat.png",
    "http://127.0.0.1:{p}\\.public.example/cat.png",
    "http://public.example:{q}\\@127.0.0.1:{p}/cat.png",
    "http://127.0.0.1:{p}\t@public.example/cat.png",
    # userinfo, whichever side the private address is on
    "http://public.example@127.0.0.1:{p}/cat.png",
    "http://user:password@127.0.0.1:{p}/cat.png",
    "http://127.0.0.1:{p}@public.example:{q}/cat.png",
    # numeric spellings of 127.0.0.1
    "http://2130706433:{p}/cat.png", "http://0x7f.1:{p}/cat.png", "http://127.1:{p}/cat.png",
    "http://0177.0.0.1:{p}/cat.png", "http://%31%32%37.0.0.1:{p}/cat.png",
    # IPv6 literals embedding 127.0.0.1: v4-mapped, v4-compatible, NAT64, 6to4
    "http://[::ffff:127.0.0.1]:{p}/cat.png", "http://[::ffff:7f00:1]:{p}/cat.png", "http://[::127.0.0.1]:{p}/cat.png",
    "http://[64:ff9b::7f00:1]:{p}/cat.png", "http://[64:ff9b::127.0.0.1]:{p}/cat.png",
    "http://[2002:7f00:1::]:{p}/cat.png", "http://[2002:7f00:1::1]:{p}/cat.png",
    # names resolving to those forms, or to a private address among public ones
    "http://mapped.example:{p}/cat.png", "http://compatible.example:{p}/cat.png", "http://nat64.example:{p}/cat.png",
    "http://sixtofour.example:{p}/cat.png", "http://mixed.example:{p}/cat.png", "http://metadata.example/latest",
    "http://169.254.169.254/latest/meta-data/",
]  # fmt: skip
NAMES = {
    "mapped.example": ["::ffff:127.0.0.1"],
    "compatible.example": ["::127.0.0.1"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "sixtofour.example": ["2002:7f00:1::1"],
    "mixed.example": [PUBLIC, "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
}
# Every one of them as the target of a redirect from the public host, and one redirect chain.
REDIRECTED = ["http://public.example:{q}/redirect?to=" + quote(url, safe="{}") for url in REFUSED] + [
    "http://public.example:{q}/redirect?to="
    + quote("http://public.example:{q}/redirect?to=" + quote("http://127.0.0.1:{p}/cat.png", safe="{}"), safe="{}"),
]


@pytest.mark.parametrize("template", REFUSED + REDIRECTED)
def test_ssrf_table_nothing_private_is_contacted(template, closed_gateway, private, public, names, outside_attempts):
    names.update(NAMES)
    url = template.format(p=private.port, q=public.port)
    response = image_chat(closed_gateway, url)
    assert private.requests == []
    assert outside_attempts == []
    reason = refused_because(response)
    assert reason in (NOT_FETCHED, NOT_PLAIN)
    if template in REDIRECTED:
        assert reason == NOT_FETCHED  # the redirect's form is the remote's answer, not the client's URL


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(closed_gateway, public, names):
    assert image_chat(closed_gateway, f"http://public.example:{public.port}/cat.png").status_code == 200
    [(path, headers)] = public.requests
    assert (path, headers["host"]) == ("/cat.png", f"public.example:{public.port}")
    assert "cookie" not in headers and "authorization" not in headers


def test_dns_rebinding_cannot_move_the_fetch(closed_gateway, private, public, names):
    # The name answers the public address first and the private one ever after: the fetch must
    # go where the check looked, whatever a second lookup would say.
    answers = iter([[PUBLIC]])
    names["rebind.example"] = lambda: next(answers, ["127.0.0.1"])
    url = f"http://rebind.example:{public.port}/cat.png"
    assert image_chat(closed_gateway, url).status_code == 200
    assert public.paths() == ["/cat.png"] and private.requests == []


def test_a_redirect_to_a_public_address_is_followed(closed_gateway, public, names):
    chain = f"http://public.example:{public.port}/redirect?to=" + quote(
        f"http://{PUBLIC}:{public.port}/cookie-redirect"
    )
    assert image_chat(closed_gateway, chain).status_code == 200
    assert [path.split("?")[0] for path in public.paths()] == ["/redirect", "/cookie-redirect", "/cat.png"]


def test_https_is_pinned_and_verified_against_the_name(closed_gateway, tls_host, names, monkeypatch):
    host, ca = tls_host
    host.clear()
    monkeypatch.setattr(image_fetch, "certificate_authorities", lambda setting: {"ca_certs": str(ca)})
    assert image_chat(closed_gateway, f"https://public.example:{host.port}/cat.png").status_code == 200
    assert host.requests[0][1]["host"] == f"public.example:{host.port}"
    # Same address, another name: the certificate is for public.example, so no fetch.
    assert refused_because(image_chat(closed_gateway, f"https://other.example:{host.port}/cat.png")) == NOT_FETCHED
    assert len(host.requests) == 1


def test_private_addresses_are_fetched_only_when_allowed(closed_gateway, open_gateway, private):
    url = f"http://127.0.0.1:{private.port}/cat.png"
    assert refused_because(image_chat(closed_gateway, url)) == NOT_FETCHED
    assert private.requests == []
    assert image_chat(open_gateway, url).status_code == 200
    redirect = f"http://127.0.0.1:{private.port}/redirect?to=" + quote(url)
    assert image_chat(open_gateway, redirect).status_code == 200


def test_ipv6_literals_and_chunked_answers_are_fetched(open_gateway):
    with image_host("::1") as host:
        assert image_chat(open_gateway, f"{host.url}/cat.png", f"{host.url}/chunked").status_code == 200
        assert [headers["host"] for _path, headers in host.requests] == [f"[::1]:{host.port}"] * 2


# -- one answer for every failure: not a port scanner ---------------------------------------


def test_every_fetch_failure_gets_the_same_answer(make_gateway, private, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gateway = make_gateway(
        tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true", IMAGE_MAX_BYTES="1000"
    )
    base = f"http://127.0.0.1:{private.port}"
    failures = {
        "closed port": f"http://127.0.0.1:{closed_port}/cat.png",
        "HTTP 404": f"{base}/missing",
        "not an image": f"{base}/text",
        "too large": f"{base}/big?size=5000",
        "redirect loop": f"{base}/loop",
        "no such name": "http://nowhere.example/cat.png",
    }
    caplog.set_level(logging.INFO, logger="cursor_api.images")
    answers = {what: image_chat(gateway, url).get_json()["error"] for what, url in failures.items()}
    assert {error["message"] for error in answers.values()} == {
        f"messages[0]: image at content[1] cannot be used: {NOT_FETCHED}"
    }, answers
    assert {error["code"] for error in answers.values()} == {"invalid_image"}
    logged = caplog.text  # the detail is the operator's
    for detail in ("Connection refused", "HTTP 404", "not a usable image", "IMAGE_MAX_BYTES", "redirects", "resolved"):
        assert detail in logged, detail


# -- no state shared between fetches --------------------------------------------------------


def test_image_fetches_share_no_cookies(open_gateway, private):
    base = f"http://127.0.0.1:{private.port}"
    assert image_chat(open_gateway, f"{base}/cookie").status_code == 200
    assert image_chat(open_gateway, f"{base}/cat.png").status_code == 200  # another request
    assert image_chat(open_gateway, f"{base}/cookie-redirect").status_code == 200  # a redirect within one
    assert image_chat(open_gateway, f"{base}/cookie", f"{base}/cat.png").status_code == 200  # one request, two
    assert [path for path, headers in private.requests if "cookie" in headers] == []
    assert len(private.requests) == 6


# -- proxies --------------------------------------------------------------------------------


@pytest.fixture
def proxy():
    server = RecordingProxy()
    yield server
    server.close()


def fetcher(proxies: ProxySetting) -> ImageFetcher:
    return ImageFetcher(proxies, allow_private=False, max_bytes=MIB, timeout=5)


def test_https_through_a_proxy_connects_to_the_checked_address(proxy, tls_host, names, monkeypatch):
    host, ca = tls_host
    host.clear()
    monkeypatch.setattr(image_fetch, "certificate_authorities", lambda setting: {"ca_certs": str(ca)})
    image = fetcher(ProxySetting("url", proxy.url)).fetch(f"https://public.example:{host.port}/cat.png")
    assert image.data == CAT and (image.width, image.height) == (4, 5)
    assert [line.rsplit(" ", 1)[0] for line in proxy.lines] == [f"CONNECT {PUBLIC}:{host.port}"]  # never the name
    assert host.requests[0][1]["host"] == f"public.example:{host.port}"


def test_plain_http_through_a_proxy_goes_by_a_checked_name(proxy, private, names):
    # A forwarding proxy routes by the URL it is sent (the module documents it): the name is
    # still checked here first, and one that resolves to a private address never reaches it.
    names["internal.example"] = ["127.0.0.1"]
    setting = ProxySetting("url", proxy.url)
    assert fetcher(setting).fetch("http://public.example/cat.png").data == CAT
    with pytest.raises(ImageError, match=NOT_FETCHED):
        fetcher(setting).fetch(f"http://internal.example:{private.port}/cat.png")
    assert proxy.lines == ["GET http://public.example/cat.png HTTP/1.1"]


def test_the_system_proxy_setting_follows_the_environment(monkeypatch, proxy):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "nearby.example")
    system = ProxySetting("system")
    assert image_fetch.proxy_for(system, "https://public.example/x.png") == proxy.url
    assert image_fetch.proxy_for(system, "https://nearby.example/x.png") is None
    assert image_fetch.proxy_for(ProxySetting("none"), "https://public.example/x.png") is None


# -- bounded work per request ---------------------------------------------------------------


def data_url(size: int) -> str:
    return "data:image/png;base64," + base64.b64encode(CAT + b"\0" * (size - len(CAT))).decode()


def test_too_many_images_are_refused_naming_the_limit(make_gateway, upstream):
    gateway = make_gateway(tokens=[make_token()], IMAGE_MAX_COUNT="2")
    response = image_chat(gateway, data_url(100), data_url(100), data_url(100))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_image" and "IMAGE_MAX_COUNT" in error["message"] and "3 images" in error["message"]
    assert upstream.chat_requests() == []
    # Images the vision mode drops (http URLs in base64 mode) are not counted.
    dropped = ["https://example.invalid/a.png"] * 3
    assert image_chat(gateway, data_url(100), data_url(100), *dropped).status_code == 200


def test_data_urls_over_the_total_are_refused_before_any_is_decoded(make_gateway, upstream):
    gateway = make_gateway(tokens=[make_token()], IMAGE_MAX_TOTAL_BYTES="2500")
    # The last one is not even valid base64: measured before decoding, the total is the answer.
    broken = "data:image/png;base64," + "@" * 1400
    response = image_chat(gateway, data_url(1000), data_url(1000), broken)
    assert response.status_code == 400
    assert "IMAGE_MAX_TOTAL_BYTES" in response.get_json()["error"]["message"]
    assert image_chat(gateway, data_url(1000), data_url(1000)).status_code == 200


def test_remote_images_over_the_total_are_refused_naming_the_limit(make_gateway, private, upstream):
    gateway = make_gateway(
        tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true", IMAGE_MAX_TOTAL_BYTES="300000"
    )
    big = f"http://127.0.0.1:{private.port}/big?size=200000"
    response = image_chat(gateway, big, big, big, big)
    assert response.status_code == 400
    assert "IMAGE_MAX_TOTAL_BYTES" in response.get_json()["error"]["message"]
    assert len(private.requests) == 2  # the third and fourth are never asked for
    assert upstream.chat_requests() == []


def test_many_large_images_cost_about_the_total_limit_in_memory(make_gateway, private, upstream):
    # 40 images of 3 MiB (120 MiB in all) against a total of 4 MiB: the request's peak must stay
    # near the limit, not near the sum (issue #14: 40 × 20 MiB took a worker to 3.3 GB).
    total = 4 * MIB
    gateway = make_gateway(
        tokens=[make_token()], VISION_ABILITY="all", IMAGE_FETCH_ALLOW_PRIVATE="true", IMAGE_MAX_COUNT="40",
        IMAGE_MAX_BYTES=str(3 * MIB), IMAGE_MAX_TOTAL_BYTES=str(total),
    )  # fmt: skip
    urls = [f"http://127.0.0.1:{private.port}/big?size={3 * MIB}&n={n}" for n in range(40)]
    image_chat(gateway, f"http://127.0.0.1:{private.port}/cat.png")  # warm up: imports, first-use caches
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        response = image_chat(gateway, *urls)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 1.5 * total, f"peak {peak - before} bytes above the baseline"
    assert response.status_code == 400 and "IMAGE_MAX_TOTAL_BYTES" in response.get_json()["error"]["message"]


def test_image_fetches_run_four_at_a_time_under_greenlets():
    running, most = [0], [0]

    def task(n: int):
        def run() -> int:
            running[0] += 1
            most[0] = max(most[0], running[0])
            gevent.sleep(0.02)
            running[0] -= 1
            return n

        return run

    assert bounded_map([task(n) for n in range(10)], vision.FETCH_CONCURRENCY, greenlets=True) == list(range(10))
    assert most[0] == 4


def test_the_first_failure_stops_the_other_fetches():
    started, finished = [], []

    def task(n: int):
        def run() -> int:
            started.append(n)
            if n == 1:
                raise ImageError("no")
            gevent.sleep(0.5)
            finished.append(n)
            return n

        return run

    began = time.monotonic()
    with pytest.raises(ImageError):
        bounded_map([task(n) for n in range(10)], 4, greenlets=True)
    assert time.monotonic() - began < 0.4  # the running ones were killed, not waited for
    assert sorted(started) == [0, 1, 2, 3] and finished == []
    gevent.sleep(0.6)
    assert finished == [] and sorted(started) == [0, 1, 2, 3]  # nor do the rest start later
