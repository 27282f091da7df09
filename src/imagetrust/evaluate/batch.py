"""``imagetrust evaluate``: evidence for the images the store holds SBOMs of, as one run.

Images are the stored SBOMs (``image_sboms``), one per platform digest and reference, the
newest analysis of each. REFs narrow them down: a digest (platform or index), a reference as
``scan`` takes it (``debian:12``, ``oci-layout:DIR:TAG``), or a repository without a tag
(``debian``: every tag of it).

Which catalog repository and tag an image stands for: ``subject`` (``--as``) when given;
else, for a registry reference in Docker Hub's official namespace, the one it names; else
the one it was last linked to (``run``, the demo and ``--as`` link local sources and
mirrors); else none, and the catalog's kinds of evidence say so.

Each image is one unit of work: its observation (read from its source once, unless
``observe`` is None), its evidence, written in one transaction. An image that fails is
recorded on the run with its reason and the others go on; a REF that matches nothing is
such a failure too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

from imagetrust.errors import ImagetrustError
from imagetrust.evaluate.evidence import EvaluationContext, evaluate_image, subject_of_reference
from imagetrust.evaluate.models import Evidence, Observation, Subject
from imagetrust.evaluate.observe import load_observation, save_observation
from imagetrust.evaluate.stored import previous_subject, save_evidence
from imagetrust.sbom.models import ImageSbom

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.store.database import Store

log = logging.getLogger(__name__)

Observer = Callable[[ImageSbom], Observation]


class Problem(Struct, frozen=True):
    item: str
    message: str


class EvaluationRun(Struct, frozen=True):
    run_id: int
    evidence: tuple[Evidence, ...]
    problems: tuple[Problem, ...]


def stored_images(conn: Connection) -> tuple[list[ImageSbom], list[Problem]]:
    """The newest stored SBOM of each (digest, reference); unreadable rows are problems."""
    from sqlalchemy import select

    from imagetrust.sbom.formats.native import from_native
    from imagetrust.sbom.models import SbomError
    from imagetrust.store.schema import image_sboms

    rows = conn.execute(
        select(image_sboms.c.id, image_sboms.c.digest, image_sboms.c.reference).order_by(
            image_sboms.c.created_at.desc(), image_sboms.c.id.desc()
        )
    ).all()
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        newest.setdefault((row.digest, row.reference), row.id)
    images: list[ImageSbom] = []
    problems: list[Problem] = []
    for (digest, reference), row_id in sorted(newest.items(), key=lambda item: item[0][::-1]):
        document = conn.execute(
            select(image_sboms.c.document).where(image_sboms.c.id == row_id)
        ).scalar_one()
        try:
            images.append(from_native(document))
        except SbomError as exc:
            problems.append(Problem(f"{reference}@{digest}", f"stored SBOM unreadable: {exc}"))
    return images, problems


def _typed_tag(text: str) -> bool:
    name = text.split("@", 1)[0]
    return ":" in name.rsplit("/", 1)[-1]


def matches(ref: str, sbom: ImageSbom) -> bool:
    """Whether the user's REF selects this stored image (rules in the module docstring)."""
    from imagetrust.oci.digest import is_digest
    from imagetrust.oci.reference import (
        ArchiveReference,
        ImageReference,
        LayoutReference,
        parse_reference,
    )

    text = ref.strip()
    if is_digest(text):
        return text in (sbom.digest, sbom.index_digest)
    try:
        wanted, stored = parse_reference(text), parse_reference(sbom.reference)
    except ImagetrustError:
        return False
    if isinstance(wanted, ImageReference) and isinstance(stored, ImageReference):
        if (wanted.registry, wanted.repository) != (stored.registry, stored.repository):
            return False
        if wanted.digest is not None and wanted.digest not in (sbom.digest, sbom.index_digest):
            return False
        return not _typed_tag(text) or wanted.tag == stored.tag
    if isinstance(wanted, LayoutReference) and isinstance(stored, LayoutReference):
        same_dir = wanted.path.resolve() == stored.path.resolve()
        return same_dir and (wanted.tag is None or wanted.tag == stored.tag)
    if isinstance(wanted, ArchiveReference) and isinstance(stored, ArchiveReference):
        return wanted.path.resolve() == stored.path.resolve()
    return False


def select_images(
    images: Sequence[ImageSbom], refs: Sequence[str]
) -> tuple[list[ImageSbom], list[Problem]]:
    if not refs:
        return list(images), []
    chosen: list[ImageSbom] = []
    problems: list[Problem] = []
    for ref in refs:
        found = [sbom for sbom in images if matches(ref, sbom)]
        if not found:
            problems.append(Problem(ref, "no stored SBOM matches (analyse it with scan first)"))
        chosen.extend(sbom for sbom in found if sbom not in chosen)
    return chosen, problems


def evaluate_stored(
    store: Store,
    context: EvaluationContext,
    *,
    refs: Sequence[str] = (),
    observe: Observer | None = None,
    namespace: str = "library",
    subject: Subject | None = None,
) -> EvaluationRun:
    """Evaluate the selected stored images and record the run; see the module docstring."""
    from imagetrust.store.runs import RunStatus, finish_run, record_item_error, start_run

    now = context.now
    with store.transaction() as conn:
        parameters = {
            "refs": list(refs),
            "observe": bool(observe),
            "as": None if subject is None else f"{subject.repository}:{subject.tag or ''}",
        }
        run_id = start_run(conn, "evaluate", parameters, now)
    results: list[Evidence] = []
    problems: list[Problem] = []
    try:
        with store.read() as conn:
            images, unreadable = stored_images(conn)
        problems.extend(unreadable)
        chosen, unmatched = select_images(images, refs)
        problems.extend(unmatched)
        for sbom in chosen:
            item = f"{sbom.reference}@{sbom.digest}"
            try:
                evidence, note = _evaluate_one(store, sbom, context, observe, namespace, subject)
            except ImagetrustError as exc:
                problems.append(Problem(item, exc.message))
                continue
            except Exception as exc:  # a bug or odd stored data: this image only, not the run
                log.debug("evaluating %s failed", item, exc_info=True)
                problems.append(Problem(item, f"internal error: {type(exc).__name__}: {exc}"))
                continue
            if note is not None:
                problems.append(Problem(item, note))
            results.append(evidence)
    except BaseException as exc:
        with store.transaction() as conn:
            message = str(getattr(exc, "message", None) or exc or type(exc).__name__)
            record_item_error(conn, run_id, stage="evaluate", item="*", message=message, now=now)
            status = (
                RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            )
            finish_run(conn, run_id, status=status, now=now)
        raise
    with store.transaction() as conn:
        for problem in problems:
            record_item_error(
                conn, run_id, stage="evaluate", item=problem.item, message=problem.message, now=now
            )
        finish_run(
            conn,
            run_id,
            status=RunStatus.PARTIAL if problems else RunStatus.SUCCEEDED,
            now=now,
            summary={"images": len(results), "problems": len(problems)},
        )
    return EvaluationRun(run_id, tuple(results), tuple(problems))


def _evaluate_one(
    store: Store,
    sbom: ImageSbom,
    context: EvaluationContext,
    observe: Observer | None,
    namespace: str,
    given: Subject | None,
) -> tuple[Evidence, str | None]:
    """One image's evidence in one transaction; the note says why supply chain is unknown."""
    with store.read() as conn:
        observation = load_observation(conn, sbom.digest, sbom.index_digest)
    fresh: Observation | None = None
    note = None
    if observation is None and observe is not None:
        try:
            fresh = observe(sbom)
        except ImagetrustError as exc:
            note = f"not observed (attestations and HEALTHCHECK unknown): {exc.message}"
    with store.transaction() as conn:
        if fresh is not None:
            save_observation(conn, fresh, context.now)
        subject = given or subject_of_reference(sbom.reference, namespace=namespace)
        if subject is None:  # a local source that ``run`` or the demo linked earlier
            subject = previous_subject(conn, sbom.digest, sbom.reference)
        evidence = evaluate_image(
            conn, sbom, context, subject=subject, observation=observation or fresh
        )
        save_evidence(conn, evidence)
    return evidence, note
