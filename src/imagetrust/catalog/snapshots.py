"""The catalog's history in the store: each run is a snapshot, nothing is overwritten.

A snapshot row per repository keeps what the sources said that day (state, published, tags,
pull count, ...); ``repository_states`` gets a row only when a repository's state or its
``published`` flag changes, so "deprecated since" and "no longer published since" are
queries, not guesses. Pull-count deltas are computed between any two
snapshots. Docker Hub counters are not always monotonic (wrapped or corrected counts have
been reported for the most pulled images), so a delta that goes negative is flagged
unreliable and never shown as a negative number of pulls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from imagetrust.catalog.models import CatalogEntry, HubTag, RepoState
from imagetrust.store.repositories import DOCKER_HUB, upsert_repository
from imagetrust.store.schema import (
    catalog_snapshots,
    repositories,
    repository_snapshots,
    repository_states,
    repository_tags,
)
from imagetrust.store.tags import TAG_ITSELF, Observation, observe_digests, platform_key

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    taken_at: datetime
    sources: dict[str, Any]
    repository_count: int
    run_id: int | None


@dataclass(frozen=True)
class StoredEntry:
    """A repository as one snapshot recorded it, with the date its state began."""

    entry: CatalogEntry
    state_since: datetime | None


@dataclass(frozen=True)
class StateChange:
    state: RepoState
    reason: str
    since: datetime
    published: bool | None = None  # None: recorded before the flag existed


@dataclass(frozen=True)
class PullDelta:
    """Pulls between two snapshots; ``delta`` is None when unknown or unreliable."""

    name: str
    current: int
    current_at: datetime
    base: int | None
    base_at: datetime | None
    delta: int | None
    unreliable: bool

    @property
    def per_day(self) -> float | None:
        if self.delta is None or self.base_at is None:
            return None
        days = (self.current_at - self.base_at).total_seconds() / SECONDS_PER_DAY
        return self.delta / days if days > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.delta,
            "since": self.base_at,
            "until": self.current_at,
            "base_pull_count": self.base,
            "per_day": round(self.per_day, 1) if self.per_day is not None else None,
            "unreliable": self.unreliable,
        }


def _tag_images(tag: HubTag) -> list[dict[str, Any]]:
    return [
        {
            "architecture": image.architecture,
            "os": image.os,
            "variant": image.variant,
            "digest": image.digest,
            "size": image.size,
            "status": image.status,
            "last_pushed": image.last_pushed.isoformat() if image.last_pushed else None,
        }
        for image in tag.images
    ]


def _record_tags(
    conn: Connection,
    repository_id: int,
    tags: Sequence[HubTag],
    supported: set[str],
    now: datetime,
) -> None:
    existing = {
        row.name: row.id
        for row in conn.execute(
            select(repository_tags.c.id, repository_tags.c.name).where(
                repository_tags.c.repository_id == repository_id
            )
        )
    }
    observations = [o for tag in tags for o in _observations(tag)]
    observe_digests(conn, repository_id, observations, now=now, source="hub")
    for tag in tags:
        values = {
            "digest": tag.digest,
            "supported": tag.name in supported,
            "last_updated": tag.last_updated,
            "tag_last_pushed": tag.tag_last_pushed,
            "tag_status": tag.tag_status,
            "full_size": tag.full_size,
            "images": _tag_images(tag),
            "last_seen": now,
        }
        if tag.name in existing:
            conn.execute(
                update(repository_tags)
                .where(repository_tags.c.id == existing[tag.name])
                .values(**values)
            )
        else:
            conn.execute(
                insert(repository_tags).values(
                    repository_id=repository_id, name=tag.name, first_seen=now, **values
                )
            )


def _observations(tag: HubTag) -> list[Observation]:
    """The tag's digests as the Hub listed them: the tag itself, then each platform."""
    found = [Observation(tag.name, TAG_ITSELF, tag.digest)] if tag.digest else []
    done: set[str] = set()
    for image in tag.images:
        platform = platform_key(image.os, image.architecture, image.variant)
        if platform is None or image.digest is None or platform in done:
            continue
        done.add(platform)
        found.append(Observation(tag.name, platform, image.digest))
    return found


def _current_state(conn: Connection, repository_id: int) -> tuple[str, bool | None] | None:
    row = conn.execute(
        select(repository_states.c.state, repository_states.c.published)
        .where(repository_states.c.repository_id == repository_id)
        .order_by(repository_states.c.since.desc(), repository_states.c.id.desc())
        .limit(1)
    ).first()
    return (row.state, row.published) if row is not None else None


def record_snapshot(
    conn: Connection,
    entries: Sequence[CatalogEntry],
    *,
    now: datetime,
    sources: dict[str, Any],
    run_id: int | None = None,
    tags: Mapping[str, Sequence[HubTag]] | None = None,
    registry: str = DOCKER_HUB,
    namespace: str = "library",
) -> SnapshotInfo:
    """Write one snapshot; call inside one transaction so a failure leaves no half."""
    result = conn.execute(
        insert(catalog_snapshots).values(
            run_id=run_id, taken_at=now, sources=sources, repository_count=len(entries)
        )
    )
    assert result.inserted_primary_key is not None
    snapshot_id = int(result.inserted_primary_key[0])
    for entry in entries:
        repo_id = upsert_repository(
            conn, entry.name, now=now, registry=registry, namespace=namespace
        )
        conn.execute(
            insert(repository_snapshots).values(
                snapshot_id=snapshot_id,
                repository_id=repo_id,
                taken_at=now,
                state=entry.state.value,
                state_reason=entry.state_reason,
                published=entry.published,
                notice=entry.notice,
                supported_tags=list(entry.supported_tags),
                tag_count=entry.tag_count,
                architectures=list(entry.architectures),
                pull_count=entry.pull_count,
                star_count=entry.star_count,
                last_updated=entry.last_updated,
                categories=list(entry.categories),
                description=entry.description,
                github_repo=entry.github_repo,
                sources=list(entry.sources),
            )
        )
        if _current_state(conn, repo_id) != (entry.state.value, entry.published):
            conn.execute(
                insert(repository_states).values(
                    repository_id=repo_id,
                    state=entry.state.value,
                    published=entry.published,
                    reason=entry.state_reason,
                    since=now,
                    snapshot_id=snapshot_id,
                )
            )
        if tags and entry.name in tags:
            _record_tags(conn, repo_id, tags[entry.name], set(entry.supported_tags), now)
    return SnapshotInfo(snapshot_id, now, sources, len(entries), run_id)


def _snapshot_info(row: Any) -> SnapshotInfo:
    return SnapshotInfo(row.id, row.taken_at, row.sources, row.repository_count, row.run_id)


def latest_snapshot(
    conn: Connection, *, at_or_before: datetime | None = None
) -> SnapshotInfo | None:
    query = select(catalog_snapshots).order_by(
        catalog_snapshots.c.taken_at.desc(), catalog_snapshots.c.id.desc()
    )
    if at_or_before is not None:
        query = query.where(catalog_snapshots.c.taken_at <= at_or_before)
    row = conn.execute(query.limit(1)).first()
    return _snapshot_info(row) if row is not None else None


def oldest_snapshot(conn: Connection) -> SnapshotInfo | None:
    row = conn.execute(
        select(catalog_snapshots)
        .order_by(catalog_snapshots.c.taken_at, catalog_snapshots.c.id)
        .limit(1)
    ).first()
    return _snapshot_info(row) if row is not None else None


def snapshot_entries(conn: Connection, snapshot_id: int) -> list[StoredEntry]:
    rs = repository_snapshots
    rows = conn.execute(
        select(rs, repositories.c.name)
        .join(repositories, repositories.c.id == rs.c.repository_id)
        .where(rs.c.snapshot_id == snapshot_id)
        .order_by(repositories.c.name)
    ).all()
    since = _state_since(conn, [row.repository_id for row in rows])
    return [
        StoredEntry(
            CatalogEntry(
                name=row.name,
                state=RepoState(row.state),
                state_reason=row.state_reason,
                notice=row.notice,
                supported_tags=tuple(row.supported_tags),
                tag_count=row.tag_count,
                architectures=tuple(row.architectures),
                pull_count=row.pull_count,
                last_updated=row.last_updated,
                categories=tuple(row.categories),
                description=row.description,
                star_count=row.star_count,
                github_repo=row.github_repo,
                sources=tuple(row.sources),
                published=bool(row.published),
            ),
            since.get(row.repository_id),
        )
        for row in rows
    ]


def _state_since(conn: Connection, repository_ids: list[int]) -> dict[int, datetime]:
    """The start of each repository's current state: the first of its latest state rows
    with that state (a change of ``published`` alone adds a row, not a new state)."""
    latest: dict[int, tuple[str, datetime]] = {}
    if not repository_ids:
        return {}
    rows = conn.execute(
        select(
            repository_states.c.repository_id,
            repository_states.c.state,
            repository_states.c.since,
        )
        .where(repository_states.c.repository_id.in_(repository_ids))
        .order_by(repository_states.c.since, repository_states.c.id)
    )
    for repo_id, state, since in rows:
        if repo_id not in latest or latest[repo_id][0] != state:
            latest[repo_id] = (state, since)
    return {repo_id: since for repo_id, (_, since) in latest.items()}


def state_history(conn: Connection, name: str, *, registry: str = DOCKER_HUB) -> list[StateChange]:
    rows = conn.execute(
        select(
            repository_states.c.state,
            repository_states.c.reason,
            repository_states.c.since,
            repository_states.c.published,
        )
        .join(repositories, repositories.c.id == repository_states.c.repository_id)
        .where((repositories.c.name == name) & (repositories.c.registry == registry))
        .order_by(repository_states.c.since, repository_states.c.id)
    )
    return [StateChange(RepoState(r.state), r.reason, r.since, r.published) for r in rows]


def pull_deltas(
    conn: Connection, snapshot: SnapshotInfo, *, since: datetime | None = None
) -> dict[str, PullDelta]:
    """Pull-count change per repository between a base snapshot and ``snapshot``.

    The base is the latest snapshot with a pull count at or before ``since``; without
    ``since``, the one before ``snapshot``. When no snapshot is that old, the oldest one
    after ``since`` is used and the period says so (``base_at``).
    """
    rs = repository_snapshots
    rows = conn.execute(
        select(repositories.c.name, rs.c.snapshot_id, rs.c.taken_at, rs.c.pull_count)
        .join(repositories, repositories.c.id == rs.c.repository_id)
        .where(rs.c.pull_count.is_not(None) & (rs.c.taken_at <= snapshot.taken_at))
        .order_by(repositories.c.name, rs.c.taken_at, rs.c.id)
    ).all()
    series: dict[str, list[tuple[int, datetime, int]]] = {}
    for row in rows:
        series.setdefault(row.name, []).append((row.snapshot_id, row.taken_at, row.pull_count))
    deltas: dict[str, PullDelta] = {}
    for name, points in series.items():
        current = next((p for p in points if p[0] == snapshot.id), None)
        if current is None:
            continue
        earlier = [p for p in points if p[0] != snapshot.id and p[1] <= current[1]]
        if since is not None:
            before = [p for p in earlier if p[1] <= since]
            base = before[-1] if before else (earlier[0] if earlier else None)
        else:
            base = earlier[-1] if earlier else None
        if base is None:
            deltas[name] = PullDelta(name, current[2], current[1], None, None, None, False)
            continue
        raw = current[2] - base[2]
        deltas[name] = PullDelta(
            name,
            current[2],
            current[1],
            base[2],
            base[1],
            raw if raw >= 0 else None,
            raw < 0,
        )
    return deltas
