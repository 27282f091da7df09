"""Other sources of an image page: other engines' newest finding sets and the publisher's SBOM.

They are shown beside imagetrust's own analysis, never counted: verdicts, counts, trends and
time to fix rest on the ``builtin`` engine alone (its coverage is the one imagetrust can
state). What the other sources say is untrusted text (a report anyone could hand over, a
statement in a registry) and stays as it came; the renderers escape it.

The agreement of an engine's findings with ours is ``vulndb.crosscheck``'s (the same
identity of a finding: CVE names and package), so the page and ``imagetrust crosscheck``
agree; the publisher's package list is only counted here (comparing inventories is
``crosscheck``'s work, too slow for every image of a daily report).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from imagetrust.report.model import EngineSet, PublisherSbomStatus
from imagetrust.store.schema import finding_sets
from imagetrust.vulndb.findings_store import BUILTIN

NOT_READ = PublisherSbomStatus(
    "not-read", "never read for this image (`imagetrust crosscheck` reads it once)"
)


def other_engines(
    conn: Connection, digest: str, ours: Sequence[dict[str, Any]] | None
) -> tuple[EngineSet, ...]:
    """Each other engine's newest set of ``digest``, with its agreement with ``ours`` (our
    set's findings, None when ours is not matched)."""
    from imagetrust.vulndb.crosscheck import Source, compare, findings_of
    from imagetrust.vulndb.findings_store import finding_items

    f = finding_sets
    rows = conn.execute(
        select(
            f.c.id,
            f.c.engine,
            f.c.analyser_version,
            f.c.matched_at,
            f.c.counts,
            f.c.complete,
            f.c.engine_detail,
        )
        .where((f.c.digest == digest) & (f.c.engine != BUILTIN))
        .order_by(f.c.matched_at, f.c.id)
    ).all()
    newest = {row.engine: row for row in rows}  # oldest first: the last of an engine wins
    if not newest:
        return ()
    mine = Source(BUILTIN, True, "", findings=findings_of(ours)) if ours is not None else None
    found = []
    for engine in sorted(newest):
        row = newest[engine]
        items = finding_items(conn, int(row.id))
        counts = row.counts if isinstance(row.counts, dict) else {}
        detail = row.engine_detail if isinstance(row.engine_detail, dict) else {}
        compared: dict[str, Any] | None = None
        if mine is not None:
            theirs = Source(str(engine), True, "", findings=findings_of(items))
            compared = compare(mine, theirs)["findings"]
        found.append(
            EngineSet(
                engine=str(engine),
                version=str(row.analyser_version).removeprefix(f"{engine} "),
                matched_at=row.matched_at,
                findings=len(items),
                all=_counts(counts.get("all")),
                fixable=_counts(counts.get("fixable")),
                complete=bool(row.complete),
                target=detail.get("target") if isinstance(detail.get("target"), str) else None,
                skipped=int(detail.get("problem_count") or 0),
                agreement=compared["agreement"] if compared is not None else None,
                both=compared["both"] if compared is not None else 0,
                only_ours=len(compared["only_a"]) if compared is not None else 0,
                only_theirs=len(compared["only_b"]) if compared is not None else 0,
            )
        )
    return tuple(found)


def _counts(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int)}


def publisher_sbom(conn: Connection, digest: str) -> PublisherSbomStatus:
    """What the publisher's SBOM attestation of ``digest`` was found to be when read."""
    from imagetrust.sbom.publisher import publisher_sboms_for

    records = publisher_sboms_for(conn, digest)
    if not records:
        return NOT_READ
    present = [r for r in records if r.present]
    if present:
        documents = [r.document or {} for r in present]
        creators = sorted(
            {c for d in documents for c in d.get("creators") or () if isinstance(c, str)}
        )
        formats = sorted({d["format"] for d in documents if isinstance(d.get("format"), str)})
        return PublisherSbomStatus(
            "present",
            packages=sum(len(r.packages or ()) for r in present),
            format=", ".join(formats) or None,
            creators=tuple(creators),
        )
    first = records[0]
    return PublisherSbomStatus(first.status, reason=first.reason)
