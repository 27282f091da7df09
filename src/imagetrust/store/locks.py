"""Named cross-process locks for writers that must not overlap (one import per source).

The lock lives where the store lives, so it holds for every process that opens the same
store: a PostgreSQL session advisory lock on its own connection, or an ``flock`` on a file
beside the SQLite database. Both are released by the operating system or the server when
the holder dies, even by ``kill -9``, so a crash never leaves a lock behind that someone
must clear by hand. Waiting is bounded: past ``timeout`` the caller gets a clear error
instead of a run that hangs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator

from sqlalchemy import text

from imagetrust.errors import StoreError
from imagetrust.store.database import Store
from imagetrust.store.url import sqlite_path

POLL_SECONDS = 0.2


class LockTimeout(StoreError):
    """Another process held the lock for longer than the caller was willing to wait."""


def _key_digest(name: str) -> bytes:
    return hashlib.sha256(f"imagetrust-lock:{name}".encode()).digest()


def pg_lock_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` (one number space for all of ours)."""
    return int.from_bytes(_key_digest(name)[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(
    store: Store,
    name: str,
    *,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the lock ``name`` for the block; wait up to ``timeout`` seconds for it.

    ``on_wait`` is called once, when the lock is found taken, so a command can say why it
    is not moving.
    """
    if store.backend == "postgresql":
        with _pg_lock(store, name, timeout, on_wait):
            yield
        return
    path = sqlite_path(store.url)
    if path is None:  # in-memory SQLite: one process, nothing to exclude
        yield
        return
    lock_path = path.with_name(f"{path.name}.lock-{_key_digest(name)[:8].hex()}")
    with open(lock_path, "a+b") as handle:
        _wait_for(lambda: _try_flock(handle.fileno()), name, timeout, on_wait)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _pg_lock(
    store: Store, name: str, timeout: float, on_wait: Callable[[], None] | None
) -> Iterator[None]:
    key = pg_lock_key(name)
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")

        def attempt() -> bool:
            return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())

        _wait_for(attempt, name, timeout, on_wait)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a dead connection has released it already
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def _wait_for(
    attempt: Callable[[], bool], name: str, timeout: float, on_wait: Callable[[], None] | None
) -> None:
    deadline = time.monotonic() + timeout
    told = False
    while not attempt():
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"{name}: still held by another process after {timeout:g} s",
                hint="wait for the other command to finish, or give it longer (--wait)",
            )
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(POLL_SECONDS)
