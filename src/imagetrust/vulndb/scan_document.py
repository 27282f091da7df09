"""The JSON shape of one image's scan, shared by ``imagetrust scan`` and the demo.

One image is ``kind: scan`` with this shape at the top level; several platforms are
``kind: scans`` whose ``images`` are each exactly this shape. Keeping it here (not in the
command) means every writer of scan results writes the same document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagetrust.vulndb.query import SourceStatus
    from imagetrust.vulndb.scan import Finding, ImageScan
    from imagetrust.vulndb.severity import Severity


def shown_findings(
    findings: Iterable[Finding], *, ignore_unfixed: bool, severities: set[Severity] | None
) -> list[Finding]:
    """The findings a reader asked to see; counts always cover them all."""
    return [
        f
        for f in findings
        if (not ignore_unfixed or f.fixable)
        and (severities is None or f.severity.level in severities)
    ]


def databases(sources: Sequence[SourceStatus]) -> list[dict[str, Any]]:
    return [{"name": s.name, "version": s.version, "imported_at": s.imported_at} for s in sources]


def image_document(
    scan: ImageScan,
    shown: Sequence[Finding],
    dbs: list[dict[str, Any]],
    eol: Any = None,
    engine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One image's scan: the image, its coverage, packages, findings, what was not covered.

    ``eol`` is the evaluation's end-of-life evidence of the OS (its ``eol_date`` and
    ``status``), when the caller has it; without it the status says ``unknown``. ``engine``
    says who matched, when it was another scanner (its report's details); else ``builtin``.
    """
    from imagetrust.vulndb.scan import counts

    sbom = scan.sbom
    os_doc = None
    if sbom.os is not None:
        os_doc = {
            "family": sbom.os.id,
            "version": sbom.os.version_id,
            "name": sbom.os.pretty_name,
            "eol_date": eol.eol_date if eol is not None else None,
            "eol_status": eol.status.value if eol is not None else "unknown",
        }
    return {
        "image": {
            "ref": sbom.reference,
            "digest": sbom.digest,
            "platform": sbom.platform,
            "os": os_doc,
        },
        "coverage": scan.coverage.as_dict(),
        "packages": [
            {"name": p.name, "version": p.version, "type": p.type.value, "purl": p.purl}
            for p in sbom.packages
        ],
        "vulnerabilities": [f.as_dict() for f in shown],
        "counts": counts(scan.findings),
        "findings_total": len(scan.findings),
        "not_covered": [item.as_dict() for item in scan.not_covered],
        "errors": list(sbom.errors),
        "complete": sbom.complete,
        "incomplete": list(sbom.incomplete),
        "databases": dbs,
        "engine": engine if engine is not None else {"name": "builtin"},
    }


def scan_payload(images: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """(kind, payload) for one or several image documents."""
    if len(images) == 1:
        return "scan", images[0]
    return "scans", {"images": images}
