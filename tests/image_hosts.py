"""Loopback image servers for the image-fetching tests (issue #14): each records the requests it
gets. Served paths: /cat.png (a 4×5 PNG), /chunked (the same, chunked), /cookie (the PNG, setting a cookie), /cookie-redirect
(sets a cookie, redirects to /cat.png), /redirect?to=URL (302 to URL), /loop (redirects to
itself), /missing (404), /text (a text page), /big?size=N (a PNG header and N bytes in all,
streamed, no Content-Length), /slow?seconds=S (the PNG after S seconds)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support import png

CAT = png(4, 5)
CHUNK = b"\0" * 65536


class ImageHost:
    def __init__(self, address: str = "127.0.0.1", tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every request
        self.active = 0  # requests being answered now
        self.most_active = 0
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with host._lock:
                    host.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    host.active += 1
                    host.most_active = max(host.most_active, host.active)
                try:
                    self.answer(urlsplit(self.path))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the gateway stopped reading: what a limit does
                finally:
                    with host._lock:
                        host.active -= 1

            def answer(self, url) -> None:
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                if url.path == "/cat.png":
                    self.send(200, CAT)
                elif url.path == "/cookie":
                    self.send(200, CAT, {"Set-Cookie": "session=secret-cookie; Path=/"})
                elif url.path == "/cookie-redirect":
                    self.send(302, b"", {"Set-Cookie": "session=secret-cookie; Path=/", "Location": "/cat.png"})
                elif url.path == "/redirect":
                    self.send(302, b"", {"Location": query["to"]})
                elif url.path == "/loop":
                    self.send(302, b"", {"Location": "/loop"})
                elif url.path == "/text":
                    self.send(200, b"hello, not an image", {"Content-Type": "text/plain"})
                elif url.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(CAT), 7):
                        piece = CAT[start : start + 7]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                elif url.path == "/big":
                    self.stream(int(query["size"]))
                elif url.path == "/slow":
                    time.sleep(float(query["seconds"]))
                    self.send(200, CAT)
                else:
                    self.send(404, b"not found")

            def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "image/png", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def stream(self, size: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self.wfile.write(CAT[:33])  # signature and IHDR: a PNG as far as anyone looks
                left = size - 33
                while left > 0:
                    self.wfile.write(CHUNK[: min(left, len(CHUNK))])
                    left -= len(CHUNK)

            def log_message(self, *args) -> None:
                pass

        server_class = _IPv6Server if ":" in address else ThreadingHTTPServer
        self.server = server_class((address, port), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.address = address
        self.port = self.server.server_address[1]
        shown = f"[{address}]" if ":" in address else address
        self.url = f"{'https' if tls else 'http'}://{shown}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for path, _headers in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.most_active = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextlib.contextmanager
def image_host(address: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
    host = ImageHost(address, tls)
    try:
        yield host
    finally:
        host.close()


def make_certificates(directory: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A throw-away CA (its PEM file is returned) and a server context whose certificate, signed
    by it, is for `name` only. Made with the openssl command line."""

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", f"/CN={name}")
    (directory / "leaf.ext").write_text(
        f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    return directory / "ca.pem", context


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that records each request line it gets. CONNECT tunnels to the
    address it names (a loopback IP only: a name, or anything else, gets a 502); a forwarded
    GET (absolute form) is answered with the PNG by the proxy itself."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline().decode("latin-1").strip()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                proxy.lines.append(line)
                method, target, _version = line.split(" ", 2)
                if method != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n")
                    self.wfile.write(f"Content-Length: {len(CAT)}\r\n\r\n".encode() + CAT)
                    return
                host, _, port = target.rpartition(":")
                try:
                    if not ipaddress.ip_address(host.strip("[]")).is_loopback:
                        raise ValueError(host)
                    upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
                except (ValueError, OSError):
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                with upstream:
                    thread = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
                    thread.start()
                    _pipe(self.connection, upstream)
                    thread.join(5)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
