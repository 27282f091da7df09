"""The vulnerability part of the evidence, read from the image's stored finding set.

Evaluation never matches: it reads what ``scan`` or ``run`` stored for the image (the
finding set of the live database state, else the newest one, saying so). No set at all is
"not known", never "clean"; an incomplete SBOM, packages nobody has advisories for, or OS
packages that were not matched at all are carried over so the policy can refuse to approve
what could not be assessed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from imagetrust.evaluate.models import VulnerabilityEvidence

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.sbom.models import ImageSbom


def vulnerability_evidence(
    conn: Connection, sbom: ImageSbom, now: datetime
) -> VulnerabilityEvidence:
    from imagetrust.vulndb.findings_store import db_state, finding_items, finding_set_for
    from imagetrust.vulndb.query import live_generations

    state = db_state(live_generations(conn))
    found = finding_set_for(conn, sbom.digest, state=state)
    if found is None:
        return VulnerabilityEvidence(
            known=False,
            reason="no findings stored for this image: scan it, or run, after `db update`",
            complete=sbom.complete,
            incomplete=sbom.incomplete,
        )
    os_state = found.coverage.get("os")
    os_covered = {"covered": True, "not-covered": False}.get(str(os_state))
    reasons = found.coverage.get("reasons") or {}
    when = f"{found.matched_at:%Y-%m-%d}"
    if found.db_state == state:
        reason = f"matched {when} against the live database"
    else:
        reason = f"matched {when} against an earlier database state (not matched since)"
    oldest = _oldest_fixable_days(finding_items(conn, found.id, fix_state="fixed"), now)
    return VulnerabilityEvidence(
        known=True,
        reason=reason,
        counts=found.counts,
        known_exploited=found.known_exploited,
        complete=found.complete and sbom.complete,
        incomplete=tuple(dict.fromkeys((*found.incomplete, *sbom.incomplete))),
        not_covered=int(found.coverage.get("not_covered") or 0),
        not_covered_reasons={str(k): int(v) for k, v in dict(reasons).items()},
        os_covered=os_covered,
        db_state=found.db_state,
        oldest_fixable_days=oldest,
    )


def _oldest_fixable_days(items: list[dict[str, object]], now: datetime) -> int | None:
    """Days since the oldest fixable finding's advisory was published, where the data
    dates its advisories (None when no fixable finding has a date)."""
    ages = []
    for item in items:
        published = item.get("published")
        if item.get("fix_state") != "fixed" or not isinstance(published, str):
            continue
        try:
            when = datetime.fromisoformat(published)
        except ValueError:
            continue
        if when.tzinfo is None:
            continue
        ages.append((now - when).days)
    return max(ages) if ages else None
