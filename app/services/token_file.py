"""The `.tokens` file (SPEC §7.2): one `token,checksum` per line, the operator's to edit.

Decisions: first-occurrence order is kept (D9); a file that cannot be read is never rewritten
(D9); every write is atomic (temporary file, fsync, rename, fsync of the folder: two fsyncs) and
serialised across processes with an advisory lock, so a crash at any moment leaves the old file
or the new one, never a torn one; a file already in normal form is not rewritten. A temporary
file a crash left behind (it holds full tokens) is removed at the next start.

The lock is taken without blocking the process: under gevent a blocking flock would stop every
greenlet of the worker (chats included) for as long as another process holds the lock. It is
polled instead, with sleeps that yield, and given up after LOCK_WAIT_SECONDS.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from app.cursor.checksum import repair_checksum
from app.cursor.session_token import is_api_key, strip_token_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenLine:
    token: str
    checksum: str


def parse_token_text(text: str) -> list[TokenLine]:
    """Normalise file content: `#` lines and lines without exactly one comma are dropped (a bare
    `crsr_` API key is kept),
    prefixes stripped, checksums repaired; a duplicate token keeps its first position and the
    later line's checksum."""
    by_token: dict[str, str] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) == 1 and is_api_key(line):
            # A Cursor API key (agent protocol, D26) needs no checksum; one is generated so every
            # line keeps the file's `token,checksum` form.
            by_token[line] = repair_checksum("")
            continue
        if len(fields) != 2:
            log.warning("token file line %d dropped: expected 'token,checksum'", number)
            continue
        by_token[strip_token_prefix(fields[0])] = repair_checksum(fields[1])
    return [TokenLine(token, checksum) for token, checksum in by_token.items()]


def format_token_lines(lines: list[TokenLine]) -> str:
    return "\n".join(f"{line.token},{line.checksum}" for line in lines)


LOCK_WAIT_SECONDS = 10.0
_POLL_FIRST_SECONDS, _POLL_MAX_SECONDS = 0.001, 0.05
PRIVATE_FILE = 0o600


class TokenFileBusy(TimeoutError):
    """The `.tokens` lock stayed taken for LOCK_WAIT_SECONDS. A TimeoutError, hence an OSError:
    the token routes answer it as the failed file write it is."""


@contextlib.contextmanager
def locked(path: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Exclusive lock held across a read-modify-write of the file by every process on the host
    (gunicorn workers, a second instance) and every thread: flock excludes each open file
    description, and each caller opens its own. Greenlets and threads of one process queue on
    an in-process lock first; the flock is then polled (LOCK_NB) with sleeps that yield, so
    waiting for another process never blocks this one. Raises TokenFileBusy after `wait`
    seconds in all."""
    give_up = time.monotonic() + wait
    in_process = _in_process_lock()
    if not in_process.acquire(timeout=wait):
        raise TokenFileBusy(f"{path} is being changed by this process for longer than {wait:g} s")
    try:
        lock_path = f"{os.path.abspath(path)}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        try:
            _flock_polled(fd, give_up, lock_path, wait)
            yield
        finally:
            os.close(fd)  # closing releases the lock
    finally:
        in_process.release()


def _flock_polled(fd: int, give_up: float, lock_path: str, wait: float) -> None:
    pause = _POLL_FIRST_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = give_up - time.monotonic()
            if left <= 0:
                raise TokenFileBusy(f"{lock_path} stayed locked by another process for {wait:g} s") from None
            time.sleep(min(pause, left))  # gevent's sleep in a worker: the other greenlets run
            pause = min(pause * 2, _POLL_MAX_SECONDS)


_lock: tuple[int, threading.Lock] | None = None


def _in_process_lock() -> threading.Lock:
    """Greenlets of one worker wait here, cooperatively: a store on another server (Redis)
    yields to gevent inside the locked section. Made on first use in each process, so a
    gunicorn worker gets gevent's lock, not one made in the master before the monkey-patch."""
    global _lock
    if _lock is None or _lock[0] != os.getpid():
        _lock = (os.getpid(), threading.Lock())
    return _lock[1]


def _temporary_prefix(path: str) -> str:
    """`.tokens-` for `.tokens`: hidden, and named after the file it replaces."""
    name = os.path.basename(path)
    return f"{name}-" if name.startswith(".") else f".{name}-"


# mkstemp's names: the prefix, 8 of [a-z0-9_], the suffix. Before issue #14 the prefix was
# ".tokens-" and there was no suffix; leftovers of that form are removed too.
_LEGACY_TEMPORARY = re.compile(r"\.tokens-[a-z0-9_]{8}")


def write_atomically(path: str, text: str) -> None:
    """Replace the file's content so that readers and crashes see old or new, never half: a
    0600 temporary file (whatever the umask: it holds account credentials), fsync, rename,
    fsync of the folder so the rename itself is durable."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_leftovers(path: str) -> list[str]:
    """At start, under the lock: delete temporary files a crash left beside the token file (each
    holds a full token list), and make the file itself private. Returns the names removed."""
    directory = os.path.dirname(os.path.abspath(path))
    ours = re.compile(re.escape(_temporary_prefix(path)) + r"[a-z0-9_]{8}\.tmp")
    removed = []
    for name in os.listdir(directory):
        if ours.fullmatch(name) or _LEGACY_TEMPORARY.fullmatch(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, name))
                removed.append(name)
    with contextlib.suppress(FileNotFoundError):
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, PRIVATE_FILE)
    return removed


def read_and_normalise(path: str) -> list[TokenLine]:
    """SPEC §7.2 steps 1–5 without taking the lock (callers hold it): a missing file is
    created empty; an unreadable one gives an empty list and is left untouched (D9)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("token file %s could not be read (%s); starting with no tokens, file left as is", path, exc)
        return []
    lines = parse_token_text(text)
    normal = format_token_lines(lines)
    if normal != text or not os.path.exists(path):
        write_atomically(path, normal)
    return lines
