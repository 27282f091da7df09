"""``crosscheck``: the images asked for, their publisher SBOMs read if never read, compared.

REF selects from the store: a digest (a platform manifest, or an index: its platforms),
or a reference as it was analysed (``python:3.12`` reads as ``docker.io/library/python:3.12``,
``oci-layout:DIR:TAG`` as written). ``--all`` is every image the store holds an SBOM or a
finding set of. Unless offline, an image whose publisher SBOM was never read has its index
read once (``pipeline.publisher``); then every image is compared in one read snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from imagetrust.errors import ImagetrustError
from imagetrust.pipeline.context import PipelineContext
from imagetrust.pipeline.publisher import StoredImage

if TYPE_CHECKING:
    from sqlalchemy import Connection


class NothingToCheck(ImagetrustError):
    """REF names no image the store knows (exit 1)."""


class CrosscheckOutcome(Struct):
    images: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def crosscheck(ctx: PipelineContext, ref: str | None, *, offline: bool) -> CrosscheckOutcome:
    from imagetrust.pipeline.publisher import fetch_publisher_sboms
    from imagetrust.vulndb.crosscheck import crosscheck_image

    outcome = CrosscheckOutcome()
    with ctx.open_store(create=False) as store:
        with store.read() as conn:
            images, bare = select_images(conn, ref)
        if not images and not bare:
            what = ref or "the store"
            raise NothingToCheck(
                f"no analysed image matches {what}",
                hint="scan or run it first, or import another engine's report for it",
            )
        if not offline and images:
            read = fetch_publisher_sboms(ctx, store, images)
            outcome.problems.extend(read.problems)
        with store.read() as conn:
            for image in images:
                found = crosscheck_image(conn, image.digest)
                found["image"] = {
                    "reference": image.reference,
                    "digest": image.digest,
                    "index_digest": image.index_digest,
                    "platform": image.platform,
                }
                outcome.images.append(found)
            for digest in bare:
                found = crosscheck_image(conn, digest)
                found["image"] = {
                    "reference": None,
                    "digest": digest,
                    "index_digest": None,
                    "platform": None,
                }
                outcome.images.append(found)
    return outcome


def select_images(conn: Connection, ref: str | None) -> tuple[list[StoredImage], list[str]]:
    """(images with a stored SBOM, digests with finding sets only) that ``ref`` names."""
    from sqlalchemy import select

    from imagetrust.store.schema import finding_sets, image_sboms

    rows = conn.execute(
        select(
            image_sboms.c.digest,
            image_sboms.c.reference,
            image_sboms.c.platform,
            image_sboms.c.document,
        ).order_by(image_sboms.c.id)
    )
    stored: dict[str, StoredImage] = {}
    for row in rows:  # the newest SBOM of a digest (another analyser version) wins
        document = row.document if isinstance(row.document, dict) else {}
        index = document.get("index_digest")
        stored[row.digest] = StoredImage(
            row.digest,
            index if isinstance(index, str) and index else None,
            row.reference,
            row.platform,
        )
    with_sets = sorted(
        {r.digest for r in conn.execute(select(finding_sets.c.digest).distinct())} - set(stored)
    )
    if ref is None:
        return sorted(stored.values(), key=_order), with_sets
    if ref.startswith("sha256:"):
        images = [i for i in stored.values() if ref in (i.digest, i.index_digest)]
        return sorted(images, key=_order), [d for d in with_sets if d == ref]
    wanted = _normal(ref)
    images = [i for i in stored.values() if i.reference == ref or _normal(i.reference) == wanted]
    return sorted(images, key=_order), []


def _order(image: StoredImage) -> tuple[str, str, str]:
    return image.reference, image.platform, image.digest


def _normal(text: str) -> str | None:
    from imagetrust.oci.reference import parse_reference

    try:
        return str(parse_reference(text))
    except (ImagetrustError, ValueError):
        return None
