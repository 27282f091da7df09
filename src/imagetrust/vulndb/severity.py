"""One severity per finding, read from the OSV record that produced it.

A record can carry several opinions about how bad a flaw is: CVSS vectors (v2, v3.x, v4) at
record level or on the matched ``affected`` entry, a Debian tracker urgency or an Ubuntu
priority, and a database's own word (GHSA's LOW/MODERATE/HIGH/CRITICAL in
``database_specific.severity``). A report needs exactly one, on one scale, so this module
normalises all of them to CRITICAL / HIGH / MEDIUM / LOW / UNKNOWN.

Precedence (first source that yields a level other than UNKNOWN wins):

1. CVSS vectors on the matched ``affected`` entry, then its text severities
   (``ecosystem_specific.urgency`` for Debian, ``ecosystem_specific.priority`` /
   ``severity[type=Ubuntu]`` for Ubuntu, ``database_specific.severity``).
2. Record-level CVSS vectors, then record-level text severities (``severity[type=Ubuntu]``,
   ``database_specific.severity``).

Why affected-level first: the ``affected`` entry is the one for *this* package in *this*
release, so it is the more specific statement; a record-level score is usually NVD's
upstream view of every product at once. Why CVSS before text within a level: a vector is
reproducible (anyone can rescore it) and finer-grained than a word. Among several vectors
the newest CVSS version wins (v4 > v3.1/v3.0 > v2), because later versions fix known
mis-scorings of the earlier ones; within one version the highest score wins (the cautious
choice when two scorers disagree).

Scoring uses the ``cvss`` library (Red Hat Product Security), never our own arithmetic. The
NVD qualitative ratings map scores: v3/v4 0.1-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH,
9.0-10.0 CRITICAL; v2 0-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-10.0 HIGH (v2 has no CRITICAL).
A score of 0.0 (CVSS "NONE") maps to LOW, not UNKNOWN: the scorer gave a definite answer
(the bottom of the scale) and UNKNOWN is kept for "no usable information", which also lets
the next source fill in. An invalid vector never fails the scan: it is skipped with a
logged warning and the next source is used.

Text severities: GHSA MODERATE -> MEDIUM; Debian urgency high -> HIGH, medium -> MEDIUM,
low and unimportant -> LOW, "not yet assigned" and "end-of-life" -> UNKNOWN (a trailing
``*``/``**``, the tracker's mark for a guessed urgency, is ignored); Ubuntu priority
critical/high/medium/low as named, negligible -> LOW, untriaged -> UNKNOWN; Red Hat words
seen in ``database_specific`` of RPM-based feeds: important -> HIGH, moderate -> MEDIUM.

How others do it (and where we differ):

- Trivy prefers the distribution's own severity (Debian urgency, Ubuntu priority) and falls
  back to NVD's only when the vendor gave none. For Debian OSV records the urgency sits on
  the ``affected`` entry, so our level order gives the same answer; for Ubuntu records both
  the CVSS vector and the priority are record-level, so we pick the vector where Trivy picks
  the priority. Trivy maps Debian "unimportant" to LOW as we do.
- Grype keeps a sixth level, Negligible (Debian "unimportant", Ubuntu "negligible"); we fold
  it into LOW because the issue fixes five levels. Grype too prefers the distribution's
  word over NVD's.
- OSV-Scanner reports the highest CVSS score it can compute (v4, v3, v2) and does not turn
  Debian urgency into a severity; it only flags "unimportant" advisories as not counting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from imagetrust.errors import UsageError
from imagetrust.vulndb.errors import VulnDbError

log = logging.getLogger(__name__)

# A real vector is < 300 characters; a longer "vector" is garbage and not worth parsing.
_MAX_VECTOR = 512


class Severity(StrEnum):
    """The five levels every finding is reported in."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    UNKNOWN = "UNKNOWN"

    @property
    def rank(self) -> int:
        """Sort key: UNKNOWN 0 < LOW 1 < MEDIUM 2 < HIGH 3 < CRITICAL 4.

        Kept apart from ``<`` because ``Severity`` is a ``str`` and string order must stay
        string order (sorting JSON keys, for example).
        """
        return _RANK[self]

    @classmethod
    def ordered(cls) -> tuple[Severity, ...]:
        """All levels, most severe first (the order reports list counts in)."""
        return (cls.CRITICAL, cls.HIGH, cls.MEDIUM, cls.LOW, cls.UNKNOWN)


_RANK = {
    Severity.UNKNOWN: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class SeverityInfo:
    """The chosen severity and where it came from.

    ``source`` is ``CVSS_V4`` / ``CVSS_V3`` / ``CVSS_V2`` for a scored vector,
    ``debian-urgency``, ``ubuntu-priority``, ``ghsa`` (GHSA ``database_specific``),
    ``database-specific`` (any other database's word), or ``none``.
    """

    level: Severity
    score: float | None
    vector: str | None
    source: str


UNKNOWN_SEVERITY = SeverityInfo(Severity.UNKNOWN, None, None, "none")


def level_from_score(score: float, cvss_version: int) -> Severity:
    """NVD qualitative rating of a base score (0.0 -> LOW, see the module docstring)."""
    if not math.isfinite(score) or score < 0.0 or score > 10.0:
        return Severity.UNKNOWN
    if cvss_version >= 3 and score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


def _version_of(vector: str, declared: str) -> int | None:
    """CVSS major version from the vector's own prefix; the declared type only for v2,
    whose vectors carry no prefix. A vector typed CVSS_V3 that says ``CVSS:4.0`` is
    scored as what it is."""
    if vector.startswith("CVSS:4.0/"):
        return 4
    if vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
        return 3
    if vector.startswith("CVSS:"):
        return None
    if declared == "CVSS_V2" or vector.startswith("AV:"):
        return 2
    return None


_SCORERS: dict[int, Callable[[str], Any]] = {2: CVSS2, 3: CVSS3, 4: CVSS4}


def score_vector(vector: str, declared_type: str = "") -> tuple[float, int]:
    """Base score and CVSS major version of ``vector``, computed by the ``cvss`` library.

    Raises ``VulnDbError`` for anything the library rejects, so callers deal with one type.
    """
    if not isinstance(vector, str) or not vector or len(vector) > _MAX_VECTOR:
        raise VulnDbError(f"not a CVSS vector: {str(vector)[:80]!r}")
    vector = vector.strip()
    version = _version_of(vector, declared_type)
    if version is None:
        raise VulnDbError(f"unsupported CVSS vector: {vector[:80]!r}")
    try:
        raw = _SCORERS[version](vector).base_score
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError) as err:
        raise VulnDbError(f"invalid CVSS v{version} vector {vector[:80]!r}: {err}") from err
    score = float(raw) if isinstance(raw, Decimal | float | int) else math.nan
    if not math.isfinite(score) or not 0.0 <= score <= 10.0:
        raise VulnDbError(f"CVSS vector {vector[:80]!r} scored out of range: {raw!r}")
    return score, version


def _cvss_candidates(entries: Any, where: str) -> list[SeverityInfo]:
    """Every scorable CVSS entry of an OSV ``severity`` list, best first."""
    found: list[tuple[int, float, SeverityInfo]] = []
    for entry in _as_list(entries):
        if not isinstance(entry, Mapping):
            continue
        declared = entry.get("type")
        vector = entry.get("score")
        if declared not in ("CVSS_V2", "CVSS_V3", "CVSS_V4") or not isinstance(vector, str):
            continue
        try:
            score, version = score_vector(vector, declared)
        except VulnDbError as err:
            log.warning("skipping %s severity in %s: %s", declared, where, err.message)
            continue
        info = SeverityInfo(
            level_from_score(score, version), score, vector.strip(), f"CVSS_V{version}"
        )
        found.append((version, score, info))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [info for _, _, info in found]


_DEBIAN_URGENCY = {
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "unimportant": Severity.LOW,
    "not yet assigned": Severity.UNKNOWN,
    "end-of-life": Severity.UNKNOWN,
}

_UBUNTU_PRIORITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "untriaged": Severity.UNKNOWN,
}

# GHSA (LOW/MODERATE/HIGH/CRITICAL), Red Hat-style words (Important/Moderate) and plain
# names as other databases write them in database_specific.severity.
_DATABASE_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "unknown": Severity.UNKNOWN,
}


def _word(value: Any, table: Mapping[str, Severity]) -> Severity:
    if not isinstance(value, str) or len(value) > 64:
        return Severity.UNKNOWN
    return table.get(value.strip().rstrip("*").strip().lower(), Severity.UNKNOWN)


def _text_candidates(holder: Mapping[str, Any], record_id: str) -> Iterator[SeverityInfo]:
    """Text severities of one level (an ``affected`` entry or the record), in the order
    documented above."""
    eco = holder.get("ecosystem_specific")
    if isinstance(eco, Mapping):
        if "urgency" in eco:
            yield SeverityInfo(_word(eco["urgency"], _DEBIAN_URGENCY), None, None, "debian-urgency")
        if "priority" in eco:
            level = _word(eco["priority"], _UBUNTU_PRIORITY)
            yield SeverityInfo(level, None, None, "ubuntu-priority")
    for entry in _as_list(holder.get("severity")):
        if isinstance(entry, Mapping) and entry.get("type") == "Ubuntu":
            level = _word(entry.get("score"), _UBUNTU_PRIORITY)
            yield SeverityInfo(level, None, None, "ubuntu-priority")
    db = holder.get("database_specific")
    if isinstance(db, Mapping) and "severity" in db:
        source = "ghsa" if record_id.startswith("GHSA-") else "database-specific"
        yield SeverityInfo(_word(db["severity"], _DATABASE_WORDS), None, None, source)


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list | tuple) else ()


def record_severity(
    record: Mapping[str, Any], affected: Mapping[str, Any] | None = None
) -> SeverityInfo:
    """The normalised severity of ``record`` for the matched ``affected`` entry.

    Never raises for a malformed record body (bad fields are skipped); raises
    ``VulnDbError`` only when ``record`` itself is not a mapping.
    """
    if not isinstance(record, Mapping):
        raise VulnDbError(f"OSV record is not an object: {type(record).__name__}")
    raw_id = record.get("id")
    record_id = raw_id if isinstance(raw_id, str) else "<no id>"
    levels: list[tuple[Mapping[str, Any], str]] = []
    if isinstance(affected, Mapping):
        levels.append((affected, f"{record_id} (affected)"))
    levels.append((record, record_id))
    for holder, where in levels:
        candidates = _cvss_candidates(holder.get("severity"), where)
        candidates.extend(_text_candidates(holder, record_id))
        for info in candidates:
            if info.level is not Severity.UNKNOWN:
                return info
    return UNKNOWN_SEVERITY


def parse_severity_filter(text: str) -> set[Severity]:
    """``--severity HIGH,CRITICAL`` -> {HIGH, CRITICAL}; case-insensitive, spaces allowed.

    Raises ``UsageError`` naming the bad word and the valid ones.
    """
    valid = ", ".join(level.value for level in Severity.ordered())
    if not isinstance(text, str) or not text.strip():
        raise UsageError("--severity needs at least one level", hint=f"one or more of: {valid}")
    chosen: set[Severity] = set()
    for part in text.split(","):
        word = part.strip().upper()
        if not word:
            raise UsageError(f"--severity {text!r} has an empty item", hint=f"use: {valid}")
        try:
            chosen.add(Severity(word))
        except ValueError:
            raise UsageError(
                f"unknown severity {part.strip()!r} in --severity", hint=f"one or more of: {valid}"
            ) from None
    return chosen
