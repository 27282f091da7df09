"""Tags to digests: the Hub's listing when the catalog has it, else a ``HEAD``; both free.

Docker Hub counts manifest GETs as pulls, not ``HEAD`` requests, and its tags API lists
each tag's index digest and platform manifests. So resolving a whole catalog spends no
pull. Tags that share a digest (``python:3``, ``python:3.12``, ``python:latest``) become
one target, analysed once. Every answer is an observation in the tag history, recorded one
repository per transaction.

Platforms: ``--platform all`` means every ``linux/*`` image; Windows images are recorded as
not covered and never analysed, as is a tag without the platform asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct, field

from imagetrust.errors import ImagetrustError
from imagetrust.oci.models import Platform
from imagetrust.oci.reference import (
    ArchiveReference,
    ImageReference,
    LayoutReference,
    Reference,
    parse_image_reference,
)
from imagetrust.resolve.catalog_tags import Candidate, catalog_candidates
from imagetrust.resolve.images_file import read_images_file
from imagetrust.resolve.models import (
    NotCovered,
    PlatformEntry,
    Problem,
    Resolution,
    ResolveRequest,
    TagRef,
    Target,
    pick_platforms,
)
from imagetrust.store.tags import TAG_ITSELF, Observation, observe_digests

if TYPE_CHECKING:
    from imagetrust.oci.sources import OciSession
    from imagetrust.store.database import Store

Progress = Callable[[int, int], None]  # (tags done, tags in all)
WINDOWS_NOT_COVERED = "Windows images are not analysed"


class _Resolved(Struct):
    """One tag with its digest, before tags sharing a digest are joined."""

    reference: Reference
    image: ImageReference | None  # a registry image (its tags go into the history)
    tag: TagRef
    digest: str
    source: str
    platforms: list[PlatformEntry] = field(default_factory=list)
    platforms_known: bool = False
    pull_count: int | None = None


def _display(ref: ImageReference) -> str:
    return ImageReference(ref.registry, ref.repository).familiar


def _hub_platforms(images: Iterable[dict[str, object]]) -> list[PlatformEntry]:
    found: list[PlatformEntry] = []
    seen: set[str] = set()
    for image in images:
        os_name, arch = image.get("os"), image.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            continue
        variant = image.get("variant")
        platform = Platform(
            os_name, arch, variant if isinstance(variant, str) and variant else None
        )
        if platform.is_unknown or str(platform) in seen:
            continue
        seen.add(str(platform))
        digest = image.get("digest")
        found.append(PlatformEntry(platform, digest if isinstance(digest, str) else None))
    return found


class _Asker:
    """``HEAD`` (or a local read) for a digest, giving up on a registry that is unreachable.

    A registry that cannot be reached at all (no route, the run's wait budget spent on its
    429s) would fail the same way for each of its tags after the same retries; its other
    tags are reported at once instead.
    """

    def __init__(self, session: OciSession, problems: list[Problem]) -> None:
        self.session = session
        self.problems = problems
        self.down: dict[str, str] = {}

    def digest(self, reference: Reference, item: str) -> str | None:
        from imagetrust.http import HttpError, RateLimitedError

        registry = reference.registry if isinstance(reference, ImageReference) else None
        if registry is not None and registry in self.down:
            self.problems.append(Problem(item, f"not asked: {self.down[registry]}"))
            return None
        try:
            with self.session.open(reference) as source:
                return source.resolve().digest
        except HttpError as exc:
            if registry is not None and (exc.status is None or isinstance(exc, RateLimitedError)):
                self.down[registry] = f"{registry} unreachable ({exc.message})"
            self.problems.append(Problem(item, exc.message))
        except ImagetrustError as exc:
            self.problems.append(Problem(item, exc.message))
        return None


def _from_candidate(asker: _Asker, candidate: Candidate) -> _Resolved | None:
    image = parse_image_reference(f"{candidate.repository}:{candidate.tag}")
    tag = TagRef(_display(image), candidate.tag)
    hub = candidate.hub
    if hub is not None and hub.digest:
        platforms = _hub_platforms(hub.images)
        return _Resolved(
            image.with_digest(hub.digest),
            image,
            tag,
            hub.digest,
            "hub",
            platforms,
            bool(platforms),
            candidate.pull_count,
        )
    digest = asker.digest(image, str(tag))
    if digest is None:
        return None
    return _Resolved(
        image.with_digest(digest), image, tag, digest, "registry", pull_count=candidate.pull_count
    )


def _from_reference(asker: _Asker, reference: Reference, item: str) -> _Resolved | None:
    if isinstance(reference, ImageReference):
        tag = TagRef(_display(reference), reference.tag or f"@{reference.digest}")
        if reference.digest is not None:  # pinned: nothing to ask
            return _Resolved(reference, reference, tag, reference.digest, "pinned")
        digest = asker.digest(reference, item)
        if digest is None:
            return None
        return _Resolved(reference.with_digest(digest), reference, tag, digest, "registry")
    digest = asker.digest(reference, item)
    if digest is None:
        return None
    if isinstance(reference, LayoutReference):
        tag = TagRef(f"oci-layout:{reference.path}", reference.tag or f"@{digest}")
        return _Resolved(LayoutReference(reference.path, None, digest), None, tag, digest, "layout")
    assert isinstance(reference, ArchiveReference)
    tag = TagRef(f"docker-archive:{reference.path}", f"@{digest}")
    return _Resolved(reference, None, tag, digest, "archive")


def resolve(
    store: Store,
    request: ResolveRequest,
    session: OciSession,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> Resolution:
    """The targets the request names, every tag's digest recorded in the tag history."""
    resolution = Resolution()
    resolved: list[_Resolved] = []
    asker = _Asker(session, resolution.problems)
    if request.images_file is not None:
        entries, problems = read_images_file(request.images_file)
        resolution.problems += problems
        for number, entry in enumerate(entries):
            item = f"{request.images_file}:{entry.line}"
            found = _from_reference(asker, entry.reference, item)
            if found is not None:
                resolved.append(found)
            if progress is not None:
                progress(number + 1, len(entries))
    else:
        with store.read() as conn:
            pick = catalog_candidates(conn, request)
        resolution.snapshot_id = pick.snapshot.id
        resolution.problems += pick.problems
        resolution.not_covered += pick.not_covered
        resolution.notes += pick.notes
        for number, candidate in enumerate(pick.candidates):
            found = _from_candidate(asker, candidate)
            if found is not None:
                resolved.append(found)
            if progress is not None:
                progress(number + 1, len(pick.candidates))
    resolution.tags = len(resolved)
    _record(store, resolved, now)
    _join(resolved, request, resolution)
    return resolution


def _record(store: Store, resolved: list[_Resolved], now: datetime) -> None:
    """Each registry tag's answer into the tag history, one repository per transaction."""
    from imagetrust.failpoints import failpoint
    from imagetrust.store.repositories import upsert_repository

    by_repository: dict[tuple[str, str], list[_Resolved]] = {}
    for item in resolved:
        if item.image is not None and item.image.tag is not None:
            key = (item.image.registry, item.image.repository)
            by_repository.setdefault(key, []).append(item)
    for (registry, repository), items in sorted(by_repository.items()):
        namespace, _, name = repository.rpartition("/")
        with store.transaction() as conn:
            repository_id = upsert_repository(
                conn, name, now=now, registry=registry, namespace=namespace
            )
            by_source: dict[str, list[Observation]] = {}
            for item in items:
                assert item.image is not None and item.image.tag is not None
                tag = item.image.tag
                seen = by_source.setdefault(item.source, [])
                seen.append(Observation(tag, TAG_ITSELF, item.digest))
                seen += [
                    Observation(tag, str(e.platform), e.digest) for e in item.platforms if e.digest
                ]
            for source, observations in sorted(by_source.items()):
                observe_digests(conn, repository_id, observations, now=now, source=source)
            failpoint("resolve.commit")


def _join(resolved: list[_Resolved], request: ResolveRequest, resolution: Resolution) -> None:
    """Tags sharing a digest become one target; platforms picked; the rest not covered."""
    groups: dict[str, list[_Resolved]] = {}
    for item in resolved:
        groups.setdefault(item.digest, []).append(item)
    for digest, items in groups.items():
        first = items[0]
        tags = tuple(dict.fromkeys(item.tag for item in items))
        pulls = [i.pull_count for i in items if i.pull_count is not None]
        known = next((i for i in items if i.platforms), None)
        platforms: tuple[PlatformEntry, ...] = ()
        platforms_known = False
        if known is not None:
            for entry in known.platforms:
                if entry.platform.os == "windows":
                    resolution.not_covered.append(
                        NotCovered(str(tags[0]), str(entry.platform), WINDOWS_NOT_COVERED, digest)
                    )
            picked, missing = pick_platforms(known.platforms, request)
            available = ", ".join(str(p.platform) for p in known.platforms) or "none"
            for platform in missing:
                resolution.not_covered.append(
                    NotCovered(
                        str(tags[0]), platform, f"no {platform} image (has {available})", digest
                    )
                )
            if not picked:
                continue
            platforms = tuple(picked)
            platforms_known = all(p.digest for p in picked)
        resolution.targets.append(
            Target(
                reference=first.reference,
                digest=digest,
                tags=tags,
                platforms=platforms,
                platforms_known=platforms_known,
                pull_count=max(pulls) if pulls else None,
                source=first.source,
            )
        )
    resolution.targets.sort(key=lambda t: (-(t.pull_count or -1), t.label))
