"""What a run has to do for each image, decided from the store before anything is fetched.

For every resolved target and wanted platform, in this order of preference:

- analysed before, by this analyser, against the database as it is now: **unchanged**,
  nothing to do (not even a request);
- analysed before but the vulnerability database changed since (another set of live
  source generations), or the SBOM of that platform manifest is in the store already (a
  ``scan`` stored it, or another tag's index shares it): **match** the stored SBOM, no
  download;
- otherwise **analyse**: read the manifest (one pull), then the layers the cache lacks.

A target whose platforms are unknown (a ``HEAD`` only gives the index digest) and not in
``image_platforms`` yet needs its index read first (one pull). Work to download is ordered
so a run cut short by the pull budget has spent it well: images never tried before come
first (among them, first the tags a recommendation names as not yet assessed: the
alternatives to images that are not approved), most pulled repositories first; images
that failed before come after them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct, field
from sqlalchemy import Connection, select

from imagetrust.oci.models import Descriptor, Platform
from imagetrust.pipeline.results import (
    DbKey,
    PlatformRow,
    ResultStatus,
    StoredResult,
    db_key_json,
    stored_platforms,
    stored_results,
)
from imagetrust.resolve.models import PlatformEntry, ResolveRequest, Target, pick_platforms
from imagetrust.resolve.resolver import WINDOWS_NOT_COVERED
from imagetrust.store.schema import image_sboms

if TYPE_CHECKING:
    from imagetrust.resolve.models import Resolution

log = logging.getLogger(__name__)
ANY_TAG = "*"  # a replacement named without a tag: any tag of that repository


class ImageWork(Struct):
    """One platform of one target; ``manifest`` may be None until the index is read."""

    target: Target
    platform: str  # "linux/amd64"; "*" until the index says which platforms there are
    manifest: Descriptor | None = None
    previous: StoredResult | None = None

    @property
    def label(self) -> str:
        return self.target.label if self.platform == "*" else f"{self.target.label} {self.platform}"

    @property
    def needs_index(self) -> bool:
        return self.manifest is None


class Uncovered(Struct, frozen=True):
    digest: str
    platform: str
    manifest_digest: str | None
    reason: str


class Plan(Struct):
    unchanged: list[ImageWork] = field(default_factory=list)
    match: list[ImageWork] = field(default_factory=list)  # a stored SBOM, matched again
    analyse: list[ImageWork] = field(default_factory=list)  # to download, in order
    not_covered: list[Uncovered] = field(default_factory=list)


def choose(
    work: ImageWork,
    results: dict[tuple[str, str], StoredResult],
    have_sbom: set[str],
    analyser_version: str,
    db_key: DbKey,
    plan: Plan,
) -> None:
    """Put one image with a known manifest where it belongs."""
    assert work.manifest is not None
    previous = results.get((work.target.digest, work.platform))
    work.previous = previous
    manifest = work.manifest.digest
    if (
        previous is not None
        and previous.status == ResultStatus.ANALYSED
        and previous.analyser_version == analyser_version
        and previous.manifest_digest == manifest
    ):
        if previous.db_versions == db_key_json(db_key):
            plan.unchanged.append(work)
        else:
            plan.match.append(work)
    elif manifest in have_sbom:
        plan.match.append(work)
    else:
        plan.analyse.append(work)


def split_platforms(
    target: Target, rows: list[PlatformRow], request: ResolveRequest
) -> tuple[list[ImageWork], list[Uncovered]]:
    """An index's platforms (as stored or as just read): the wanted ones, and the rest."""
    entries = [
        PlatformEntry(Platform.parse(row.platform), row.manifest_digest)
        for row in rows
        if row.platform.count("/") in (1, 2)
    ]
    by_platform = {row.platform: row for row in rows}
    picked, missing = pick_platforms(entries, request)
    works = [
        ImageWork(
            target,
            str(entry.platform),
            Descriptor(
                by_platform[str(entry.platform)].media_type,
                by_platform[str(entry.platform)].manifest_digest,
                by_platform[str(entry.platform)].size,
            ),
        )
        for entry in picked
    ]
    uncovered = [
        Uncovered(target.digest, row.platform, row.manifest_digest, WINDOWS_NOT_COVERED)
        for row in rows
        if row.platform.startswith("windows/")
    ]
    available = ", ".join(row.platform for row in rows) or "none"
    uncovered += [
        Uncovered(target.digest, platform, None, f"no {platform} image (has {available})")
        for platform in missing
    ]
    return works, uncovered


def sboms_present(conn: Connection, digests: set[str], analyser_version: str) -> set[str]:
    wanted = sorted(digests)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            conn.execute(
                select(image_sboms.c.digest).where(
                    image_sboms.c.digest.in_(wanted[start : start + 500]),
                    image_sboms.c.analyser_version == analyser_version,
                )
            ).scalars()
        )
    return found


def make_plan(
    conn: Connection,
    resolution: Resolution,
    request: ResolveRequest,
    *,
    analyser_version: str,
    db_key: DbKey,
    candidates: frozenset[tuple[str, str]] = frozenset(),
) -> Plan:
    """What the run has to do. ``candidates`` are (repository, tag) pairs a recommendation
    names as not yet assessed (``recommended_candidates``): their images download first."""
    plan = Plan()
    digests = [t.digest for t in resolution.targets]
    platforms = stored_platforms(conn, digests)
    results = stored_results(conn, digests)
    known: list[ImageWork] = []
    for target in resolution.targets:
        rows = platforms.get(target.digest)
        if rows:
            works, uncovered = split_platforms(target, rows, request)
            known += works
            plan.not_covered += uncovered
        elif target.platforms_known:
            known += [
                ImageWork(target, str(p.platform), Descriptor("", p.digest, 0))
                for p in target.platforms
                if p.digest is not None
            ]
        else:
            index_work = ImageWork(target, "*")
            index_work.previous = next(
                (r for (d, _), r in results.items() if d == target.digest), None
            )
            plan.analyse.append(index_work)
    have_sbom = sboms_present(
        conn, {w.manifest.digest for w in known if w.manifest is not None}, analyser_version
    )
    for work in known:
        choose(work, results, have_sbom, analyser_version, db_key, plan)
    plan.analyse.sort(key=lambda work: download_order(work, candidates))
    return plan


def download_order(
    work: ImageWork, candidates: frozenset[tuple[str, str]] = frozenset()
) -> tuple[int, int, int, str, str]:
    """Never tried first, and among them the candidates a recommendation is waiting for
    (an alternative to a tag that is not approved is worth the budget first), then the most
    pulled; failed ones after the new ones."""
    tried = work.previous is not None and work.previous.status == ResultStatus.FAILED
    wanted = any(
        (t.repository, t.tag) in candidates or (t.repository, ANY_TAG) in candidates
        for t in work.target.tags
    )
    return (
        1 if tried else 0,
        0 if wanted else 1,
        -(work.target.pull_count or 0),
        work.target.label,
        work.platform,
    )


def recommended_candidates(conn: Connection, now: datetime) -> frozenset[tuple[str, str]]:
    """The (repository, tag) pairs that the store's recommendations (default policy) name
    as not yet assessed (``ANY_TAG`` for a replacement named without a tag). Best effort:
    a store that cannot be judged yields none, and the run goes on in its usual order."""
    from imagetrust.evaluate.policy.check import check_store
    from imagetrust.evaluate.policy.loader import load_policy
    from imagetrust.evaluate.recommend.build import recommend

    try:
        check = check_store(conn, load_policy(), now=now)
        found = recommend(conn, check, now=now)
    except Exception:  # ordering only: never a reason to stop a run
        log.debug("recommended candidates not computed", exc_info=True)
        return frozenset()
    return frozenset(
        (item.image, item.tag or ANY_TAG)
        for recommendation in found
        for item in recommendation.not_assessed
        if "/" not in item.image  # another namespace: not in the catalog, never resolved
    )
