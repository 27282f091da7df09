"""rpmdb.sqlite (rpm >= 4.16, Fedora 33+, RHEL 9+): a ``Packages`` table of header blobs.

The file comes from an image, so it is opened from a private in-memory copy (sqlite's
``deserialize``; a private read-only temp file where this sqlite lacks it), never from the
image's own path, with ``query_only`` and ``trusted_schema=OFF``, and a progress handler
that stops any statement running past a fixed budget: a crafted schema cannot make the
query hang or write anything. rpm keeps its databases in WAL mode, which an in-memory copy
cannot use, so the copy's header is switched to the rollback journal first (the ``-wal``
file is not part of the image snapshot we read, just as for syft).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import tempfile
from collections.abc import Iterator

from imagetrust.sbom.models import CatalogerError

SQLITE_MAGIC = b"SQLite format 3\x00"
# Virtual-machine steps (in units of _PROGRESS_EVERY) before a statement is abandoned:
# generous for a real rpmdb of thousands of packages, finite for a hostile one.
_PROGRESS_EVERY = 1000
_PROGRESS_BUDGET = 200_000


def read_sqlite(path: str, data: bytes) -> list[bytes]:
    """The header blobs of ``Packages``, in ``hnum`` order."""
    if len(data) < 100 or not data.startswith(SQLITE_MAGIC):
        raise CatalogerError(path, "not an sqlite database (bad header)")
    _check_size(path, data)
    image = bytearray(data)
    # Bytes 18/19 are the write/read format versions; 2 means WAL.
    if image[18] == 2 or image[19] == 2:
        image[18] = image[19] = 1
    try:
        with _open(bytes(image)) as conn:
            return _blobs(path, conn)
    except CatalogerError:
        raise
    except (sqlite3.Error, ValueError, OverflowError, MemoryError, OSError) as exc:
        raise CatalogerError(path, f"unreadable rpm sqlite database: {exc}") from None


def _check_size(path: str, data: bytes) -> None:
    """A file shorter than its header's page count was cut off (sqlite may not notice)."""
    (page_size,) = struct.unpack_from(">H", data, 16)
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack_from(">II", data, 24)
    (valid_for,) = struct.unpack_from(">I", data, 92)
    if page_size < 512 or page_size & (page_size - 1):
        raise CatalogerError(path, f"rpm sqlite database has an invalid page size {page_size}")
    if len(data) % page_size:
        raise CatalogerError(path, "rpm sqlite database is truncated mid-page")
    if change_counter == valid_for and pages * page_size > len(data):
        raise CatalogerError(
            path, f"rpm sqlite database truncated: {pages} pages declared, {len(data)} bytes"
        )


@contextlib.contextmanager
def _open(image: bytes) -> Iterator[sqlite3.Connection]:
    if hasattr(sqlite3.Connection, "deserialize"):
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(image)
            _harden(conn)
            yield conn
        finally:
            conn.close()
        return
    with tempfile.TemporaryDirectory(prefix="imagetrust-rpmdb-") as tmp:  # pragma: no cover
        db_path = os.path.join(tmp, "rpmdb.sqlite")
        with open(db_path, "wb") as handle:
            handle.write(image)
        os.chmod(db_path, 0o400)
        conn = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
        try:
            _harden(conn)
            yield conn
        finally:
            conn.close()


def _harden(conn: sqlite3.Connection) -> None:
    steps = [0]

    def progress() -> int:
        steps[0] += 1
        return 1 if steps[0] > _PROGRESS_BUDGET else 0

    conn.set_progress_handler(progress, _PROGRESS_EVERY)
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA cell_size_check = ON")


def _blobs(path: str, conn: sqlite3.Connection) -> list[bytes]:
    kind = conn.execute(
        "SELECT type FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE"
    ).fetchall()
    if not kind:
        raise CatalogerError(path, "rpm sqlite database has no Packages table")
    if kind[0][0] != "table":
        raise CatalogerError(path, f"rpm sqlite Packages is a {kind[0][0]}, not a table")
    blobs: list[bytes] = []
    for hnum, blob in conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
        if not isinstance(blob, bytes):
            raise CatalogerError(path, f"rpm sqlite package {hnum!r} is not a header blob")
        blobs.append(blob)
    return blobs
