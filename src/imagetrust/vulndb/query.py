"""Reading the vulnerability database: the affected entries for one package, and status.

Matching asks for one (ecosystem with release, package) at a time and gets only the
entries the ``(ecosystem, package)`` index points at; it never scans the database. Each
entry carries its record's facts and its source's version, so a finding can say which
database it came from.

Every query here sees only each source's live generation (``live``): rows an import is
still building, or has replaced, stay out. Run a matching pass inside one ``Store.read()``
so all its queries see the same generations even if an import switches meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, func, or_, select

from imagetrust.store.schema import vuln_affected, vuln_records, vuln_sources
from imagetrust.vulndb.osv import package_key


def live() -> ColumnElement[bool]:
    """Record rows of their source's live generation (the query must join vuln_sources)."""
    generation = vuln_sources.c.generation
    return and_(
        vuln_records.c.source_id == vuln_sources.c.id,
        vuln_records.c.added_in <= generation,
        or_(vuln_records.c.removed_in.is_(None), vuln_records.c.removed_in > generation),
    )


@dataclass(frozen=True)
class AffectedEntry:
    """One ``affected`` entry of one record, with the record-level facts matching needs."""

    record_id: str
    source: str
    source_version: str | None
    modified: datetime | None
    published: datetime | None
    withdrawn: datetime | None
    aliases: list[str]
    upstream: list[str]
    summary: str | None
    severity: list[dict[str, Any]]
    record_database_specific: dict[str, Any] | None
    ecosystem: str
    package: str
    purl: str | None
    ranges: list[dict[str, Any]]
    versions: list[str]
    affected_severity: list[dict[str, Any]]
    ecosystem_specific: dict[str, Any] | None
    database_specific: dict[str, Any] | None


def affected_records(
    conn: Connection,
    ecosystem: str | Sequence[str],
    package_name: str,
    *,
    include_withdrawn: bool = False,
) -> list[AffectedEntry]:
    """Entries for exactly this ecosystem (``Debian:12``, ``Alpine:v3.19``) and package, or
    for any of several ecosystems (one query through the index: ``ecosystem IN (...)``).

    Withdrawn records are left out unless asked for: a withdrawn advisory is no finding.
    """
    ecosystems = [ecosystem] if isinstance(ecosystem, str) else list(ecosystem)
    if not ecosystems:
        return []
    keys = sorted({package_key(e, package_name) for e in ecosystems})
    query = _affected_query(include_withdrawn)
    rows = conn.execute(query, {"ecosystems": ecosystems, "keys": keys})
    return [AffectedEntry(**row._asdict()) for row in rows]


@cache
def _affected_query(include_withdrawn: bool) -> Select[Any]:
    """The query of ``affected_records``, built once: matching asks it once per package of
    every image, and building and compiling it anew each time cost as much as running it."""
    query = (
        select(
            vuln_records.c.record_id,
            vuln_sources.c.name.label("source"),
            vuln_sources.c.version.label("source_version"),
            vuln_records.c.modified,
            vuln_records.c.published,
            vuln_records.c.withdrawn,
            vuln_records.c.aliases,
            vuln_records.c.upstream,
            vuln_records.c.summary,
            vuln_records.c.severity,
            vuln_records.c.database_specific.label("record_database_specific"),
            vuln_affected.c.ecosystem,
            vuln_affected.c.name.label("package"),
            vuln_affected.c.purl,
            vuln_affected.c.ranges,
            vuln_affected.c.versions,
            vuln_affected.c.severity.label("affected_severity"),
            vuln_affected.c.ecosystem_specific,
            vuln_affected.c.database_specific,
        )
        .select_from(
            vuln_affected.join(vuln_records, vuln_records.c.id == vuln_affected.c.record_pk).join(
                vuln_sources, vuln_sources.c.id == vuln_records.c.source_id
            )
        )
        .where(
            vuln_affected.c.ecosystem.in_(bindparam("ecosystems", expanding=True)),
            vuln_affected.c.package.in_(bindparam("keys", expanding=True)),
            live(),
        )
        .order_by(vuln_records.c.record_id, vuln_sources.c.name, vuln_affected.c.id)
    )
    if not include_withdrawn:
        query = query.where(vuln_records.c.withdrawn.is_(None))
    return query


def ecosystem_has_records(conn: Connection, ecosystem: str) -> bool:
    """Whether any live source holds a record for this ecosystem (``Debian:12``).

    Without one, a package of that ecosystem has no advisory source: an empty lookup would
    look clean. The (ecosystem, package) index answers this with its first live row.
    """
    query = (
        select(vuln_affected.c.id)
        .select_from(
            vuln_affected.join(vuln_records, vuln_records.c.id == vuln_affected.c.record_pk).join(
                vuln_sources, live()
            )
        )
        .where(vuln_affected.c.ecosystem == ecosystem)
        .limit(1)
    )
    return conn.execute(query).first() is not None


def live_ecosystems(conn: Connection) -> frozenset[str]:
    """Every ecosystem with release the live sources hold (``Red Hat:enterprise_linux:9::
    appstream``), from each source's import counts: one small table, not the index.

    Matching needs it for sources that file one release under many ecosystems (a Red Hat
    repository, a SUSE module): which of them exist is only known from the data.
    """
    found: set[str] = set()
    for (counts,) in conn.execute(
        select(vuln_sources.c.counts).where(vuln_sources.c.generation > 0)
    ):
        per_ecosystem = counts.get("per_ecosystem") if isinstance(counts, dict) else None
        if isinstance(per_ecosystem, dict):
            found.update(str(name) for name in per_ecosystem)
    return frozenset(found)


@dataclass(frozen=True)
class SourceStatus:
    id: int
    name: str
    kind: str
    path: str
    version: str | None
    imported_at: datetime
    counts: dict[str, Any]
    records: int
    generation: int
    # an import started after the live generation has not finished: running or interrupted
    import_pending: bool

    @property
    def state(self) -> str:
        """``live``; ``incomplete`` when no import of it ever finished (it is not used)."""
        return "live" if self.generation > 0 else "incomplete"


@dataclass(frozen=True)
class DbStatus:
    sources: list[SourceStatus]  # every source, incomplete ones included
    records: int
    affected_entries: int
    # records (not entries) per ecosystem with release, over all sources
    per_ecosystem: dict[str, int]

    @property
    def live_sources(self) -> list[SourceStatus]:
        """The sources matching reads from."""
        return [s for s in self.sources if s.state == "live"]

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "sources": [
                {
                    "id": s.id,
                    "name": s.name,
                    "state": s.state,
                    "generation": s.generation,
                    "import_pending": s.import_pending,
                    "kind": s.kind,
                    "path": s.path,
                    "version": s.version,
                    "imported_at": s.imported_at,
                    "age_seconds": (
                        int((now - s.imported_at).total_seconds()) if now is not None else None
                    ),
                    "records": s.records,
                    "counts": s.counts,
                }
                for s in self.sources
            ],
            "records": self.records,
            "affected_entries": self.affected_entries,
            "per_ecosystem": self.per_ecosystem,
        }


def db_status(conn: Connection) -> DbStatus:
    """Sources and counts of what matching would see (live generations only)."""
    per_source: dict[int, int] = {
        int(source_id): int(count)
        for source_id, count in conn.execute(
            select(vuln_records.c.source_id, func.count())
            .select_from(vuln_records.join(vuln_sources, live()))
            .group_by(vuln_records.c.source_id)
        )
    }
    sources = [
        SourceStatus(
            id=row.id,
            name=row.name,
            kind=row.kind,
            path=row.path,
            version=row.version,
            imported_at=row.imported_at,
            counts=row.counts or {},
            records=int(per_source.get(row.id, 0)),
            generation=int(row.generation),
            import_pending=int(row.last_generation) > int(row.generation),
        )
        for row in conn.execute(select(vuln_sources).order_by(vuln_sources.c.name))
    ]
    visible = vuln_affected.join(vuln_records, vuln_records.c.id == vuln_affected.c.record_pk).join(
        vuln_sources, live()
    )
    per_ecosystem = {
        str(ecosystem): int(count)
        for ecosystem, count in conn.execute(
            select(vuln_affected.c.ecosystem, func.count(func.distinct(vuln_affected.c.record_pk)))
            .select_from(visible)
            .group_by(vuln_affected.c.ecosystem)
            .order_by(vuln_affected.c.ecosystem)
        )
    }
    entries = conn.execute(select(func.count()).select_from(visible)).scalar_one()
    return DbStatus(
        sources=sources,
        records=sum(per_source.values()),
        affected_entries=int(entries),
        per_ecosystem=per_ecosystem,
    )


def records_by_id(conn: Connection, record_id: str) -> list[dict[str, Any]]:
    """The record-level facts (id, severity, database_specific) of every non-withdrawn
    record with this id, from any source: for severity by alias (``CVE-...``)."""
    rows = conn.execute(
        select(
            vuln_records.c.record_id,
            vuln_records.c.severity,
            vuln_records.c.database_specific,
        )
        .select_from(vuln_records.join(vuln_sources, live()))
        .where(vuln_records.c.record_id == record_id, vuln_records.c.withdrawn.is_(None))
    )
    return [
        {"id": row.record_id, "severity": row.severity, "database_specific": row.database_specific}
        for row in rows
    ]


def live_generations(conn: Connection) -> list[tuple[str, int, str | None]]:
    """(source, generation, version) of every live source, and of the KEV catalog
    (``kev.KEV_SOURCE``): which database matching reads.

    Cheap (two small tables), unlike ``db_status``: a job compares it with what an earlier
    matching recorded to know whether the database changed since. The KEV catalog is in it
    because matching flags findings from it (a catalog that lists one more CVE changes the
    findings); it is left out while no source is live, so an empty list still means
    "nothing to match against".
    """
    from imagetrust.vulndb.kev import kev_generation

    rows = conn.execute(
        select(vuln_sources.c.name, vuln_sources.c.generation, vuln_sources.c.version)
        .where(vuln_sources.c.generation > 0)
        .order_by(vuln_sources.c.name)
    )
    found = [(str(name), int(generation), version) for name, generation, version in rows]
    kev = kev_generation(conn) if found else None
    return sorted([*found, kev], key=lambda row: row[0]) if kev is not None else found
