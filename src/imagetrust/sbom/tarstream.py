"""A forward-only tar reader over chunks of bytes: headers parsed here, data skipped in bulk.

Why not ``tarfile``: its stream mode reads in 512-byte steps and builds a ``TarInfo`` with
a dozen decoded fields per member; a layer walker needs five fields and must skip member
data a megabyte at a time. This reader parses exactly what the walker uses (name, mode,
size, type, link target) from ustar, GNU (``L``/``K`` long names, base-256 numbers, sparse
files) and pax (``x``/``g``: ``path``, ``linkpath``, ``size``) headers, verifies every
header checksum, and refuses anything inconsistent with ``LayerError``: a tar is hostile
input, and a partial member means the layer is truncated. It follows Go's archive/tar
(what container runtimes use) where readers differ: header-only types (links, devices,
directories, fifos) carry no data whatever their size field says, and one zero block
followed by a non-zero one is an error rather than a place to stop reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from itertools import groupby

from isal.isal_zlib import adler32
from msgspec import Struct

from imagetrust.sbom.models import LayerError


def _native_skip() -> Callable[[bytes, int], int] | None:
    """The C shortcut for pax headers of unused records, if setup.py could build it (an
    install without a C compiler walks the same way in pure Python, ~10 % slower on a
    PAX-heavy layer)."""
    try:
        from imagetrust.sbom import _tarfast
    except ImportError:
        return None
    return _tarfast.skip_unused_pax


# What ``members`` uses; None is the pure Python path (tests switch the shortcut off to
# hold both paths to the same results).
skip_unused_pax = _native_skip()

BLOCK = 512
MAX_META = 1 << 20  # a long name or pax header larger than this is refused, not buffered
_ZERO = bytes(BLOCK)
_ADLER_MOD = 65521

FILE, DIR, SYMLINK, HARDLINK, DEVICE, FIFO, SPARSE, OTHER = (
    "file",
    "dir",
    "symlink",
    "hardlink",
    "device",
    "fifo",
    "sparse",
    "other",
)
_KINDS = {
    ord("0"): FILE,
    0: FILE,
    ord("7"): FILE,
    ord("1"): HARDLINK,
    ord("2"): SYMLINK,
    ord("3"): DEVICE,
    ord("4"): DEVICE,
    ord("5"): DIR,
    ord("6"): FIFO,
    ord("S"): SPARSE,
}
_LONGNAME, _LONGLINK, _PAX, _SOLARIS_PAX, _GLOBAL = (ord(c) for c in "LKxXg")
_META = frozenset({_LONGNAME, _LONGLINK, _PAX, _SOLARIS_PAX, _GLOBAL})
_CONTIGUOUS, _OLD_SPARSE = ord("7"), ord("S")
_HEADER_ONLY = frozenset({HARDLINK, SYMLINK, DEVICE, DIR, FIFO})


class Member(Struct):
    """One tar entry as the walker sees it: ``name`` is raw (not yet normalised)."""

    name: str
    kind: str
    mode: int
    size: int  # bytes of data that follow (0 for header-only kinds)
    linkname: str


def _text(raw: bytes) -> str:
    # Paths are compared and stored as text; invalid UTF-8 is replaced, never fatal.
    return raw.decode("utf-8", "replace")


def _cstr(field: bytes) -> bytes:
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def _number(field: bytes, what: str) -> int:
    """An octal field, or GNU's base-256 encoding (first byte 0x80, or 0xff if negative)."""
    try:  # the common shape: digits, then NULs or spaces
        return int(field.rstrip(b"\0 "), 8)
    except ValueError:
        pass
    if field and field[0] in (0x80, 0xFF):
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0xFF:
            value -= 1 << (8 * (len(field) - 1))
        return value
    digits = _cstr(field).strip(b" ")
    if not digits:
        return 0
    try:
        return int(digits, 8)
    except ValueError:
        raise LayerError(f"invalid tar header: {what} field is not a number") from None


_SPACES = b" " * 8
_FIELD_AS_SPACES = 8 * ord(" ")


def _checksum_ok(block: bytes) -> bool:
    field = block[148:156]
    try:  # _number's common shape, inlined: this runs for every header
        stored = int(field.rstrip(b"\0 "), 8)
    except ValueError:
        stored = _number(field, "checksum")
    # adler32's low half is 1 + (sum of bytes) mod 65521: byte sums at C speed (a Python
    # sum over 512 bytes costs more than the rest of the header; isa-l's adler32 is SIMD,
    # 2.5x fewer instructions than zlib's on a block). The checksum field counts as eight
    # spaces: the block's sum less the field's own, plus 8 * 32, with no copy of the block.
    # A sum is at most 512 * 255, so a stored checksum exactly 65521 off the true one would
    # pass: a checksum meant to catch corruption can afford that.
    if (
        stored - (adler32(block) & 0xFFFF) + (adler32(field) & 0xFFFF) - _FIELD_AS_SPACES
    ) % _ADLER_MOD == 0:
        return True
    # Some old tars summed signed bytes.
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + _SPACES + block[156:])
    return stored == signed


# The pax keys the walker acts on. Builders put other records on every entry (sub-second
# ``mtime``/``atime``, ``SCHILY.xattr.*``): they are still checked, but not kept, so a member
# they alone amend takes the fast path of ``members`` (every record kept cost a PAX-heavy
# layer +51 % of walk time, bench/pax.py).
_PAX_KEYS = frozenset({b"path", b"linkpath", b"size", b"GNU.sparse.name", b"GNU.sparse.major"})

# Records up to this long are checked by ``_unused_records``; a header with a longer one is
# checked by the loop of ``parse_pax`` (as strictly, only slower).
_PATTERN_RECORD_MAX = 99


@cache
def _unused_records() -> re.Pattern[bytes]:
    """A pattern matching only pax header data that ``parse_pax``'s loop accepts and keeps
    nothing of: well-formed records (``LEN key=value\\n``, LEN the record's own length) of
    keys the walker does not use.

    Why a regular expression: such a header precedes every entry of a PAX-heavy layer, and
    the loop's Python steps (three or four per record) cost that layer a third of its walk
    time (bench/pax.py). The regex engine cannot add, so a record's length is checked by
    spelling every length out: an alternation, factored into a tree on the length's digits,
    of ``LEN `` followed by exactly the rest of the record, its last byte a newline. Two
    lookaheads hold the rest to a key of at least one byte, then ``=`` before that newline,
    and the key to none of ``_PAX_KEYS``. Anything else (a longer record, NUL padding, an
    empty key, a key the walker uses, a malformed record) fails to match and goes through
    the loop, which keeps what it must and raises on what is malformed: the pattern only
    ever says "nothing to keep, nothing wrong". Compiled once per process, when a walk
    first meets a pax header (about 9 ms: 95 lengths spelt out).
    """
    used = b"|".join(re.escape(key) for key in sorted(_PAX_KEYS))

    def rest(length: int) -> bytes:  # after "LEN ": a key, "=", a value, a newline
        after = length - len(b"%d " % length)
        # ``[^=]{1,n}`` is a counted scan (cheaper than a class like ``[^=\n]``); the bound
        # keeps the "=" inside the record, before its newline.
        return rb"(?!(?:%s)=)(?=[^=]{1,%d}=).{%d}\n" % (used, after - 2, after - 1)

    def spell(prefixes: list[bytes], depth: int) -> bytes:
        """An alternation of ``prefixes`` ("LEN "), which share their first ``depth``
        bytes, each followed by the rest of its record."""
        if len(prefixes[0]) == depth:  # a whole "LEN " (none is a prefix of another)
            return rest(int(prefixes[0]))
        branches = [
            re.escape(bytes([char])) + spell(list(group), depth + 1)
            for char, group in groupby(prefixes, key=lambda prefix: prefix[depth])
        ]
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    # "5 k=\n", five bytes, is the shortest record
    prefixes = sorted(b"%d " % length for length in range(5, _PATTERN_RECORD_MAX + 1))
    return re.compile(b"(?:" + spell(prefixes, 0) + b")*", re.DOTALL)


def parse_pax(data: bytes) -> dict[str, bytes]:
    """The records of ``LEN key=value\\n`` form the walker uses (``_PAX_KEYS``); malformed
    records, used or not, make the layer an error."""
    if _unused_records().fullmatch(data):
        return {}
    return _pax_records(data)


def _pax_records(data: bytes) -> dict[str, bytes]:
    """``parse_pax`` record by record: the reference the pattern must agree with."""
    records: dict[str, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] == 0:  # NUL padding after the last record
            break
        space = data.find(b" ", pos, min(end, pos + 24))
        try:
            length = int(data[pos:space]) if space > pos else -1
        except ValueError:
            length = -1
        if length <= space - pos + 1 or pos + length > end or data[pos + length - 1] != 0x0A:
            raise LayerError("invalid tar: malformed pax header record")
        key, eq, value = data[space + 1 : pos + length - 1].partition(b"=")
        if not eq:
            raise LayerError("invalid tar: pax header record without '='")
        if key in _PAX_KEYS:
            records[key.decode("ascii")] = value
        pos += length
    return records


class TarReader:
    """Members of a tar arriving as chunks from ``pull`` (b"" at the end).

    ``on_chunk(n)`` sees every chunk's size first, so the caller can stop a bomb before
    the chunk is looked at. Member data must be consumed (``read``, ``iter_data``,
    ``skip``) before the next member; what is left over is skipped automatically.
    """

    def __init__(self, pull: Callable[[], bytes], on_chunk: Callable[[int], None]) -> None:
        self._pull = pull
        self._on_chunk = on_chunk
        self._buf = b""
        self._pos = 0
        self._left = 0  # data bytes of the current member not yet consumed
        self._pad = 0  # padding after the current member's data
        self._eof = False
        self._global: dict[str, bytes] = {}

    # -- bytes ---------------------------------------------------------------------------

    def _next_chunk(self) -> bytes:
        if self._eof:
            return b""
        chunk = self._pull()
        if not chunk:
            self._eof = True
            return b""
        self._on_chunk(len(chunk))
        return chunk

    def _block(self) -> bytes | None:
        """The next 512 bytes; None at a clean end; a partial block is truncation."""
        pos = self._pos
        if len(self._buf) - pos >= BLOCK:
            self._pos = pos + BLOCK
            return self._buf[pos : pos + BLOCK]
        block = self._buf[pos:]
        while len(block) < BLOCK:
            chunk = self._next_chunk()
            if not chunk:
                if block:
                    raise LayerError("truncated tar: the stream ends inside a header")
                self._buf, self._pos = b"", 0
                return None
            need = BLOCK - len(block)
            block += chunk[:need]
            self._buf, self._pos = chunk, min(need, len(chunk))
        return block

    def _skip_bytes(self, count: int) -> None:
        avail = len(self._buf) - self._pos
        if count <= avail:
            self._pos += count
            return
        count -= avail
        while True:
            chunk = self._next_chunk()
            if not chunk:
                raise LayerError("truncated tar: a member promises more bytes than follow")
            if len(chunk) >= count:
                self._buf, self._pos = chunk, count
                return
            count -= len(chunk)

    def iter_data(self) -> Iterator[bytes]:
        """The rest of the current member's data, in pieces of at most one chunk."""
        while self._left:
            avail = len(self._buf) - self._pos
            if not avail:
                chunk = self._next_chunk()
                if not chunk:
                    raise LayerError("truncated tar: a member promises more bytes than follow")
                self._buf, self._pos = chunk, 0
                avail = len(chunk)
            take = min(avail, self._left)
            piece = self._buf[self._pos : self._pos + take]
            self._pos += take
            self._left -= take
            yield piece

    def read(self) -> bytes:
        """All of the current member's remaining data (the caller bounds its size)."""
        return b"".join(self.iter_data())

    def skip(self) -> None:
        if self._left or self._pad:
            self._skip_bytes(self._left + self._pad)
            self._left = self._pad = 0

    def drain(self) -> None:
        """Consume the rest of the stream (after the end of the archive) and discard it."""
        self._buf, self._pos = b"", 0
        while self._next_chunk():
            pass

    # -- members -------------------------------------------------------------------------

    def _meta_data(self, size: int) -> bytes:
        if size > MAX_META:
            raise LayerError(f"invalid tar: a {size}-byte long-name or pax header")
        pos, whole = self._pos, size + -size % BLOCK
        if len(self._buf) - pos >= whole:  # the common case (a pax header per entry): a slice
            self._pos = pos + whole
            return self._buf[pos : pos + size]
        self._left, self._pad = size, -size % BLOCK
        data = self.read()
        self.skip()
        return data

    def members(self) -> Iterator[Member]:
        long_name: bytes | None = None
        long_link: bytes | None = None
        pax: dict[str, bytes] = {}
        unused: Callable[[bytes, int, int], re.Match[bytes] | None] | None = None
        native_skip = skip_unused_pax
        while True:
            if self._left or self._pad:
                self.skip()
            pos = self._pos
            buf = self._buf
            avail = len(buf) - pos
            # A pax header of records the walker does not use (one before every entry of a
            # PAX-heavy layer) is checked and skipped in one C call, and the header after it
            # read in this same turn; -1 when this loop must look at the pax header itself
            # (bench/pax.py, _tarfast.c).
            if avail >= BLOCK and buf[pos + 156] == _PAX and native_skip is not None:
                after = native_skip(buf, pos)
                if after >= 0:
                    self._pos = pos = after
                    avail = len(buf) - pos
            if avail >= BLOCK:  # the common case, inlined: one slice
                self._pos = pos + BLOCK
                block: bytes | None = buf[pos : pos + BLOCK]
            else:
                block = self._block()
            if block is None:
                return  # no end-of-archive blocks: tolerated, as GNU tar and Go do
            if block == _ZERO:
                following = self._block()
                if following is None or following == _ZERO:
                    return
                raise LayerError("invalid tar: a zero block followed by a header")
            if not _checksum_ok(block):
                raise LayerError("invalid tar: header checksum mismatch")
            flag = block[156]
            try:  # _number's common shape, inlined
                size = int(block[124:136].rstrip(b"\0 "), 8)
            except ValueError:
                size = _number(block[124:136], "size")
            if size < 0:
                raise LayerError("invalid tar: negative size")
            if flag in _META:
                if flag == _PAX:  # a PAX-heavy layer's common case, checked where it lies
                    start, whole = self._pos, size + -size % BLOCK
                    if len(self._buf) - start >= whole and size <= MAX_META:
                        if unused is None:
                            unused = _unused_records().fullmatch
                        if unused(self._buf, start, start + size):
                            self._pos = start + whole
                            continue  # records the walker does not use, all well-formed
                data = self._meta_data(size)
                if flag == _LONGNAME:
                    long_name = _cstr(data)
                elif flag == _LONGLINK:
                    long_link = _cstr(data)
                elif flag == _GLOBAL:
                    self._global.update(parse_pax(data))
                else:
                    pax.update(parse_pax(data))
                continue
            kind = _KINDS.get(flag, OTHER)
            if long_name is None and long_link is None and not pax and not self._global:
                end = block.find(0, 0, 100)
                raw = block[: end if end >= 0 else 100]
                if block[345] and block[257:263] == b"ustar\0":
                    raw = _cstr(block[345:500]) + b"/" + raw
                name = raw.decode("utf-8", "replace")
                if kind is HARDLINK or kind is SYMLINK:
                    linkname = _text(_cstr(block[157:257]))
                else:
                    linkname = ""
            else:
                name, linkname, size, kind = self._extended(
                    block, kind, size, long_name, long_link, pax
                )
                long_name = long_link = None
                pax = {}
            if kind is FILE and name.endswith("/") and flag != _CONTIGUOUS:
                kind = DIR  # pre-POSIX tars mark directories by a trailing slash only
            mode = _number(block[100:108], "mode") & 0o7777
            if kind in _HEADER_ONLY:
                size = 0
            elif flag == _OLD_SPARSE and block[482]:
                self._skip_sparse_extensions()
            self._left, self._pad = size, -size % BLOCK
            yield Member(name, kind, mode, size, linkname)

    def _extended(
        self,
        block: bytes,
        kind: str,
        size: int,
        long_name: bytes | None,
        long_link: bytes | None,
        pax: dict[str, bytes],
    ) -> tuple[str, str, int, str]:
        """Name, link target, size and kind of a member that long-name or pax headers
        amend (pax records win over GNU long names, which win over the header)."""
        records = {**self._global, **pax} if self._global else pax
        if "size" in records:
            try:
                size = int(records["size"])
            except ValueError:
                raise LayerError("invalid tar: pax size is not a number") from None
            if size < 0:
                raise LayerError("invalid tar: negative size")
        if "path" in records:
            name = _text(records["path"])
        elif long_name is not None:
            name = _text(long_name)
        else:
            raw = _cstr(block[0:100])
            if block[257:263] == b"ustar\0":
                prefix = _cstr(block[345:500])
                if prefix:
                    raw = prefix + b"/" + raw
            name = _text(raw)
        if "linkpath" in records:
            linkname = _text(records["linkpath"])
        elif long_link is not None:
            linkname = _text(long_link)
        else:
            linkname = _text(_cstr(block[157:257]))
        if "GNU.sparse.name" in records or "GNU.sparse.major" in records:
            kind = SPARSE
            if "GNU.sparse.name" in records:
                name = _text(records["GNU.sparse.name"])
        return name, linkname, size, kind

    def _skip_sparse_extensions(self) -> None:
        """Old GNU sparse headers continue in extension blocks while byte 504 is set."""
        while True:
            block = self._block()
            if block is None:
                raise LayerError("truncated tar: the stream ends inside a sparse header")
            if not block[504]:
                return
