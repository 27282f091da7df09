"""What resolve is asked and what it answers: targets, entries not covered, problems.

Everything is keyed by digest: tags that share one are one ``Target``, analysed once. An
entry that will not be analysed (a Windows image, a tag without the platform asked for)
is a ``NotCovered`` with its reason, never silently dropped; a tag that could not be
resolved (404, refused, a bad line in an images file) is a ``Problem`` and the rest goes on.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from imagetrust.errors import UsageError
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.models import Platform
from imagetrust.oci.reference import Reference


class ResolveError(UsageError):
    """Nothing to resolve from: no catalog yet, an unreadable images file, unknown names."""


class TagPolicy(StrEnum):
    LATEST = "latest"  # ``latest``, else the most recently updated tag (the 2020 review)
    SUPPORTED = "supported"  # every tag in the library file
    ALL = "all"  # every tag on the Hub (as far as the catalog listed them)


class StateFilter(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    REMOVED = "removed"
    ALL = "all"


class ResolveRequest(Struct, frozen=True):
    tags: TagPolicy = TagPolicy.LATEST
    # ``all`` means every linux/* platform here: Windows images are never analysed.
    selection: PlatformSelection = field(default_factory=PlatformSelection)
    repositories: tuple[str, ...] = ()  # by name; empty means "by state"
    state: StateFilter = StateFilter.ACTIVE
    images_file: Path | None = None

    def as_parameters(self) -> dict[str, Any]:
        return {
            "tags": self.tags.value,
            "platform": str(self.selection),
            "repositories": list(self.repositories),
            "state": self.state.value,
            "images_file": str(self.images_file) if self.images_file else None,
        }

    def wants(self, platform: Platform) -> bool:
        if platform.os != "linux":
            return False
        if self.selection.all:
            return True
        return any(platform.matches(p) for p in self.selection.platforms)


class TagRef(Struct, frozen=True):
    repository: str  # as people write it: ``python``, ``ghcr.io/acme/app``
    tag: str

    def __str__(self) -> str:
        return (
            f"{self.repository}:{self.tag}"
            if not self.tag.startswith("@")
            else (f"{self.repository}{self.tag}")
        )


class PlatformEntry(Struct, frozen=True):
    platform: Platform
    digest: str | None = None  # the platform manifest, when the Hub listed it (free)


class Target(Struct, frozen=True):
    """One image to analyse: a top digest (an index or a manifest) and the tags naming it.

    ``platforms`` are the wanted platforms the Hub listed, with their manifest digests;
    when ``platforms_known`` is False (a ``HEAD`` tells only the top digest) the index is
    read when the image is analysed.
    """

    reference: Reference  # how to read it, by digest where that means anything
    digest: str
    tags: tuple[TagRef, ...]
    platforms: tuple[PlatformEntry, ...] = ()
    platforms_known: bool = False
    pull_count: int | None = None
    source: str = "registry"  # hub | registry | layout | archive

    @property
    def label(self) -> str:
        return str(self.tags[0]) if self.tags else str(self.reference)

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "reference": str(self.reference),
            "tags": [str(t) for t in self.tags],
            "platforms": [
                {"platform": str(p.platform), "digest": p.digest} for p in self.platforms
            ],
            "platforms_known": self.platforms_known,
            "pull_count": self.pull_count,
            "source": self.source,
        }


def pick_platforms(
    platforms: list[PlatformEntry], request: ResolveRequest
) -> tuple[list[PlatformEntry], list[str]]:
    """The wanted entries, and the wanted platforms the image does not have.

    As for one image (``oci.image``): an exact variant beats one filled in from arm's
    defaults, and each wanted platform takes one entry.
    """
    linux = [p for p in platforms if p.platform.os == "linux"]
    if request.selection.all:
        return linux, ([] if linux else ["linux/*"])
    picked: list[PlatformEntry] = []
    missing: list[str] = []
    for wanted in request.selection.platforms:
        matches = [p for p in linux if p.platform.matches(wanted)]
        exact = [p for p in matches if p.platform.variant == wanted.variant]
        chosen = (exact or matches)[:1]
        if not chosen:
            missing.append(str(wanted))
        elif chosen[0] not in picked:
            picked.append(chosen[0])
    return picked, missing


class NotCovered(Struct, frozen=True):
    item: str
    platform: str
    reason: str
    digest: str | None = None  # the top digest the tag names, when known

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "platform": self.platform,
            "digest": self.digest,
            "reason": self.reason,
        }


class Problem(Struct, frozen=True):
    item: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "message": self.message}


class Resolution(Struct):
    targets: list[Target] = field(default_factory=list)
    not_covered: list[NotCovered] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # choices made for the user to know
    tags: int = 0  # tags resolved to a digest
    snapshot_id: int | None = None  # the catalog snapshot read, if any

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "tags_resolved": self.tags,
            "targets": [t.as_dict() for t in self.targets],
            "not_covered": [n.as_dict() for n in self.not_covered],
            "problems": [p.as_dict() for p in self.problems],
            "notes": list(self.notes),
        }
