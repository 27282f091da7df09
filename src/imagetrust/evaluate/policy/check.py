"""A policy check over the store: every current image's verdict, then tags and repositories.

Shared by ``policy check`` (which also stores the verdicts), ``allowlist``, ``show`` and the
demo, so they can never disagree about what is approved. An image whose evidence cannot be
judged (odd stored data, a bug) is a problem with its reason; the others are still judged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from msgspec import Struct
from msgspec.structs import replace
from sqlalchemy import Connection

from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.decide import decide, image_matches
from imagetrust.evaluate.policy.findings import FindingRef, stored_findings
from imagetrust.evaluate.policy.model import Decision, Policy, Verdict
from imagetrust.evaluate.policy.rollup import (
    RepositoryVerdict,
    TagVerdict,
    repository_verdicts,
    tag_verdicts,
)
from imagetrust.evaluate.policy.stored import current_evidence
from imagetrust.evaluate.policy.vex import VexSet

log = logging.getLogger(__name__)


class PolicyCheck(Struct, frozen=True):
    decisions: tuple[Decision, ...]
    tags: tuple[TagVerdict, ...]
    repositories: tuple[RepositoryVerdict, ...]
    problems: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    unmatched: tuple[str, ...] = ()  # image names asked for that match no evaluated image

    def counts(self) -> dict[str, int]:
        found = {v.value: 0 for v in Verdict}
        for decision in self.decisions:
            found[decision.verdict.value] += 1
        return found


def judge_all(
    evidence: Sequence[Evidence],
    policy: Policy,
    *,
    now: datetime,
    findings: Mapping[str, Sequence[FindingRef]] | None = None,
    vex: VexSet | None = None,
) -> PolicyCheck:
    """Each image's verdict (``findings`` per digest where stored), then the rollups."""
    decisions: list[Decision] = []
    problems: list[str] = list(vex.problems) if vex is not None else []
    for item in evidence:
        refs = (findings or {}).get(item.digest)
        try:
            decisions.append(decide(item, policy, now=now, findings=refs, vex=vex))
        except Exception as exc:  # this image only: the others are still judged
            log.debug("deciding %s failed", item.digest, exc_info=True)
            problems.append(f"{item.reference}@{item.digest}: not judged: {exc}")
    tags = tag_verdicts(decisions)
    return PolicyCheck(
        tuple(decisions), tuple(tags), tuple(repository_verdicts(tags)), tuple(problems)
    )


def selects(pattern: str, evidence: Evidence) -> bool:
    """Whether a name the user gave (NAME, NAME:TAG, a reference, a digest) is this image."""
    text = pattern.strip()
    if text.startswith("sha256:"):
        return text in (evidence.digest, evidence.index_digest)
    return image_matches(text, evidence)


def check_store(
    conn: Connection,
    policy: Policy,
    *,
    now: datetime,
    vex: VexSet | None = None,
    images: Sequence[str] = (),
) -> PolicyCheck:
    """Every current image's verdict (or those ``images`` name), read in the caller's
    snapshot, with the evidence it judged."""
    evidence = current_evidence(conn)
    unmatched: list[str] = []
    if images:
        chosen: dict[tuple[str, str], Evidence] = {}
        for image in images:
            found = [item for item in evidence if selects(image, item)]
            if not found:
                unmatched.append(image)
            for item in found:
                chosen.setdefault((item.reference, item.platform), item)
        evidence = list(chosen.values())
    findings = stored_findings(conn, [item.digest for item in evidence])
    result = judge_all(evidence, policy, now=now, findings=findings, vex=vex)
    return replace(result, evidence=tuple(evidence), unmatched=tuple(unmatched))


def check_document(
    result: PolicyCheck, policy: Policy, vex: VexSet, now: datetime, fail_on: str
) -> dict[str, object]:
    """The ``policy-check`` JSON document (after ``schema_version`` and ``kind``)."""
    return {
        "decided_at": now,
        "policy": {"name": policy.name, "source": policy.source, "digest": policy.digest},
        "vex": list(vex.files),
        "fail_on": fail_on,
        "counts": result.counts(),
        "items": [d.as_dict() for d in result.decisions],
        "tags": [t.as_dict() for t in result.tags],
        "repositories": [r.as_dict() for r in result.repositories],
        "problems": list(result.problems),
    }
