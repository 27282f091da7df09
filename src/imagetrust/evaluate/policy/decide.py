"""One image's verdict: the evidence, the policy, the exceptions and VEX, as of the clock.

The order is fixed so a reader can redo it by hand:

1. Exceptions for this image (by name or digest) that have expired stop applying and are
   listed as such; the others accept a rule or a finding until their expiry.
2. Findings accepted by an exception, or that VEX says are ``not_affected`` or ``fixed``,
   leave the counts (and the known-exploited list); each is listed with where it went.
3. Each rule runs on what is left. A firing costs its weight (a counted rule ``weight`` per
   finding, at most ``cap``); a rule an exception accepts costs nothing and says by whom.
4. The score is ``start`` less the points (never below 0); its grade gives the verdict
   (``verdicts``), except that a blocking rule that fired rejects whatever the score, and a
   ``never_approved`` rule that fired, an unknown the policy counts as conditional, or
   vulnerabilities that are not known at all, keep the image from ``approved``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from msgspec.structs import replace

from imagetrust.evaluate.models import Evidence, VulnerabilityEvidence
from imagetrust.evaluate.policy.findings import FindingRef
from imagetrust.evaluate.policy.model import (
    Decision,
    IfUnknown,
    Policy,
    PolicyException,
    Reason,
    ReasonKind,
    Verdict,
)
from imagetrust.evaluate.policy.rules import (
    COUNTED_RULES,
    DEFAULT_STALE_DAYS,
    RULE_IDS,
    RULES,
    Facts,
)
from imagetrust.evaluate.policy.vex import ImageIdentity, VexSet

VULNERABILITIES_UNKNOWN = "vulnerabilities"


def decide(
    evidence: Evidence,
    policy: Policy,
    *,
    now: datetime,
    findings: Sequence[FindingRef] | None = None,
    vex: VexSet | None = None,
) -> Decision:
    """The verdict on ``evidence`` (see the module docstring); reads and writes nothing.

    ``findings`` are the image's single findings where they are known (``None``: not
    stored), needed for VEX and finding exceptions to take single findings out of counts.
    """
    today = now.date()
    reasons: list[Reason] = []
    accepted_rules: dict[str, PolicyException] = {}
    accepted_findings: list[PolicyException] = []
    for exception in policy.exceptions:
        if not applies_to(exception, evidence):
            continue
        if exception.expired(today):
            reasons.append(
                Reason(
                    exception.rule or "exception",
                    f"exception for {exception.subject} expired {exception.expires} "
                    f"(by {exception.by}: {exception.justification}); it no longer applies",
                    ReasonKind.EXCEPTION_EXPIRED,
                )
            )
        elif exception.rule is not None:
            accepted_rules.setdefault(exception.rule, exception)
        else:
            accepted_findings.append(exception)

    vulnerabilities, suppressed = _suppress(
        evidence, findings, accepted_findings, vex or VexSet(), ImageIdentity.of(evidence)
    )
    stale_days = policy.rules["stale"].days or DEFAULT_STALE_DAYS
    facts = Facts(evidence, vulnerabilities, stale_days)
    judged: list[Reason] = []
    for rule_id in RULE_IDS:
        settings = policy.rules[rule_id]
        if not settings.enabled:
            continue
        outcome = RULES[rule_id](facts)
        if outcome.state == "clear":
            continue
        accepted = accepted_rules.get(rule_id)
        if accepted is not None:
            judged.append(
                Reason(
                    rule_id,
                    f"{outcome.detail} (accepted {accepted.describe()})",
                    ReasonKind.ACCEPTED,
                )
            )
        elif outcome.state == "fired":
            points = settings.weight
            if rule_id in COUNTED_RULES:
                points = settings.weight * outcome.count
                if settings.cap is not None:
                    points = min(points, settings.cap)
            judged.append(
                Reason(
                    rule_id,
                    outcome.detail,
                    ReasonKind.FIRED,
                    points=points,
                    blocking=settings.blocking,
                    never_approved=settings.never_approved,
                )
            )
        else:
            judged.append(
                Reason(
                    rule_id,
                    f"unknown ({outcome.detail})",
                    ReasonKind.UNKNOWN,
                    never_approved=settings.if_unknown is IfUnknown.CONDITIONAL,
                )
            )
    if vulnerabilities is None or not vulnerabilities.known:
        told = any(r.rule == "not-covered" and r.never_approved for r in judged)
        if not told:  # whatever the policy says, unknown is never clean
            why = vulnerabilities.reason if vulnerabilities is not None else "not computed"
            judged.append(
                Reason(
                    VULNERABILITIES_UNKNOWN,
                    f"not known ({why})",
                    ReasonKind.UNKNOWN,
                    never_approved=True,
                )
            )
    reasons = judged + reasons + suppressed
    if findings is None and (vex or accepted_findings):
        reasons.append(
            Reason(
                "findings",
                "no single findings are stored for this image: VEX and finding exceptions "
                "could only act on its known-exploited ids",
                ReasonKind.NOTE,
            )
        )

    score = max(0, policy.start - sum(r.points for r in reasons))
    grade = policy.grade_of(score)
    if any(r.blocking and r.kind is ReasonKind.FIRED for r in reasons):
        verdict = Verdict.REJECTED
    else:
        verdict = policy.verdict_of(grade)
        if verdict is Verdict.APPROVED and any(r.never_approved for r in reasons):
            verdict = Verdict.CONDITIONAL
    subject = evidence.subject
    return Decision(
        digest=evidence.digest,
        reference=evidence.reference,
        platform=evidence.platform,
        verdict=verdict,
        grade=grade,
        score=score,
        reasons=tuple(reasons),
        decided_at=now,
        evaluated_at=evidence.evaluated_at,
        policy_name=policy.name,
        policy_digest=policy.digest,
        index_digest=evidence.index_digest,
        repository=subject.repository if subject is not None else None,
        tag=subject.tag if subject is not None else None,
        tag_last_pushed=evidence.staleness.tag_last_pushed,
    )


def _suppress(
    evidence: Evidence,
    findings: Sequence[FindingRef] | None,
    accepted: Sequence[PolicyException],
    vex: VexSet,
    image: ImageIdentity,
) -> tuple[VulnerabilityEvidence | None, list[Reason]]:
    """The vulnerability evidence without the findings VEX and exceptions take out."""
    found = evidence.vulnerabilities
    if found is None or not found.known or (not vex and not accepted):
        return found, []
    reasons: list[Reason] = []
    if findings is None:
        left = []
        for ident in found.known_exploited:
            exception = next((e for e in accepted if e.finding == ident), None)
            statement = vex.for_image([ident], image) if exception is None else None
            if exception is not None:
                reasons.append(
                    Reason(
                        "exception",
                        f"{ident}: accepted {exception.describe()}",
                        ReasonKind.SUPPRESSED,
                    )
                )
            elif statement is not None and statement.suppresses:
                reasons.append(
                    Reason("vex", f"{ident}: {statement.describe()}", ReasonKind.SUPPRESSED)
                )
            else:
                left.append(ident)
        return replace(found, known_exploited=tuple(left)), reasons
    counts = {view: dict(by_severity) for view, by_severity in found.counts.items()}
    kept_ids: set[str] = set()
    gone_ids: set[str] = set()
    for finding in findings:
        exception = next((e for e in accepted if e.finding in finding.ids), None)
        if exception is not None:
            reason = Reason(
                "exception",
                f"{finding.label}: accepted {exception.describe()}",
                ReasonKind.SUPPRESSED,
            )
        else:
            statement = vex.effective(finding, image) if vex else None
            if statement is None or not statement.suppresses:
                kept_ids |= finding.ids
                continue
            reason = Reason(
                "vex", f"{finding.label}: {statement.describe()}", ReasonKind.SUPPRESSED
            )
        reasons.append(reason)
        gone_ids |= finding.ids
        _take(counts, "all", finding.severity)
        if finding.fixable:
            _take(counts, "fixable", finding.severity)
    exploited = tuple(
        ident for ident in found.known_exploited if ident in kept_ids or ident not in gone_ids
    )
    return replace(found, counts=counts, known_exploited=exploited), reasons


def _take(counts: dict[str, dict[str, int]], view: str, severity: str) -> None:
    by_severity = counts.setdefault(view, {})
    by_severity[severity] = max(0, by_severity.get(severity, 0) - 1)


def applies_to(exception: PolicyException, evidence: Evidence) -> bool:
    """Whether the exception names this image: its digest (platform or index), its catalog
    name (``python``: every tag; ``python:3.12``), or its reference."""
    if exception.digest is not None and exception.digest not in (
        evidence.digest,
        evidence.index_digest,
    ):
        return False
    return exception.image is None or image_matches(exception.image, evidence)


def image_matches(pattern: str, evidence: Evidence) -> bool:
    from imagetrust.errors import ImagetrustError
    from imagetrust.oci.reference import ImageReference, parse_reference

    text = pattern.strip()
    if text == evidence.reference:
        return True
    subject = evidence.subject
    if "/" not in text and "@" not in text:  # an official image: NAME or NAME:TAG
        name, _, tag = text.partition(":")
        if subject is not None and subject.repository == name:
            return not tag or subject.tag == tag
    try:
        wanted = parse_reference(text)
        mine = parse_reference(evidence.reference)
    except ImagetrustError:
        return False
    if not isinstance(wanted, ImageReference):
        return False
    typed_tag = ":" in text.split("@", 1)[0].rsplit("/", 1)[-1]
    candidates = []
    if isinstance(mine, ImageReference):
        candidates.append((mine.registry, mine.repository, mine.tag))
    if subject is not None:
        candidates.append(
            (subject.registry, f"{subject.namespace}/{subject.repository}", subject.tag)
        )
    return any(
        (registry, repository) == (wanted.registry, wanted.repository)
        and (not typed_tag or tag == wanted.tag)
        for registry, repository, tag in candidates
    )
