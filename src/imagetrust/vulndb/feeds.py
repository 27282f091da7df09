"""``db update``: the live feeds, downloaded into HOME and imported all or nothing.

OSV publishes one bulk export per ecosystem (``<base>/<Ecosystem>/all.zip``: ``Debian``,
``Alpine``, ``PyPI``, ...; the old per-release exports are no longer updated). Each is its
own source in the store (``osv:Debian``), imported through the all-or-nothing importer and
filtered to its ecosystem (a GitHub advisory in ``PyPI/all.zip`` may also name npm
packages: those come with ``npm/all.zip``). A download is conditional (``If-None-Match``,
``If-Modified-Since``): an unchanged export costs one request and no import. It is
streamed to ``<name>.part`` beside the last good copy, its SHA-256 computed on the way,
and only a successful import renames it over that copy and records the feed's state
(``<name>.json``: URL, ETag, Last-Modified, SHA-256, size, time). A failed download or
import (a cut connection, a truncated zip, an empty export) leaves the previous copy, its
state and the database as they were; the next update tries again.

The ecosystems an update needs are those of the images the store holds SBOMs of (their OS
and language packages), or those the caller names. CISA's Known Exploited Vulnerabilities
catalog comes with every update (``kev.py``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from msgspec import Struct

from imagetrust.fsutil import atomic_write_text
from imagetrust.vulndb.errors import VulnDbError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.config import Settings
    from imagetrust.store.database import Store
    from imagetrust.vulndb.importer import ImportLimits, ImportResult

DownloadProgress = Callable[[str, int, int | None], None]  # (what, bytes so far, total)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 20


class FeedState(Struct, frozen=True):
    """What the last successful download of a feed was, to ask the server for changes."""

    url: str
    sha256: str
    size: int
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None


class FeedUpdate(Struct, frozen=True):
    """One feed's outcome: ``updated`` (imported), ``unchanged`` (304, or the same bytes),
    or ``failed`` with the reason (the previous data stays in use)."""

    name: str
    url: str
    status: str
    detail: str
    sha256: str | None = None
    size: int | None = None
    records: int | None = None
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "status": self.status,
            "detail": self.detail,
            "sha256": self.sha256,
            "size": self.size,
            "records": self.records,
            "version": self.version,
        }


def source_name(ecosystem: str) -> str:
    """The store's name for an ecosystem's OSV export."""
    return f"osv:{ecosystem}"


def osv_url(base: str, ecosystem: str) -> str:
    return f"{base.rstrip('/')}/{quote(ecosystem, safe='')}/all.zip"


def needed_ecosystems(conn: Connection) -> list[str]:
    """The OSV ecosystems (base names) the packages of every stored SBOM are matched in."""
    from imagetrust.sbom.stored import stored_sboms
    from imagetrust.vulndb.matchers import DEFAULT_REGISTRY, MatchTarget

    needed: set[str] = set()
    for sbom in stored_sboms(conn):
        for package in sbom.packages:
            try:
                target = DEFAULT_REGISTRY.target(package, sbom.os)
            except Exception:  # noqa: S112 - a package no matcher can place needs no feed
                continue
            if isinstance(target, MatchTarget):
                needed.add(target.base)
    return sorted(needed)


def update_osv(
    store: Store,
    settings: Settings,
    feeds_dir: Path,
    ecosystems: Iterable[str],
    *,
    now: datetime,
    limits: ImportLimits | None = None,
    progress: DownloadProgress | None = None,
    lock_timeout: float = 600.0,
) -> list[FeedUpdate]:
    """Each ecosystem's export, downloaded if changed and imported; one failure never stops
    the others (each feed is its own source, replaced all or nothing)."""
    from imagetrust.http import HttpError, RetryPolicy, WaitBudget, build_client

    base = settings.vulndb.osv_url
    budget = WaitBudget(settings.http.max_wait)
    policy = RetryPolicy.from_settings(settings.http)
    folder = feeds_dir / "osv"
    folder.mkdir(parents=True, exist_ok=True)
    results: list[FeedUpdate] = []
    with build_client(settings.http) as client:
        for ecosystem in ecosystems:
            url = osv_url(base, ecosystem)
            target = folder / f"{_SAFE_NAME.sub('_', ecosystem)}.zip"
            try:
                results.append(
                    _update_one(
                        store,
                        client,
                        url,
                        target,
                        name=source_name(ecosystem),
                        ecosystem=ecosystem,
                        now=now,
                        limits=limits,
                        progress=progress,
                        lock_timeout=lock_timeout,
                        policy=policy,
                        budget=budget,
                        max_bytes=settings.vulndb.max_download_bytes,
                    )
                )
            except (VulnDbError, HttpError) as exc:  # that feed fails, the others go on
                results.append(FeedUpdate(source_name(ecosystem), url, "failed", exc.message))
            except OSError as exc:
                results.append(FeedUpdate(source_name(ecosystem), url, "failed", str(exc)))
    return results


def _state_path(target: Path) -> Path:
    return target.with_suffix(".json")


def read_state(target: Path) -> FeedState | None:
    import msgspec

    try:
        return msgspec.json.decode(_state_path(target).read_bytes(), type=FeedState)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # no state, or a damaged one: download unconditionally


def _write_state(target: Path, state: FeedState) -> None:
    import msgspec

    atomic_write_text(_state_path(target), msgspec.json.encode(state).decode() + "\n")


def _is_live(store: Store, name: str) -> bool:
    from imagetrust.vulndb.query import db_status

    with store.read() as conn:
        return any(s.name == name for s in db_status(conn).live_sources)


def _update_one(
    store: Store,
    client: Any,
    url: str,
    target: Path,
    *,
    name: str,
    ecosystem: str,
    now: datetime,
    limits: ImportLimits | None,
    progress: DownloadProgress | None,
    lock_timeout: float,
    policy: Any,
    budget: Any,
    max_bytes: int,
) -> FeedUpdate:
    from imagetrust.http import HttpError, send_with_retries

    state = read_state(target)
    live = _is_live(store, name)
    headers = {}
    if state is not None and target.is_file() and live and state.url == url:
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    request = client.build_request("GET", url, headers=headers)
    response = send_with_retries(client, request, policy=policy, budget=budget, stream=True)
    part = target.with_name(target.name + ".part")
    try:
        if response.status_code == 304 and state is not None:
            return FeedUpdate(
                name, url, "unchanged", "not modified (304)", state.sha256, state.size
            )
        if response.status_code == 404:
            raise VulnDbError(
                f"{url}: no such export (HTTP 404): is {ecosystem!r} an OSV ecosystem?"
            )
        if response.status_code != 200:
            raise HttpError(
                f"GET {url}: HTTP {response.status_code}", url=url, status=response.status_code
            )
        digest, size = _download(response, part, url, max_bytes, progress)
    finally:
        response.close()
    new_state = FeedState(
        url=url,
        sha256=digest,
        size=size,
        fetched_at=now,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )
    if state is not None and live and state.sha256 == digest:
        part.unlink(missing_ok=True)
        _write_state(target, new_state)
        return FeedUpdate(name, url, "unchanged", "same content", digest, size)
    try:
        result = _import(store, part, name, ecosystem, url, now, limits, lock_timeout)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    _write_state(target, new_state)
    return FeedUpdate(
        name,
        url,
        "updated",
        f"{result.records} records ({result.inserted} new, {result.updated} updated, "
        f"{result.removed} removed, {result.skipped_count} skipped"
        + (
            f", {result.dropped_entries_count} malformed affected entries dropped)"
            if result.dropped_entries_count
            else ")"
        ),
        digest,
        size,
        result.records,
        result.version,
    )


def _download(
    response: Any, part: Path, url: str, max_bytes: int, progress: DownloadProgress | None
) -> tuple[str, int]:
    """Stream the body to ``part``, hashing it; refuse more than ``max_bytes``."""
    declared = response.headers.get("content-length", "")
    total = int(declared) if declared.isdigit() else None
    if total is not None and total > max_bytes:
        raise VulnDbError(f"{url}: {total} bytes announced, over [vulndb] max_download_bytes")
    import httpx

    hasher = hashlib.sha256()
    size = 0
    try:
        with part.open("wb") as out:
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise VulnDbError(f"{url}: over [vulndb] max_download_bytes ({max_bytes})")
                hasher.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(url, size, total)
    except httpx.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise VulnDbError(f"{url}: the download stopped after {size} bytes: {exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if total is not None and size != total:
        part.unlink(missing_ok=True)
        raise VulnDbError(f"{url}: the download stopped at {size} of {total} bytes")
    return hasher.hexdigest(), size


def _import(
    store: Store,
    path: Path,
    name: str,
    ecosystem: str,
    url: str,
    now: datetime,
    limits: ImportLimits | None,
    lock_timeout: float,
) -> ImportResult:
    from imagetrust.vulndb.importer import import_path

    return import_path(
        store,
        path,
        now=now,
        name=name,
        limits=limits,
        lock_timeout=lock_timeout,
        origin=url,
        ecosystems=frozenset({ecosystem}),
    )


def feed_states(feeds_dir: Path) -> dict[str, FeedState]:
    """The recorded state of every downloaded OSV export (for ``db status``)."""
    found: dict[str, FeedState] = {}
    folder = feeds_dir / "osv"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        state = read_state(path.with_suffix(".zip"))
        if state is not None:
            found[path.stem] = state
    return found
