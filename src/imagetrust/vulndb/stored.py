"""What a scan could not judge, kept beside the SBOM it was judged from.

The not-covered items go into the stored SBOM's document (``image_sboms.document``) under
``scan_coverage``, written in the caller's transaction right after ``save_sbom``; the
native SBOM reader ignores keys it does not know, so the SBOM reads back unchanged. A later
scan of the same image replaces them. This is the simple home until scans get tables of
their own; nothing else reads that key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from imagetrust.store.schema import image_sboms
from imagetrust.vulndb.coverage import NotCovered
from imagetrust.vulndb.scan import ImageScan

COVERAGE_KEY = "scan_coverage"


def save_scan_coverage(
    conn: Connection, scan: ImageScan, databases: list[dict[str, Any]], now: datetime
) -> bool:
    """Record ``scan``'s coverage with its stored SBOM; False when that SBOM is not stored."""
    sbom = scan.sbom
    where = (
        image_sboms.c.digest == sbom.digest,
        image_sboms.c.analyser_version == sbom.analyser_version,
    )
    row = conn.execute(select(image_sboms.c.document).where(*where)).first()
    if row is None:
        return False
    document = dict(row.document)
    document[COVERAGE_KEY] = {
        "scanned_at": now.isoformat(),
        "databases": [{**db, "imported_at": _iso(db.get("imported_at"))} for db in databases],
        "coverage": scan.coverage.as_dict(),
        "items": [item.as_dict() for item in scan.not_covered],
    }
    conn.execute(update(image_sboms).where(*where).values(document=document))
    return True


def stored_not_covered(
    conn: Connection, digest: str, analyser_version: str
) -> list[NotCovered] | None:
    """The items of the last scan recorded for this SBOM; None if none was."""
    row = conn.execute(
        select(image_sboms.c.document).where(
            image_sboms.c.digest == digest, image_sboms.c.analyser_version == analyser_version
        )
    ).first()
    if row is None or not isinstance(row.document, dict):
        return None
    recorded = row.document.get(COVERAGE_KEY)
    if not isinstance(recorded, dict):
        return None
    return [NotCovered.from_dict(item) for item in recorded.get("items", [])]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
