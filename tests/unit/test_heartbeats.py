"""One heartbeat loop for every open agent turn (issue #15): each turn is beaten every interval
until its beat says stop, after which it is never called again; the loop ends when no turn is
left and starts again for the next. Conditions are awaited with a deadline, never timed."""

from __future__ import annotations

import threading
import time

from app.cursor.agent.heartbeats import Heartbeats

INTERVAL = 0.05
PATIENCE = 5.0


class Turn:
    def __init__(self, beats_wanted: int) -> None:
        self.beats_wanted = beats_wanted
        self.beats = 0
        self.lock = threading.Lock()

    def beat(self) -> bool:
        with self.lock:
            self.beats += 1
            return self.beats < self.beats_wanted


def wait_until(condition) -> bool:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(INTERVAL / 5)
    return True


def test_each_turn_is_beaten_until_it_says_stop():
    heartbeats = Heartbeats(INTERVAL)
    short, long = Turn(1), Turn(4)
    heartbeats.add(short)
    heartbeats.add(long)
    assert wait_until(lambda: long.beats == 4)
    assert wait_until(lambda: not heartbeats._running)  # nothing left to beat: the loop ended
    time.sleep(INTERVAL * 3)
    assert (short.beats, long.beats) == (1, 4)  # a turn that said stop is never called again


def test_the_loop_starts_again_for_a_turn_added_after_it_ended():
    heartbeats = Heartbeats(INTERVAL)
    first = Turn(1)
    heartbeats.add(first)
    assert wait_until(lambda: first.beats == 1 and not heartbeats._running)
    later = Turn(2)
    heartbeats.add(later)
    assert wait_until(lambda: later.beats == 2)


def test_a_slow_beat_does_not_hold_up_the_others():
    heartbeats = Heartbeats(INTERVAL)
    release = threading.Event()

    class Stuck(Turn):
        def beat(self) -> bool:
            super().beat()
            release.wait(PATIENCE)
            return False

    stuck, other = Stuck(1), Turn(3)
    heartbeats.add(stuck)
    heartbeats.add(other)
    try:
        assert wait_until(lambda: other.beats == 3)
        assert stuck.beats == 1
    finally:
        release.set()
