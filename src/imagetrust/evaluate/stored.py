"""Evidence in the store: one row per evaluation, read back typed for policy and reports.

Rows are never updated: evaluating again at a later clock adds a row, so "since when has
this image been on an end-of-life OS" stays answerable. Evaluating the same image as the
same reference at the same clock time replaces that row (a re-run of one evaluation).
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
from sqlalchemy import Connection, delete, insert, select

from imagetrust.evaluate.models import EVIDENCE_VERSION, Evidence, Subject
from imagetrust.store.schema import image_evidence


def evidence_document(evidence: Evidence) -> dict[str, object]:
    document: dict[str, object] = msgspec.to_builtins(evidence)
    return document


def save_evidence(conn: Connection, evidence: Evidence) -> None:
    """Write one image's evidence in the caller's transaction."""
    conn.execute(
        delete(image_evidence).where(
            (image_evidence.c.digest == evidence.digest)
            & (image_evidence.c.reference == evidence.reference)
            & (image_evidence.c.evaluated_at == evidence.evaluated_at)
        )
    )
    subject = evidence.subject
    conn.execute(
        insert(image_evidence).values(
            digest=evidence.digest,
            index_digest=evidence.index_digest,
            reference=evidence.reference,
            repository=subject.repository if subject is not None else None,
            tag=subject.tag if subject is not None else None,
            platform=evidence.platform,
            evaluated_at=evidence.evaluated_at,
            os_eol_status=evidence.os.status.value,
            catalog_state=(
                evidence.deprecation.state if evidence.deprecation.state != "unknown" else None
            ),
            document=evidence_document(evidence),
        )
    )


def _read(document: object) -> Evidence | None:
    """A stored record, or None when it was written by another evidence version."""
    if not isinstance(document, dict) or document.get("evidence_version") != EVIDENCE_VERSION:
        return None
    try:
        return msgspec.convert(document, Evidence)
    except msgspec.ValidationError:
        return None


def latest_evidence(conn: Connection, digest: str) -> list[Evidence]:
    """The newest evidence of ``digest`` for each reference it was evaluated as."""
    rows = conn.execute(
        select(image_evidence.c.reference, image_evidence.c.document)
        .where(image_evidence.c.digest == digest)
        .order_by(image_evidence.c.evaluated_at.desc(), image_evidence.c.id.desc())
    )
    seen: set[str] = set()
    found: list[Evidence] = []
    for row in rows:
        if row.reference in seen:
            continue
        seen.add(row.reference)
        evidence = _read(row.document)
        if evidence is not None:
            found.append(evidence)
    return found


def previous_subject(conn: Connection, digest: str, reference: str) -> Subject | None:
    """The repository and tag this image was last linked to, if it ever was."""
    rows = conn.execute(
        select(image_evidence.c.document)
        .where(
            (image_evidence.c.digest == digest)
            & (image_evidence.c.reference == reference)
            & image_evidence.c.repository.is_not(None)
        )
        .order_by(image_evidence.c.evaluated_at.desc(), image_evidence.c.id.desc())
    )
    for row in rows:
        evidence = _read(row.document)
        if evidence is not None and evidence.subject is not None:
            return evidence.subject
    return None


def evidence_history(conn: Connection, digest: str) -> Iterator[Evidence]:
    """Every stored evaluation of ``digest``, oldest first."""
    rows = conn.execute(
        select(image_evidence.c.document)
        .where(image_evidence.c.digest == digest)
        .order_by(image_evidence.c.evaluated_at, image_evidence.c.id)
    )
    for row in rows:
        evidence = _read(row.document)
        if evidence is not None:
            yield evidence
