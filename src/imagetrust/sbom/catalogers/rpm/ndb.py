"""The ndb ``Packages.db`` format (rpm >= 4.16 ``ndb`` backend; SUSE images use it).

Layout (rpm's lib/backend/ndb/rpmpkg.c), all little-endian: a 32-byte header (``RpmP``,
version 0, generation, number of 4 KiB slot pages), then the slot pages: 16-byte slots
(``Slot``, package index, block offset, block count), the first two positions taken by the
header. A used slot points (in 16-byte blocks) at a blob: a 16-byte head (``BlbS``,
package index, generation, length), the header blob, padding, and a 12-byte tail (Adler-32
of head, blob and padding; length; ``BlbE``). Everything is checked, the checksum too, so
a damaged file is reported rather than half-read.
"""

from __future__ import annotations

import struct
import zlib

from imagetrust.sbom.models import CatalogerError

NDB_MAGIC = b"RpmP"
_SLOT_MAGIC = b"Slot"
_BLOB_MAGIC = b"BlbS"
_TAIL_MAGIC = b"BlbE"
_PAGE = 4096
_BLOCK = 16
_HEAD = 16
_TAIL = 12


def read_ndb(path: str, data: bytes) -> list[bytes]:
    """The header blobs of every used slot, in slot order."""
    if len(data) < 32 or not data.startswith(NDB_MAGIC):
        raise CatalogerError(path, "not an rpm ndb database (bad header)")
    version, _generation, slot_pages = struct.unpack_from("<III", data, 4)
    if version != 0:
        raise CatalogerError(path, f"unsupported rpm ndb version {version}")
    if slot_pages == 0 or slot_pages * _PAGE > len(data):
        raise CatalogerError(path, f"rpm ndb truncated: {slot_pages} slot pages, {len(data)} bytes")
    slots_end = slot_pages * _PAGE
    blobs: list[bytes] = []
    for position in range(2, slot_pages * _PAGE // 16):
        magic, index, block, blocks = struct.unpack_from("<4sIII", data, position * 16)
        if magic != _SLOT_MAGIC:
            raise CatalogerError(path, f"rpm ndb slot {position} has a bad magic")
        if index == 0:
            continue
        blobs.append(_blob(path, data, index, block, blocks, slots_end))
    return blobs


def _blob(path: str, data: bytes, index: int, block: int, blocks: int, slots_end: int) -> bytes:
    start = block * _BLOCK
    end = start + blocks * _BLOCK
    if start < slots_end or blocks * _BLOCK < _HEAD + _TAIL or end > len(data):
        raise CatalogerError(path, f"rpm ndb package {index} points outside the file")
    magic, blob_index, _generation, length = struct.unpack_from("<4sIII", data, start)
    if magic != _BLOB_MAGIC or blob_index != index:
        raise CatalogerError(path, f"rpm ndb package {index} has a bad blob header")
    if _HEAD + length + _TAIL > end - start:
        raise CatalogerError(path, f"rpm ndb package {index} blob is longer than its blocks")
    checksum, tail_length, tail_magic = struct.unpack_from("<II4s", data, end - _TAIL)
    if tail_magic != _TAIL_MAGIC or tail_length != length:
        raise CatalogerError(path, f"rpm ndb package {index} has a bad blob tail")
    if zlib.adler32(data[start : end - _TAIL]) != checksum:
        raise CatalogerError(path, f"rpm ndb package {index} fails its checksum")
    return data[start + _HEAD : start + _HEAD + length]
