"""`python -m tests.fake_cursor --port 0`: run the fake until interrupted."""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402

from tests.fake_cursor.server import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="A strict fake of Cursor's chat service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    options = parser.parse_args()
    server = serve(options.host, options.port)
    url = f"http://{options.host}:{server.server_port}"
    print(f"fake-cursor listening on {url}", flush=True)
    if options.ready_file:
        with open(options.ready_file, "w", encoding="utf-8") as handle:
            handle.write(url)
    try:
        gevent.wait()
    except KeyboardInterrupt:
        sys.exit(0)


main()
