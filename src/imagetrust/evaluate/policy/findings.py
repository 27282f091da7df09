"""Single findings, as much of them as VEX and finding exceptions need to act on.

The evidence holds counts; suppressing one finding needs the finding itself: its ids (a VEX
statement or an exception may name an alias), its package's purl (VEX subcomponents name
packages), its severity and whether it is fixable (to take it out of the right count).
``run`` has the findings at hand when it decides (``FindingRef.of``); ``policy check`` and
``show`` read the image's stored finding set (``stored_findings``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.vulndb.kev import KnownExploited
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
    known_exploited: KnownExploited | None = None  # CISA's listing, with its dates

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
            known_exploited=finding.known_exploited,
        )

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> FindingRef | None:
        """A stored finding (``Finding.as_dict``); None when the row is not readable."""
        from imagetrust.vulndb.kev import KnownExploited

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
            known_exploited=KnownExploited.from_json(detail.get("known_exploited")),
        )


def stored_findings(conn: Connection, digests: Iterable[str]) -> dict[str, list[FindingRef]]:
    """The stored findings per platform manifest digest: its finding set for the live
    database state, else its newest; a digest without one is absent (not known), not an
    empty list."""
    from imagetrust.vulndb.findings_store import db_state, finding_items, finding_set_for
    from imagetrust.vulndb.query import live_generations

    state = db_state(live_generations(conn))
    found: dict[str, list[FindingRef]] = {}
    for digest in sorted(set(digests)):
        stored = finding_set_for(conn, digest, state=state)
        if stored is None:
            continue
        refs = [FindingRef.from_detail(detail) for detail in finding_items(conn, stored.id)]
        found[digest] = [ref for ref in refs if ref is not None]
    return found
