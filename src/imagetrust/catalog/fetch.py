"""Download the official-images and docs repositories as tar.gz and keep only what we read.

A git clone would need git and the whole history; the archive of the default branch is
one request. It is streamed (never held whole in memory), and only the members the catalog
reads are written, under the home folder's cache, so the same local-directory parsers
serve both online and ``--offline`` runs. Archive members are untrusted: absolute paths,
``..``, links and anything but regular files are ignored, and sizes are bounded.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

import httpx

from imagetrust.catalog.models import CatalogError
from imagetrust.http import RetryPolicy, WaitBudget, send_with_retries

LIBRARY_MEMBER_MAX = 1024 * 1024  # a library file is a few KB; anything huge is not one
DOCS_FILES = frozenset({"deprecated.md", "metadata.json", "github-repo", "README-short.txt"})
DOCS_MEMBER_MAX = 256 * 1024


class SourceFetchError(CatalogError):
    """A source archive could not be downloaded or read."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CountingReader:
    """A file-like view of a streamed response that refuses to read past a size limit."""

    def __init__(self, chunks: httpx.Response, limit: int, url: str) -> None:
        self._iter = chunks.iter_bytes(64 * 1024)
        self._buffer = b""
        self._seen = 0
        self._limit = limit
        self._url = url

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                chunk = next(self._iter)
            except StopIteration:
                break
            self._seen += len(chunk)
            if self._seen > self._limit:
                raise SourceFetchError(
                    f"{self._url}: archive larger than {self._limit} bytes "
                    "([sources] max_archive_bytes)"
                )
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class _GunzipReader:
    """Decompresses a gzip stream and can tell whether it ended where gzip says it ends.

    tarfile's own ``r|gz`` mode stops quietly at a truncated stream, which would let a cut
    download pass as a smaller archive; here the gzip trailer (length and CRC) must be seen.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(wbits=31)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and not self._inflate.eof:
            chunk = self._raw.read(64 * 1024)
            if not chunk:
                break
            try:
                self._buffer += self._inflate.decompress(chunk)
            except zlib.error as exc:
                raise SourceFetchError(f"not a readable tar.gz archive: {exc}") from exc
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def finish(self) -> None:
        while self.read(64 * 1024):
            pass
        if not self._inflate.eof:
            raise SourceFetchError("not a readable tar.gz archive: truncated gzip stream")


def _relative(member: tarfile.TarInfo) -> str | None:
    """The member path below the archive's top folder, or None if unsafe or irrelevant."""
    name = member.name
    if not member.isreg() or name.startswith("/") or "\\" in name:
        return None
    parts = posixpath.normpath(name).split("/")
    if ".." in parts or len(parts) < 2:
        return None
    return "/".join(parts[1:])


def library_member(relative: str) -> bool:
    parts = relative.split("/")
    return len(parts) == 2 and parts[0] == "library" and not parts[1].startswith(".")


def docs_member(relative: str) -> bool:
    parts = relative.split("/")
    return len(parts) == 2 and not parts[0].startswith(".") and parts[1] in DOCS_FILES


def extract_archive(
    stream: Readable,
    dest: Path,
    wanted: Callable[[str], bool],
    *,
    member_max: int,
) -> int:
    """Write the wanted regular files of a tar.gz stream below ``dest``; returns the count."""
    count = 0
    gunzip = _GunzipReader(stream)
    try:
        with tarfile.open(fileobj=cast(Any, gunzip), mode="r|") as archive:
            for member in archive:
                relative = _relative(member)
                if relative is None or not wanted(relative) or member.size > member_max:
                    continue
                source = archive.extractfile(member)
                if source is None:
                    continue
                target = dest / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                count += 1
        gunzip.finish()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SourceFetchError(f"not a readable tar.gz archive: {exc}") from exc
    return count


def fetch_source(
    client: httpx.Client,
    url: str,
    dest: Path,
    wanted: Callable[[str], bool],
    *,
    member_max: int,
    max_bytes: int,
    policy: RetryPolicy,
    budget: WaitBudget,
) -> int:
    """Download ``url`` and replace ``dest`` with its wanted files, atomically.

    Files land in a temporary sibling folder first; ``dest`` is swapped only when the whole
    archive was read, so an interrupted download never leaves a half-updated checkout.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        request = client.build_request("GET", url)
        response = send_with_retries(
            client, request, policy=policy, budget=budget, stream=True, what=f"GET {url}"
        )
        try:
            if response.status_code != 200:
                raise SourceFetchError(f"GET {url}: HTTP {response.status_code}")
            reader = _CountingReader(response, max_bytes, url)
            count = extract_archive(reader, staging, wanted, member_max=member_max)
        finally:
            response.close()
        if count == 0:
            raise SourceFetchError(f"{url}: the archive holds none of the expected files")
        _swap_in(staging, dest)
        return count
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, dest: Path) -> None:
    """Replace ``dest`` with ``staging``: two renames, the old copy set aside in between.

    When the second rename fails, the old copy goes back, so ``dest`` is never left
    missing with the previous checkout under another name.
    """
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    try:
        if dest.exists():
            dest.rename(old)
        staging.rename(dest)
    except OSError as exc:
        if old.exists() and not dest.exists():
            old.rename(dest)
        raise SourceFetchError(f"cannot replace {dest}: {exc}") from exc
    shutil.rmtree(old, ignore_errors=True)
