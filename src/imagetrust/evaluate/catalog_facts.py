"""Evidence from the catalog: deprecation, tag support, staleness and popularity.

Everything is read as of the clock: the latest catalog snapshot taken at or before it, the
state history up to it, the pull counts recorded up to it. So an evaluation with ``--now``
in the past answers as the store knew things then, and two evaluations at one clock agree.

- **Deprecation**: the snapshot's state (``active``, ``deprecated``, ``removed``), whether
  the image is still published, the notice, and since when the state holds.
- **Tag support**: a tag no longer in the library file is no longer maintained upstream,
  even when the image itself is active (``alpine:3.16`` after Alpine 3.16's end).
- **Staleness**: days since Docker Hub says the tag was last pushed, and whether the tag now
  points at another digest than the one analysed (upstream rebuilt it: this copy is old);
  the image's own ``created`` date gives its age when the Hub has no tag data.
- **Popularity**: the pull count, pulls per day over the last ``POPULARITY_WINDOW_DAYS``
  and the window before, and a trend comparing the two (more than 10 % apart: rising or
  falling). A counter that went down between two snapshots (Docker Hub counters have been
  reset or corrected) makes the rate unreliable, so the trend is then ``unknown``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import replace
from sqlalchemy import Connection, select

from imagetrust.catalog.snapshots import latest_snapshot, state_history
from imagetrust.evaluate.models import (
    DeprecationEvidence,
    PopularityEvidence,
    StalenessEvidence,
    Subject,
    TagSupportEvidence,
)
from imagetrust.sbom.models import ImageSbom
from imagetrust.store.schema import repositories, repository_snapshots, repository_tags

POPULARITY_WINDOW_DAYS = 30
TREND_MARGIN = 0.10  # rates within 10 % of each other are "steady"
SECONDS_PER_DAY = 86400


class CatalogFacts:
    """The catalog rows one evaluation reads, fetched once per image."""

    def __init__(self, conn: Connection, subject: Subject | None, now: datetime) -> None:
        self.conn = conn
        self.subject = subject
        self.now = now
        self.repository_id = self._repository_id() if subject is not None else None
        self.snapshot = latest_snapshot(conn, at_or_before=now)
        self.row = self._snapshot_row()

    def _repository_id(self) -> int | None:
        assert self.subject is not None
        found = self.conn.execute(
            select(repositories.c.id).where(
                (repositories.c.registry == self.subject.registry)
                & (repositories.c.namespace == self.subject.namespace)
                & (repositories.c.name == self.subject.repository)
            )
        ).scalar()
        return int(found) if found is not None else None

    def _snapshot_row(self) -> Any:
        if self.repository_id is None or self.snapshot is None:
            return None
        return self.conn.execute(
            select(repository_snapshots).where(
                (repository_snapshots.c.snapshot_id == self.snapshot.id)
                & (repository_snapshots.c.repository_id == self.repository_id)
            )
        ).first()

    def _missing(self) -> str:
        if self.subject is None:
            return "not linked to a catalog repository (a local source or another registry)"
        if self.snapshot is None:
            return f"no catalog snapshot at or before {self.now:%Y-%m-%d}"
        return (
            f"{self.subject.repository} is not in the catalog snapshot of "
            f"{self.snapshot.taken_at:%Y-%m-%d}"
        )

    # --- deprecation -------------------------------------------------------------------

    def deprecation(self) -> DeprecationEvidence:
        row = self.row
        if row is None or self.subject is None:
            return DeprecationEvidence(state="unknown", reason=self._missing())
        return DeprecationEvidence(
            state=row.state,
            reason=row.state_reason,
            published=bool(row.published),
            notice=row.notice,
            since=self._state_since(row.state),
            snapshot_at=row.taken_at,
        )

    def _state_since(self, state: str) -> datetime | None:
        assert self.subject is not None
        history = [
            change
            for change in state_history(
                self.conn, self.subject.repository, registry=self.subject.registry
            )
            if change.since <= self.now
        ]
        since = None
        for change in history:
            if change.state.value != state:
                since = None
            elif since is None:
                since = change.since
        return since

    # --- tags ----------------------------------------------------------------------------

    def tag_support(self) -> TagSupportEvidence:
        tag = self.subject.tag if self.subject is not None else None
        row = self.row
        if row is None:
            return TagSupportEvidence(supported=None, reason=self._missing(), tag=tag)
        if tag is None:
            return TagSupportEvidence(supported=None, reason="analysed by digest: no tag")
        tags: Sequence[str] = row.supported_tags or ()
        if tag in tags:
            return TagSupportEvidence(
                supported=True, reason=f"{tag} is in the library file", tag=tag
            )
        if not tags:
            why = (
                "the library file lists no tags"
                if "library" in row.sources
                else ("there is no library file")
            )
            return TagSupportEvidence(supported=False, reason=why, tag=tag)
        return TagSupportEvidence(
            supported=False,
            reason=f"{tag} is no longer in the library file ({len(tags)} tags are)",
            tag=tag,
        )

    def staleness(self, sbom: ImageSbom) -> StalenessEvidence:
        created = _parse_time(sbom.facts.created)
        base = StalenessEvidence(
            reason="", image_created=created, image_age_days=_days(created, self.now)
        )
        tag = self.subject.tag if self.subject is not None else None
        if self.repository_id is None or tag is None:
            why = self._missing() if self.repository_id is None else "analysed by digest"
            return replace(base, reason=f"no tag data: {why}")
        row = self.conn.execute(
            select(repository_tags).where(
                (repository_tags.c.repository_id == self.repository_id)
                & (repository_tags.c.name == tag)
                & (repository_tags.c.first_seen <= self.now)
            )
        ).first()
        if row is None:
            return replace(base, reason=f"Docker Hub's tags data has no tag {tag}")
        pushed = row.tag_last_pushed or row.last_updated
        current = _current_digest(row, sbom)
        lags = None if current is None else current not in (sbom.digest, sbom.index_digest)
        if current is None:
            verdict = "the tag's current digest is unknown"
        elif lags:
            verdict = f"the tag now points at {current}: rebuilt upstream, this digest is older"
        else:
            verdict = "this is the tag's current digest"
        return replace(
            base,
            reason=verdict,
            tag_last_pushed=pushed,
            days_since_push=_days(pushed, self.now),
            current_digest=current,
            lags=lags,
        )

    # --- popularity ----------------------------------------------------------------------

    def popularity(self) -> PopularityEvidence:
        if self.repository_id is None:
            return PopularityEvidence(trend="unknown", reason=self._missing())
        points = [
            (row.taken_at, int(row.pull_count))
            for row in self.conn.execute(
                select(repository_snapshots.c.taken_at, repository_snapshots.c.pull_count)
                .where(
                    (repository_snapshots.c.repository_id == self.repository_id)
                    & repository_snapshots.c.pull_count.is_not(None)
                    & (repository_snapshots.c.taken_at <= self.now)
                )
                .order_by(repository_snapshots.c.taken_at, repository_snapshots.c.id)
            )
        ]
        return popularity_of(points)


def popularity_of(
    points: Sequence[tuple[datetime, int]], window_days: int = POPULARITY_WINDOW_DAYS
) -> PopularityEvidence:
    """Pull rate and trend from ``(taken_at, pull_count)`` points in time order."""
    if not points:
        return PopularityEvidence(
            trend="unknown", reason="no pull count recorded", window_days=window_days
        )
    latest_at, latest = points[-1]
    base = PopularityEvidence(
        trend="unknown", reason="", pull_count=latest, as_of=latest_at, window_days=window_days
    )
    recent = _rate(points, latest_at, window_days)
    if recent is None:
        return replace(base, reason="one pull count only: no rate yet")
    start_at, per_day, reliable = recent
    if not reliable:
        return replace(base, reason="the pull counter went down: the rate is unreliable")
    base = replace(base, pulls_per_day=round(per_day, 1))
    previous = _rate(points, start_at, window_days)
    if previous is None:
        return replace(base, reason=f"{per_day:.0f} pulls a day; no earlier period to compare with")
    _, before, reliable_before = previous
    if not reliable_before:
        trend, why = "unknown", "the pull counter went down in the earlier period"
    elif per_day > before * (1 + TREND_MARGIN):
        trend, why = "rising", "more pulls a day than in the period before"
    elif per_day < before * (1 - TREND_MARGIN):
        trend, why = "falling", "fewer pulls a day than in the period before"
    else:
        trend, why = "steady", "about as many pulls a day as in the period before"
    return replace(
        base,
        trend=trend,
        reason=f"{per_day:.0f} against {before:.0f} pulls a day: {why}",
        previous_pulls_per_day=round(before, 1),
    )


def _rate(
    points: Sequence[tuple[datetime, int]], end_at: datetime, window_days: int
) -> tuple[datetime, float, bool] | None:
    """Pulls a day from the last point at least a window before ``end_at`` (else the
    earliest point before it) to the point at ``end_at``: (start, rate, reliable)."""
    end = next((count for at, count in points if at == end_at), None)
    earlier = [(at, count) for at, count in points if at < end_at]
    if end is None or not earlier:
        return None
    cutoff = end_at - timedelta(days=window_days)
    old_enough = [p for p in earlier if p[0] <= cutoff]
    start_at, start = old_enough[-1] if old_enough else earlier[0]
    days = (end_at - start_at).total_seconds() / SECONDS_PER_DAY
    if days <= 0:
        return None
    counts = [count for at, count in points if start_at <= at <= end_at]
    reliable = all(later >= earlier for earlier, later in itertools.pairwise(counts))
    return start_at, (end - start) / days, reliable


def _current_digest(row: Any, sbom: ImageSbom) -> str | None:
    """The tag's digest now: the index digest, or for a single-platform tag (no index here),
    the Hub's per-platform digest of this image's platform."""
    if sbom.index_digest is not None or not row.images:
        return str(row.digest) if row.digest else None
    os_name, _, rest = sbom.platform.partition("/")
    arch, _, variant = rest.partition("/")
    for image in row.images:
        if not isinstance(image, dict):
            continue
        if (image.get("os"), image.get("architecture")) == (os_name, arch) and (
            not variant or image.get("variant") == variant
        ):
            digest = image.get("digest")
            return str(digest) if digest else None
    return str(row.digest) if row.digest else None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    from imagetrust.clock import parse_instant
    from imagetrust.errors import UsageError

    try:
        return parse_instant(text)
    except UsageError:
        return None


def _days(since: datetime | None, now: datetime) -> int | None:
    """Whole days from ``since`` to the clock; 0 when ``since`` is after the clock."""
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // SECONDS_PER_DAY))
