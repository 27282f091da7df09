"""What ``run`` stores per image, each image's results in one transaction.

An image here is one platform of one top digest (``python:3.12`` is an index; its
``linux/amd64`` manifest is the image analysed). Its result row says analysed, failed
(with the reason; retried next run) or not covered (with the reason; never analysed),
which analyser made the SBOM, and which vulnerability database the findings came from
(``db_versions``): when that changes, the stored SBOM is matched again, with no download.

Post-analysis steps run inside the image's transaction, after its SBOM and findings are
written: the seam where evaluation (end of life, deprecation, policy) plugs in, so an
image's verdict commits with the evidence it was made from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from sqlalchemy import Connection, delete, insert, select, update

from imagetrust.store.schema import image_findings, image_platforms, image_results

if TYPE_CHECKING:
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.vulndb.scan import Finding, ImageScan

DbKey = list[tuple[str, int, str | None]]  # (source, generation, version) of live sources


class ResultStatus:
    ANALYSED = "analysed"
    FAILED = "failed"
    NOT_COVERED = "not-covered"


class StoredResult(Struct, frozen=True):
    id: int
    digest: str
    platform: str
    manifest_digest: str | None
    status: str
    analyser_version: str | None
    db_versions: list[list[Any]] | None
    attempts: int


class AnalysedImage(Struct, frozen=True):
    """What a post-analysis step gets: one image's SBOM and findings, just written."""

    result_id: int
    run_id: int
    digest: str
    platform: str
    sbom: ImageSbom
    findings: list[Finding]
    now: datetime
    scan: ImageScan | None = None  # with what could not be judged; None: nothing was matched


PostAnalysisStep = Callable[[Connection, AnalysedImage], None]

# Later stages register here (``evaluate`` first); each runs in the image's transaction.
POST_ANALYSIS_STEPS: list[PostAnalysisStep] = []


def db_key_json(key: DbKey) -> list[list[Any]]:
    return [[name, generation, version] for name, generation, version in key]


def stored_results(conn: Connection, digests: Iterable[str]) -> dict[tuple[str, str], StoredResult]:
    wanted = sorted(set(digests))
    found: dict[tuple[str, str], StoredResult] = {}
    r = image_results
    for start in range(0, len(wanted), 500):
        rows = conn.execute(select(r).where(r.c.digest.in_(wanted[start : start + 500])))
        for row in rows:
            found[(row.digest, row.platform)] = StoredResult(
                row.id,
                row.digest,
                row.platform,
                row.manifest_digest,
                row.status,
                row.analyser_version,
                row.db_versions,
                row.attempts,
            )
    return found


class PlatformRow(Struct, frozen=True):
    platform: str
    manifest_digest: str
    media_type: str
    size: int


def stored_platforms(conn: Connection, digests: Iterable[str]) -> dict[str, list[PlatformRow]]:
    wanted = sorted(set(digests))
    found: dict[str, list[PlatformRow]] = {}
    p = image_platforms
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(p).where(p.c.digest.in_(wanted[start : start + 500])).order_by(p.c.id)
        )
        for row in rows:
            found.setdefault(row.digest, []).append(
                PlatformRow(row.platform, row.manifest_digest, row.media_type, row.size)
            )
    return found


def record_platforms(
    conn: Connection, digest: str, rows: Sequence[PlatformRow], now: datetime
) -> None:
    """An index's platforms, once (content-addressed: they never change)."""
    exists = conn.execute(
        select(image_platforms.c.id).where(image_platforms.c.digest == digest).limit(1)
    ).first()
    if exists is not None:
        return
    seen: set[str] = set()
    for row in rows:
        if row.platform in seen:
            continue  # two entries for one platform: the first is the one analysed
        seen.add(row.platform)
        conn.execute(
            insert(image_platforms).values(
                digest=digest,
                platform=row.platform,
                manifest_digest=row.manifest_digest,
                media_type=row.media_type,
                size=row.size,
                recorded_at=now,
            )
        )


def _upsert(
    conn: Connection, digest: str, platform: str, values: dict[str, Any], now: datetime
) -> int:
    r = image_results
    row = conn.execute(
        select(r.c.id, r.c.attempts).where(r.c.digest == digest, r.c.platform == platform)
    ).first()
    attempts = values.pop("attempted", 0)
    if row is None:
        result = conn.execute(
            insert(r).values(
                digest=digest,
                platform=platform,
                attempts=attempts,
                first_seen=now,
                updated_at=now,
                **values,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])
    conn.execute(
        update(r)
        .where(r.c.id == row.id)
        .values(attempts=row.attempts + attempts, updated_at=now, **values)
    )
    return int(row.id)


def record_analysed(
    conn: Connection,
    *,
    digest: str,
    platform: str,
    sbom: ImageSbom,
    scan: ImageScan | None,
    db_key: DbKey,
    run_id: int,
    now: datetime,
    attempted: bool,
    steps: Sequence[PostAnalysisStep] = (),
) -> int:
    """The image's result and findings (replacing earlier ones), its finding set for this
    database state (kept beside earlier states' sets); then post-analysis steps.

    ``scan`` is None while no vulnerability source is live (nothing was matched).
    ``attempted`` counts an analysis (a download or a stored SBOM used for the first time);
    a re-match after a database change is not an attempt.
    """
    from imagetrust.vulndb.findings_store import db_state, save_finding_set
    from imagetrust.vulndb.scan import counts

    findings = scan.findings if scan is not None else []

    result_id = _upsert(
        conn,
        digest,
        platform,
        {
            "manifest_digest": sbom.digest,
            "status": ResultStatus.ANALYSED,
            "reason": None,
            "analyser_version": sbom.analyser_version,
            "db_versions": db_key_json(db_key),
            "counts": counts(findings),
            "package_count": len(sbom.packages),
            "run_id": run_id,
            "attempted": 1 if attempted else 0,
        },
        now,
    )
    conn.execute(delete(image_findings).where(image_findings.c.result_id == result_id))
    details = [f.as_dict() for f in findings]  # written twice: here and in the finding set
    rows = [
        {
            "result_id": result_id,
            "vuln_id": f.id,
            "package": f.package,
            "installed_version": f.installed_version,
            "fixed_version": f.fixed_version,
            "fix_state": f.fix_state.value,
            "severity": f.severity.level.value,
            "db_source": f.db_source,
            "db_version": f.db_version,
            "detail": detail,
        }
        for f, detail in zip(findings, details, strict=True)
    ]
    if rows:
        conn.execute(insert(image_findings), rows)
    if scan is not None:
        save_finding_set(conn, scan, db_state(db_key), now, details)
    image = AnalysedImage(result_id, run_id, digest, platform, sbom, findings, now, scan)
    for step in (*POST_ANALYSIS_STEPS, *steps):
        step(conn, image)
    return result_id


def record_failed(
    conn: Connection,
    *,
    digest: str,
    platform: str,
    manifest_digest: str | None,
    reason: str,
    run_id: int,
    now: datetime,
) -> None:
    """The reason an image could not be analysed; the next run tries it again.

    Findings from an earlier successful analysis stay (they describe the same digest), but
    the status says this attempt failed.
    """
    values: dict[str, Any] = {
        "status": ResultStatus.FAILED,
        "reason": reason,
        "run_id": run_id,
        "attempted": 1,
    }
    if manifest_digest is not None:
        values["manifest_digest"] = manifest_digest
    _upsert(conn, digest, platform, values, now)


def record_not_covered(
    conn: Connection,
    *,
    digest: str,
    platform: str,
    manifest_digest: str | None,
    reason: str,
    run_id: int,
    now: datetime,
) -> None:
    r = image_results
    row = conn.execute(
        select(r.c.status, r.c.reason).where(r.c.digest == digest, r.c.platform == platform)
    ).first()
    if row is not None and (row.status, row.reason) == (ResultStatus.NOT_COVERED, reason):
        return  # already known: nothing changes, not even the time
    _upsert(
        conn,
        digest,
        platform,
        {
            "status": ResultStatus.NOT_COVERED,
            "reason": reason,
            "manifest_digest": manifest_digest,
            "run_id": run_id,
        },
        now,
    )
