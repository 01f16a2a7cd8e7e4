"""The load generator, a process of its own (pinned to the core the servers under test do not
use): `python -m bench.load < job.json` runs one job and prints its raw figures as JSON.

A job makes the same chat `count` times from `concurrency` greenlets, each on its own keep-alive
connection (an agent chat: two, the stream's and the writes'), and stops starting new ones after
`seconds`. Every answer is checked (status 200 and exactly the expected text: bench/chat.py), so
a fast wrong answer never counts."""

from gevent import monkey

monkey.patch_all()  # first: the client's sockets must be gevent's

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from bench.chat import SOCKET_TIMEOUT, Chat, chat_for  # noqa: E402
from bench.limits import raise_open_files_limit  # noqa: E402

ERRORS_KEPT = 5


def run(job: dict) -> dict:
    marker = job.get("marker", "").encode()
    started = time.perf_counter()
    stop_starting = started + job["seconds"]
    results: dict = {"latency": [], "ttfb": [], "ok": 0, "failed": 0, "errors": []}
    remaining = [job["count"]]

    def fail(reason: str) -> None:
        results["failed"] += 1
        if len(results["errors"]) < ERRORS_KEPT:
            results["errors"].append(reason)

    def one(chat: Chat, sent: float) -> None:
        first: list[float] = []
        tail = b""

        def on_data(piece: bytes) -> None:
            nonlocal tail
            if marker and not first:
                window = tail + piece  # the marker may straddle two reads
                if marker in window:
                    first.append(time.perf_counter())
                tail = window[-len(marker) :]

        text = chat.call(on_data)
        done = time.perf_counter()
        if text != job["expected_text"]:
            return fail(f"text differs: {len(text)} chars, starts {text[:60]!r}")
        if marker and not first:
            return fail("marker never seen")
        results["ok"] += 1
        results["latency"].append(done - sent)
        if first:
            results["ttfb"].append(first[0] - sent)

    def worker(index: int) -> None:
        # streams start evenly over `ramp` seconds: 1000 connects in the same millisecond would
        # measure the generator's core and the accept queue, not a server under a steady load
        gevent.sleep(job.get("ramp", 0) * index / job["concurrency"])
        chat = chat_for(job)
        while remaining[0] > 0 and time.perf_counter() < stop_starting:
            remaining[0] -= 1
            try:
                one(chat, time.perf_counter())  # a new connection's connect time counts, as for any client
            except (OSError, ValueError, KeyError, IndexError) as exc:  # the last two: a malformed body
                fail(f"{type(exc).__name__}: {exc}")
                chat.reset()  # a broken connection is not reused

    workers = [gevent.spawn(worker, index) for index in range(job["concurrency"])]
    gevent.joinall(workers, timeout=job.get("ramp", 0) + job["seconds"] + SOCKET_TIMEOUT + 5)
    unfinished = sum(not worker.dead for worker in workers)
    gevent.killall(workers, block=False)
    if unfinished:
        fail(f"{unfinished} workers still busy at the deadline")
    results["elapsed"] = time.perf_counter() - started
    results["started"] = job["count"] - remaining[0]
    return results


if __name__ == "__main__":
    raise_open_files_limit()
    json.dump(run(json.load(sys.stdin)), sys.stdout)
