"""Single findings, as much of them as VEX and finding exceptions need to act on.

The evidence holds counts; suppressing one finding needs the finding itself: its ids (a VEX
statement or an exception may name an alias), its package's purl (VEX subcomponents name
packages), its severity and whether it is fixable (to take it out of the right count).
``run`` has the findings at hand when it decides (``FindingRef.of``); ``policy check`` and
``show`` read what ``run`` stored for the image (``stored_findings``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.vulndb.scan import Finding


class FindingRef(Struct, frozen=True):
    id: str
    aliases: tuple[str, ...] = ()
    package: str = ""
    version: str = ""
    purl: str | None = None
    source_name: str | None = None
    severity: str = "UNKNOWN"
    fixable: bool = False
    fixed_version: str | None = None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset((self.id, *self.aliases))

    @property
    def label(self) -> str:
        return f"{self.id} in {self.package} {self.version}".rstrip()

    @classmethod
    def of(cls, finding: Finding) -> FindingRef:
        return cls(
            id=finding.id,
            aliases=tuple(finding.aliases),
            package=finding.package,
            version=finding.installed_version,
            purl=finding.purl or None,
            source_name=finding.source_name,
            severity=finding.severity.level.value,
            fixable=finding.fixable,
            fixed_version=finding.fixed_version,
        )

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> FindingRef | None:
        """A stored finding (``Finding.as_dict``); None when the row is not readable."""
        ident = detail.get("id")
        if not isinstance(ident, str) or not ident:
            return None
        aliases = detail.get("aliases") or ()
        return cls(
            id=ident,
            aliases=tuple(a for a in aliases if isinstance(a, str)),
            package=str(detail.get("package") or ""),
            version=str(detail.get("installed_version") or ""),
            purl=detail.get("purl") if isinstance(detail.get("purl"), str) else None,
            source_name=(
                detail.get("source_name") if isinstance(detail.get("source_name"), str) else None
            ),
            severity=str(detail.get("severity") or "UNKNOWN"),
            fixable=detail.get("fix_state") == "fixed",
            fixed_version=(
                detail.get("fixed_version")
                if isinstance(detail.get("fixed_version"), str)
                else None
            ),
        )


def stored_findings(conn: Connection, digests: Iterable[str]) -> dict[str, list[FindingRef]]:
    """The findings ``run`` stored per platform manifest digest (the newest result of each);
    a digest without stored findings is absent (not known), not an empty list."""
    from sqlalchemy import select

    from imagetrust.store.schema import image_findings, image_results

    wanted = sorted(set(digests))
    newest: dict[str, tuple[Any, int]] = {}
    r = image_results
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(r.c.id, r.c.manifest_digest, r.c.updated_at).where(
                r.c.manifest_digest.in_(wanted[start : start + 500]),
                r.c.counts.is_not(None),  # matched at least once (a later failure keeps them)
            )
        )
        for row in rows:
            known = newest.get(row.manifest_digest)
            if known is None or (row.updated_at, row.id) > known:
                newest[row.manifest_digest] = (row.updated_at, row.id)
    found: dict[str, list[FindingRef]] = {digest: [] for digest in newest}
    by_result = {result_id: digest for digest, (_, result_id) in newest.items()}
    ids = sorted(by_result)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(image_findings.c.result_id, image_findings.c.detail)
            .where(image_findings.c.result_id.in_(ids[start : start + 500]))
            .order_by(image_findings.c.id)
        )
        for row in rows:
            ref = FindingRef.from_detail(row.detail) if isinstance(row.detail, dict) else None
            if ref is not None:
                found[by_result[row.result_id]].append(ref)
    return found
