"""The records of a recommendation: what to use instead of a tag that is not approved, and
what changes with it.

Every alternative says where it came from (``same-variant``: the same repository and
variant; ``replacement``: named by the deprecation notice), its own verdict and grade, and
per platform both tags have, what moving to it changes: findings fixed and added by
severity (from the stored finding sets), the OS's end of life, and the image's size. A
candidate that was never analysed is *not yet assessed*, listed apart: it is never
presented as better than what it would replace.
"""

from __future__ import annotations

from datetime import date

from msgspec import Struct

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


KIND_SAME_VARIANT = "same-variant"
KIND_REPLACEMENT = "replacement"


class EolSide(Struct, frozen=True):
    """The OS's end of life on one side: ``debian 12``, supported until 2028-06-30."""

    status: str
    product: str | None = None
    cycle: str | None = None
    eol_date: date | None = None

    @property
    def text(self) -> str:
        named = " ".join(p for p in (self.product, self.cycle) if p) or "OS"
        if self.eol_date is not None:
            return f"{named} ({self.status}, ends {self.eol_date.isoformat()})"
        return f"{named} ({self.status})"

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "product": self.product,
            "cycle": self.cycle,
            "eol_date": self.eol_date,
        }


class PlatformGains(Struct, frozen=True):
    """What moving from the current image to the alternative changes on one platform.

    ``fixed`` and ``added`` are None when either side's findings are not known (never
    matched): a change that cannot be computed is not shown as zero.
    """

    platform: str
    current_digest: str
    digest: str
    fixed: dict[str, int] | None
    added: dict[str, int] | None
    eol_current: EolSide
    eol: EolSide
    size_current: int | None
    size: int | None

    @property
    def size_change(self) -> int | None:
        if self.size is None or self.size_current is None:
            return None
        return self.size - self.size_current

    def summary(self) -> str:
        """``fixes 2 critical, 5 high; adds 1 low; OS debian 11 -> debian 12; -12.3 MB``."""
        parts = []
        if self.fixed is None or self.added is None:
            parts.append("findings not comparable (not matched on both sides)")
        else:
            fixed = _counts(self.fixed)
            added = _counts(self.added)
            parts.append(f"fixes {fixed}" if fixed else "fixes none")
            if added:
                parts.append(f"adds {added}")
        if self.eol_current != self.eol:
            parts.append(f"OS {self.eol_current.text} -> {self.eol.text}")
        change = self.size_change
        if change is not None:
            parts.append(f"size {_megabytes(change, signed=True)}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "current_digest": self.current_digest,
            "digest": self.digest,
            "findings_fixed": self.fixed,
            "findings_added": self.added,
            "eol": {"current": self.eol_current.as_dict(), "alternative": self.eol.as_dict()},
            "size": {
                "current": self.size_current,
                "alternative": self.size,
                "change": self.size_change,
            },
        }


class Alternative(Struct, frozen=True):
    image: str
    tag: str | None
    kind: str  # same-variant | replacement
    verdict: str
    grade: str
    score: int
    digest: str
    variant: str  # the alternative's variant label; ``note`` says when it differs
    gains: tuple[PlatformGains, ...] = ()
    note: str | None = None

    @property
    def name(self) -> str:
        return f"{self.image}:{self.tag}" if self.tag else self.image

    def line(self) -> str:
        """One line for tables, Markdown and allowlist comments."""
        head = f"{self.name}: {self.verdict}, grade {self.grade} ({self.score})"
        gains = "; ".join(
            (f"{g.platform}: " if len(self.gains) > 1 else "") + g.summary() for g in self.gains
        )
        extra = [p for p in (self.kind_text, self.note, gains) if p]
        return head + (" - " + "; ".join(extra) if extra else "")

    @property
    def kind_text(self) -> str:
        return "named by the deprecation notice" if self.kind == KIND_REPLACEMENT else ""

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tag": self.tag,
            "kind": self.kind,
            "verdict": self.verdict,
            "grade": self.grade,
            "score": self.score,
            "digest": self.digest,
            "variant": self.variant,
            "note": self.note,
            "gains": [g.as_dict() for g in self.gains],
        }


class NotAssessed(Struct, frozen=True):
    """A candidate the store holds no verdict of: named, never ranked."""

    image: str
    tag: str | None
    kind: str
    reason: str = "not yet assessed"

    @property
    def name(self) -> str:
        return f"{self.image}:{self.tag}" if self.tag else self.image

    def line(self) -> str:
        return f"{self.name}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"image": self.image, "tag": self.tag, "kind": self.kind, "reason": self.reason}


class Recommendation(Struct, frozen=True):
    """The alternatives for one tag that is not approved (at most ``MAX_ALTERNATIVES``)."""

    image: str
    tag: str | None
    verdict: str
    grade: str
    score: int
    variant: str
    alternatives: tuple[Alternative, ...] = ()
    not_assessed: tuple[NotAssessed, ...] = ()
    reason: str | None = None  # why there is no alternative, when there is none

    @property
    def name(self) -> str:
        return f"{self.image}:{self.tag}" if self.tag else self.image

    def lines(self) -> list[str]:
        found = [a.line() for a in self.alternatives]
        found += [n.line() for n in self.not_assessed]
        if not self.alternatives and self.reason:
            found.append(f"no better alternative: {self.reason}")
        return found

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tag": self.tag,
            "verdict": self.verdict,
            "grade": self.grade,
            "score": self.score,
            "variant": self.variant,
            "alternatives": [a.as_dict() for a in self.alternatives],
            "not_assessed": [n.as_dict() for n in self.not_assessed],
            "reason": self.reason,
        }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[s]} {s.lower()}" for s in SEVERITIES if counts.get(s))


def _megabytes(size: int, *, signed: bool = False) -> str:
    magnitude = abs(size)
    text = (
        f"{magnitude / 1_000_000:.1f} MB" if magnitude >= 100_000 else f"{magnitude / 1000:.1f} kB"
    )
    if signed:
        return ("+" if size > 0 else "-" if size < 0 else "±") + text
    return text
