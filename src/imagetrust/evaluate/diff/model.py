"""The records of a diff: one list per kind of change, and the conditions a job can fail on.

Each change names what it is about the way a reviewer looks for it (``debian:12``, the
platform, the digest) and carries its evidence (the digests before and after, the finding's
fix, the verdict's reasons), so an issue opened from ``--format md`` can be acted on without
opening the store.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import msgspec
from msgspec import Struct, field


class FailOn(StrEnum):
    """What makes ``imagetrust diff`` exit 3, so a scheduled job can act on change."""

    NEW_REJECTED = "new-rejected"  # a tag is rejected now and was not at the baseline
    NEW_FINDING = "new-finding"  # an image has a finding it did not have
    ANY = "any"  # anything at all changed


class Baseline(Struct, frozen=True):
    """The state compared against: every record stamped before ``at`` (or at it, when
    ``inclusive``); ``at`` None compares against an empty store (no earlier run).

    ``basis`` says in words where it came from (``run #4``, ``2026-08-24``).
    """

    basis: str
    at: datetime | None = None
    inclusive: bool = True
    run_id: int | None = None

    def holds(self, moment: datetime | None) -> bool:
        """Whether a record stamped ``moment`` was already there at the baseline."""
        if moment is None or self.at is None:
            return False
        return moment <= self.at if self.inclusive else moment < self.at


class VerdictState(Struct, frozen=True):
    verdict: str
    grade: str
    score: int


class TagMove(Struct, frozen=True):
    """A tag that names another digest than at the baseline (rebuilt upstream), or a tag
    seen for the first time (``before`` None)."""

    image: str
    tag: str
    before: str | None
    after: str
    seen: datetime  # when the new digest was first seen


class FindingChange(Struct, frozen=True):
    image: str
    tag: str | None
    platform: str
    digest: str  # the image the finding is (new) or was (fixed) in
    id: str
    package: str
    installed_version: str
    fixed_version: str | None
    fix_state: str
    severity: str
    known_exploited: bool = False


class VerdictChange(Struct, frozen=True):
    """A tag's verdict, grade or score, before and after (``before`` None: not judged at the
    baseline). ``reasons`` are the current verdict's conditions and blocking reasons."""

    image: str
    tag: str | None
    digest: str
    before: VerdictState | None
    after: VerdictState
    reasons: tuple[str, ...] = ()

    @property
    def newly_rejected(self) -> bool:
        return self.after.verdict == "rejected" and (
            self.before is None or self.before.verdict != "rejected"
        )


class StateChange(Struct, frozen=True):
    """A catalog repository whose state (or ``published``) changed: a new deprecation, a
    removal, an image back in the library."""

    image: str
    before: str | None  # None: not in the baseline's catalog
    after: str
    reason: str
    published_before: bool | None = None
    published_after: bool | None = None
    notice: str | None = None


class EolPassed(Struct, frozen=True):
    """An image's OS or runtime whose end of life fell between the baseline and now."""

    image: str
    tag: str | None
    platform: str
    digest: str
    subject: str  # "os" or a runtime's name
    product: str | None
    cycle: str | None
    eol_date: date
    rule: str | None = None


class Failure(Struct, frozen=True):
    """An item a run since the baseline could not handle (retried by the next run)."""

    run_id: int
    run_kind: str
    stage: str
    item: str
    message: str
    occurred_at: datetime


class StoreDiff(Struct, frozen=True):
    baseline: Baseline
    until: datetime
    tags_moved: tuple[TagMove, ...] = ()
    tags_new: tuple[TagMove, ...] = ()
    findings_new: tuple[FindingChange, ...] = ()
    findings_fixed: tuple[FindingChange, ...] = ()
    verdicts: tuple[VerdictChange, ...] = ()
    states: tuple[StateChange, ...] = ()
    eol_passed: tuple[EolPassed, ...] = ()
    failures: tuple[Failure, ...] = ()
    runs: tuple[int, ...] = field(default_factory=tuple)  # runs started since the baseline

    @property
    def newly_rejected(self) -> tuple[VerdictChange, ...]:
        return tuple(v for v in self.verdicts if v.newly_rejected)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.tags_moved,
                self.tags_new,
                self.findings_new,
                self.findings_fixed,
                self.verdicts,
                self.states,
                self.eol_passed,
                self.failures,
            )
        )

    def holds(self, condition: FailOn) -> bool:
        """Whether ``condition`` is met (``--fail-on``)."""
        if condition is FailOn.NEW_REJECTED:
            return bool(self.newly_rejected)
        if condition is FailOn.NEW_FINDING:
            return bool(self.findings_new)
        return self.changed

    def counts(self) -> dict[str, int]:
        return {
            "tags_moved": len(self.tags_moved),
            "tags_new": len(self.tags_new),
            "findings_new": len(self.findings_new),
            "findings_fixed": len(self.findings_fixed),
            "verdicts_changed": len(self.verdicts),
            "newly_rejected": len(self.newly_rejected),
            "states_changed": len(self.states),
            "eol_passed": len(self.eol_passed),
            "failures": len(self.failures),
        }

    def as_dict(self) -> dict[str, Any]:
        """The ``diff`` JSON document (after ``schema_version`` and ``kind``)."""
        base = self.baseline
        return {
            "since": {
                "basis": base.basis,
                "at": base.at,
                "inclusive": base.inclusive,
                "run_id": base.run_id,
            },
            "until": self.until,
            "runs": list(self.runs),
            "counts": self.counts(),
            "tags": {
                "moved": _builtins(self.tags_moved),
                "new": _builtins(self.tags_new),
            },
            "findings": {
                "new": _builtins(self.findings_new),
                "fixed": _builtins(self.findings_fixed),
            },
            "verdicts": [
                {**_builtins(change), "newly_rejected": change.newly_rejected}
                for change in self.verdicts
            ],
            "states": _builtins(self.states),
            "eol_passed": _builtins(self.eol_passed),
            "failures": _builtins(self.failures),
        }


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, builtin_types=(datetime, date))
