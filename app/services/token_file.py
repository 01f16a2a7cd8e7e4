"""The `.tokens` file (SPEC §7.2): one `token,checksum` per line, the operator's to edit.

Decisions: first-occurrence order is kept (D9); a file that cannot be read is never rewritten
(D9); every write is atomic (temporary file, fsync, rename) and serialised across processes
with an advisory lock, so a crash at any moment leaves the old file or the new one, never a
torn one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from app.cursor.checksum import repair_checksum
from app.cursor.session_token import strip_token_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenLine:
    token: str
    checksum: str


def parse_token_text(text: str) -> list[TokenLine]:
    """Normalise file content: `#` lines and lines without exactly one comma are dropped,
    prefixes stripped, checksums repaired; a duplicate token keeps its first position and the
    later line's checksum."""
    by_token: dict[str, str] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) != 2:
            log.warning("token file line %d dropped: expected 'token,checksum'", number)
            continue
        by_token[strip_token_prefix(fields[0])] = repair_checksum(fields[1])
    return [TokenLine(token, checksum) for token, checksum in by_token.items()]


def format_token_lines(lines: list[TokenLine]) -> str:
    return "\n".join(f"{line.token},{line.checksum}" for line in lines)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Exclusive lock held across a read-modify-write of the file by every process on the host
    (gunicorn workers, a second instance) and every thread: flock excludes each open file
    description, and each caller opens its own. Greenlets of one worker never yield inside
    (file and SQLite calls do not), so they cannot interleave either."""
    with _in_process_lock():
        fd = os.open(f"{os.path.abspath(path)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


_lock: tuple[int, threading.Lock] | None = None


def _in_process_lock() -> threading.Lock:
    """Greenlets of one worker wait here, cooperatively, rather than in flock: a store on
    another server (Redis) yields to gevent inside the locked section, and a second greenlet
    blocked in flock would then stop the whole worker, the holder included. Made on first use
    in each process, so a gunicorn worker gets gevent's lock, not one made in the master
    before the monkey-patch."""
    global _lock
    if _lock is None or _lock[0] != os.getpid():
        _lock = (os.getpid(), threading.Lock())
    return _lock[1]


def write_atomically(path: str, text: str) -> None:
    """Replace the file's content so that readers and crashes see old or new, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # the file holds account credentials
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


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
    write_atomically(path, format_token_lines(lines))
    return lines
