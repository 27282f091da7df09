"""Which tags of which repositories a policy picks, read from the stored catalog.

The latest catalog snapshot says which repositories exist, their state, their supported
tags (the library file) and pull counts; ``repository_tags`` holds the Hub's latest tag
listing per repository, with each tag's index digest and platform images. Only the rows of
a repository's latest listing count (``last_seen`` equal to its newest): a tag the Hub no
longer lists keeps its old row, and must not be resolved as if it still existed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct
from sqlalchemy import Connection, select

from imagetrust.catalog.models import CatalogEntry, RepoState
from imagetrust.catalog.snapshots import SnapshotInfo, latest_snapshot, snapshot_entries
from imagetrust.resolve.models import (
    NotCovered,
    Problem,
    ResolveError,
    ResolveRequest,
    StateFilter,
    TagPolicy,
)
from imagetrust.store.repositories import DOCKER_HUB
from imagetrust.store.schema import repositories, repository_tags

LATEST = "latest"


class HubListing(Struct, frozen=True):
    """One tag as the Hub's tags API listed it (free: no registry pull)."""

    digest: str | None
    images: list[dict[str, Any]]
    last_updated: datetime | None


class Candidate(Struct, frozen=True):
    repository: str
    tag: str
    pull_count: int | None
    hub: HubListing | None


class CatalogPick(Struct):
    snapshot: SnapshotInfo
    candidates: list[Candidate]
    not_covered: list[NotCovered]
    problems: list[Problem]
    notes: list[str]


def _wanted_states(state: StateFilter) -> set[RepoState] | None:
    return None if state is StateFilter.ALL else {RepoState(state.value)}


def hub_listings(conn: Connection, names: list[str]) -> dict[str, dict[str, HubListing]]:
    """Each repository's latest Hub listing: tag -> listing."""
    if not names:
        return {}
    t = repository_tags
    rows = conn.execute(
        select(
            repositories.c.name,
            t.c.name.label("tag"),
            t.c.digest,
            t.c.images,
            t.c.last_updated,
            t.c.last_seen,
        )
        .join(repositories, repositories.c.id == t.c.repository_id)
        .where(
            repositories.c.registry == DOCKER_HUB,
            repositories.c.namespace == "library",
            repositories.c.name.in_(names),
        )
    ).all()
    newest: dict[str, datetime] = {}
    for row in rows:
        if row.name not in newest or row.last_seen > newest[row.name]:
            newest[row.name] = row.last_seen
    listings: dict[str, dict[str, HubListing]] = {}
    for row in rows:
        if row.last_seen == newest[row.name]:
            listings.setdefault(row.name, {})[row.tag] = HubListing(
                row.digest, list(row.images or []), row.last_updated
            )
    return listings


def _most_recent(listing: dict[str, HubListing]) -> str | None:
    dated = [(hub.last_updated, tag) for tag, hub in listing.items() if hub.last_updated]
    if not dated:
        return None
    return max(dated, key=lambda item: (item[0], item[1]))[1]


def _tags_for(
    entry: CatalogEntry, listing: dict[str, HubListing], policy: TagPolicy, pick: CatalogPick
) -> list[str]:
    name = entry.name
    if policy is TagPolicy.LATEST:
        if LATEST in listing or LATEST in entry.supported_tags:
            return [LATEST]
        recent = _most_recent(listing)
        if recent is not None:
            pick.notes.append(f"{name}: no latest tag; took the most recently updated, {recent}")
            return [recent]
        if entry.supported_tags:
            first = entry.supported_tags[0]
            pick.notes.append(f"{name}: no latest tag and no Hub dates; took {first}")
            return [first]
        return []
    if policy is TagPolicy.SUPPORTED:
        return list(entry.supported_tags)
    if listing:
        return sorted(listing)
    if entry.supported_tags:
        pick.notes.append(f"{name}: no Hub tag listing in the catalog; took the library's tags")
    return list(entry.supported_tags)


def catalog_candidates(conn: Connection, request: ResolveRequest) -> CatalogPick:
    """The (repository, tag) pairs the request picks from the latest catalog snapshot."""
    snapshot = latest_snapshot(conn)
    if snapshot is None:
        raise ResolveError(
            "no catalog snapshot in the store yet",
            hint="run `imagetrust catalog` first (or give --images-file)",
        )
    pick = CatalogPick(snapshot, [], [], [], [])
    entries = {stored.entry.name: stored.entry for stored in snapshot_entries(conn, snapshot.id)}
    if request.repositories:
        unknown = [n for n in request.repositories if n not in entries]
        if unknown and len(unknown) == len(request.repositories):
            raise ResolveError(
                f"not in the catalog: {', '.join(unknown)}",
                hint="see `imagetrust catalog --no-refresh` for the repositories it knows",
            )
        for name in unknown:
            pick.problems.append(Problem(name, "not in the catalog"))
        chosen = [entries[n] for n in request.repositories if n in entries]
    else:
        states = _wanted_states(request.state)
        chosen = [e for e in entries.values() if states is None or e.state in states]
    listings = hub_listings(conn, [e.name for e in chosen])
    for entry in chosen:
        listing = listings.get(entry.name, {})
        tags = _tags_for(entry, listing, request.tags, pick)
        if not tags:
            pick.not_covered.append(
                NotCovered(entry.name, "*", f"no {request.tags.value} tags known ({entry.state})")
            )
        for tag in tags:
            pick.candidates.append(Candidate(entry.name, tag, entry.pull_count, listing.get(tag)))
    return pick
