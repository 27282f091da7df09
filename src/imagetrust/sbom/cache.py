"""The layer cache: each layer is downloaded and analysed once, per analyser version.

Layers are content-addressed and shared between images (every ``python:3.12-*`` tag sits on
the same Debian layers), so the analysis of a layer is keyed by its digest and by the
analyser version that produced it; a new analyser (or ``--reanalyse``) simply misses.

One file per entry, written atomically, so a crash or a concurrent run never leaves half an
entry: ``HOME/cache/layers/sha256/ab/<hex>/<analyser>.itl``, a zstd frame holding a magic,
a JSON header (everything in ``LayerAnalysis`` but the kept bytes) and the kept bytes one
after the other. An entry that does not decode is reported and treated as a miss: the cache
can cost time, never correctness.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from pathlib import Path
from typing import Any

from msgspec.structs import asdict

from imagetrust.fsutil import atomic_write_bytes
from imagetrust.sbom.models import KeptFile, LayerAnalysis, UnreadFile

log = logging.getLogger(__name__)

MAGIC = b"ITLAYER1"
_HEADER_LENGTH = struct.Struct(">I")
_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]{64,128})$")
_VERSION = re.compile(r"^[A-Za-z0-9._+-]{1,1024}$")
_MAX_NAME = 80  # a longer analyser version is named by its hash (the entry holds it whole)
MAX_ENTRY_BYTES = 1 << 30  # a cache entry never decompresses to more than this


class LayerCache:
    """Layer analyses on disk under ``root``; ``hits``/``misses`` count this session's use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    @classmethod
    def in_home(cls, home: Path) -> LayerCache:
        from imagetrust.paths import HomeLayout

        return cls(HomeLayout(home).layer_cache)

    def path_for(self, digest: str, analyser_version: str) -> Path:
        match = _DIGEST.match(digest)
        if match is None or _VERSION.match(analyser_version) is None:
            raise ValueError(f"not a cache key: {digest!r} {analyser_version!r}")
        algorithm, hexdigest = match.groups()
        name = analyser_version
        if len(name) > _MAX_NAME:  # many catalogers, a huge max_file_bytes: still a key
            import hashlib

            name = "h-" + hashlib.sha256(name.encode()).hexdigest()[:40]
        return self.root / algorithm / hexdigest[:2] / hexdigest / f"{name}.itl"

    def get(self, digest: str, analyser_version: str) -> LayerAnalysis | None:
        path = self.path_for(digest, analyser_version)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            analysis = decode(blob)
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            log.warning("layer cache entry %s is unreadable (%s); analysing again", path, exc)
            self.misses += 1
            return None
        if analysis.digest != digest or analysis.analyser_version != analyser_version:
            log.warning("layer cache entry %s is for another layer; analysing again", path)
            self.misses += 1
            return None
        self.hits += 1
        return analysis

    def put(self, analysis: LayerAnalysis) -> Path:
        path = self.path_for(analysis.digest, analysis.analyser_version)
        atomic_write_bytes(path, encode(analysis))
        return path


def encode(analysis: LayerAnalysis) -> bytes:
    import zstandard

    header = asdict(analysis)
    header["unread"] = [asdict(item) for item in analysis.unread]
    header["kept"] = [
        {
            "path": k.path,
            "cataloger": k.cataloger,
            "mode": k.mode,
            "size": k.size,
            "length": len(k.data),
            "link": k.link,
        }
        for k in analysis.kept
    ]
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    payload = b"".join(
        [MAGIC, _HEADER_LENGTH.pack(len(head)), head, *(k.data for k in analysis.kept)]
    )
    return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(payload)


def decode(blob: bytes) -> LayerAnalysis:
    import zstandard

    try:
        # A frame that records its size is decompressed to that size whatever
        # max_output_size says: check it first (a hostile entry could claim gigabytes).
        declared = zstandard.frame_content_size(blob)
        if declared > MAX_ENTRY_BYTES:
            raise ValueError(f"entry of {declared} bytes, over {MAX_ENTRY_BYTES}")
        payload = zstandard.ZstdDecompressor().decompress(blob, max_output_size=MAX_ENTRY_BYTES)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not a zstd frame: {exc}") from None
    if not payload.startswith(MAGIC):
        raise ValueError("bad magic")
    offset = len(MAGIC)
    (length,) = _HEADER_LENGTH.unpack_from(payload, offset)
    offset += _HEADER_LENGTH.size
    header: dict[str, Any] = json.loads(payload[offset : offset + length])
    offset += length
    kept: list[KeptFile] = []
    for item in header.pop("kept"):
        end = offset + int(item["length"])
        if end > len(payload):
            raise ValueError("kept data shorter than its header says")
        kept.append(
            KeptFile(
                str(item["path"]),
                str(item["cataloger"]),
                payload[offset:end],
                int(item["mode"]),
                int(item["size"]),
                str(item["link"]) if item.get("link") else None,
            )
        )
        offset = end
    if offset != len(payload):
        raise ValueError("trailing bytes")
    unread = [UnreadFile(**item) for item in header.pop("unread", [])]
    return LayerAnalysis(**header, kept=kept, unread=unread)
