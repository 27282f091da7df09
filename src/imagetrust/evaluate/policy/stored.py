"""Verdicts in the store, and the evidence a policy check judges.

Verdict rows are never updated: deciding again adds a row, so a tag's history of verdicts
(and the policy each came from) stays. Deciding the same image as the same reference under
the same policy at the same clock time replaces that row (a re-run of one decision).

The evidence judged is each (reference, platform)'s newest: when a tag moved to a new
digest, its old digest's evidence is history, not a current image.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from msgspec import Struct
from sqlalchemy import Connection, delete, insert, select

from imagetrust.evaluate.models import EVIDENCE_VERSION, Evidence
from imagetrust.evaluate.policy.model import DECISION_VERSION, Decision
from imagetrust.store.schema import image_evidence, image_results, image_verdicts

_BATCH = 500


def decision_document(decision: Decision) -> dict[str, object]:
    document: dict[str, object] = msgspec.to_builtins(decision)
    return document


def save_decision(conn: Connection, decision: Decision) -> None:
    """Write one verdict in the caller's transaction."""
    v = image_verdicts
    conn.execute(
        delete(v).where(
            (v.c.digest == decision.digest)
            & (v.c.reference == decision.reference)
            & (v.c.decided_at == decision.decided_at)
            & (v.c.policy_digest == decision.policy_digest)
        )
    )
    conn.execute(
        insert(v).values(
            digest=decision.digest,
            index_digest=decision.index_digest,
            reference=decision.reference,
            repository=decision.repository,
            tag=decision.tag,
            platform=decision.platform,
            decided_at=decision.decided_at,
            evaluated_at=decision.evaluated_at,
            policy_name=decision.policy_name[:255],
            policy_digest=decision.policy_digest,
            verdict=decision.verdict.value,
            grade=decision.grade[:8],
            score=decision.score,
            document=decision_document(decision),
        )
    )


def _read(document: object) -> Decision | None:
    if not isinstance(document, dict) or document.get("decision_version") != DECISION_VERSION:
        return None
    try:
        return msgspec.convert(document, Decision)
    except msgspec.ValidationError:
        return None


def decision_history(
    conn: Connection,
    *,
    digests: Iterable[str] = (),
    repository: str | None = None,
    tag: str | None = None,
) -> list[Decision]:
    """Stored verdicts of these digests, or of a repository (and tag), oldest first."""
    v = image_verdicts
    query = select(v.c.document).order_by(v.c.decided_at, v.c.id)
    wanted = sorted(set(digests))
    if wanted:
        query = query.where(v.c.digest.in_(wanted) | v.c.index_digest.in_(wanted))
    if repository is not None:
        query = query.where(v.c.repository == repository)
        if tag is not None:
            query = query.where(v.c.tag == tag)
    if not wanted and repository is None:
        return []
    found = []
    for row in conn.execute(query):
        decision = _read(row.document)
        if decision is not None:
            found.append(decision)
    return found


def reference_key(reference: str) -> str:
    """What makes two evaluations the same image over time: the reference, except that a
    tag pinned to a digest (``docker.io/library/debian:12@sha256:...``, as ``run`` reads
    each image) is still that tag. When the tag moves, its new digest's evaluation replaces
    the old one's as current, so the old digest is history (allowlists, verdicts, diffs)."""
    if reference.startswith(("oci-layout:", "docker-archive:")):
        return reference
    name, at, _ = reference.partition("@")
    if at and ":" in name.rsplit("/", 1)[-1]:
        return name
    return reference


def current_evidence(conn: Connection) -> list[Evidence]:
    """The newest evidence of each (reference, platform), ordered by reference; references
    compared by ``reference_key``."""
    e = image_evidence
    rows = conn.execute(
        select(e.c.id, e.c.reference, e.c.platform).order_by(e.c.evaluated_at.desc(), e.c.id.desc())
    )
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        newest.setdefault((reference_key(row.reference), row.platform), row.id)
    return _documents(conn, [newest[key] for key in sorted(newest)])


class DigestSeen(Struct, frozen=True):
    """A digest a reference was evaluated as, and over which span of evaluations."""

    reference: str
    platform: str
    digest: str
    first: datetime
    last: datetime
    evaluations: int


def evidence_digests(conn: Connection, references: Iterable[str]) -> list[DigestSeen]:
    """Every digest these references were evaluated as, oldest first: a tag's history."""
    e = image_evidence
    wanted = sorted(set(references))
    spans: dict[tuple[str, str, str], list[datetime]] = {}
    for start in range(0, len(wanted), _BATCH):
        rows = conn.execute(
            select(e.c.reference, e.c.platform, e.c.digest, e.c.evaluated_at).where(
                e.c.reference.in_(wanted[start : start + _BATCH])
            )
        )
        for row in rows:
            spans.setdefault((row.reference, row.platform, row.digest), []).append(row.evaluated_at)
    found = [
        DigestSeen(reference, platform, digest, min(times), max(times), len(times))
        for (reference, platform, digest), times in spans.items()
    ]
    return sorted(found, key=lambda d: (d.reference, d.platform, d.first))


class ResultNote(Struct, frozen=True):
    """What ``run`` recorded for a platform it did not analyse (not covered, or failed)."""

    digest: str
    platform: str
    status: str
    reason: str | None


def unanalysed_platforms(conn: Connection, digests: Iterable[str]) -> list[ResultNote]:
    r = image_results
    wanted = sorted(set(digests))
    found: list[ResultNote] = []
    for start in range(0, len(wanted), _BATCH):
        rows = conn.execute(
            select(r.c.digest, r.c.platform, r.c.status, r.c.reason)
            .where(r.c.digest.in_(wanted[start : start + _BATCH]), r.c.status != "analysed")
            .order_by(r.c.digest, r.c.platform)
        )
        found += [ResultNote(row.digest, row.platform, row.status, row.reason) for row in rows]
    return found


def read_evidence(document: object) -> Evidence | None:
    """A stored evidence record, or None when another evidence version wrote it."""
    if not isinstance(document, dict) or document.get("evidence_version") != EVIDENCE_VERSION:
        return None
    try:
        return msgspec.convert(document, Evidence)
    except msgspec.ValidationError:
        return None


def _documents(conn: Connection, ids: Sequence[int]) -> list[Evidence]:
    found: dict[int, Evidence] = {}
    for start in range(0, len(ids), _BATCH):
        chunk = list(ids[start : start + _BATCH])
        for row in conn.execute(
            select(image_evidence.c.id, image_evidence.c.document).where(
                image_evidence.c.id.in_(chunk)
            )
        ):
            evidence = read_evidence(row.document)
            if evidence is not None:
                found[row.id] = evidence
    return [found[i] for i in ids if i in found]
