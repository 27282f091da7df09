"""One image's evidence: the entry point ``run``, ``imagetrust evaluate`` and the demo share.

``evaluate_image`` takes an open store connection (inside the caller's transaction, so one
image's evidence is one unit of work), the image's SBOM, the repository and tag it stands
for, and what its index and config were observed to say; it reads the catalog as of the
clock and returns an ``Evidence`` record without writing anything. ``save_evidence``
(``stored.py``) writes it. Nothing here reads a layer or a registry.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct
from sqlalchemy import Connection

from imagetrust.evaluate.catalog_facts import CatalogFacts
from imagetrust.evaluate.eol import EolData, EolPolicy, os_eol, runtime_eol
from imagetrust.evaluate.hygiene import hygiene
from imagetrust.evaluate.models import EolDataInfo, Evidence, Observation, Subject
from imagetrust.evaluate.observe import supply_chain
from imagetrust.evaluate.vulns import vulnerability_evidence
from imagetrust.sbom.models import ImageSbom


class EvaluationContext(Struct, frozen=True):
    """What every image of one evaluation shares: the clock and the end-of-life data/rule."""

    now: datetime
    eol_data: EolData
    eol_policy: EolPolicy = EolPolicy()

    @property
    def eol_info(self) -> EolDataInfo:
        return EolDataInfo(
            source=self.eol_data.origin,
            stated_at=self.eol_data.stated_at,
            until_eoes=tuple(sorted(self.eol_policy.until_eoes)),
        )


def subject_of_reference(reference: str, *, namespace: str = "library") -> Subject | None:
    """The catalog repository a registry reference names: Docker Hub's official namespace
    only (``docker.io/library/debian:12`` -> ``debian``, ``12``). A local source or another
    registry is not the catalog's image, so it is not linked by guess."""
    from imagetrust.oci.reference import DOCKER_HUB, ImageReference, parse_reference

    try:
        ref = parse_reference(reference)
    except Exception:  # an unparsable stored reference is simply not linked
        return None
    if not isinstance(ref, ImageReference) or ref.registry != DOCKER_HUB:
        return None
    owner, _, name = ref.repository.rpartition("/")
    if owner != namespace or not name:
        return None
    return Subject(repository=name, tag=ref.tag, registry=DOCKER_HUB, namespace=namespace)


def evaluate_image(
    conn: Connection,
    sbom: ImageSbom,
    context: EvaluationContext,
    *,
    subject: Subject | None = None,
    observation: Observation | None = None,
) -> Evidence:
    """Every kind of evidence for one analysed image, as of ``context.now``."""
    today = context.now.date()
    facts = CatalogFacts(conn, subject, context.now)
    return Evidence(
        digest=sbom.digest,
        index_digest=sbom.index_digest,
        reference=sbom.reference,
        platform=sbom.platform,
        evaluated_at=context.now,
        subject=subject,
        os_name=sbom.os.pretty_name if sbom.os is not None else None,
        os=os_eol(sbom, context.eol_data, today, context.eol_policy),
        runtimes=runtime_eol(sbom, context.eol_data, today, context.eol_policy),
        deprecation=facts.deprecation(),
        tag_support=facts.tag_support(),
        staleness=facts.staleness(sbom),
        hygiene=hygiene(sbom, observation),
        supply_chain=supply_chain(observation),
        popularity=facts.popularity(),
        eol_data=context.eol_info,
        vulnerabilities=vulnerability_evidence(conn, sbom, context.now),
    )
