"""SBOMs kept in the store, so later stages (and re-matching) never read a layer again.

One row per platform manifest digest and analyser version, written in the caller's
transaction (one image's results, one transaction); saving the same SBOM again replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from imagetrust.sbom.formats.native import from_native, to_native
from imagetrust.sbom.models import ImageSbom, SbomError
from imagetrust.store.schema import image_sboms


def save_sbom(conn: Connection, sbom: ImageSbom, now: datetime) -> None:
    conn.execute(
        delete(image_sboms).where(
            image_sboms.c.digest == sbom.digest,
            image_sboms.c.analyser_version == sbom.analyser_version,
        )
    )
    conn.execute(
        insert(image_sboms).values(
            digest=sbom.digest,
            analyser_version=sbom.analyser_version,
            reference=sbom.reference,
            platform=sbom.platform,
            os_id=sbom.os.id if sbom.os else None,
            os_version=sbom.os.version_id if sbom.os else None,
            package_count=len(sbom.packages),
            document=to_native(sbom),
            created_at=now,
        )
    )


def load_sbom(conn: Connection, digest: str, analyser_version: str) -> ImageSbom | None:
    row = conn.execute(
        select(image_sboms.c.document).where(
            image_sboms.c.digest == digest, image_sboms.c.analyser_version == analyser_version
        )
    ).first()
    return from_native(row.document) if row else None


def newest_sbom(conn: Connection, digest: str) -> ImageSbom | None:
    """The image's most recently stored SBOM, whatever the analyser version; None when
    there is none or it no longer decodes (a report or a cross-check then says so)."""
    row_id = newest_sbom_id(conn, digest)
    if row_id is None:
        return None
    try:
        return sbom_by_id(conn, row_id)
    except SbomError:
        return None


def newest_sbom_id(conn: Connection, digest: str) -> int | None:
    """The row id of the image's most recently stored SBOM (``newest_sbom``'s row), by which
    ``sbom_by_id`` reads it later: a stored SBOM never changes."""
    row = conn.execute(
        select(image_sboms.c.id)
        .where(image_sboms.c.digest == digest)
        .order_by(image_sboms.c.created_at.desc(), image_sboms.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row.id)


def sbom_by_id(conn: Connection, row_id: int) -> ImageSbom | None:
    """The stored SBOM of that row; None when it is gone (collected since). Raises
    ``SbomError`` when the row no longer decodes."""
    row = conn.execute(select(image_sboms.c.document).where(image_sboms.c.id == row_id)).first()
    return None if row is None else from_native(row.document)


def stored_sboms(conn: Connection, *, analyser_version: str | None = None) -> Iterator[ImageSbom]:
    """Every stored SBOM (of one analyser version if given); unreadable rows are skipped."""
    query = select(image_sboms.c.document).order_by(image_sboms.c.id)
    if analyser_version is not None:
        query = query.where(image_sboms.c.analyser_version == analyser_version)
    for row in conn.execute(query):
        try:
            yield from_native(row.document)
        except SbomError:
            continue
