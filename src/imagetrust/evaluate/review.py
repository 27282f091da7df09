"""The 2020 review's tables, from live data (``imagetrust evaluate --view review``).

That review scanned one tag per official repository (``latest``, else the most recently
updated tag), counted vulnerabilities with and without unfixed ones, flagged images on
unsupported OS versions, listed deprecated images still published, and compared pull
counts between two dates. Here each table comes from the store:

- **vulnerabilities**: per repository, its default tag (the same choice) on its first
  platform (``linux/amd64`` when evaluated), from the evidence's counts; an image whose
  vulnerabilities are not known is listed as unknown, never ranked as clean;
- **unsupported OS**: every evaluated tag whose OS release has ended, with the date;
- **deprecated, still published**: the catalog as of the clock;
- **pulls**: pull-count changes from the snapshot at or before ``since`` to the one at or
  before the clock (Docker Hub counters that went down are flagged, not subtracted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from msgspec import Struct
from sqlalchemy import Connection

from imagetrust.evaluate.models import EolStatus, Evidence

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
PRIMARY_PLATFORM = "linux/amd64"
LATEST = "latest"
_NEVER = datetime.min.replace(tzinfo=UTC)


class VulnerabilityRow(Struct, frozen=True):
    image: str
    tag: str | None
    platform: str
    digest: str
    known: bool
    reason: str = ""
    all: dict[str, int] = {}
    fixable: dict[str, int] = {}

    @property
    def total(self) -> int:
        return sum(self.all.values())

    @property
    def fixable_total(self) -> int:
        return sum(self.fixable.values())

    @property
    def unfixed(self) -> int:
        return self.total - self.fixable_total

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tag": self.tag,
            "platform": self.platform,
            "digest": self.digest,
            "known": self.known,
            "reason": self.reason,
            "total": self.total if self.known else None,
            "fixable": self.fixable_total if self.known else None,
            "unfixed": self.unfixed if self.known else None,
            "all_by_severity": self.all if self.known else None,
            "fixable_by_severity": self.fixable if self.known else None,
        }


class OsRow(Struct, frozen=True):
    image: str
    tag: str | None
    os: str
    eol_date: date | None
    reason: str


class DeprecatedRow(Struct, frozen=True):
    image: str
    since: datetime | None
    pull_count: int | None
    notice: str


class PullRow(Struct, frozen=True):
    image: str
    base: int | None
    base_at: datetime | None
    current: int
    current_at: datetime
    delta: int | None
    counter_went_down: bool


class Review(Struct, frozen=True):
    generated_at: datetime
    most_vulnerable: tuple[VulnerabilityRow, ...]
    most_fixable: tuple[VulnerabilityRow, ...]
    unknown: tuple[VulnerabilityRow, ...]
    unsupported_os: tuple[OsRow, ...]
    deprecated_published: tuple[DeprecatedRow, ...]
    pulls: tuple[PullRow, ...]
    catalog_at: datetime | None = None
    pulls_since: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        import msgspec

        return {
            "generated_at": self.generated_at,
            "catalog_at": self.catalog_at,
            "most_vulnerable": [row.as_dict() for row in self.most_vulnerable],
            "most_fixable": [row.as_dict() for row in self.most_fixable],
            "vulnerabilities_unknown": [row.as_dict() for row in self.unknown],
            "unsupported_os": msgspec.to_builtins(self.unsupported_os),
            "deprecated_published": msgspec.to_builtins(self.deprecated_published),
            "pulls_since": self.pulls_since,
            "pulls": msgspec.to_builtins(self.pulls),
        }


def name_of(evidence: Evidence) -> tuple[str, str | None]:
    """The catalog repository and tag, else the reference's name and tag."""
    if evidence.subject is not None:
        return evidence.subject.repository, evidence.subject.tag
    from imagetrust.errors import ImagetrustError
    from imagetrust.oci.reference import ImageReference, parse_reference

    try:
        ref = parse_reference(evidence.reference)
    except ImagetrustError:
        return evidence.reference, None
    if isinstance(ref, ImageReference):
        return ref.name, ref.tag
    return evidence.reference, None


def default_tags(evidence: Sequence[Evidence]) -> list[Evidence]:
    """One image per repository: its default tag (``latest``, else the most recently
    pushed), on ``linux/amd64`` when that was evaluated, else its first platform."""
    by_image: dict[str, dict[str | None, list[Evidence]]] = {}
    for item in evidence:
        image, tag = name_of(item)
        by_image.setdefault(image, {}).setdefault(tag, []).append(item)
    chosen = []
    for _, tags in sorted(by_image.items()):
        if LATEST in tags:
            members = tags[LATEST]
        else:
            members = max(
                tags.values(),
                key=lambda items: (
                    max((i.staleness.tag_last_pushed or _NEVER for i in items), default=_NEVER),
                    name_of(items[0])[1] or "",
                ),
            )
        members = sorted(members, key=lambda i: (i.platform != PRIMARY_PLATFORM, i.platform))
        chosen.append(members[0])
    return chosen


def vulnerability_row(evidence: Evidence) -> VulnerabilityRow:
    image, tag = name_of(evidence)
    found = evidence.vulnerabilities
    if found is None or not found.known:
        why = "not matched yet" if found is None else found.reason
        return VulnerabilityRow(image, tag, evidence.platform, evidence.digest, False, why)
    return VulnerabilityRow(
        image,
        tag,
        evidence.platform,
        evidence.digest,
        True,
        "" if found.complete else "incomplete SBOM: a lower bound",
        all={s: found.total(s) for s in SEVERITIES},
        fixable={s: found.fixable(s) for s in SEVERITIES},
    )


def build_review(
    conn: Connection,
    evidence: Sequence[Evidence],
    *,
    now: datetime,
    since: datetime | None = None,
    top: int = 20,
) -> Review:
    from imagetrust.catalog.models import RepoState
    from imagetrust.catalog.snapshots import latest_snapshot, pull_deltas, snapshot_entries

    rows = [vulnerability_row(item) for item in default_tags(evidence)]
    known = [row for row in rows if row.known]
    most = sorted(known, key=lambda r: (-r.total, -r.fixable_total, r.image))[:top]
    fixable = sorted(known, key=lambda r: (-r.fixable_total, -r.total, r.image))[:top]
    unsupported: dict[tuple[str, str | None], OsRow] = {}
    for item in evidence:
        if item.os.status is EolStatus.EOL:
            image, tag = name_of(item)
            unsupported.setdefault(
                (image, tag),
                OsRow(
                    image,
                    tag,
                    item.os_name or item.os.product or "?",
                    item.os.eol_date,
                    item.os.reason,
                ),
            )
    snapshot = latest_snapshot(conn, at_or_before=now)
    deprecated: list[DeprecatedRow] = []
    pulls: list[PullRow] = []
    if snapshot is not None:
        for stored in snapshot_entries(conn, snapshot.id):
            entry = stored.entry
            if entry.state is RepoState.DEPRECATED and entry.published:
                deprecated.append(
                    DeprecatedRow(
                        entry.name, stored.state_since, entry.pull_count, _first_line(entry.notice)
                    )
                )
        for delta in pull_deltas(conn, snapshot, since=since).values():
            pulls.append(
                PullRow(
                    delta.name,
                    delta.base,
                    delta.base_at,
                    delta.current,
                    delta.current_at,
                    delta.delta,
                    delta.unreliable,
                )
            )
    deprecated.sort(key=lambda r: (-(r.pull_count or 0), r.image))
    pulls.sort(key=lambda r: (r.delta is None, -(r.delta or 0), r.image))
    return Review(
        generated_at=now,
        most_vulnerable=tuple(most),
        most_fixable=tuple(fixable),
        unknown=tuple(row for row in rows if not row.known),
        unsupported_os=tuple(sorted(unsupported.values(), key=lambda r: (r.image, r.tag or ""))),
        deprecated_published=tuple(deprecated),
        pulls=tuple(pulls[:top] if top else pulls),
        catalog_at=snapshot.taken_at if snapshot is not None else None,
        pulls_since=since,
    )


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        line = line.strip().lstrip("#>*- ").strip()
        if line:
            return line[:200]
    return ""
