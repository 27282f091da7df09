"""Repositories known to the store, keyed by (registry, namespace, name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from imagetrust.store.schema import repositories

DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class RepositoryRecord:
    id: int
    registry: str
    namespace: str
    name: str
    first_seen: datetime
    last_seen: datetime


def upsert_repository(
    conn: Connection,
    name: str,
    *,
    now: datetime,
    registry: str = DOCKER_HUB,
    namespace: str = "library",
) -> int:
    """Insert or touch one repository; returns its id. Portable across SQLite and PostgreSQL."""
    key = (
        (repositories.c.registry == registry)
        & (repositories.c.namespace == namespace)
        & (repositories.c.name == name)
    )
    existing = conn.execute(select(repositories.c.id).where(key)).scalar()
    if existing is not None:
        conn.execute(update(repositories).where(key).values(last_seen=now))
        return int(existing)
    result = conn.execute(
        insert(repositories).values(
            registry=registry, namespace=namespace, name=name, first_seen=now, last_seen=now
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def list_repositories(conn: Connection) -> list[RepositoryRecord]:
    rows = conn.execute(
        select(repositories).order_by(
            repositories.c.registry, repositories.c.namespace, repositories.c.name
        )
    )
    return [
        RepositoryRecord(r.id, r.registry, r.namespace, r.name, r.first_seen, r.last_seen)
        for r in rows
    ]
