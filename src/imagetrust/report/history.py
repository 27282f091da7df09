"""Trends from the stored history: fixable findings over time, pull counts, time to fix.

A tag names different digests over time (every rebuild is a new one), and each digest can
have several finding sets (one per vulnerability-database state). What a tag "had" at a
moment is the finding set of the digest the tag named then: the *counted* sets. Which
digest a tag named comes from the tag history (``store.tags``, the Hub listing and
``resolve``) and from the evidence (the digests the reference was evaluated as); a set of
an old digest matched again after the tag moved on is history of that digest, not of the
tag, and is left out.

**Time to fix** follows each finding (advisory id and package) of a tag through its
counted sets: it starts at the first set in which the database showed a fix (the finding
fixable), and ends at the first later set without the finding (the tag's digest then no
longer has it: a rebuild took the fix, or the package left). A finding still there is
*open*, aged to the clock. One that comes back fixable after it was gone starts again.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from imagetrust.evaluate.models import Evidence
from imagetrust.report.model import FixSummary, FixTime, Point
from imagetrust.store.schema import (
    finding_set_items,
    finding_sets,
    repositories,
    repository_snapshots,
)
from imagetrust.vulndb.findings_store import BUILTIN

_BATCH = 500
SECONDS_PER_DAY = 86400.0


class CountedSet(NamedTuple):
    id: int
    digest: str
    matched_at: datetime
    fixable: int
    critical_high: int


class ImageHistory(NamedTuple):
    sets: list[CountedSet]
    fixable: tuple[Point, ...]
    fix_times: tuple[FixTime, ...]


def digest_spans(conn: Connection, evidence: Evidence) -> list[tuple[datetime, str]]:
    """When the image's tag (on its platform) started naming each digest, oldest first."""
    from imagetrust.evaluate.policy.stored import evidence_digests
    from imagetrust.store.tags import tag_observations

    starts: list[tuple[datetime, str]] = []
    subject = evidence.subject
    if subject is not None and subject.tag is not None:
        for seen in tag_observations(
            conn,
            subject.repository,
            subject.tag,
            platform=evidence.platform,
            registry=subject.registry,
            namespace=subject.namespace,
        ):
            starts.append((seen.first_seen, seen.digest))
    for span in evidence_digests(conn, [evidence.reference]):
        if span.platform == evidence.platform:
            starts.append((span.first, span.digest))
    starts.sort()
    # Two sources may report one change at different moments: keep each change once, first.
    changes: list[tuple[datetime, str]] = []
    for when, digest in starts:
        if not changes or changes[-1][1] != digest:
            changes.append((when, digest))
    return changes


def _digest_at(changes: Sequence[tuple[datetime, str]], when: datetime) -> str | None:
    times = [c[0] for c in changes]
    index = bisect.bisect_right(times, when) - 1
    if index < 0:
        return changes[0][1] if changes else None  # matched before the tag was seen
    return changes[index][1]


def _counts(value: Any, view: str) -> dict[str, int]:
    found = value.get(view, {}) if isinstance(value, dict) else {}
    return {str(k): int(v) for k, v in found.items() if isinstance(v, int)}


def counted_sets(conn: Connection, changes: Sequence[tuple[datetime, str]]) -> list[CountedSet]:
    """The finding sets of the digests the tag named, each while the tag named it."""
    digests = sorted({digest for _, digest in changes})
    if not digests:
        return []
    f = finding_sets
    rows = conn.execute(
        select(f.c.id, f.c.digest, f.c.matched_at, f.c.counts)
        .where(f.c.digest.in_(digests) & (f.c.engine == BUILTIN))  # our own matching only
        .order_by(f.c.matched_at, f.c.id)
    ).all()
    found = []
    for row in rows:
        if _digest_at(changes, row.matched_at) != row.digest:
            continue
        fixable = _counts(row.counts, "fixable")
        found.append(
            CountedSet(
                int(row.id),
                row.digest,
                row.matched_at,
                sum(fixable.values()),
                fixable.get("CRITICAL", 0) + fixable.get("HIGH", 0),
            )
        )
    return found


def _items(conn: Connection, set_ids: Sequence[int]) -> dict[int, dict[tuple[str, str], Any]]:
    """Per set: (advisory id, package) -> (fix state, severity)."""
    found: dict[int, dict[tuple[str, str], Any]] = {i: {} for i in set_ids}
    items = finding_set_items
    for start in range(0, len(set_ids), _BATCH):
        chunk = list(set_ids[start : start + _BATCH])
        rows = conn.execute(
            select(
                items.c.set_id,
                items.c.vuln_id,
                items.c.package,
                items.c.fix_state,
                items.c.severity,
            ).where(items.c.set_id.in_(chunk))
        )
        for row in rows:
            found[row.set_id][(row.vuln_id, row.package)] = (row.fix_state, row.severity)
    return found


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / SECONDS_PER_DAY, 2)


def fix_times(
    sets: Sequence[CountedSet],
    items: dict[int, dict[tuple[str, str], Any]],
    *,
    image: str,
    platform: str,
    now: datetime,
) -> list[FixTime]:
    open_since: dict[tuple[str, str], tuple[datetime, str]] = {}
    done: list[FixTime] = []
    for stored in sets:
        present = items.get(stored.id, {})
        for key in list(open_since):
            if key not in present:
                shown, severity = open_since.pop(key)
                done.append(
                    FixTime(
                        image,
                        platform,
                        key[0],
                        key[1],
                        severity,
                        shown,
                        stored.matched_at,
                        _days(shown, stored.matched_at),
                    )
                )
        for key, (fix_state, severity) in present.items():
            if fix_state == "fixed" and key not in open_since:
                open_since[key] = (stored.matched_at, severity)
    for key, (shown, severity) in open_since.items():
        done.append(
            FixTime(image, platform, key[0], key[1], severity, shown, None, _days(shown, now))
        )
    return done


def image_history(
    conn: Connection, evidence: Evidence, *, image: str, now: datetime
) -> ImageHistory:
    sets = counted_sets(conn, digest_spans(conn, evidence))
    items = _items(conn, [s.id for s in sets])
    points: dict[datetime, int] = {}
    for stored in sets:
        points[stored.matched_at] = stored.fixable
    return ImageHistory(
        sets,
        tuple(Point(at, value) for at, value in sorted(points.items())),
        tuple(fix_times(sets, items, image=image, platform=evidence.platform, now=now)),
    )


def summarise(times: Iterable[FixTime]) -> FixSummary:
    every = list(times)
    fixed = [t.days for t in every if t.fixed is not None]
    still = [t.days for t in every if t.fixed is None]
    return FixSummary(
        fixed=len(fixed),
        open=len(still),
        median_days=round(statistics.median(fixed), 2) if fixed else None,
        mean_days=round(statistics.fmean(fixed), 2) if fixed else None,
        slowest_days=max(fixed) if fixed else None,
        oldest_open_days=max(still) if still else None,
    )


def summed(series: Iterable[Sequence[tuple[datetime, int]]]) -> tuple[Point, ...]:
    """Step functions added up: at each moment any series changes, the sum of each one's
    latest value (0 before its first)."""
    all_series = [sorted(s) for s in series if s]
    moments = sorted({at for s in all_series for at, _ in s})
    found = []
    for moment in moments:
        total = 0
        for s in all_series:
            index = bisect.bisect_right([at for at, _ in s], moment) - 1
            if index >= 0:
                total += s[index][1]
        found.append(Point(moment, total))
    return tuple(found)


def pull_series(conn: Connection) -> dict[str, tuple[Point, ...]]:
    """Each repository's pull count per catalog snapshot that had one, oldest first."""
    rs = repository_snapshots
    rows = conn.execute(
        select(repositories.c.name, rs.c.taken_at, rs.c.pull_count)
        .join(repositories, repositories.c.id == rs.c.repository_id)
        .where(rs.c.pull_count.is_not(None))
        .order_by(repositories.c.name, rs.c.taken_at, rs.c.id)
    )
    found: dict[str, dict[datetime, int]] = {}
    for row in rows:
        found.setdefault(row.name, {})[row.taken_at] = int(row.pull_count)
    return {
        name: tuple(Point(at, value) for at, value in sorted(points.items()))
        for name, points in found.items()
    }


def total_pulls(series: dict[str, tuple[Point, ...]]) -> tuple[Point, ...]:
    """All repositories' pulls per snapshot time (each snapshot lists every repository, so
    a sum per moment is the catalog's total then)."""
    totals: dict[datetime, int] = {}
    for points in series.values():
        for point in points:
            totals[point.at] = totals.get(point.at, 0) + point.value
    return tuple(Point(at, value) for at, value in sorted(totals.items()))
