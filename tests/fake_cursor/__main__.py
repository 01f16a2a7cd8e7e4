"""`python -m tests.fake_cursor --host 127.0.0.1 --port 0 [--ready-file PATH]`: bind, print
`fake-cursor listening on http://HOST:PORT`, serve until interrupted."""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()  # first, before anything imports socket or threading

import argparse
import os
import resource
from pathlib import Path

from tests.fake_cursor.server import make_server


def raise_open_files_limit() -> None:
    """1000+ concurrent streams need more descriptors than the usual soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def write_ready_file(path: str, url: str) -> None:
    # write then rename: whoever polls the file never reads half a URL
    partial = Path(f"{path}.{os.getpid()}.tmp")
    partial.write_text(url, encoding="utf-8")
    partial.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_cursor", description="A strict fake of Cursor's chat service."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="also write the URL here once listening")
    options = parser.parse_args(argv)
    raise_open_files_limit()
    server = make_server(options.host, options.port)
    url = f"http://{options.host}:{server.server_port}"
    if options.ready_file:  # first: whoever saw the line may read the file at once
        write_ready_file(options.ready_file, url)
    print(f"fake-cursor listening on {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
