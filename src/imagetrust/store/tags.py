"""Tag history: every (tag, platform) -> digest observation, and what a tag was on a date.

Tags move (``python:3.12`` gets a new digest with every rebuild), and evidence, diffs and
trends need to know which digest a tag named when a verdict was made. Observations are
kept as spans: a new row when a (repository, tag, platform) is seen with a digest other
than its latest row's (the newest one written), otherwise that row's ``last_seen`` moves
on. So the history
is exact about every change that was observed and grows with changes, not with runs.

Platform ``*`` is the tag's own manifest (an index for multi-platform images); the other
rows are the platform manifests (``linux/amd64``) the Hub or the index lists for it. The
catalog (Hub listings) and resolve (Hub, ``HEAD``) both record here, so this lives in the
store, beside ``repositories``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, func, insert, select, update

from imagetrust.store.schema import repositories, tag_history

TAG_ITSELF = "*"


@dataclass(frozen=True)
class TagObservation:
    repository_id: int
    tag: str
    platform: str
    digest: str
    source: str
    first_seen: datetime
    last_seen: datetime


def platform_key(os_name: str | None, architecture: str | None, variant: str | None) -> str | None:
    """``linux/arm64/v8`` from a Hub image's fields; None for an attestation entry."""
    if not os_name or not architecture or "unknown" in (os_name, architecture):
        return None
    return "/".join(p for p in (os_name, architecture, variant) if p)


class Observation(NamedTuple):
    tag: str
    platform: str
    digest: str


def observe_digest(
    conn: Connection,
    repository_id: int,
    tag: str,
    platform: str,
    digest: str,
    *,
    now: datetime,
    source: str,
) -> None:
    """Record that ``tag`` (for ``platform``) named ``digest`` at ``now``."""
    observe_digests(
        conn, repository_id, [Observation(tag, platform, digest)], now=now, source=source
    )


def observe_digests(
    conn: Connection,
    repository_id: int,
    observations: Iterable[Observation],
    *,
    now: datetime,
    source: str,
) -> None:
    """Record many observations of one repository: one query for the spans they extend.

    A catalog refresh observes every Hub tag of every repository (tens of thousands of
    (tag, platform) pairs); asking the store about each one would make it the slow part.
    """
    h = tag_history
    wanted = {(o.tag, o.platform): o.digest for o in observations}
    if not wanted:
        return
    newest = (
        select(func.max(h.c.id))
        .where(h.c.repository_id == repository_id)
        .group_by(h.c.tag, h.c.platform)
    )
    latest = {
        (row.tag, row.platform): row
        for row in conn.execute(
            select(h.c.id, h.c.tag, h.c.platform, h.c.digest, h.c.last_seen).where(
                h.c.id.in_(newest)
            )
        )
    }
    touch: list[int] = []
    fresh: list[dict[str, Any]] = []
    for (tag, platform), digest in wanted.items():
        row = latest.get((tag, platform))
        if row is not None and row.digest == digest:
            if now > row.last_seen:
                touch.append(int(row.id))
            continue
        fresh.append(
            {
                "repository_id": repository_id,
                "tag": tag,
                "platform": platform,
                "digest": digest,
                "source": source,
                "first_seen": now,
                "last_seen": now,
            }
        )
    for start in range(0, len(touch), 500):
        conn.execute(update(h).where(h.c.id.in_(touch[start : start + 500])).values(last_seen=now))
    if fresh:
        conn.execute(insert(h), fresh)


def _observation(row: Row[Any]) -> TagObservation:
    return TagObservation(
        repository_id=row.repository_id,
        tag=row.tag,
        platform=row.platform,
        digest=row.digest,
        source=row.source,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


def _repository_id(conn: Connection, registry: str, namespace: str, name: str) -> int | None:
    value = conn.execute(
        select(repositories.c.id).where(
            repositories.c.registry == registry,
            repositories.c.namespace == namespace,
            repositories.c.name == name,
        )
    ).scalar()
    return int(value) if value is not None else None


def digest_at(
    conn: Connection,
    name: str,
    tag: str,
    when: datetime,
    *,
    platform: str = TAG_ITSELF,
    registry: str = "docker.io",
    namespace: str = "library",
) -> TagObservation | None:
    """The digest the tag was last seen with at or before ``when`` (None if never seen).

    ``last_seen`` says how sure that is: after it, the tag may have moved unobserved.
    """
    repository_id = _repository_id(conn, registry, namespace, name)
    if repository_id is None:
        return None
    h = tag_history
    row = conn.execute(
        select(h)
        .where(
            h.c.repository_id == repository_id,
            h.c.tag == tag,
            h.c.platform == platform,
            h.c.first_seen <= when,
        )
        .order_by(h.c.first_seen.desc(), h.c.id.desc())
        .limit(1)
    ).first()
    return _observation(row) if row is not None else None


def tag_observations(
    conn: Connection,
    name: str,
    tag: str,
    *,
    platform: str = TAG_ITSELF,
    registry: str = "docker.io",
    namespace: str = "library",
) -> list[TagObservation]:
    """Every span of the tag's history, oldest first."""
    repository_id = _repository_id(conn, registry, namespace, name)
    if repository_id is None:
        return []
    h = tag_history
    rows = conn.execute(
        select(h)
        .where(h.c.repository_id == repository_id, h.c.tag == tag, h.c.platform == platform)
        .order_by(h.c.first_seen, h.c.id)
    )
    return [_observation(row) for row in rows]
