"""Berkeley DB hash-format ``Packages`` (rpm < 4.16: CentOS 7/8, RHEL 7/8, Amazon Linux 2).

rpm kept one hash database whose keys are 4-byte package numbers and whose values are
header blobs. Without libdb we read the file page by page (libdb's db_page.h): page 0 is
the hash metadata (magic 0x061561, page size, last page, byte order given away by the
magic); every hash page holds an index of item offsets, items in key/value pairs; a value
is inline (``H_KEYDATA``) or, as almost every header is, an ``H_OFFPAGE`` reference to a
chain of overflow pages. Key 0 is rpm's own counter, not a package. Chains are followed
with a visited set and checked against the declared length, so a crafted loop, a chain
leaving the file or a short chain is an error, never a hang.
"""

from __future__ import annotations

import struct

from imagetrust.sbom.models import CatalogerError

HASH_MAGIC = 0x061561
_VALID_PAGE_SIZES = {512 << shift for shift in range(8)}  # 512 .. 65536
_PAGE_HEADER = 26
_CHKSUM_EXTRA = 6  # PG_CHKSUM after the header when the database keeps page checksums
# Page types (db_page.h).
_P_HASH_UNSORTED = 2
_P_OVERFLOW = 7
_P_HASHMETA = 8
_P_HASH = 13
# Hash item types.
_H_KEYDATA = 1
_H_DUPLICATE = 2
_H_OFFPAGE = 3
_H_OFFDUP = 4
_DBMETA_CHKSUM = 0x01
_COUNTER_KEY = b"\0\0\0\0"


def is_bdb_hash(data: bytes) -> bool:
    if len(data) < 16:
        return False
    return HASH_MAGIC in (
        struct.unpack_from("<I", data, 12)[0],
        struct.unpack_from(">I", data, 12)[0],
    )


class _Db:
    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        if len(data) < 512 or not is_bdb_hash(data):
            raise CatalogerError(path, "not a Berkeley DB hash database (bad metadata page)")
        little = struct.unpack_from("<I", data, 12)[0] == HASH_MAGIC
        self.order = "<" if little else ">"
        (self.page_size,) = struct.unpack_from(self.order + "I", data, 20)
        encrypt, page_type, flags = data[24], data[25], data[26]
        (self.last_page,) = struct.unpack_from(self.order + "I", data, 32)
        if self.page_size not in _VALID_PAGE_SIZES:
            raise CatalogerError(path, f"Berkeley DB page size {self.page_size} is invalid")
        if page_type != _P_HASHMETA:
            raise CatalogerError(path, f"Berkeley DB metadata page has type {page_type}")
        if encrypt:
            raise CatalogerError(path, "encrypted Berkeley DB databases are not supported")
        if (self.last_page + 1) * self.page_size > len(data):
            raise CatalogerError(
                path,
                f"Berkeley DB truncated: {self.last_page + 1} pages of {self.page_size} "
                f"bytes declared, {len(data)} bytes present",
            )
        self.overhead = _PAGE_HEADER + (_CHKSUM_EXTRA if flags & _DBMETA_CHKSUM else 0)
        # Overflow pages already consumed, across all chains: rpm never shares one, and
        # refusing to reuse them keeps the work and memory linear in the file's size.
        self.used_overflow: set[int] = set()

    def page(self, number: int) -> tuple[int, int, int, int]:
        """(next page, entries, hf_offset, type) of a page, and its start offset."""
        start = number * self.page_size
        next_page, entries, hf_offset = struct.unpack_from(
            self.order + "IHH", self.data, start + 16
        )
        return next_page, entries, hf_offset, self.data[start + 25]

    def values(self) -> list[bytes]:
        blobs: list[bytes] = []
        for number in range(1, self.last_page + 1):
            _next, entries, _hf, page_type = self.page(number)
            if page_type in (_P_HASH, _P_HASH_UNSORTED):
                blobs.extend(self._hash_page(number, entries))
        return blobs

    def _hash_page(self, number: int, entries: int) -> list[bytes]:
        start = number * self.page_size
        if entries % 2 or self.overhead + 2 * entries > self.page_size:
            raise CatalogerError(self.path, f"Berkeley DB page {number} has a bad item count")
        offsets = struct.unpack_from(f"{self.order}{entries}H", self.data, start + self.overhead)
        items: list[tuple[int, int]] = []  # (offset, end) within the page
        end = self.page_size
        for offset in offsets:
            if offset < self.overhead + 2 * entries or offset >= end:
                raise CatalogerError(self.path, f"Berkeley DB page {number} has a bad item offset")
            items.append((offset, end))
            end = offset
        found: list[bytes] = []
        for pair in range(0, entries, 2):
            key_at, key_end = items[pair]
            value_at, value_end = items[pair + 1]
            key = self.data[start + key_at : start + key_end]
            if key[0] == _H_KEYDATA and key[1:] == _COUNTER_KEY:
                continue
            value_type = self.data[start + value_at]
            if value_type == _H_KEYDATA:
                found.append(self.data[start + value_at + 1 : start + value_end])
            elif value_type == _H_OFFPAGE:
                if value_end - value_at < 12:
                    raise CatalogerError(self.path, f"Berkeley DB page {number}: short item")
                first, length = struct.unpack_from(
                    self.order + "II", self.data, start + value_at + 4
                )
                found.append(self._overflow(first, length))
            elif value_type in (_H_DUPLICATE, _H_OFFDUP):
                raise CatalogerError(self.path, "Berkeley DB duplicate values are not rpm's")
            else:
                raise CatalogerError(
                    self.path, f"Berkeley DB page {number}: unknown item type {value_type}"
                )
        return found

    def _overflow(self, first: int, length: int) -> bytes:
        """Follow one overflow chain; bounded by the declared length and the used set."""
        chunks: list[bytes] = []
        total = 0
        seen = self.used_overflow
        number = first
        capacity = self.page_size - self.overhead
        while number != 0:
            if number in seen:
                raise CatalogerError(
                    self.path, f"Berkeley DB overflow page {number} is used twice (a loop)"
                )
            if number > self.last_page:
                raise CatalogerError(self.path, f"Berkeley DB overflow page {number} is missing")
            seen.add(number)
            next_page, _entries, used, page_type = self.page(number)
            if page_type != _P_OVERFLOW:
                raise CatalogerError(
                    self.path, f"Berkeley DB page {number} is not an overflow page"
                )
            if used > capacity or total + used > length:
                raise CatalogerError(self.path, f"Berkeley DB overflow page {number} overruns")
            start = number * self.page_size + self.overhead
            chunks.append(self.data[start : start + used])
            total += used
            number = next_page
        if total != length:
            raise CatalogerError(
                self.path, f"Berkeley DB overflow chain holds {total} of {length} bytes"
            )
        return b"".join(chunks)


def read_bdb(path: str, data: bytes) -> list[bytes]:
    """The header blobs of an rpm Berkeley DB ``Packages`` file, in page order."""
    return _Db(path, data).values()
