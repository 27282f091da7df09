"""PAX extended headers: the tar walker against Python's tarfile, and the compiled pattern
that shortcuts header data of records the walker does not use against the record loop.

For well-formed layers the oracle is the stdlib ``tarfile`` reading the same bytes (names,
sizes, link targets, contents). ``tarfile`` reads malformed records leniently, so for those
the reference is the walker's record-by-record loop, which predates the pattern: whatever
the pattern accepts, the loop must accept and keep nothing of, and a walk must yield the
same members or the same error with the pattern as without it.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.sbom import tarstream
from imagetrust.sbom.models import LayerError
from tests.services.require import unavailable

_KINDS = {
    tarfile.REGTYPE: tarstream.FILE,
    tarfile.DIRTYPE: tarstream.DIR,
    tarfile.SYMTYPE: tarstream.SYMLINK,
    tarfile.LNKTYPE: tarstream.HARDLINK,
}

# Keys builders write on every entry, and ones nobody uses; tarfile adds path and linkpath
# records itself for long or non-ASCII names (size only past 8 GiB: left to it).
_UNUSED_KEYS = [
    "mtime",
    "atime",
    "ctime",
    "comment",
    "uname",
    "gname",
    "SCHILY.xattr.user.origin",
    "SCHILY.xattr.security.capability",
    "LIBARCHIVE.creationtime",
]

# Text that makes records of every shape: '=' and newlines inside values, non-ASCII (UTF-8
# grows a record), lengths on both sides of the pattern's two-digit limit.
_UNICODE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
_PLAIN = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_TEXT = st.text(_PLAIN, max_size=40) | st.text(_UNICODE, max_size=120)


def _names(chars: st.SearchStrategy[str], longest: int) -> st.SearchStrategy[str]:
    segment = st.text(chars.filter(lambda c: c != "/"), min_size=1, max_size=longest)
    return st.lists(segment, min_size=1, max_size=4).map("/".join)


_NAME = _names(_PLAIN, 30) | _names(_UNICODE, 40)  # non-ASCII: tarfile writes a path record


@st.composite
def _entries(draw: st.DrawFn) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(draw(_NAME))
    info.type = draw(st.sampled_from(list(_KINDS)))
    data = b""
    if info.type == tarfile.REGTYPE:
        data = draw(st.binary(max_size=700))
    elif info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = draw(_NAME)
    info.size = len(data)
    info.pax_headers = draw(st.dictionaries(st.sampled_from(_UNUSED_KEYS), _TEXT, max_size=4))
    if draw(st.integers(0, 4)) == 0:  # a path record of its own, overriding the header's
        info.pax_headers["path"] = draw(_NAME)
    return info, data


def _chunked(data: bytes, size: int) -> Callable[[], bytes]:
    chunks = iter([data[i : i + size] for i in range(0, len(data), size)])
    return lambda: next(chunks, b"")


def _walk(tar: bytes, chunk: int) -> list[tuple[str, str, int, str, bytes]]:
    reader = tarstream.TarReader(_chunked(tar, chunk), lambda size: None)
    return [
        (m.name, m.kind, m.size, m.linkname, reader.read() if m.kind == tarstream.FILE else b"")
        for m in reader.members()
    ]


def _contents(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member) if member.isfile() else None
    return handle.read() if handle is not None else b""


@pytest.mark.parametrize("shortcut", ["C", "pure Python"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entries(), min_size=1, max_size=6), st.just(1 << 20) | st.integers(1, 2048))
def test_pax_records_of_any_shape_walk_as_tarfile_reads_them(
    shortcut: str, entries: list[tuple[tarfile.TarInfo, bytes]], chunk: int
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data))
    tar = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(tar)) as oracle:
        expected = [
            (
                member.name.rstrip("/"),  # tarfile strips a directory's (or pax path's) slash
                _KINDS[member.type],
                member.size,
                member.linkname if member.issym() or member.islnk() else "",
                _contents(oracle, member),
            )
            for member in oracle.getmembers()
        ]
    with pytest.MonkeyPatch.context() as patch:
        if shortcut == "C":
            _native()
        else:  # as installed without a C compiler
            patch.setattr(tarstream, "skip_unused_pax", None)
        walked = [
            (
                name.rstrip("/"),
                kind,
                size,
                link if kind in (tarstream.SYMLINK, tarstream.HARDLINK) else "",
                data,
            )
            for name, kind, size, link, data in _walk(tar, chunk)
        ]
    assert walked == expected


# -- the pattern against the loop ------------------------------------------------------------

_ANY_KEYS = [
    *[b"mtime", b"atime", b"SCHILY.xattr.user.a", b"k"] * 3,
    b"",
    b"pa\nth",
    b"paths",
    *sorted(tarstream._PAX_KEYS),
]
_VALUE = st.binary(max_size=110) | st.sampled_from([b"", b"=", b"\n", b"a=b\nc", b"1700000000.5"])


_BREAKS = [
    "no '='",
    "no newline",
    "length too long",
    "length too short",
    "length zero-padded",
    "length with a sign",
    "length with an underscore",
    "length not digits",
]


def _length_of(body: bytes) -> int:
    """A record's LEN for ``body`` (all after the digits): LEN counts its own digits."""
    length = len(body) + 1
    while len(b"%d" % length) + len(body) != length:
        length += 1
    return length


@st.composite
def _records(draw: st.DrawFn) -> bytes:
    """Pax header data: well-formed records, now and then one broken in one way."""
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(_ANY_KEYS))
        value = draw(_VALUE)
        broken = draw(st.sampled_from([None] * 12 + _BREAKS))
        body = b" " + key + (b"" if broken == "no '='" else b"=") + value
        body += b"x" if broken == "no newline" else b"\n"
        length = _length_of(body)
        length += {"length too long": 1, "length too short": -1}.get(broken or "", 0)
        digits = {
            "length zero-padded": b"0%d",
            "length with a sign": b"+%d",
            "length with an underscore": b"%d_",
            "length not digits": b"x%d",
        }.get(broken or "", b"%d")
        out += digits % length + body
    return out + draw(st.sampled_from([b""] * 4 + [b"\0" * 7, b"\0junk", b"5 k=\n"]))


def _loop_outcome(data: bytes) -> dict[str, bytes] | str:
    try:
        return tarstream._pax_records(data)
    except LayerError as exc:
        return str(exc)


@settings(max_examples=1500, deadline=None)
@given(_records())
def test_the_pattern_accepts_only_header_data_the_loop_accepts_and_keeps_nothing_of(
    data: bytes,
) -> None:
    reference = _loop_outcome(data)
    if tarstream._unused_records().fullmatch(data):
        assert reference == {}
    try:
        outcome: dict[str, bytes] | str = tarstream.parse_pax(data)
    except LayerError as exc:
        outcome = str(exc)
    assert outcome == reference


def _pax_header(data: bytes) -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, len(data)
    return info.tobuf(format=tarfile.USTAR_FORMAT) + data + bytes(-len(data) % 512)


def _outcome(tar: bytes, chunk: int) -> list[tuple[str, str, int, str, bytes]] | str:
    try:
        return _walk(tar, chunk)
    except LayerError as exc:
        return str(exc)


def _tar_of_pax_headers(headers: list[bytes]) -> bytes:
    """A tar of small files, each after a pax header of the given data."""
    tar = b""
    for index, data in enumerate(headers):
        member = tarfile.TarInfo(f"etc/file-{index}")
        member.size = index + 1
        tar += _pax_header(data) + member.tobuf(format=tarfile.USTAR_FORMAT)
        tar += (b"%d" % index).ljust(512, b"\0")
    return tar + bytes(1024)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=3), st.just(1 << 20) | st.integers(1, 1536))
def test_a_walk_is_the_same_with_the_pattern_as_with_the_loop_alone(
    headers: list[bytes], chunk: int
) -> None:
    tar = _tar_of_pax_headers(headers)
    never = re.compile(b"(?!)")
    with pytest.MonkeyPatch.context() as patch:  # the Python path: the C shortcut off
        patch.setattr(tarstream, "skip_unused_pax", None)
        with_pattern = _outcome(tar, chunk)
        patch.setattr(tarstream, "_unused_records", lambda: never)  # the loop alone
        assert _outcome(tar, chunk) == with_pattern


def _builders_entry() -> tarfile.TarInfo:
    """An entry with the records builders put on every entry: sub-second times and an
    xattr, as tarfile and BuildKit write them."""
    info = tarfile.TarInfo("usr/share/doc/a")
    info.pax_headers = {
        "mtime": "1700000000.123456789",
        "atime": "1700000000.123456789",
        "SCHILY.xattr.user.origin": "builder",
    }
    return info


def test_the_records_builders_write_on_every_entry_take_the_pattern() -> None:
    """The shortcut is what makes PAX-heavy layers cheap (bench/pax.py): the records
    builders write must not fall through to the loop."""
    header = _builders_entry().tobuf(format=tarfile.PAX_FORMAT)
    size = int(header[124:136].rstrip(b"\0"), 8)
    data = header[512 : 512 + size]
    assert tarstream._unused_records().fullmatch(data)
    assert tarstream.parse_pax(data) == {}


@pytest.mark.parametrize("shortcut", ["C", "pure Python"])
def test_a_pax_header_with_a_wrong_checksum_is_an_error_though_its_records_are_unused(
    shortcut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shortcut == "C":
        _native()
    else:
        monkeypatch.setattr(tarstream, "skip_unused_pax", None)
    info = tarfile.TarInfo("etc/x")
    info.pax_headers = {"mtime": "1700000000.5"}
    tar = bytearray(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    assert tar[156:157] == tarfile.XHDTYPE
    tar[0] ^= 1  # the pax header's own name: read by nobody, still summed
    with pytest.raises(LayerError, match="checksum"):
        _walk(bytes(tar), 1 << 20)  # whole, so the C shortcut sees it
    with pytest.raises(LayerError, match="checksum"):
        _walk(bytes(tar), 512)


# -- the C shortcut (imagetrust.sbom._tarfast) against the Python path -------------------------


def _native() -> Callable[[bytes, int], int]:
    try:
        from imagetrust.sbom import _tarfast
    except ImportError:
        unavailable(
            "the walker's C pax shortcut (imagetrust.sbom._tarfast)",
            "install a C compiler (gcc) and reinstall: pip install -e .",
        )
        raise
    assert tarstream.skip_unused_pax is _tarfast.skip_unused_pax  # the walker uses it
    return _tarfast.skip_unused_pax


def _python_skip(buf: bytes, pos: int) -> int | None:
    """Where the Python path goes on after a pax header at ``pos`` whose records it keeps
    nothing of, checked as ``members`` checks it; None where it keeps a record, raises, or
    must read past ``buf``."""
    if pos < 0 or len(buf) - pos < tarstream.BLOCK:
        return None
    block = buf[pos : pos + tarstream.BLOCK]
    try:
        if block[156] != ord("x") or not tarstream._checksum_ok(block):
            return None
        size = tarstream._number(block[124:136], "size")
    except LayerError:
        return None
    whole = size + -size % tarstream.BLOCK
    if size < 0 or size > tarstream.MAX_META or len(buf) - pos - tarstream.BLOCK < whole:
        return None
    try:
        records = tarstream._pax_records(buf[pos + 512 : pos + 512 + size])
    except LayerError:
        return None
    return None if records else pos + tarstream.BLOCK + whole


_FIELDS = {"name": (0, 100), "checksum": (148, 156), "size": (124, 136), "type": (156, 157)}


def _record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    return b"%d" % _length_of(body) + body


# Records as builders write them: well formed, keys the walker does not use.
_SOUND_RECORDS = st.lists(
    st.tuples(st.sampled_from([key.encode() for key in _UNUSED_KEYS]), st.binary(max_size=110)),
    max_size=5,
).map(lambda records: b"".join(_record(key, value) for key, value in records))


def _summed(header: bytearray) -> bytearray:
    """The header with its checksum made right again, written as tarfile writes it."""
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])
    return header


@st.composite
def _pax_buffers(draw: st.DrawFn) -> tuple[bytes, int, bool, bytes]:
    """A pax header somewhere in a buffer, its records sound or not; now and then another
    type flag, a size field that ends inside the records, a byte of the header changed (its
    checksum made right again or not), the data cut short, junk after it. Also says whether
    the header is sound as tarfile writes it, and the data its size field covers."""
    data = draw(_SOUND_RECORDS | _records())
    short = draw(st.sampled_from([0] * 3 + [1, 2, 5, 40]))
    short = min(short, len(data))
    flag = draw(st.sampled_from([tarfile.XHDTYPE] * 6 + [b"g", b"X", b"L", b"0", b"5"]))
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, len(data) - short
    header = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT) + data)
    header += bytes(-len(header) % 512)
    data = data[: len(data) - short]
    if flag != tarfile.XHDTYPE:
        header[156:157] = flag
        _summed(header)
    changed = draw(st.integers(0, 3)) == 0
    if changed:
        start, end = _FIELDS[draw(st.sampled_from(sorted(_FIELDS)))]
        at = draw(st.integers(start, end - 1))
        header[at] = draw(st.sampled_from(b"\0 +07_8x\x80\xff"))
        if draw(st.booleans()):
            _summed(header)
    before = draw(st.binary(max_size=3)) * draw(st.integers(0, 300))
    after = draw(st.binary(max_size=600))
    cut = draw(st.sampled_from([0, 0, 0, 1, 100, 512, 600]))
    buf = before + bytes(header[: len(header) - cut]) + after
    sound = not (short or changed or cut) and flag == tarfile.XHDTYPE
    return buf, len(before), sound, data


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pax_buffers())
def test_the_c_shortcut_skips_only_what_the_python_path_would_skip(
    case: tuple[bytes, int, bool, bytes],
) -> None:
    """Whatever the C code skips, the Python path would have checked and skipped to the same
    place; and it does skip a sound header of records the pattern accepts (so it cannot
    pass by never skipping anything)."""
    buf, pos, sound, data = case
    skip = _native()
    expected = _python_skip(buf, pos)
    got = skip(buf, pos)
    assert got == -1 or got == expected
    if sound and expected is not None and tarstream._unused_records().fullmatch(data):
        assert got == expected


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=2000), st.integers(-600, 2100), st.booleans())
def test_the_c_shortcut_reads_only_within_its_buffer_and_agrees_on_any_bytes(
    noise: bytes, pos: int, pax_typed: bool
) -> None:
    """Any bytes at any position (a pax type flag planted to get past the first check):
    never a crash, never a skip the Python path would not make."""
    buf = bytearray(noise)
    if pax_typed and pos >= 0 and pos + 156 < len(buf):
        buf[pos + 156] = ord("x")
    skip = _native()
    got = skip(bytes(buf), pos)
    assert got == -1 or got == _python_skip(bytes(buf), pos)


def test_the_c_shortcut_leaves_edge_cases_to_the_python_path_or_agrees_with_it() -> None:
    skip = _native()
    sound = _record(b"mtime", b"1700000000.5")
    cases = {
        # records, then NUL padding inside the size (the Python loop stops there): skipped
        "nul padding": (sound + bytes(30) + b"junk", 512 + 512),
        # a length that is not digits but would count right if ':' were one ("1:" = 20)
        "length not digits": (b"1: mtime=1700000000\n", -1),
        "length with a sign": (b"+" + sound, -1),  # Python's int reads it: its own path
        "an empty key": (b"7 =abc\n", 1024),
        "no newline": (b"12 mtime=abx" + sound, -1),
        "a length past the data": (sound + b"99 mtime=1\n", -1),
        "no records": (b"", 512),
        # over MAX_META, every record unused: the Python path refuses it, so must this
        "over a MiB": (_record(b"comment", b"c" * 50_000) * 21, -1),
    }
    for what, (data, after) in cases.items():
        buf = _pax_header(data) + bytes(512)
        assert skip(buf, 0) == after, what
        assert after == -1 or _python_skip(buf, 0) == after, what
    with pytest.raises(LayerError, match="pax header"):  # the walk itself, both paths
        _walk(_pax_header(cases["over a MiB"][0]) + bytes(1024), 1 << 22)


@pytest.mark.parametrize(
    ("field", "spelling", "skipped"),
    [
        ("size", b"%011o\0", True),
        ("size", b"%011o ", True),
        ("size", b" %010o\0", True),
        ("size", b"%o\0\0\0\0\0\0\0\0\0\0", True),
        ("size", b"+%010o\0", False),  # Python's int reads a sign: left to it
        ("size", b"%010o8\0", False),  # not octal
        ("size", b"%010o9\0", False),
        ("size", b"%09o\0x\0", False),  # junk after the digits
        ("size", b"\x80" + bytes(8) + b"\0\0%c", False),  # GNU base-256: left to Python
        ("checksum", b"%06o\0 ", True),
        ("checksum", b"%07o\0", True),
        ("checksum", b"%06o8 ", False),
        ("checksum", b"-%06o\0", False),
    ],
)
def test_the_c_shortcut_reads_header_fields_only_in_their_plain_octal_shape(
    field: str, spelling: bytes, skipped: bool
) -> None:
    data = _record(b"mtime", b"1700000000.5") + _record(b"atime", b"1")
    header = bytearray(_pax_header(data) + bytes(512))
    if field == "size":
        header[124:136] = (
            spelling % len(data) if b"%" in spelling else spelling[:11] + bytes([len(data)])
        )
        _summed(header)
    else:
        header[148:156] = b" " * 8
        header[148:156] = spelling % sum(header[:512])
    assert len(header) == 1536  # the field spelt in exactly its width
    buf = bytes(header)
    got = _native()(buf, 0)
    assert got == (1024 if skipped else -1)
    assert got == -1 or _python_skip(buf, 0) == got


def test_the_c_shortcut_leaves_buffers_other_than_bytes_to_the_python_path() -> None:
    skip = _native()
    header = _pax_header(_record(b"mtime", b"1.5"))
    assert skip(header, 0) == 1024
    assert skip(bytearray(header), 0) == -1  # type: ignore[arg-type]
    assert skip(memoryview(header), 0) == -1  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        skip(bytes(1024))  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        skip(bytes(1024), 1 << 70)


def test_the_records_builders_write_on_every_entry_take_the_c_shortcut() -> None:
    info = _builders_entry()
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    assert _native()(header, 0) == 1024  # the pax header and its one block of records
    info.pax_headers["path"] = "usr/share/doc/b"  # a record the walker uses: not skipped
    assert _native()(info.tobuf(format=tarfile.PAX_FORMAT), 0) == -1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=3), st.just(1 << 20) | st.integers(1, 1536))
def test_a_walk_is_the_same_with_the_c_shortcut_as_without(
    headers: list[bytes], chunk: int
) -> None:
    _native()
    tar = _tar_of_pax_headers(headers)
    with_native = _outcome(tar, chunk)
    with pytest.MonkeyPatch.context() as patch:  # as installed without a C compiler
        patch.setattr(tarstream, "skip_unused_pax", None)
        assert _outcome(tar, chunk) == with_native
