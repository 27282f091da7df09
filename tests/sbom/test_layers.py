"""The layer walker on real layers (the image builder's), hostile tars and random bytes.

Expectations come from outside the walker: the files the builder was given, the stdlib
``tarfile`` reading the same tar, hashlib over the original bytes, and the limits set.
"""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.oci import media
from imagetrust.oci.digest import VerifyingReader, digest_of
from imagetrust.sbom import layers
from imagetrust.sbom.catalogers.base import Cataloger, Want
from imagetrust.sbom.layers import ANALYSER_VERSION, analyse_layer, link_escapes, normalise
from imagetrust.sbom.models import (
    CatalogerError,
    LayerAnalysis,
    LayerError,
    LayerLimits,
    OsRelease,
    Package,
)
from imagetrust.testkit.builder import Layer, compress
from tests.sbom import hostile

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
MEDIA = {
    "gzip": media.OCI_LAYER_GZIP,
    "zstd": media.OCI_LAYER_ZSTD,
    "none": media.OCI_LAYER,
}


# -- tiny catalogers satisfying the protocol ----------------------------------------------


@dataclass
class WantPaths:
    """Keeps the files whose path it lists (or ends with a listed suffix)."""

    paths: Sequence[str]
    name: str = "paths"
    asked: list[tuple[str, int, int]] = field(default_factory=list)

    def wants(self, path: str, mode: int, size: int) -> Want:
        self.asked.append((path, mode, size))
        return Want.FILE if path in self.paths or path.endswith(tuple(self.paths)) else Want.NO

    def reduce(self, path: str, data: bytes) -> bytes | None:
        return data

    def sniffer(self, path: str) -> HashingSniffer:  # pragma: no cover - never sniffs
        raise AssertionError

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return []


class HashingSniffer:
    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.chunks = 0

    def feed(self, chunk: bytes) -> None:
        self.chunks += 1
        self.hash.update(chunk)

    def finish(self) -> bytes | None:
        return self.hash.hexdigest().encode()


class HashSniffer:
    """Sniffs ``*.bin`` files: keeps their sha256, so the walker must stream all bytes."""

    name = "sniff"

    def __init__(self) -> None:
        self.sniffers: list[HashingSniffer] = []

    def wants(self, path: str, mode: int, size: int) -> Want:
        return Want.SNIFF if path.endswith(".bin") else Want.NO

    def reduce(self, path: str, data: bytes) -> bytes | None:  # pragma: no cover
        return data

    def sniffer(self, path: str) -> HashingSniffer:
        sniffer = HashingSniffer()
        self.sniffers.append(sniffer)
        return sniffer

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return []


class Failing:
    """Wants ``*.db`` files and cannot read them."""

    name = "failing"

    def wants(self, path: str, mode: int, size: int) -> Want:
        return Want.FILE if path.endswith(".db") else Want.NO

    def reduce(self, path: str, data: bytes) -> bytes | None:
        raise CatalogerError(path, "corrupt database")

    def sniffer(self, path: str) -> HashingSniffer:  # pragma: no cover
        raise AssertionError

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return []


@pytest.fixture(autouse=True)
def _worker_thread_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests pick the path (``analyse(threaded=...)``); the default is restored after."""
    monkeypatch.setattr(layers, "USE_WORKER_THREAD", layers.USE_WORKER_THREAD)


def analyse(
    blob: bytes,
    catalogers: Sequence[Cataloger] = (),
    *,
    media_type: str | None = None,
    limits: LayerLimits | None = None,
    threaded: bool = False,
) -> LayerAnalysis:
    layers.USE_WORKER_THREAD = threaded
    return analyse_layer(
        io.BytesIO(blob),
        digest=digest_of(blob),
        media_type=media_type,
        catalogers=list(catalogers),
        limits=limits or LayerLimits(),
        compressed_size=None if threaded else len(blob),
    )


def kept(analysis: LayerAnalysis) -> dict[str, bytes]:
    """Path -> content, a hard link showing its target's bytes (kept once, as a link)."""
    data = {file.path: file.data for file in analysis.kept if file.link is None}
    return {file.path: data[file.link] if file.link else file.data for file in analysis.kept}


# -- real layers ---------------------------------------------------------------------------


@pytest.mark.parametrize("threaded", [False, True], ids=["inline", "threaded"])
@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_real_rootfs_keeps_wanted_files_exactly(compression: str, threaded: bool) -> None:
    root = ROOTFS / "debian12"
    tar = Layer.from_dir(root).tar_bytes()
    blob = compress(tar, compression)  # type: ignore[arg-type]
    wanted = ("var/lib/dpkg/status", "etc/os-release")
    analysis = analyse(blob, [WantPaths(wanted)], media_type=MEDIA[compression], threaded=threaded)
    assert kept(analysis) == {path: (root / path).read_bytes() for path in wanted}
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        assert analysis.entries == len(archive.getmembers())
    assert analysis.compression == compression
    assert analysis.compressed_size == len(blob)
    assert analysis.uncompressed_size == len(tar)
    assert analysis.analyser_version == ANALYSER_VERSION
    assert analysis.skipped == {}
    status = next(f for f in analysis.kept if f.path == "var/lib/dpkg/status")
    assert status.size == (root / "var/lib/dpkg/status").stat().st_size
    assert status.cataloger == "paths"


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_compression_sniffed_without_media_type(compression: str) -> None:
    tar = Layer.from_files({"etc/os-release": "ID=debian\n"}).tar_bytes()
    analysis = analyse(compress(tar, compression), [WantPaths(["etc/os-release"])])  # type: ignore[arg-type]
    assert analysis.compression == compression
    assert kept(analysis) == {"etc/os-release": b"ID=debian\n"}


def test_catalogers_see_every_regular_file_with_mode_and_size() -> None:
    files = {"usr/bin/tool": b"#!/bin/sh\n", "etc/a.conf": b"x" * 1000}
    layer = Layer.from_files(files).add_file("usr/bin/su", b"elf", 0o4755)
    cataloger = WantPaths([])
    analyse(compress(layer.tar_bytes(), "gzip"), [cataloger])
    seen = {path: (mode, size) for path, mode, size in cataloger.asked}
    assert seen == {
        "etc/a.conf": (0o644, 1000),
        "usr/bin/su": (0o4755, 3),
        "usr/bin/tool": (0o644, len(files["usr/bin/tool"])),
    }


def test_first_cataloger_that_wants_a_file_wins() -> None:
    blob = Layer.from_files({"etc/os-release": "ID=x\n"}).tar_bytes()
    first, second = WantPaths(["etc/os-release"], "first"), WantPaths(["os-release"], "second")
    analysis = analyse(blob, [first, second])
    assert [f.cataloger for f in analysis.kept] == ["first"]
    assert second.asked == []


def test_sniffer_streams_every_byte_of_a_big_file() -> None:
    data = random.Random(7).randbytes(3 * (1 << 20) + 123)  # several chunks, odd length
    blob = compress(Layer.from_files({"usr/bin/app.bin": data}).tar_bytes(), "gzip")
    sniff = HashSniffer()
    analysis = analyse(blob, [sniff])
    assert kept(analysis) == {"usr/bin/app.bin": hashlib.sha256(data).hexdigest().encode()}
    assert sniff.sniffers[0].chunks > 1


def test_cataloger_error_becomes_a_warning_naming_the_path() -> None:
    layer = Layer.from_files({"var/lib/rpm/Packages.db": b"junk", "etc/os-release": "ID=x\n"})
    analysis = analyse(layer.tar_bytes(), [Failing(), WantPaths(["etc/os-release"])])
    assert kept(analysis) == {"etc/os-release": b"ID=x\n"}
    assert len(analysis.warnings) == 1
    assert "var/lib/rpm/Packages.db" in analysis.warnings[0]
    assert "corrupt database" in analysis.warnings[0]


def test_reduce_returning_none_keeps_nothing() -> None:
    class Dropping(WantPaths):
        def reduce(self, path: str, data: bytes) -> bytes | None:
            return None

    analysis = analyse(Layer.from_files({"a": b"1"}).tar_bytes(), [Dropping(["a"])])
    assert analysis.kept == []


def test_whiteouts_and_opaque_dirs() -> None:
    layer = (
        Layer.from_files({"etc/keep": b"k"})
        .whiteout("etc/removed.conf")
        .whiteout("top-level")
        .opaque("var/cache/apt")
        .add_file("usr/.wh..wh.plnk/123", b"")  # aufs bookkeeping: not a whiteout of anything
    )
    cataloger = WantPaths(["removed.conf", ".wh..wh..opq", "etc/keep"])
    analysis = analyse(compress(layer.tar_bytes(), "gzip"), [cataloger])
    assert sorted(analysis.whiteouts) == ["etc/removed.conf", "top-level"]
    assert analysis.opaque_dirs == ["var/cache/apt"]
    assert kept(analysis) == {"etc/keep": b"k"}
    assert not [p for p, _, _ in cataloger.asked if p.rpartition("/")[2].startswith(".wh.")]


def test_facts_setuid_setgid_world_writable() -> None:
    layer = (
        Layer()
        .add_file("usr/bin/passwd", b"x", 0o4755)
        .add_file("usr/bin/wall", b"x", 0o2755)
        .add_file("usr/bin/both", b"x", 0o6755)
        .add_file("etc/open", b"x", 0o666)
        .add_file("etc/closed", b"x", 0o644)
        .add_dir("tmp", 0o1777)  # sticky: fine
        .add_dir("var/drop", 0o777)  # world-writable without sticky
        .add_dir("var/ok", 0o755)
        .add_symlink("usr/bin/link", "passwd")  # symlinks are 0777 and say nothing
    )
    analysis = analyse(layer.tar_bytes())
    assert sorted(analysis.setuid) == ["usr/bin/both", "usr/bin/passwd"]
    assert sorted(analysis.setgid) == ["usr/bin/both", "usr/bin/wall"]
    assert sorted(analysis.world_writable) == ["etc/open", "var/drop"]


def test_later_entry_replaces_earlier_one_at_the_same_path() -> None:
    tar = hostile.tar_of(
        [
            hostile.entry("etc/os-release", b"ID=old\n"),
            hostile.entry("etc/os-release", b"ID=new\n"),
            hostile.entry("etc/gone", b"x"),
            hostile.entry("etc/gone", type=tarfile.SYMTYPE, linkname="os-release"),
        ]
    )
    analysis = analyse(tar, [WantPaths(["etc/os-release", "etc/gone"])])
    assert kept(analysis) == {"etc/os-release": b"ID=new\n"}


# -- tar formats ---------------------------------------------------------------------------

LONG_DIR = "usr/lib/python3/dist-packages/" + "a-very-long-package-directory-name/" * 4
LONG_FILE = LONG_DIR + "METADATA"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_long_names_and_link_targets(fmt: int) -> None:
    assert len(LONG_FILE) > 100
    long_link = LONG_DIR + "link-with-a-long-target"
    tar = hostile.tar_of(
        [
            hostile.entry(LONG_FILE, b"Name: pkg\n"),
            hostile.entry(long_link, type=tarfile.LNKTYPE, linkname=LONG_FILE),
            hostile.entry("short", type=tarfile.SYMTYPE, linkname="/" + LONG_FILE),
        ],
        fmt,
    )
    analysis = analyse(compress(tar, "gzip"), [WantPaths(["METADATA"])])
    assert kept(analysis) == {LONG_FILE: b"Name: pkg\n", long_link: b"Name: pkg\n"}
    assert analysis.entries == 3
    assert analysis.skipped == {}


def test_ustar_prefix_field() -> None:
    name = "p" * 90 + "/" + "q" * 40 + "/file"  # > 100: split into prefix and name
    tar = hostile.tar_of([hostile.entry(name, b"data")], tarfile.USTAR_FORMAT)
    assert kept(analyse(tar, [WantPaths([name])])) == {name: b"data"}


def test_gnu_base256_size() -> None:
    # tarfile writes sizes of 8 GiB and more in GNU base-256; build such a header by hand
    # for a small file (the walker must decode the encoding, not the magnitude).
    info = tarfile.TarInfo("etc/big")
    info.size = 5
    header = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    header[124:136] = b"\x80" + (5).to_bytes(11, "big")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    tar = bytes(header) + b"hello".ljust(512, b"\0") + bytes(1024)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:  # the oracle agrees
        assert archive.getmember("etc/big").size == 5
    assert kept(analyse(tar, [WantPaths(["etc/big"])])) == {"etc/big": b"hello"}


def test_pax_global_header_and_pax_size() -> None:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "g"}
    ) as archive:
        info = tarfile.TarInfo("etc/x")
        info.size = 3
        info.pax_headers = {"size": "3", "path": "etc/renamed"}
        archive.addfile(info, io.BytesIO(b"abc"))
    analysis = analyse(buffer.getvalue(), [WantPaths(["etc/renamed"])])
    assert kept(analysis) == {"etc/renamed": b"abc"}
    assert analysis.entries == 1


def test_pax_heavy_layer_walks_as_tarfile_reads_it() -> None:
    """Every entry carrying records the walker does not act on (sub-second times, xattrs,
    as BuildKit writes them), some also path/linkpath/size: the same names and contents as
    Python's tarfile reads from the same bytes (the oracle)."""
    buffer = io.BytesIO()
    names = ["etc/os-release", LONG_FILE, "usr/share/doc/a", LONG_DIR + "b"]
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for index, name in enumerate(names):
            info = tarfile.TarInfo(name)
            data = f"{index}:{name}\n".encode()
            info.size = len(data)
            info.pax_headers = {
                "mtime": f"1700000000.{index:09d}",
                "atime": f"1700000000.{index:09d}",
                "SCHILY.xattr.user.origin": "test",
            }
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("usr/share/doc/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/" + LONG_FILE
        link.pax_headers = {"mtime": "1700000000.5"}
        archive.addfile(link)
    blob = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(blob)) as oracle:
        expected = {
            m.name: oracle.extractfile(m).read()  # type: ignore[union-attr]
            for m in oracle.getmembers()
            if m.isfile()
        }
    analysis = analyse(compress(blob, "gzip"), [WantPaths(names)])
    assert kept(analysis) == expected
    assert analysis.entries == len(names) + 1


def test_a_malformed_pax_record_the_walker_does_not_use_is_still_an_error() -> None:
    info = tarfile.TarInfo("etc/x")
    info.pax_headers = {"mtime": "1700000000.5"}
    tar = bytearray(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    record = tar.index(b" mtime=")
    tar[record - 2 : record] = b"99"  # the record's length now runs past the header
    with pytest.raises(LayerError, match="pax"):
        analyse(bytes(tar))


def test_tar_without_end_blocks() -> None:
    tar = Layer.from_files({"etc/os-release": "ID=x\n", "z": b"last"}).tar_bytes()
    cut = tar[: hostile.members_end(tar)]
    assert cut != tar and not cut.endswith(bytes(1024))
    analysis = analyse(compress(cut, "gzip"), [WantPaths(["etc/os-release"])])
    assert kept(analysis) == {"etc/os-release": b"ID=x\n"}


def test_trailing_garbage_after_end_blocks_is_read_and_ignored() -> None:
    tar = Layer.from_files({"etc/os-release": "ID=x\n"}).tar_bytes() + b"garbage!" * 5000
    blob = compress(tar, "gzip")
    reader = VerifyingReader(iter([blob]), digest=digest_of(blob), size=len(blob), source="t")
    analysis = analyse_layer(
        reader,  # type: ignore[arg-type]
        digest=digest_of(blob),
        media_type=media.OCI_LAYER_GZIP,
        catalogers=[WantPaths(["etc/os-release"])],
    )
    assert kept(analysis) == {"etc/os-release": b"ID=x\n"}
    assert analysis.uncompressed_size == len(tar)
    assert reader.verified  # read to the end, so the digest was checked


def test_stream_errors_pass_through_unchanged() -> None:
    from imagetrust.oci.errors import DigestMismatchError

    blob = compress(Layer.from_files({"a": b"1"}).tar_bytes(), "gzip")
    for threaded in (False, True):
        layers.USE_WORKER_THREAD = threaded
        reader = VerifyingReader(iter([blob]), digest=digest_of(b"other"), size=None, source="t")
        with pytest.raises(DigestMismatchError):
            analyse_layer(
                reader,  # type: ignore[arg-type]
                digest=digest_of(b"other"),
                media_type=media.OCI_LAYER_GZIP,
                catalogers=[],
                compressed_size=None if threaded else len(blob),
            )


def test_multi_member_gzip() -> None:
    tar = Layer.from_files({"etc/os-release": "ID=x\n", "b": b"y" * 5000}).tar_bytes()
    blob = b"".join(hostile.gzip_bytes(tar[i : i + 700]) for i in range(0, len(tar), 700))
    analysis = analyse(blob, [WantPaths(["etc/os-release", "b"])], media_type=MEDIA["gzip"])
    assert kept(analysis) == {"etc/os-release": b"ID=x\n", "b": b"y" * 5000}
    assert analysis.compressed_size == len(blob)


def test_gzip_zero_padding_is_tolerated_other_trailing_bytes_are_not() -> None:
    blob = compress(Layer.from_files({"a": b"1"}).tar_bytes(), "gzip")
    assert analyse(blob + bytes(4096)).entries == 1
    with pytest.raises(LayerError, match="not gzip"):
        analyse(blob + b"trailing junk")


# -- hostile entries -----------------------------------------------------------------------


def test_absolute_and_dotdot_paths_are_skipped_and_counted() -> None:
    analysis = analyse(hostile.absolute_and_dotdot(), [WantPaths(["passwd", "hostname"])])
    assert analysis.skipped == {"absolute": 1, "dotdot": 3}
    assert kept(analysis) == {"etc/hostname": b"host\n"}


def test_link_escapes_and_missing_hard_link_targets() -> None:
    analysis = analyse(hostile.links(), [WantPaths(["etc/passwd"])])
    assert analysis.skipped == {"link-escape": 3, "hardlink-missing": 1}
    # a hard link to a kept file is kept under its own path too
    assert kept(analysis) == {"etc/passwd": b"root:x:0:0\n", "hard-ok": b"root:x:0:0\n"}


@pytest.mark.parametrize(
    ("path", "target", "escapes"),
    [
        ("a/b/link", "../../x", False),
        ("a/b/link", "../../../x", True),
        ("link", "..", True),
        ("link", "/etc/passwd", False),
        ("link", "/../x", True),
        ("a/link", "./../b/./c", False),
        ("a/link", "b/../../../c", True),
    ],
)
def test_link_escape_rule(path: str, target: str, escapes: bool) -> None:
    import posixpath

    # independent oracle: normpath inside a fake root, then check it stayed inside
    base = "/root/" + posixpath.dirname(path) if not target.startswith("/") else "/root"
    parts_ok = all(
        posixpath.normpath(posixpath.join(base, *target.lstrip("/").split("/")[:i])).startswith(
            "/root"
        )
        for i in range(1, len(target.split("/")) + 1)
    )
    assert escapes == (not parts_ok)
    assert link_escapes(path, target) is escapes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("./usr/bin/x", "usr/bin/x"),
        ("usr//bin/./x", "usr/bin/x"),
        ("usr/bin/", "usr/bin"),
        ("./", ""),
        ("/etc/x", None),
        ("a/../b", None),
        ("..", None),
        ("a/b..", "a/b.."),
    ],
)
def test_normalise(name: str, expected: str | None) -> None:
    assert normalise(name) == expected


def test_devices_and_fifos_are_skipped_and_counted() -> None:
    analysis = analyse(hostile.devices(), [WantPaths(["hostname", "null"])])
    assert analysis.skipped == {"device": 3}
    assert kept(analysis) == {"etc/hostname": b"host\n"}


def test_wanted_file_over_the_size_limit_is_skipped() -> None:
    big = b"x" * 5000
    tar = Layer.from_files({"var/lib/dpkg/status": big, "etc/os-release": "ID=x\n"}).tar_bytes()
    limits = LayerLimits(max_file_bytes=4096)
    analysis = analyse(tar, [WantPaths(["var/lib/dpkg/status", "etc/os-release"])], limits=limits)
    assert analysis.skipped == {"too-large": 1}
    assert kept(analysis) == {"etc/os-release": b"ID=x\n"}


def test_gzip_bomb_stops_on_the_ratio() -> None:
    bomb = hostile.gzip_bomb(1 << 30)
    assert len(bomb) < 2 << 20
    limits = LayerLimits(max_ratio=100, ratio_floor=4 << 20)
    with pytest.raises(LayerError, match="ratio") as info:
        analyse(bomb, limits=limits, threaded=True)
    assert digest_of(bomb) in str(info.value)


def test_layer_size_limit() -> None:
    bomb = hostile.gzip_bomb(64 << 20)
    with pytest.raises(LayerError, match="max_layer_bytes"):
        analyse(bomb, limits=LayerLimits(max_layer_bytes=8 << 20))


def test_entry_count_limit() -> None:
    tar = Layer.from_files({f"f{i}": b"" for i in range(20)}).tar_bytes()
    with pytest.raises(LayerError, match="max_entries"):
        analyse(tar, limits=LayerLimits(max_entries=10))


def test_small_layer_of_zeros_is_not_a_bomb() -> None:
    # real images have highly compressible layers; below ratio_floor the ratio is not checked
    blob = compress(Layer.from_files({"zeros": bytes(4 << 20)}).tar_bytes(), "gzip")
    assert len(blob) * 100 < 4 << 20
    assert analyse(blob).entries == 1


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
@pytest.mark.parametrize("threaded", [False, True], ids=["inline", "threaded"])
def test_truncated_compressed_stream(compression: str, threaded: bool) -> None:
    data = random.Random(3).randbytes(200_000)
    blob = compress(Layer.from_files({"a.bin": data}).tar_bytes(), compression)  # type: ignore[arg-type]
    for cut in (len(blob) // 2, len(blob) - 1):
        with pytest.raises(LayerError, match="truncated"):
            analyse(blob[:cut], media_type=MEDIA[compression], threaded=threaded)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_corrupt_compressed_data(compression: str) -> None:
    blob = bytearray(compress(Layer.from_files({"a": b"hello" * 1000}).tar_bytes(), compression))  # type: ignore[arg-type]
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(LayerError):
        analyse(bytes(blob), media_type=MEDIA[compression])


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_garbage_bytes(compression: str) -> None:
    garbage = random.Random(5).randbytes(10_000)
    with pytest.raises(LayerError):
        analyse(garbage, media_type=MEDIA[compression])


def test_truncated_tar() -> None:
    tar = Layer.from_files({"a": b"x" * 3000}).tar_bytes()
    with pytest.raises(LayerError, match="truncated tar"):
        analyse(tar[: 512 + 1000])  # the header promises 3000 bytes, 1000 follow
    with pytest.raises(LayerError, match="truncated tar"):
        analyse(tar[:300])  # inside the first header


def test_bad_header_checksum() -> None:
    tar = Layer.from_files({"a": b"x", "b": b"y"}).tar_bytes()
    with pytest.raises(LayerError, match="checksum"):
        analyse(compress(hostile.bad_checksum(tar, member=1), "gzip"))


def test_zero_block_followed_by_a_header_is_refused() -> None:
    first = hostile.tar_of([hostile.entry("a", b"1")])
    hidden = hostile.tar_of([hostile.entry("hidden", b"2")])
    tar = first[: hostile.members_end(first)] + bytes(512) + hidden
    with pytest.raises(LayerError, match="zero block"):
        analyse(tar)


# -- fuzzing -------------------------------------------------------------------------------

_REAL = Layer.from_files(
    {"etc/os-release": "ID=debian\n", "var/lib/dpkg/status": "Package: a\n" * 50}
).add_symlink("lib", "usr/lib")
_REAL_TAR = _REAL.tar_bytes()
_REAL_BLOBS = {c: compress(_REAL_TAR, c) for c in ("gzip", "zstd", "none")}


def _outcome(blob: bytes, media_type: str | None, threaded: bool) -> None:
    try:
        result = analyse(
            blob,
            [WantPaths(["etc/os-release", "var/lib/dpkg/status"]), HashSniffer()],
            media_type=media_type,
            threaded=threaded,
        )
    except LayerError:
        return
    assert isinstance(result, LayerAnalysis)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=4096),
    st.sampled_from([None, *MEDIA.values()]),
    st.booleans(),
)
def test_random_bytes_give_an_analysis_or_a_layer_error(
    blob: bytes, media_type: str | None, threaded: bool
) -> None:
    _outcome(blob, media_type, threaded)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["gzip", "zstd", "none"]),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(0, 1 << 20)),
)
def test_mutated_real_layers_give_an_analysis_or_a_layer_error(
    compression: str, flips: list[tuple[int, int]], cut: int | None
) -> None:
    blob = bytearray(_REAL_BLOBS[compression])
    for position, value in flips:
        blob[position % len(blob)] = value
    data = bytes(blob[: cut % (len(blob) + 1)] if cut is not None else blob)
    _outcome(data, MEDIA[compression], threaded=False)


# -- memory --------------------------------------------------------------------------------


def _peak_walk(total: int, threaded: bool) -> tuple[int, LayerAnalysis]:
    layers.USE_WORKER_THREAD = threaded
    tar = hostile.random_file_layer_stream(total)
    stream = hostile.IterStream(hostile.gzip_stream(tar, level=0))
    tracemalloc.start()
    try:
        analysis = analyse_layer(
            stream,  # type: ignore[arg-type]
            digest="sha256:" + "0" * 64,
            media_type=media.OCI_LAYER_GZIP,
            catalogers=[WantPaths(["data/file-00001.bin"]), HashSniffer()],
            limits=LayerLimits(max_file_bytes=1 << 20),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.exhausted
    return peak, analysis


@pytest.mark.parametrize("threaded", [False, True], ids=["inline", "threaded"])
def test_memory_stays_bounded_on_a_large_layer(threaded: bool) -> None:
    small_peak, _ = _peak_walk(16 << 20, threaded)
    large_peak, large = _peak_walk(320 << 20, threaded)
    assert large.uncompressed_size > 300_000_000
    assert large.entries == 40 and large.skipped == {"too-large": 1}
    # the sniffer saw every byte of all 40 files, yet the walker held only its buffers
    assert len(large.kept) == 40 - 1
    assert large_peak < 8 << 20, large_peak
    assert large_peak < small_peak + (1 << 20), (small_peak, large_peak)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_reads_a_stream_that_returns_short_reads() -> None:
    tar = Layer.from_files({"etc/os-release": "ID=x\n", "f": b"z" * 100_000}).tar_bytes()
    blob = compress(tar, "zstd")
    stream = hostile.IterStream(_chunks(blob, 7))
    analysis = analyse_layer(
        stream,  # type: ignore[arg-type]
        digest=digest_of(blob),
        media_type=None,
        catalogers=[WantPaths(["etc/os-release"])],
    )
    assert kept(analysis) == {"etc/os-release": b"ID=x\n"}
    assert stream.exhausted and analysis.compressed_size == len(blob)


def _unused(_: Cataloger) -> None:  # the fakes satisfy the protocol (checked by mypy)
    pass


_unused(WantPaths([]))
_unused(HashSniffer())
_unused(Failing())


def test_fact_lists_are_capped_and_the_rest_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "MAX_FACTS", 3)
    layer = Layer()
    for number in range(5):
        layer.add_file(f"usr/bin/su{number}", "x", mode=0o4755)
    analysis = analyse(compress(layer.tar_bytes(), "gzip"))
    assert analysis.setuid == ["usr/bin/su0", "usr/bin/su1", "usr/bin/su2"]
    assert analysis.skipped["facts-over-limit"] == 2
