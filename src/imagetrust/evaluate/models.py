"""The evidence records: what the evaluation found about one analysed image, and why.

One ``Evidence`` per platform manifest digest, evaluated as one repository and tag at the
clock's time. Each part says what it rests on (a date, a rule, a source) and carries a
``reason`` line; "not known" is always a value of its own (``unknown``, ``None``), never
folded into a good answer, so the policy stage (and a reviewer) can tell "fine" from "no
data". The records are ``msgspec.Struct``s: ``msgspec.to_builtins`` turns one into the JSON
stored in ``image_evidence.document`` and shown by ``imagetrust evaluate --format json``,
and ``msgspec.convert`` reads it back typed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from msgspec import Struct

from imagetrust.errors import ImagetrustError

EVIDENCE_VERSION = 1  # bump when a field changes meaning; readers check it


class EvaluateError(ImagetrustError):
    """Base error of the evaluate stage."""


class EolStatus(StrEnum):
    SUPPORTED = "supported"
    EOL = "eol"
    UNKNOWN = "unknown"  # a product or version the data does not know: never "supported"
    NOT_APPLICABLE = "not-applicable"  # no OS release at all: scratch, BusyBox-only, ...


class Subject(Struct, frozen=True):
    """Which catalog repository and tag an image is evaluated as (``debian``, ``12``)."""

    repository: str
    tag: str | None = None
    registry: str = "docker.io"
    namespace: str = "library"


class EolEvidence(Struct, frozen=True):
    """End of life of the OS or of one runtime, against the endoflife.date data.

    ``rule`` is the data field the date comes from (``eol``, or ``eoes`` for products the
    policy judges by their extended support, Debian's LTS); ``found_in`` says where the
    version was read (``os-release``, ``ENV PYTHON_VERSION``, a Go binary's path).
    """

    subject: str  # "os" or the runtime's name (python, node, go, ...)
    status: EolStatus
    reason: str
    product: str | None = None
    version: str | None = None
    cycle: str | None = None
    eol_date: date | None = None
    rule: str | None = None
    found_in: str | None = None


class DeprecationEvidence(Struct, frozen=True):
    """The repository's catalog state as of the latest snapshot at or before the clock."""

    state: str  # active | deprecated | removed | unknown (not in any catalog snapshot)
    reason: str
    published: bool | None = None
    notice: str | None = None
    since: datetime | None = None
    snapshot_at: datetime | None = None


class TagSupportEvidence(Struct, frozen=True):
    """Whether the tag is still in the library file (maintained upstream)."""

    supported: bool | None  # None: no catalog data, or no tag to look for
    reason: str
    tag: str | None = None


class StalenessEvidence(Struct, frozen=True):
    """How old the image is, and whether the tag has moved on to a rebuilt image.

    ``lags`` is true when the tag's current digest (Docker Hub's tags data) differs from the
    digest analysed here: upstream rebuilt it, this copy is the old one.
    """

    reason: str
    tag_last_pushed: datetime | None = None
    days_since_push: int | None = None
    current_digest: str | None = None
    lags: bool | None = None
    image_created: datetime | None = None
    image_age_days: int | None = None


class HygieneEvidence(Struct, frozen=True):
    """Configuration facts of the image; env values are never read, only names."""

    runs_as_root: bool
    root_reason: str
    user: str | None = None
    secret_env_names: tuple[str, ...] = ()
    healthcheck: bool | None = None  # None: the config was not observed (informational)
    setuid: tuple[str, ...] = ()
    setgid: tuple[str, ...] = ()
    world_writable: tuple[str, ...] = ()


class AttestationFact(Struct, frozen=True):
    """One attestation manifest the index lists for the image, with its predicate types."""

    digest: str
    predicate_types: tuple[str, ...] = ()


class SupplyChainEvidence(Struct, frozen=True):
    """Whether the index carries SBOM and provenance attestations for this image."""

    reason: str
    observed: bool = False  # False: the index was not read, nothing below is known
    sbom: bool | None = None
    provenance: bool | None = None
    attestations: tuple[AttestationFact, ...] = ()


class PopularityEvidence(Struct, frozen=True):
    """Pull count and its trend from the catalog snapshots (Docker Hub counters).

    ``pulls_per_day`` is over the last ``window_days`` up to the newest snapshot, and
    ``previous_pulls_per_day`` over the window before; ``trend`` compares the two.
    """

    trend: str  # rising | falling | steady | unknown
    reason: str
    pull_count: int | None = None
    as_of: datetime | None = None
    window_days: int = 30
    pulls_per_day: float | None = None
    previous_pulls_per_day: float | None = None


class VulnerabilityEvidence(Struct, frozen=True):
    """What the stored findings of one image say, against one vulnerability database state.

    ``known`` is False when no findings were matched for this image (never scanned, or
    scanned before any source was live): nothing below may then be read as "clean". An
    incomplete SBOM (a package database unread) or packages nobody has advisories for
    (``not_covered``) make the counts a lower bound; ``os_covered`` False means the OS
    packages could not be matched at all (an unknown or unsupported distribution).
    """

    known: bool
    reason: str
    # {"all": {"CRITICAL": n, "HIGH": n, ...}, "fixable": {...}}: every severity present
    counts: dict[str, dict[str, int]] = {}
    known_exploited: tuple[str, ...] = ()  # finding ids CISA lists as exploited (KEV)
    oldest_fixable_days: int | None = None  # age of the oldest fixable finding, where dated
    complete: bool = True  # the SBOM read every package database it wanted
    incomplete: tuple[str, ...] = ()
    not_covered: int = 0  # packages with no advisory source or an uncomparable version
    not_covered_reasons: dict[str, int] = {}
    os_covered: bool | None = None  # None: no OS packages at all (scratch, distroless app)
    db_state: tuple[tuple[str, int], ...] = ()  # (source, generation) pairs matched against

    def fixable(self, severity: str) -> int:
        return self.counts.get("fixable", {}).get(severity, 0)

    def total(self, severity: str) -> int:
        return self.counts.get("all", {}).get(severity, 0)


class EolDataInfo(Struct, frozen=True):
    """Which end-of-life data the evidence was judged against."""

    source: str
    stated_at: date
    until_eoes: tuple[str, ...] = ()


class Evidence(Struct, frozen=True):
    """Everything the evaluation found about one analysed image (one platform manifest)."""

    digest: str
    reference: str
    platform: str
    evaluated_at: datetime
    os: EolEvidence
    deprecation: DeprecationEvidence
    tag_support: TagSupportEvidence
    staleness: StalenessEvidence
    hygiene: HygieneEvidence
    supply_chain: SupplyChainEvidence
    popularity: PopularityEvidence
    eol_data: EolDataInfo
    index_digest: str | None = None
    subject: Subject | None = None
    os_name: str | None = None
    runtimes: tuple[EolEvidence, ...] = ()
    # None until the stored findings are read into the evidence (see VulnerabilityEvidence)
    vulnerabilities: VulnerabilityEvidence | None = None
    evidence_version: int = EVIDENCE_VERSION


class Observation(Struct, frozen=True):
    """What the index and config said of one image, read once (they never change)."""

    digest: str
    index_digest: str | None
    healthcheck: bool | None
    attestations: tuple[AttestationFact, ...]
    source: str
