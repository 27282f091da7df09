"""What a workflow will ask of Docker Hub and of the runners, from the catalog in the store.

Docker Hub rations manifest ``GET``s (its pull limit: about 10 an hour anonymously, 100 on a
free account); digests cost nothing (the tags API and ``HEAD``). A run reads, per image,
the index when only ``HEAD`` gave its digest, and each wanted platform's manifest; with
mirrors, those reads go to the mirror by digest and reach Docker Hub only when a mirror
lacks one. The projection counts them from the latest catalog snapshot and the Hub tag
listing it stored, as ``resolve`` would pick the tags, without sending a request.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct
from sqlalchemy import Connection

from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.models import Platform
from imagetrust.resolve.catalog_tags import catalog_candidates
from imagetrust.resolve.models import PlatformEntry, ResolveRequest, TagPolicy, pick_platforms


class Projection(Struct, frozen=True):
    snapshot_taken: datetime
    repositories: int
    tags: int
    images: int  # distinct top digests (tags sharing a digest are one image)
    manifests: int  # platform manifests to read once (the first run; then only new ones)
    index_reads: int  # images whose platforms the Hub listing did not give
    unlisted_tags: int  # tags resolved by HEAD: their platforms are counted as wanted ones

    @property
    def pulls_without_mirrors(self) -> int:
        return self.manifests + self.index_reads

    def per_shard(self, shards: int) -> int:
        return -(-self.manifests // shards)


def project(conn: Connection, tags: str, platform: str) -> Projection:
    selection = PlatformSelection.parse(platform)
    request = ResolveRequest(tags=TagPolicy(tags), selection=selection)
    pick = catalog_candidates(conn, request)
    seen: dict[str, int] = {}
    unlisted = 0
    wanted_each = 1 if selection.all else len(selection.platforms)
    for candidate in pick.candidates:
        hub = candidate.hub
        if hub is None or not hub.digest:
            unlisted += 1
            continue
        entries = []
        for image in hub.images:
            os_name, arch = image.get("os"), image.get("architecture")
            if isinstance(os_name, str) and isinstance(arch, str):
                variant = image.get("variant")
                found = Platform(os_name, arch, variant if isinstance(variant, str) else None)
                if not found.is_unknown:
                    entries.append(PlatformEntry(found))
        picked, _ = pick_platforms(entries, request)
        seen[hub.digest] = len(picked)
    return Projection(
        snapshot_taken=pick.snapshot.taken_at,
        repositories=len({c.repository for c in pick.candidates}),
        tags=len(pick.candidates),
        images=len(seen) + unlisted,
        manifests=sum(seen.values()) + unlisted * wanted_each,
        index_reads=unlisted,
        unlisted_tags=unlisted,
    )
