"""The layer walker: one layer blob in, what the catalogers and the evaluation need out.

A layer is read once, as a stream, never unpacked: the blob is decompressed (optionally on
a worker thread, see ``USE_WORKER_THREAD``), its tar headers are parsed
as they pass (``tarstream``), member data the catalogers do not want is skipped a megabyte
at a time, and only wanted files (after ``reduce``), sniffer results, whiteouts and a few
file facts are kept. Memory is the kept files plus fixed-size buffers, whatever the layer's
size. Everything in a layer is hostile: unsafe entries are skipped and counted in
``LayerAnalysis.skipped`` under these reasons:

- ``absolute``, ``dotdot``: entry paths that would leave the image root;
- ``device``: character and block devices and fifos;
- ``link-escape``: symlinks whose target resolves above the root (relative to the link's
  directory; absolute targets stay inside the root), hard links naming such a path;
- ``hardlink-missing``: hard links to a path no earlier entry of this layer created;
- ``too-large``: wanted files over ``LayerLimits.max_file_bytes``;
- ``unread``: hard links to a file the walker had already passed without keeping it
  (nothing wanted its path), when a cataloger wants the link's path.
- ``sparse``, ``unknown-type``: GNU sparse files and entry types we do not know (their
  data is skipped; facts are still recorded for sparse files).

Every file a cataloger wanted but could not read (over the size limit, a reducer or sniffer
that refused it, a hard link whose bytes went by unkept) is listed in
``LayerAnalysis.unread``: the image's SBOM is then incomplete, never silently short of a
package database. A hard link to a kept file is kept as a link (``KeptFile.link``), not as
a second copy of the bytes.

Bounds (``LayerLimits``) and corruption (bad compression, truncation, bad tar checksums)
stop the layer with ``LayerError``. The caller's stream is always read to its end on
success, so its digest check runs; its own errors (a digest mismatch) pass through as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO

from msgspec.structs import replace

from imagetrust.oci import media
from imagetrust.sbom import tarstream
from imagetrust.sbom.catalogers.base import Cataloger, Want
from imagetrust.sbom.decompress import CountingReader, Pump, chunks_for, inline, read_head
from imagetrust.sbom.models import (
    CatalogerError,
    KeptFile,
    LayerAnalysis,
    LayerError,
    LayerLimits,
    UnreadFile,
)

# Bump when what the walker keeps or records changes: cached analyses are keyed by it.
ANALYSER_VERSION = "layers-2"  # 2: unread files listed, hard links kept as links

# Decompressing on a worker thread (``decompress.Pump``) while this thread parses tar was
# measured slower, not faster, on the 2-core project machine (bench/layers.py: the GIL
# hand-offs cost more than the parsing they overlap, ~460 vs ~500 ms for 236 MB), so it is
# off by default; it stays for machines and streams where it pays (and is tested).
USE_WORKER_THREAD = False
_THREAD_MIN = 2 << 20  # below this (compressed) size a worker thread never pays
MAX_FACTS = 10_000  # per list and layer: a hostile layer cannot grow them without bound
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_META_WHITEOUT = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not whiteouts


class _PathFilter:
    """Which paths earlier entries created, for the hard-link check, in fixed memory.

    A set of every path would grow with the layer; this Bloom filter (1 MiB, one probe,
    about 1 % false positives at 100,000 files) never does. A false positive only means a
    hard link to a missing target goes uncounted; a path that was added is always found.
    """

    _BITS = 1 << 23
    _MASK = _BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS >> 3)

    def add(self, path: str) -> None:
        bit = hash(path) & self._MASK
        self._bits[bit >> 3] |= 1 << (bit & 7)

    def __contains__(self, path: str) -> bool:
        bit = hash(path) & self._MASK
        return bool(self._bits[bit >> 3] & (1 << (bit & 7)))


def normalise(name: str) -> str | None:
    """``name`` relative to the root, without ``./``, empty or ``.`` parts; None if it is
    absolute or climbs with ``..`` (the caller tells which from the name)."""
    if name.startswith("/"):
        return None
    if "//" not in name and "./" not in name and not name.endswith(("/", "/.", "..")):
        return name if name != "." else ""
    parts = [part for part in name.split("/") if part and part != "."]
    if ".." in parts:
        return None
    return "/".join(parts)


def link_escapes(path: str, target: str) -> bool:
    """True if symlink ``path`` -> ``target`` resolves above the root, read lexically."""
    # absolute targets start at the root; relative ones in the link's directory
    depth = 0 if target.startswith("/") else path.count("/")
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        else:
            depth += 1
    return False


class _Walk:
    """The state of one layer's walk; ``analysis`` is the result being filled in."""

    def __init__(
        self,
        analysis: LayerAnalysis,
        catalogers: Sequence[Cataloger],
        limits: LayerLimits,
        reader: CountingReader,
    ) -> None:
        self.analysis = analysis
        self.catalogers = tuple(catalogers)
        self.limits = limits
        self.reader = reader
        self.kept: dict[str, KeptFile] = {}
        self.links: dict[str, list[str]] = {}  # kept path -> kept hard links to it
        # A path some cataloger's interest covers is offered to all of them, in order (the
        # first that wants a file gets it); any other path only to those that declare no
        # interest and so must see every file.
        interests = [getattr(c, "interest", None) for c in self.catalogers]
        declared = [i for i in interests if i is not None]
        self.unfiltered = tuple(
            c for c, i in zip(self.catalogers, interests, strict=True) if i is None
        )
        self.interest_paths = frozenset().union(*(i.paths for i in declared))
        self.interest_prefixes = tuple(p for i in declared for p in i.prefixes)
        self.interest_suffixes = tuple(s.lower() for i in declared for s in i.suffixes)
        self.seen = _PathFilter()
        self.skipped = analysis.skipped
        self.ratio_floor = max(limits.ratio_floor, 1)

    def account(self, size: int) -> None:
        """Called with every decompressed chunk before it is parsed: the bomb checks."""
        analysis = self.analysis
        total = analysis.uncompressed_size + size
        analysis.uncompressed_size = total
        limits = self.limits
        if total > limits.max_layer_bytes:
            raise LayerError(
                f"more than {limits.max_layer_bytes} uncompressed bytes "
                "(limit max_layer_bytes); refusing the layer"
            )
        if total >= self.ratio_floor:
            compressed = max(self.reader.count, 1)
            if total / compressed > limits.max_ratio:
                raise LayerError(
                    f"compression ratio over {limits.max_ratio:g} ({total} bytes from "
                    f"{compressed}; limit max_ratio): a decompression bomb?"
                )

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def walk(self, tar: tarstream.TarReader) -> None:
        analysis = self.analysis
        max_entries = self.limits.max_entries
        kept = self.kept
        seen = self.seen
        entries = 0
        # The loop runs once per entry of every layer: kept flat, with the common case
        # (a regular file nobody wants) taking as few steps as possible.
        for member in tar.members():
            entries += 1
            if entries > max_entries:
                raise LayerError(f"more than {max_entries} entries (limit max_entries)")
            path = normalise(member.name)
            if path is None:
                self.skip("absolute" if member.name.startswith("/") else "dotdot")
                continue
            if not path:
                continue  # the root directory itself
            if kept and path in kept:
                self._replaced(path)  # a later entry replaces an earlier one at that path
            if _WHITEOUT in path and self._whiteout(path):
                continue
            kind = member.kind
            mode = member.mode
            if kind is tarstream.FILE:
                if mode & 0o6002:
                    self._facts(path, mode)
                seen.add(path)
                self._file(tar, path, member)
            elif kind is tarstream.DIR:
                if mode & 0o002 and not mode & 0o1000:
                    self._fact(analysis.world_writable, path)
            elif kind is tarstream.SYMLINK:
                if link_escapes(path, member.linkname):
                    self.skip("link-escape")
                else:
                    seen.add(path)
            elif kind is tarstream.HARDLINK:
                self._hardlink(path, member)
            elif kind is tarstream.DEVICE or kind is tarstream.FIFO:
                self.skip("device")
            elif kind is tarstream.SPARSE:
                self._facts(path, mode)
                seen.add(path)
                self.skip("sparse")
            else:
                self.skip("unknown-type")
        analysis.entries = entries
        analysis.kept = list(kept.values())

    def _whiteout(self, path: str) -> bool:
        parent, _, base = path.rpartition("/")
        if not base.startswith(_WHITEOUT):
            return False
        if base == _OPAQUE:
            self.analysis.opaque_dirs.append(parent)
        elif base.startswith(_META_WHITEOUT) or base in (_WHITEOUT, ".wh..", ".wh..."):
            pass  # aufs metadata, or a name that deletes nothing
        else:
            name = base[len(_WHITEOUT) :]
            self.analysis.whiteouts.append(f"{parent}/{name}" if parent else name)
        return True

    def _facts(self, path: str, mode: int) -> None:
        analysis = self.analysis
        if mode & 0o4000:
            self._fact(analysis.setuid, path)
        if mode & 0o2000:
            self._fact(analysis.setgid, path)
        if mode & 0o002:
            self._fact(analysis.world_writable, path)

    def _fact(self, facts: list[str], path: str) -> None:
        if len(facts) < MAX_FACTS:
            facts.append(path)
        else:
            self.skip("facts-over-limit")

    def _replaced(self, path: str) -> None:
        """``path`` is about to be replaced: links to it keep the bytes they named."""
        old = self.kept.pop(path)
        for link in self.links.pop(path, ()):
            current = self.kept.get(link)
            if current is not None and current.link == path:
                self.kept[link] = replace(current, data=old.data, link=None)

    def _hardlink(self, path: str, member: tarstream.Member) -> None:
        target = normalise(member.linkname)
        if target is None or not target:
            self.skip("link-escape")
            return
        if target not in self.seen:
            self.skip("hardlink-missing")
            return
        self._facts(path, member.mode)
        self.seen.add(path)
        original = self.kept.get(target)
        if original is not None:
            source = original.link or target
            self.kept[path] = replace(original, path=path, data=b"", link=source)
            self.links.setdefault(source, []).append(path)
            return
        wanting = self._wanting(path, member.mode, member.size)
        if wanting is not None:  # its bytes went by under another name, unkept
            self.skip("unread")
            self._unread(path, wanting, f"a hard link to {target}, which was not kept")

    def _wanting(self, path: str, mode: int, size: int) -> Cataloger | None:
        """The first cataloger that wants ``path``, or None."""
        if (
            path in self.interest_paths
            or path.startswith(self.interest_prefixes)
            or path.lower().endswith(self.interest_suffixes)
        ):
            catalogers = self.catalogers
        else:
            catalogers = self.unfiltered
        for cataloger in catalogers:
            if cataloger.wants(path, mode, size) is not Want.NO:
                return cataloger
        return None

    def _file(self, tar: tarstream.TarReader, path: str, member: tarstream.Member) -> None:
        mode, size = member.mode, member.size
        if (
            path in self.interest_paths
            or path.startswith(self.interest_prefixes)
            or path.lower().endswith(self.interest_suffixes)
        ):
            catalogers = self.catalogers
        else:
            catalogers = self.unfiltered
        for cataloger in catalogers:
            want = cataloger.wants(path, mode, size)
            if want is not Want.NO:
                break
        else:
            return  # the data is skipped with the next header
        try:
            if want is Want.FILE:
                if size > self.limits.max_file_bytes:
                    self.skip("too-large")
                    self._unread(
                        path,
                        cataloger,
                        f"{size} bytes, over max_file_bytes ({self.limits.max_file_bytes})",
                    )
                    return
                data: bytes | None = cataloger.reduce(path, tar.read())
            else:
                sniffer = cataloger.sniffer(path)
                for piece in tar.iter_data():
                    sniffer.feed(piece)
                    if getattr(sniffer, "done", False):
                        break  # the answer is known: the rest is skipped, not fed
                data = sniffer.finish()
        except CatalogerError as exc:
            self.analysis.warnings.append(f"{path}: {cataloger.name}: {exc.reason}")
            self._unread(path, cataloger, exc.reason)
            return
        if data is not None:
            self.kept[path] = KeptFile(path, cataloger.name, data, mode, size)

    def _unread(self, path: str, cataloger: Cataloger, reason: str) -> None:
        """Record a wanted file that could not be read, unless it only ever adds detail
        (a file list: without it an owner is unknown, no package is hidden)."""
        essential = getattr(cataloger, "essential", None)
        if essential is None or essential(path):
            self.analysis.unread.append(UnreadFile(path, cataloger.name, reason))


def _pull(
    reader: CountingReader, compression: str, threaded: bool
) -> tuple[Callable[[], bytes], Pump | None]:
    chunks: Iterator[bytes] = chunks_for(compression, reader)
    if threaded:
        pump = Pump(chunks)
        return pump, pump
    return inline(chunks), None


def analyse_layer(
    stream: IO[bytes],
    *,
    digest: str,
    media_type: str | None,
    catalogers: Sequence[Cataloger],
    limits: LayerLimits = LayerLimits(),
    compressed_size: int | None = None,
) -> LayerAnalysis:
    """Walk one layer blob read from ``stream`` (to its very end) and return what matters.

    Compression comes from ``media_type``, or from magic bytes when it is None or not a
    layer type (docker archives). Raises ``LayerError`` naming ``digest`` for corrupt,
    truncated or over-limit layers.
    """
    compression = media.layer_compression(media_type) if media_type else None
    head = b""
    if compression is None:
        head = read_head(stream)
        compression = media.sniff_compression(head)
    reader = CountingReader(stream, head)
    analysis = LayerAnalysis(
        digest=digest, analyser_version=ANALYSER_VERSION, compression=compression
    )
    walk = _Walk(analysis, catalogers, limits, reader)
    threaded = USE_WORKER_THREAD and (compressed_size is None or compressed_size >= _THREAD_MIN)
    pull, pump = _pull(reader, compression, threaded)
    try:
        tar = tarstream.TarReader(pull, walk.account)
        walk.walk(tar)
        tar.drain()
    except LayerError as exc:
        raise LayerError(f"layer {digest}: {exc}") from None
    finally:
        if pump is not None:
            pump.close()
    reader.drain()
    analysis.compressed_size = reader.count
    return analysis
