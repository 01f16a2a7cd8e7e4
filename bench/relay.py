"""The floor: a pass-through TCP relay in front of the fake, `python -m bench.relay LISTEN_PORT
UPSTREAM_PORT`. It does the least a proxy can do - one upstream connection per client
connection, bytes copied both ways with no parsing - so whatever the gateway costs beyond it
is the gateway's own work (HTTP, JSON, protobuf, SSE), not the unavoidable cost of a hop."""

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

from bench.limits import raise_open_files_limit  # noqa: E402

READ_SIZE = 65536  # the gateway reads upstream in 64 KiB too (app/cursor/client.py READ_SIZE)


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(READ_SIZE):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # pass the end on (a FIN stays a FIN), so keep-alive and close behave as without us
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def serve(listen_port: int, upstream_port: int) -> None:
    def handle(client: socket.socket, _address: tuple) -> None:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        for sock in (client, upstream):  # as the gateway and the fake do: no Nagle delays
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = gevent.spawn(pipe, upstream, client)
        pipe(client, upstream)
        back.join()
        upstream.close()

    server = StreamServer(("127.0.0.1", listen_port), handle, backlog=4096)
    server.init_socket()
    print(f"relay listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    raise_open_files_limit()
    serve(int(sys.argv[1]), int(sys.argv[2]))
