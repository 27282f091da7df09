"""Builders of hostile and unusual layers, written with the stdlib ``tarfile`` and zlib.

Each returns the bytes of a layer blob. They are built with tools independent of the
walker under test, so a test can state what a correct reader must see.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

BLOCK = 512


def entry(
    name: str,
    data: bytes = b"",
    *,
    type: bytes = tarfile.REGTYPE,
    mode: int = 0o644,
    linkname: str = "",
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = type
    info.mode = mode
    info.linkname = linkname
    info.mtime = 1_700_000_000
    info.size = len(data) if type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    return info, data


def tar_of(
    entries: Iterable[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return buffer.getvalue()


def gzip_bytes(data: bytes, level: int = 6) -> bytes:
    """One gzip member (zlib's writer, not the one under test)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def members_end(tar: bytes) -> int:
    """Offset just past the last member's data: where the end-of-archive blocks start."""
    end = 0
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        for info in archive:
            end = info.offset_data + -(-info.size // BLOCK) * BLOCK
    return end


def absolute_and_dotdot() -> bytes:
    return tar_of(
        [
            entry("/etc/passwd", b"root:x:0:0\n"),
            entry("../../escape", b"x"),
            entry("usr/../../escape2", b"x"),
            entry("./usr/ok/../fine", b"x"),  # stays inside, but has '..': refused too
            entry("./etc/hostname", b"host\n"),
        ]
    )


def links() -> bytes:
    return tar_of(
        [
            entry("etc", type=tarfile.DIRTYPE, mode=0o755),
            entry("etc/passwd", b"root:x:0:0\n"),
            entry("a/b/up2", type=tarfile.SYMTYPE, linkname="../../etc/passwd"),  # inside
            entry("a/b/up3", type=tarfile.SYMTYPE, linkname="../../../etc/passwd"),  # escapes
            entry("abs", type=tarfile.SYMTYPE, linkname="/etc/passwd"),  # inside the root
            entry("absup", type=tarfile.SYMTYPE, linkname="/../../etc/shadow"),  # escapes
            entry("hard-ok", type=tarfile.LNKTYPE, linkname="etc/passwd"),
            entry("hard-missing", type=tarfile.LNKTYPE, linkname="etc/shadow"),
            entry("hard-out", type=tarfile.LNKTYPE, linkname="../etc/shadow"),
        ]
    )


def devices() -> bytes:
    return tar_of(
        [
            entry("dev/null", type=tarfile.CHRTYPE, mode=0o666),
            entry("dev/sda", type=tarfile.BLKTYPE, mode=0o660),
            entry("run/fifo", type=tarfile.FIFOTYPE, mode=0o600),
            entry("etc/hostname", b"host\n"),
        ]
    )


def bad_checksum(tar: bytes, member: int = 0) -> bytes:
    """``tar`` with one byte of the ``member``-th header's name changed (checksum kept)."""
    offsets = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        offsets = [info.offset for info in archive]
    corrupt = bytearray(tar)
    corrupt[offsets[member] + 1] ^= 0x01
    return bytes(corrupt)


def zero_stream(total: int, piece: int = 1 << 24) -> Iterator[bytes]:
    while total > 0:
        yield bytes(min(piece, total))
        total -= piece


def gzip_bomb(file_size: int) -> bytes:
    """A valid multi-member gzip of a tar holding one ``file_size``-byte file of zeros.

    The zero members are one compressed 16 MiB block repeated, so a 1 GB bomb is built
    in milliseconds and weighs about a megabyte.
    """
    info = tarfile.TarInfo("bomb")
    info.size = file_size
    info.mtime = 1_700_000_000
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    piece = 1 << 24
    zeros = gzip_bytes(bytes(piece), level=9)
    whole, rest = divmod(file_size, piece)
    tail = bytes(rest + (-file_size % BLOCK) + 2 * BLOCK)
    return gzip_bytes(header) + zeros * whole + gzip_bytes(tail)


def random_file_layer_stream(total: int, file_size: int = 8 << 20) -> Iterator[bytes]:
    """An uncompressed tar of ``total`` bytes of incompressible files, generated lazily."""
    import random

    rng = random.Random(1234)
    block = rng.randbytes(1 << 16)  # 64 KiB: longer than deflate's window
    index = 0
    produced = 0
    while produced < total:
        info = tarfile.TarInfo(f"data/file-{index:05d}.bin")
        info.size = file_size
        info.mtime = 1_700_000_000
        yield info.tobuf(format=tarfile.GNU_FORMAT)
        left = file_size
        while left:
            step = min(left, len(block))
            yield block[:step]
            left -= step
        yield bytes(-file_size % BLOCK)
        produced += file_size
        index += 1
    yield bytes(2 * BLOCK)


def gzip_stream(chunks: Iterable[bytes], level: int = 1) -> Iterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


class IterStream:
    """A read-only file object over an iterator of bytes; holds one piece at a time."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self.consumed = 0
        self.exhausted = False

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            piece = next(self._chunks, None)
            if piece is None:
                self.exhausted = True
                return b""
            self._pending = piece
        if size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        self.consumed += len(out)
        return out


def oci_layout(directory: Path, layer_tars: Sequence[bytes], tag: str = "t") -> str:
    """An OCI layout of one linux/amd64 image whose layers are these raw tars (gzipped),
    written by hand so a test can put anything in a layer; returns the reference."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    layers = []
    for tar in layer_tars:
        blob = gzip_bytes(tar, level=1)
        layers.append({"mediaType": GZIP_LAYER, "digest": put(blob), "size": len(blob)})
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in layer_tars],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": layers,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return f"oci-layout:{directory}:{tag}"


GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
