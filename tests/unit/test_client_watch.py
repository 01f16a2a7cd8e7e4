"""The check that a streaming client left (app/blueprints/chat.py): it must work for any
descriptor, since a worker holding 1000 streams hands out descriptors above select()'s 1023."""

from __future__ import annotations

import contextlib
import os
import resource
import socket

import pytest

from app.blueprints.streaming import client_watch

HIGH_DESCRIPTOR = 1200


@pytest.fixture
def high_socket_pair():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= HIGH_DESCRIPTOR:
        pytest.fail(f"the open-files hard limit ({hard}) is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH_DESCRIPTOR + 100), hard))
    ours, theirs = socket.socketpair()
    high = socket.socket(fileno=os.dup2(ours.fileno(), HIGH_DESCRIPTOR))
    ours.close()
    try:
        yield high, theirs
    finally:
        for sock in (high, theirs):
            with contextlib.suppress(OSError):
                sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_client_still_there_is_not_gone_even_on_a_high_descriptor(high_socket_pair):
    high, _theirs = high_socket_pair
    assert high.fileno() == HIGH_DESCRIPTOR
    assert client_watch(high)() is False


def test_a_client_that_closed_is_gone_even_on_a_high_descriptor(high_socket_pair):
    high, theirs = high_socket_pair
    theirs.close()
    assert client_watch(high)() is True


def test_pipelined_bytes_are_not_taken_for_a_departure(high_socket_pair):
    high, theirs = high_socket_pair
    theirs.sendall(b"GET / HTTP/1.1\r\n")
    assert client_watch(high)() is False
    assert high.recv(100) == b"GET / HTTP/1.1\r\n"  # only peeked at
