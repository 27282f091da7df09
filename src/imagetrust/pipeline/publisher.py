"""Read the publisher's SBOM attestations of stored images, once, through the OCI client.

An image analysed before (its SBOM stored, with the reference it was read from and the
index digest) is read again pinned to that index digest (a tag may have moved since), with
the attestation details of its platform; the SBOM statements that attest it are stored
(``sbom.publisher``). What a read found, even nothing, is kept, so an image is read once;
a source that cannot be reached now is reported and left for a later read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct, field

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.publisher import PublisherSbom
    from imagetrust.store.database import Store


class StoredImage(Struct, frozen=True):
    """An analysed platform image as the store knows it."""

    digest: str
    index_digest: str | None
    reference: str
    platform: str


class PublisherRead(Struct):
    read: int = 0
    problems: list[str] = field(default_factory=list)


def fetch_publisher_sboms(
    ctx: PipelineContext, store: Store, images: Sequence[StoredImage]
) -> PublisherRead:
    """The publisher's SBOM of each image never read for it; each image's records in one
    transaction."""
    from imagetrust.errors import ImagetrustError
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.publisher import publisher_sboms_for, save_publisher_sboms

    outcome = PublisherRead()
    with store.read() as conn:
        wanted = [image for image in images if not publisher_sboms_for(conn, image.digest)]
    if not wanted:
        return outcome
    with OciSession(ctx.settings) as session:
        for image in wanted:
            try:
                records = _read(ctx, session, image)
            except ImagetrustError as exc:
                outcome.problems.append(
                    f"{image.reference}: publisher SBOM not read: {exc.message}"
                )
                continue
            with store.transaction() as conn:
                save_publisher_sboms(conn, records, ctx.clock.now())
            outcome.read += 1
    return outcome


def _read(ctx: PipelineContext, session: OciSession, image: StoredImage) -> list[PublisherSbom]:
    from imagetrust.oci.errors import OciError
    from imagetrust.oci.image import PlatformSelection, load_image
    from imagetrust.oci.reference import ImageReference, LayoutReference, parse_reference
    from imagetrust.sbom.publisher import read_publisher_sboms

    ref = parse_reference(image.reference)
    pinned = image.index_digest or image.digest
    if isinstance(ref, ImageReference):
        ref = ref.with_digest(pinned)
    elif isinstance(ref, LayoutReference):
        ref = LayoutReference(ref.path, None, pinned)
    selection = PlatformSelection.parse(image.platform) if image.platform else None
    with session.open(ref) as source:
        resolved = load_image(source, selection, attestation_details=True)
        index = resolved.digest if resolved.index is not None else None
        for loaded in resolved.images:
            if loaded.descriptor.digest == image.digest:
                return read_publisher_sboms(
                    source,
                    loaded,
                    index,
                    max_bytes=ctx.settings.sbom.max_file_bytes,
                    max_nodes=ctx.settings.vulndb.max_json_nodes,
                )
    raise OciError(f"{image.reference}: no image {image.digest} for {image.platform} any more")
