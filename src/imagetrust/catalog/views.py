"""The catalog as JSON-ready data: one shape for the CLI, the demo and later the report."""

from __future__ import annotations

from typing import Any

from imagetrust.catalog.snapshots import PullDelta, SnapshotInfo, StoredEntry


def snapshot_view(snapshot: SnapshotInfo) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "taken_at": snapshot.taken_at,
        "run_id": snapshot.run_id,
        "sources": snapshot.sources,
        "repository_count": snapshot.repository_count,
    }


def repository_view(stored: StoredEntry, delta: PullDelta | None) -> dict[str, Any]:
    entry = stored.entry
    return {
        "name": entry.name,
        "state": entry.state.value,
        "state_since": stored.state_since,
        "state_reason": entry.state_reason,
        "published": entry.published,
        "notice": entry.notice,
        "supported_tags": list(entry.supported_tags),
        "tag_count": entry.tag_count,
        "architectures": list(entry.architectures),
        "pull_count": entry.pull_count,
        "pull_delta": delta.as_dict() if delta is not None else None,
        "star_count": entry.star_count,
        "last_updated": entry.last_updated,
        "categories": list(entry.categories),
        "description": entry.description,
        "github_repo": entry.github_repo,
        "sources": list(entry.sources),
    }


def catalog_view(
    snapshot: SnapshotInfo, entries: list[StoredEntry], deltas: dict[str, PullDelta]
) -> dict[str, Any]:
    """The body of the ``catalog`` JSON document (the envelope adds schema_version, kind)."""
    return {
        "snapshot": snapshot_view(snapshot),
        "repositories": [repository_view(s, deltas.get(s.entry.name)) for s in entries],
    }
