"""Stored findings: what matching one image against one database state found, kept.

One *finding set* per (platform manifest digest, analyser version, engine, database state):
the findings, the items the scan could not judge, the image's coverage and whether its SBOM
was complete. The database state is the (source, generation) pairs of the live sources the
matching read, and of the KEV catalog that flagged its findings (``kev.KEV_SOURCE``), so a
changed database yields a new set beside the old one (history, diff), and matching the
same image against the same state again replaces that set (a re-run).
Evaluation, policy and reports read sets; they never match again.

**Engines.** ``builtin`` is imagetrust's own matching, and every reader asks for it unless
told otherwise (evaluation and policy rest on the one engine whose coverage they can
state). Another scanner's report (``trivy``, ``grype``: ``vulndb.engines``) is a set of its
own beside ours, for the cross-check: its ``analyser_version`` is that scanner's name and
version, its state what the report says of its database (``EngineReport.db_state``), and
``packages`` the inventory it listed, when it listed one.

Write a set in the same transaction as the SBOM and result it belongs to (one image, one
transaction), and compute the state in the same read snapshot the matching used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from sqlalchemy import Connection, delete, insert, select

from imagetrust.store.schema import finding_set_items, finding_sets

if TYPE_CHECKING:
    from imagetrust.vulndb.engines.report import EngineReport
    from imagetrust.vulndb.scan import Finding, ImageScan

DbState = tuple[tuple[str, int], ...]  # (source name, generation), sorted
BUILTIN = "builtin"


class FindingSet(Struct, frozen=True):
    id: int
    digest: str
    analyser_version: str
    db_state: DbState
    matched_at: datetime
    complete: bool
    incomplete: tuple[str, ...]
    coverage: dict[str, Any]
    not_covered: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]
    known_exploited: tuple[str, ...]
    engine: str = BUILTIN
    packages: list[dict[str, Any]] | None = None  # another engine's inventory, if it gave one
    engine_detail: dict[str, Any] | None = None  # what another engine's report said besides


def db_state(sources: Iterable[Sequence[Any]]) -> DbState:
    """The state of ``(name, generation, ...)`` rows (``live_generations``, run's key)."""
    return tuple(sorted((str(row[0]), int(row[1])) for row in sources))


def state_key(state: DbState) -> str:
    return hashlib.sha256(json.dumps([list(pair) for pair in state]).encode()).hexdigest()


def save_finding_set(
    conn: Connection,
    scan: ImageScan,
    state: DbState,
    now: datetime,
    details: Sequence[dict[str, Any]] | None = None,
) -> int:
    """Store ``scan`` as the set for its image and ``state`` (replacing a set of the same
    state); returns the set's id. ``details`` are ``scan.findings``' ``as_dict()``, when the
    caller has them already (``run`` writes them to the image's result too)."""
    from imagetrust.vulndb.scan import counts

    sbom = scan.sbom
    key = state_key(state)
    conn.execute(
        delete(finding_sets).where(
            finding_sets.c.digest == sbom.digest,
            finding_sets.c.analyser_version == sbom.analyser_version,
            finding_sets.c.engine == BUILTIN,
            finding_sets.c.db_state_key == key,
        )
    )
    exploited = sorted(
        {f.known_exploited.cve for f in scan.findings if f.known_exploited is not None}
    )
    result = conn.execute(
        insert(finding_sets).values(
            digest=sbom.digest,
            analyser_version=sbom.analyser_version,
            engine=BUILTIN,
            db_state=[list(pair) for pair in state],
            db_state_key=key,
            matched_at=now,
            complete=sbom.complete,
            incomplete=list(sbom.incomplete),
            coverage=scan.coverage.as_dict(),
            not_covered=[item.as_dict() for item in scan.not_covered],
            counts=counts(scan.findings),
            known_exploited=exploited,
        )
    )
    assert result.inserted_primary_key is not None
    set_id = int(result.inserted_primary_key[0])
    _save_items(conn, set_id, scan.findings, details)
    return set_id


def save_engine_set(
    conn: Connection, scan: ImageScan, report: EngineReport, digest: str, now: datetime
) -> int:
    """Store another engine's report (as ``vulndb.engines`` reads it into ``scan``) as that
    engine's set for ``digest``, replacing one of the same engine, version and database
    state (the same report imported twice); returns the set's id."""
    from imagetrust.vulndb.scan import counts

    state = report.db_state
    key = state_key(state)
    conn.execute(
        delete(finding_sets).where(
            finding_sets.c.digest == digest,
            finding_sets.c.analyser_version == report.analyser_version,
            finding_sets.c.engine == report.engine,
            finding_sets.c.db_state_key == key,
        )
    )
    exploited = sorted(
        {f.known_exploited.cve for f in scan.findings if f.known_exploited is not None}
    )
    result = conn.execute(
        insert(finding_sets).values(
            digest=digest,
            analyser_version=report.analyser_version,
            engine=report.engine,
            db_state=[list(pair) for pair in state],
            db_state_key=key,
            matched_at=report.created_at or now,
            complete=scan.sbom.complete,
            incomplete=list(scan.sbom.incomplete),
            coverage=scan.coverage.as_dict(),
            not_covered=[item.as_dict() for item in scan.not_covered],
            counts=counts(scan.findings),
            known_exploited=exploited,
            packages=report.packages,
            engine_detail=report.detail(),
        )
    )
    assert result.inserted_primary_key is not None
    set_id = int(result.inserted_primary_key[0])
    _save_items(conn, set_id, scan.findings)
    return set_id


def _save_items(
    conn: Connection,
    set_id: int,
    findings: Sequence[Finding],
    details: Sequence[dict[str, Any]] | None = None,
) -> None:
    if details is None:
        details = [f.as_dict() for f in findings]
    rows = [
        {
            "set_id": set_id,
            "vuln_id": f.id,
            "package": f.package,
            "installed_version": f.installed_version,
            "fixed_version": f.fixed_version,
            "fix_state": f.fix_state.value,
            "severity": f.severity.level.value,
            "known_exploited": f.known_exploited is not None,
            "detail": detail,
        }
        for f, detail in zip(findings, details, strict=True)
    ]
    for start in range(0, len(rows), 1000):
        conn.execute(insert(finding_set_items), rows[start : start + 1000])


def _from_row(row: Any) -> FindingSet:
    return FindingSet(
        id=int(row.id),
        digest=row.digest,
        analyser_version=row.analyser_version,
        db_state=tuple((str(name), int(generation)) for name, generation in row.db_state),
        matched_at=row.matched_at,
        complete=bool(row.complete),
        incomplete=tuple(row.incomplete or ()),
        coverage=dict(row.coverage or {}),
        not_covered=list(row.not_covered or []),
        counts=dict(row.counts or {}),
        known_exploited=tuple(row.known_exploited or ()),
        engine=str(row.engine),
        packages=list(row.packages) if row.packages is not None else None,
        engine_detail=dict(row.engine_detail) if row.engine_detail is not None else None,
    )


def finding_set_for(
    conn: Connection, digest: str, *, state: DbState | None = None, engine: str = BUILTIN
) -> FindingSet | None:
    """The set matched against ``state`` if there is one, else the newest set of the image
    (the findings as they were last known), of one engine (ours unless told)."""
    base = select(finding_sets).where(
        finding_sets.c.digest == digest, finding_sets.c.engine == engine
    )
    if state is not None:
        row = conn.execute(
            base.where(finding_sets.c.db_state_key == state_key(state))
            .order_by(finding_sets.c.matched_at.desc(), finding_sets.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return _from_row(row)
    row = conn.execute(
        base.order_by(finding_sets.c.matched_at.desc(), finding_sets.c.id.desc()).limit(1)
    ).first()
    return _from_row(row) if row is not None else None


def finding_set_history(
    conn: Connection, digest: str, *, engine: str | None = BUILTIN
) -> list[FindingSet]:
    """Every set of the image, oldest first: of one engine (ours unless told), or of every
    engine with ``engine=None``."""
    query = select(finding_sets).where(finding_sets.c.digest == digest)
    if engine is not None:
        query = query.where(finding_sets.c.engine == engine)
    rows = conn.execute(query.order_by(finding_sets.c.matched_at, finding_sets.c.id))
    return [_from_row(row) for row in rows]


def newest_sets(conn: Connection, digest: str) -> dict[str, FindingSet]:
    """The newest set of each engine that matched the image (the cross-check's view: each
    engine as it last saw the image)."""
    newest: dict[str, FindingSet] = {}
    for found in finding_set_history(conn, digest, engine=None):
        newest[found.engine] = found  # oldest first: the last one of an engine wins
    return newest


def finding_items(
    conn: Connection, set_id: int, *, fix_state: str | None = None
) -> list[dict[str, Any]]:
    """The findings of one set, as ``Finding.as_dict()`` wrote them; only those of one
    ``fix_state`` if given (read through its column: the others' details are not decoded)."""
    query = select(finding_set_items.c.detail).where(finding_set_items.c.set_id == set_id)
    if fix_state is not None:
        query = query.where(finding_set_items.c.fix_state == fix_state)
    rows = conn.execute(query.order_by(finding_set_items.c.id))
    return [dict(row.detail) for row in rows]
