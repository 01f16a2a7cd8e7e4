"""One received HTTP request as the fake sees it: headers exactly as sent (WSGI's environ
loses their case, and pywsgi drops Content-Length when the body is chunked), and the body."""

from __future__ import annotations

from dataclasses import dataclass

# environ keys the fake's pywsgi handler adds (server.Handler)
RAW_HEADERS = "fake_cursor.raw_headers"
SOCKET = "fake_cursor.socket"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # name case as received
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    @property
    def framing(self) -> list[str]:
        """Which body framings the client declared: both, or neither, is a malformed request."""
        chunked = (self.header("Transfer-Encoding") or "").lower() == "chunked"
        declared = (("content-length", self.header("Content-Length") is not None), ("chunked", chunked))
        return [name for name, present in declared if present]

    @classmethod
    def from_environ(cls, environ: dict) -> Request:
        return cls(
            method=environ["REQUEST_METHOD"],
            path=environ["PATH_INFO"],
            query=environ.get("QUERY_STRING", ""),
            headers=dict(environ[RAW_HEADERS]),
            body=environ["wsgi.input"].read(),  # pywsgi de-chunks, or reads Content-Length bytes, or none
        )
