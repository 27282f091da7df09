"""The policy's records: settings per rule, exceptions, and the decision with its reasons.

A ``Decision`` is what a reviewer reads: the verdict, the grade, the score, and each reason
as a rule id with its evidence (``os-eol: debian 9, LTS ended 2022-07-01``). A reason also
says what it did: took points off (``fired``), could not be judged (``unknown``: never a
pass), was accepted by an exception, or was kept because an exception expired; and a
finding that VEX or an exception took out of the counts is a reason of its own, so every
finding can be followed to where it went.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from msgspec import Struct

from imagetrust.errors import UsageError

DECISION_VERSION = 1  # bump when a field changes meaning; readers check it


class PolicyError(UsageError):
    """The policy file (or an exceptions or VEX file) is not valid; the message names where."""


class Verdict(StrEnum):
    APPROVED = "approved"
    CONDITIONAL = "conditional"
    REJECTED = "rejected"

    @property
    def rank(self) -> int:
        """Worse is higher: a tag takes the highest rank of its platforms."""
        return _RANKS[self]


_RANKS = {Verdict.APPROVED: 0, Verdict.CONDITIONAL: 1, Verdict.REJECTED: 2}


class IfUnknown(StrEnum):
    """What a rule does when its evidence is not known (``None``, ``unknown``)."""

    IGNORE = "ignore"  # shown as a reason, costs nothing
    CONDITIONAL = "conditional"  # shown, and the image is never approved


class RuleSettings(Struct, frozen=True):
    """One rule's weight and flags. ``cap`` bounds the points of a counted rule (each
    fixable critical finding costs ``weight``, all of them together at most ``cap``);
    ``days`` is the staleness threshold."""

    weight: int
    blocking: bool = False
    never_approved: bool = False
    cap: int | None = None
    days: int | None = None
    if_unknown: IfUnknown = IfUnknown.IGNORE
    enabled: bool = True


class PolicyException(Struct, frozen=True):
    """A risk accepted knowingly, for one image (or digest), one rule (or finding), until
    ``expires`` (the day itself no longer covered, as end-of-life dates are read)."""

    expires: date
    justification: str
    by: str
    image: str | None = None
    digest: str | None = None
    rule: str | None = None
    finding: str | None = None
    where: str = ""  # file:line it was declared at, for messages

    def expired(self, today: date) -> bool:
        return today >= self.expires

    @property
    def subject(self) -> str:
        return self.rule if self.rule is not None else f"finding {self.finding}"

    def describe(self) -> str:
        return f"by {self.by} until {self.expires}: {self.justification}"


class Policy(Struct, frozen=True):
    """A whole policy: the default with a file's keys laid over it."""

    name: str
    source: str  # "default" or the file it was read from
    digest: str  # sha256 of the file(s) it was built from, so a verdict names its policy
    start: int
    grades: tuple[tuple[str, int], ...]  # (grade, lowest score), best first; the last is 0
    approved: frozenset[str]
    conditional: frozenset[str]
    rules: dict[str, RuleSettings]
    exceptions: tuple[PolicyException, ...] = ()

    def grade_of(self, score: int) -> str:
        for grade, lowest in self.grades:
            if score >= lowest:
                return grade
        return self.grades[-1][0]

    def verdict_of(self, grade: str) -> Verdict:
        if grade in self.approved:
            return Verdict.APPROVED
        if grade in self.conditional:
            return Verdict.CONDITIONAL
        return Verdict.REJECTED


class ReasonKind(StrEnum):
    FIRED = "fired"  # the rule fired: points off, and its flags apply
    UNKNOWN = "unknown"  # the evidence is not known: never read as a pass
    ACCEPTED = "accepted"  # the rule fired, an exception accepts it until its expiry
    EXCEPTION_EXPIRED = "exception-expired"  # an exception that no longer applies
    SUPPRESSED = "suppressed"  # a finding taken out of the counts (VEX, an exception)
    NOTE = "note"  # something the reader should know that changes nothing


class Reason(Struct, frozen=True):
    rule: str
    detail: str
    kind: ReasonKind = ReasonKind.FIRED
    points: int = 0
    blocking: bool = False
    never_approved: bool = False

    @property
    def text(self) -> str:
        return f"{self.rule}: {self.detail}"

    @property
    def is_condition(self) -> bool:
        """What stands between the image and approval (a conditional verdict's conditions)."""
        return self.kind in (ReasonKind.FIRED, ReasonKind.UNKNOWN) and bool(
            self.points or self.never_approved or self.blocking
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "kind": self.kind.value,
            "detail": self.detail,
            "points": self.points,
            "blocking": self.blocking,
            "never_approved": self.never_approved,
            "text": self.text,
        }


class Decision(Struct, frozen=True):
    """The verdict on one analysed image (one platform manifest) as one reference."""

    digest: str
    reference: str
    platform: str
    verdict: Verdict
    grade: str
    score: int
    reasons: tuple[Reason, ...]
    decided_at: datetime
    evaluated_at: datetime
    policy_name: str
    policy_digest: str
    index_digest: str | None = None
    repository: str | None = None
    tag: str | None = None
    tag_last_pushed: datetime | None = None  # the Hub's, for a repository's default tag
    decision_version: int = DECISION_VERSION

    @property
    def name(self) -> tuple[str, str | None]:
        """The image and tag it is grouped and shown under: the catalog repository and tag
        when linked to one, else the reference's registry/repository and tag."""
        if self.repository is not None:
            return self.repository, self.tag
        from imagetrust.errors import ImagetrustError
        from imagetrust.oci.reference import ImageReference, LayoutReference, parse_reference

        try:
            ref = parse_reference(self.reference)
        except ImagetrustError:
            return self.reference, None
        if isinstance(ref, ImageReference):
            return ref.name, ref.tag
        if isinstance(ref, LayoutReference):
            return f"oci-layout:{ref.path}", ref.tag
        return self.reference, None

    @property
    def conditions(self) -> tuple[str, ...]:
        if self.verdict is not Verdict.CONDITIONAL:
            return ()
        return tuple(r.text for r in self.reasons if r.is_condition)

    def as_dict(self) -> dict[str, object]:
        image, tag = self.name
        return {
            "image": image,
            "tag": tag,
            "reference": self.reference,
            "digest": self.digest,
            "index_digest": self.index_digest,
            "platform": self.platform,
            "verdict": self.verdict.value,
            "grade": self.grade,
            "score": self.score,
            "reasons": [r.as_dict() for r in self.reasons],
            "conditions": list(self.conditions),
            "evaluated_at": self.evaluated_at,
            "decided_at": self.decided_at,
            "policy": {"name": self.policy_name, "digest": self.policy_digest},
        }
