"""What an image's index and config say about it, observed once: attestations, HEALTHCHECK.

An index digest and a platform manifest digest name immutable content, so what the index
lists for the image (BuildKit attestation manifests pointing at it) and whether its config
declares a HEALTHCHECK never change: they are read once, stored in ``image_observations``,
and every later evaluation reads them from the store. Whoever holds the loaded image already
(``run``, the demo) records the observation from it; ``imagetrust evaluate`` reads the index
again, by digest, only for images never observed.

**Supply chain.** BuildKit attaches one attestation manifest per image to the index, marked
``vnd.docker.reference.type: attestation-manifest`` and pointing at the image with
``vnd.docker.reference.digest``; each of its layers is an in-toto statement whose predicate
type the layer's ``in-toto.io/predicate-type`` annotation names (Docker's attestation
storage format requires it). An SPDX or CycloneDX predicate is an SBOM attestation, a SLSA
provenance predicate a provenance attestation. Signatures and attestations attached through
the OCI referrers API or cosign tags are not in the index and are not looked for here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select

from imagetrust.evaluate.models import AttestationFact, Observation, SupplyChainEvidence
from imagetrust.store.schema import image_observations

if TYPE_CHECKING:
    from imagetrust.oci.image import PlatformImage, ResolvedImage
    from imagetrust.oci.sources import OciSession

SBOM_PREDICATES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")
PROVENANCE_PREDICATES = ("https://slsa.dev/provenance/",)


def declares_healthcheck(healthcheck: dict[str, Any] | None) -> bool:
    """A ``Test`` of ``["NONE"]`` switches off an inherited HEALTHCHECK: that is none."""
    if not healthcheck:
        return False
    test = healthcheck.get("Test")
    return bool(test) and test != ["NONE"]


def observation_of(resolved: ResolvedImage, image: PlatformImage) -> Observation:
    """The observation of one platform image of a loaded image (attestation details on)."""
    return Observation(
        digest=image.descriptor.digest,
        index_digest=resolved.digest if resolved.index is not None else None,
        healthcheck=declares_healthcheck(image.config.healthcheck),
        attestations=tuple(
            AttestationFact(a.digest, tuple(a.predicate_types)) for a in image.attestations
        ),
        source=resolved.reference,
    )


def save_observation(conn: Connection, observation: Observation, now: datetime) -> None:
    key = image_observations.c.digest == observation.digest
    if observation.index_digest is None:
        key = key & image_observations.c.index_digest.is_(None)
    else:
        key = key & (image_observations.c.index_digest == observation.index_digest)
    conn.execute(delete(image_observations).where(key))
    conn.execute(
        insert(image_observations).values(
            digest=observation.digest,
            index_digest=observation.index_digest,
            healthcheck=observation.healthcheck,
            attestations=[
                {"digest": a.digest, "predicate_types": list(a.predicate_types)}
                for a in observation.attestations
            ],
            source=observation.source,
            observed_at=now,
        )
    )


def load_observation(conn: Connection, digest: str, index_digest: str | None) -> Observation | None:
    key = image_observations.c.digest == digest
    if index_digest is None:
        key = key & image_observations.c.index_digest.is_(None)
    else:
        key = key & (image_observations.c.index_digest == index_digest)
    row = conn.execute(
        select(image_observations).where(key).order_by(image_observations.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    facts = tuple(
        AttestationFact(str(item.get("digest", "")), tuple(item.get("predicate_types") or ()))
        for item in row.attestations or ()
        if isinstance(item, dict)
    )
    return Observation(row.digest, row.index_digest, row.healthcheck, facts, row.source)


def observe_reference(
    session: OciSession, reference: str, digest: str, index_digest: str | None, platform: str
) -> Observation:
    """Read the image again, pinned to the digest analysed (a tag may have moved since).

    Raises the oci stage's errors (``OciError``) when the source is gone or unreachable.
    """
    from imagetrust.oci.errors import OciError
    from imagetrust.oci.image import PlatformSelection, load_image
    from imagetrust.oci.reference import ImageReference, LayoutReference, parse_reference

    ref = parse_reference(reference)
    pinned = index_digest or digest
    if isinstance(ref, ImageReference):
        ref = ref.with_digest(pinned)
    elif isinstance(ref, LayoutReference):
        ref = LayoutReference(ref.path, None, pinned)
    with session.open(str(ref)) as source:
        resolved = load_image(source, PlatformSelection.parse(platform), attestation_details=True)
    for image in resolved.images:
        if image.descriptor.digest == digest:
            return observation_of(resolved, image)
    raise OciError(f"{reference}: no image {digest} for {platform} any more")


def supply_chain(observation: Observation | None) -> SupplyChainEvidence:
    if observation is None:
        return SupplyChainEvidence(reason="the index was not read: attestations unknown")
    if observation.index_digest is None:
        return SupplyChainEvidence(
            reason="a single image manifest: no index to carry attestations",
            observed=True,
            sbom=False,
            provenance=False,
        )
    if observation.attestations and not any(f.predicate_types for f in observation.attestations):
        return SupplyChainEvidence(  # listed in the index, their manifests not read
            reason=f"the index lists {len(observation.attestations)} attestation manifest(s) "
            "for this image; their predicate types were not read",
            observed=True,
            attestations=observation.attestations,
        )
    types = [t for fact in observation.attestations for t in fact.predicate_types]
    has_sbom = any(t.startswith(SBOM_PREDICATES) for t in types)
    has_provenance = any(t.startswith(PROVENANCE_PREDICATES) for t in types)
    if not observation.attestations:
        reason = "the index carries no attestation for this image"
    else:
        found = [
            name
            for name, present in (("an SBOM", has_sbom), ("provenance", has_provenance))
            if present
        ]
        listed = ", ".join(sorted(set(types))) or "no predicate types"
        reason = (
            f"the index attests {' and '.join(found)} ({listed})"
            if found
            else f"attestations without an SBOM or provenance ({listed})"
        )
    return SupplyChainEvidence(
        reason=reason,
        observed=True,
        sbom=has_sbom,
        provenance=has_provenance,
        attestations=observation.attestations,
    )
