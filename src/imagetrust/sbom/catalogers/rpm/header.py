"""The rpm header blob: the one record format shared by all three rpm databases.

Every rpm database (sqlite, ndb, Berkeley DB) stores one *header blob* per installed
package: a big-endian index count and data length, ``il`` index entries of 16 bytes (tag,
type, offset, count), then ``dl`` bytes of data the entries point into. The blob comes
from an untrusted image, so every count, offset and string end is checked against the
data before it is read; anything out of bounds is a ``CatalogerError`` naming the file.
Only the handful of tags an SBOM needs is decoded; the installed file names (BASENAMES,
DIRNAMES, DIRINDEXES: file ``i`` is ``dirnames[dirindexes[i]] + basenames[i]``) only by
``header_files``, when an image has language packages whose owner is asked for.
"""

from __future__ import annotations

import struct

from msgspec import Struct

from imagetrust.sbom.models import CatalogerError

# Tags (rpmtag.h).
TAG_NAME = 1000
TAG_VERSION = 1001
TAG_RELEASE = 1002
TAG_EPOCH = 1003
TAG_SIZE = 1009
TAG_VENDOR = 1011
TAG_LICENSE = 1014
TAG_ARCH = 1022
TAG_SOURCERPM = 1044
TAG_DIRINDEXES = 1116
TAG_BASENAMES = 1117
TAG_DIRNAMES = 1118
TAG_MODULARITYLABEL = 5096

# Types (rpmtag.h): fixed element sizes; strings are NUL-terminated.
_TYPE_CHAR, _TYPE_INT8, _TYPE_INT16, _TYPE_INT32, _TYPE_INT64 = 1, 2, 3, 4, 5
_TYPE_STRING, _TYPE_BIN, _TYPE_STRING_ARRAY, _TYPE_I18NSTRING = 6, 7, 8, 9
_FIXED_SIZE = {0: 0, _TYPE_CHAR: 1, _TYPE_INT8: 1, _TYPE_INT16: 2, _TYPE_INT32: 4, _TYPE_INT64: 8}
_INT_FORMAT = {_TYPE_INT8: ">B", _TYPE_INT16: ">H", _TYPE_INT32: ">I", _TYPE_INT64: ">Q"}
_STRING_TYPES = {_TYPE_STRING, _TYPE_STRING_ARRAY, _TYPE_I18NSTRING}

# The lead-in of a header inside an .rpm file; databases store the blob without it.
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
# rpm's own sanity limits (header.c hdrchkTags / hdrchkData).
MAX_INDEX_ENTRIES = 0xFFFF
MAX_DATA_BYTES = 256 << 20

_STRING_TAGS = {
    TAG_NAME: "name",
    TAG_VERSION: "version",
    TAG_RELEASE: "release",
    TAG_ARCH: "arch",
    TAG_LICENSE: "license",
    TAG_SOURCERPM: "source_rpm",
    TAG_VENDOR: "vendor",
    TAG_MODULARITYLABEL: "modularity_label",
}
_INT_TAGS = {TAG_EPOCH: "epoch", TAG_SIZE: "size"}


class RpmHeader(Struct, frozen=True):
    """The fields of one installed package that an SBOM reports."""

    name: str
    version: str
    release: str
    epoch: int | None = None
    arch: str | None = None
    license: str | None = None
    size: int | None = None
    source_rpm: str | None = None
    vendor: str | None = None
    modularity_label: str | None = None


def parse_header(path: str, blob: bytes) -> RpmHeader:
    """Decode one header blob read from the database at ``path``.

    Raises ``CatalogerError`` (naming ``path``) for anything malformed; never another
    exception, whatever the bytes.
    """
    view = memoryview(blob)
    if view[:4] == _HEADER_MAGIC:
        view = view[8:]
    if len(view) < 8:
        raise CatalogerError(path, f"rpm header truncated ({len(view)} bytes)")
    il, dl = struct.unpack_from(">II", view, 0)
    if il < 1 or il > MAX_INDEX_ENTRIES:
        raise CatalogerError(path, f"rpm header has an invalid index count {il}")
    if dl > MAX_DATA_BYTES:
        raise CatalogerError(path, f"rpm header data length {dl} is past the limit")
    data_start = 8 + 16 * il
    if data_start + dl > len(view):
        raise CatalogerError(
            path, f"rpm header truncated: needs {data_start + dl} bytes, has {len(view)}"
        )
    data = bytes(view[data_start : data_start + dl])
    strings: dict[str, str] = {}
    ints: dict[str, int] = {}
    for i in range(il):
        tag, typ, offset, count = struct.unpack_from(">IIiI", view, 8 + 16 * i)
        _check_entry(path, tag, typ, offset, count, dl)
        if tag in _STRING_TAGS and _STRING_TAGS[tag] not in strings:
            if typ not in _STRING_TYPES:
                raise CatalogerError(path, f"rpm header tag {tag} has non-string type {typ}")
            strings[_STRING_TAGS[tag]] = _read_string(path, data, offset, tag)
        elif tag in _INT_TAGS and _INT_TAGS[tag] not in ints:
            if typ not in _INT_FORMAT:
                raise CatalogerError(path, f"rpm header tag {tag} has non-integer type {typ}")
            ints[_INT_TAGS[tag]] = struct.unpack_from(_INT_FORMAT[typ], data, offset)[0]
    for required in ("name", "version", "release"):
        if not strings.get(required):
            raise CatalogerError(path, f"rpm header without {required.upper()}")
    return RpmHeader(
        name=strings["name"],
        version=strings["version"],
        release=strings["release"],
        epoch=ints.get("epoch"),
        arch=strings.get("arch"),
        license=strings.get("license"),
        size=ints.get("size"),
        source_rpm=strings.get("source_rpm"),
        vendor=strings.get("vendor"),
        modularity_label=strings.get("modularity_label"),
    )


def header_files(path: str, blob: bytes, wanted_names: frozenset[str]) -> list[str]:
    """The installed files of one header blob whose base name is in ``wanted_names``.

    Only the matching base names are joined to their directory, so a header listing
    thousands of files costs three C-level splits and a set lookup per name.
    """
    view = memoryview(blob)
    if view[:4] == _HEADER_MAGIC:
        view = view[8:]
    if len(view) < 8:
        raise CatalogerError(path, f"rpm header truncated ({len(view)} bytes)")
    il, dl = struct.unpack_from(">II", view, 0)
    if il < 1 or il > MAX_INDEX_ENTRIES or dl > MAX_DATA_BYTES:
        raise CatalogerError(path, f"rpm header has an invalid index count {il}")
    data_start = 8 + 16 * il
    if data_start + dl > len(view):
        raise CatalogerError(path, "rpm header truncated")
    data = bytes(view[data_start : data_start + dl])
    entries: dict[int, tuple[int, int, int]] = {}
    for i in range(il):
        tag, typ, offset, count = struct.unpack_from(">IIiI", view, 8 + 16 * i)
        if tag in (TAG_BASENAMES, TAG_DIRNAMES, TAG_DIRINDEXES):
            _check_entry(path, tag, typ, offset, count, dl)
            entries[tag] = (typ, offset, count)
    if TAG_BASENAMES not in entries or TAG_DIRNAMES not in entries:
        return []  # a package without files (or from before rpm 4.0's compressed names)
    basenames = _string_array(path, data, TAG_BASENAMES, *entries[TAG_BASENAMES])
    if not wanted_names.intersection(basenames):
        return []
    dirnames = _string_array(path, data, TAG_DIRNAMES, *entries[TAG_DIRNAMES])
    if TAG_DIRINDEXES not in entries:
        raise CatalogerError(path, "rpm header has file names without DIRINDEXES")
    typ, offset, count = entries[TAG_DIRINDEXES]
    if typ != _TYPE_INT32 or count != len(basenames):
        raise CatalogerError(path, "rpm header DIRINDEXES does not match BASENAMES")
    indexes = struct.unpack_from(f">{count}i", data, offset)
    files: list[str] = []
    for basename, index in zip(basenames, indexes, strict=True):
        if basename in wanted_names:
            if not 0 <= index < len(dirnames):
                raise CatalogerError(path, f"rpm header DIRINDEXES entry {index} out of range")
            files.append(dirnames[index] + basename)
    return files


def _string_array(path: str, data: bytes, tag: int, typ: int, offset: int, count: int) -> list[str]:
    """``count`` NUL-terminated strings from ``offset``, all inside the data."""
    if typ != _TYPE_STRING_ARRAY:
        raise CatalogerError(path, f"rpm header tag {tag} has non-string-array type {typ}")
    parts = data[offset:].split(b"\0", count)
    if len(parts) <= count:
        raise CatalogerError(path, f"rpm header tag {tag} strings are not terminated")
    return [part.decode("utf-8", errors="replace") for part in parts[:count]]


def _check_entry(path: str, tag: int, typ: int, offset: int, count: int, dl: int) -> None:
    """Every entry, wanted or not, must point inside the data (as rpm itself insists)."""
    if typ > _TYPE_I18NSTRING:
        raise CatalogerError(path, f"rpm header tag {tag} has unknown type {typ}")
    if offset < 0 or offset > dl:
        raise CatalogerError(path, f"rpm header tag {tag} points past the data ({offset})")
    if count == 0 or count > dl + 1:
        raise CatalogerError(path, f"rpm header tag {tag} has an invalid count {count}")
    if typ in _FIXED_SIZE:
        if offset + _FIXED_SIZE[typ] * count > dl:
            raise CatalogerError(path, f"rpm header tag {tag} runs past the data")
    elif typ == _TYPE_BIN:
        if offset + count > dl:
            raise CatalogerError(path, f"rpm header tag {tag} runs past the data")
    elif offset + count > dl:  # strings: at least one byte (the NUL) each
        raise CatalogerError(path, f"rpm header tag {tag} runs past the data")


def _read_string(path: str, data: bytes, offset: int, tag: int) -> str:
    end = data.find(b"\0", offset)
    if end < 0:
        raise CatalogerError(path, f"rpm header tag {tag} string is not terminated")
    return data[offset:end].decode("utf-8", errors="replace")
