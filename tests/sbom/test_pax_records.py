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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entries(), min_size=1, max_size=6), st.just(1 << 20) | st.integers(1, 2048))
def test_pax_records_of_any_shape_walk_as_tarfile_reads_them(
    entries: list[tuple[tarfile.TarInfo, bytes]], chunk: int
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
        length = len(body) + 1
        while len(b"%d" % length) + len(body) != length:  # LEN counts its own digits
            length += 1
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


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=3), st.just(1 << 20) | st.integers(1, 1536))
def test_a_walk_is_the_same_with_the_pattern_as_with_the_loop_alone(
    headers: list[bytes], chunk: int
) -> None:
    tar = b""
    for index, data in enumerate(headers):
        member = tarfile.TarInfo(f"etc/file-{index}")
        member.size = index + 1
        tar += _pax_header(data) + member.tobuf(format=tarfile.USTAR_FORMAT)
        tar += (b"%d" % index).ljust(512, b"\0")
    tar += bytes(1024)
    with_pattern = _outcome(tar, chunk)
    never = re.compile(b"(?!)")
    with pytest.MonkeyPatch.context() as patch:  # the loop alone
        patch.setattr(tarstream, "_unused_records", lambda: never)
        assert _outcome(tar, chunk) == with_pattern


def test_the_records_builders_write_on_every_entry_take_the_pattern() -> None:
    """The shortcut is what makes PAX-heavy layers cheap (bench/pax.py): sub-second times
    and an xattr, as tarfile and BuildKit write them, must not fall through to the loop."""
    info = tarfile.TarInfo("usr/share/doc/a")
    info.pax_headers = {
        "mtime": "1700000000.123456789",
        "atime": "1700000000.123456789",
        "SCHILY.xattr.user.origin": "builder",
    }
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    size = int(header[124:136].rstrip(b"\0"), 8)
    data = header[512 : 512 + size]
    assert tarstream._unused_records().fullmatch(data)
    assert tarstream.parse_pax(data) == {}


def test_a_pax_header_with_a_wrong_checksum_is_an_error_though_its_records_are_unused() -> None:
    info = tarfile.TarInfo("etc/x")
    info.pax_headers = {"mtime": "1700000000.5"}
    tar = bytearray(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    assert tar[156:157] == tarfile.XHDTYPE
    tar[0] ^= 1  # the pax header's own name: read by nobody, still summed
    with pytest.raises(LayerError, match="checksum"):
        _walk(bytes(tar), 512)
