"""What the catalog knows about a repository, from each of its three sources.

Frozen dataclasses, one per source (library file, docs folder, Docker Hub), so each parser
or client can be tested alone; ``assemble`` combines them into a ``CatalogEntry``. Text
from the Hub or the docs repository is untrusted: it is stored and shown as data, and
escaped by whatever renders it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from imagetrust.errors import ImagetrustError


class CatalogError(ImagetrustError):
    """Base error of the catalog stage."""


class ParseError(CatalogError):
    """A library manifest (or docs file) that does not follow its format.

    Carries the file and 1-based line so a user can open the exact spot.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.reason = message


class RepoState(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    REMOVED = "removed"  # on the Hub, but neither a library file nor docs any more


class DeprecationKind(StrEnum):
    """How a docs ``deprecated.md`` reads: a real deprecation, or only a notice."""

    NONE = "none"  # no deprecated.md
    DEPRECATED = "deprecated"  # the image as a whole is deprecated / unmaintained / EOL
    NOTICE = "notice"  # a note, or a deprecation of some variants only


# --- official-images library manifest ---------------------------------------------------


@dataclass(frozen=True)
class LibraryEntry:
    """One paragraph of a library file, with the file's global fields already applied.

    ``arch_fields`` holds the architecture-prefixed overrides (``arm64v8-GitCommit``), merged
    the same way: global ones first, then the entry's own. ``line`` is where it starts.
    """

    tags: tuple[str, ...]
    shared_tags: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ("amd64",)
    git_repo: str | None = None
    git_fetch: str | None = None
    git_commit: str | None = None
    directory: str | None = None
    file: str | None = None
    builder: str | None = None
    constraints: tuple[str, ...] = ()
    arch_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    line: int = 0

    def field_for(self, arch: str, name: str) -> str | None:
        """The value of ``name`` (e.g. ``GitCommit``) for one architecture."""
        override = self.arch_fields.get(arch, {}).get(name)
        if override is not None:
            return override
        attr = {
            "GitRepo": self.git_repo,
            "GitFetch": self.git_fetch,
            "GitCommit": self.git_commit,
            "Directory": self.directory,
            "File": self.file,
            "Builder": self.builder,
        }
        return attr.get(name)


@dataclass(frozen=True)
class LibraryManifest:
    """A parsed ``library/NAME`` file."""

    name: str
    path: str
    maintainers: tuple[str, ...]
    entries: tuple[LibraryEntry, ...]
    global_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def supported_tags(self) -> tuple[str, ...]:
        """Every tag and shared tag in file order, each once."""
        seen: dict[str, None] = {}
        for entry in self.entries:
            for tag in (*entry.tags, *entry.shared_tags):
                seen.setdefault(tag, None)
        return tuple(seen)

    @property
    def architectures(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            for arch in entry.architectures:
                seen.setdefault(arch, None)
        return tuple(sorted(seen))

    @property
    def has_tags(self) -> bool:
        """A library file without any ``Tags`` means the image is deprecated."""
        return any(entry.tags for entry in self.entries)


# --- docs repository --------------------------------------------------------------------


@dataclass(frozen=True)
class DocsInfo:
    """One image folder of the docs repository."""

    name: str
    deprecation: DeprecationKind = DeprecationKind.NONE
    deprecated_text: str | None = None  # the deprecated.md text, as published
    categories: tuple[str, ...] = ()  # metadata.json hub.categories
    github_repo: str | None = None
    description: str | None = None  # README-short.txt


# --- Docker Hub API ---------------------------------------------------------------------


@dataclass(frozen=True)
class HubRepository:
    """One result of ``GET /v2/namespaces/{ns}/repositories``."""

    namespace: str
    name: str
    description: str | None
    star_count: int | None
    pull_count: int | None
    last_updated: datetime | None
    date_registered: datetime | None
    status: str | None  # e.g. "active"; the Hub's own word, kept as text
    categories: tuple[str, ...] = ()  # category slugs


@dataclass(frozen=True)
class HubTagImage:
    """One platform image of a tag, as the tags endpoint lists it."""

    architecture: str | None
    os: str | None
    variant: str | None
    digest: str | None
    size: int | None
    status: str | None = None
    last_pushed: datetime | None = None


@dataclass(frozen=True)
class HubTag:
    """One result of ``GET /v2/namespaces/{ns}/repositories/{name}/tags``.

    ``digest`` is the manifest (index) digest: resolving a tag this way costs no registry
    pull, which matters under Docker Hub's pull limits.
    """

    name: str
    digest: str | None
    last_updated: datetime | None
    tag_last_pushed: datetime | None
    tag_status: str | None
    images: tuple[HubTagImage, ...] = ()
    full_size: int | None = None


# --- the assembled view -----------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """What ``imagetrust catalog`` shows for one repository in one snapshot."""

    name: str
    state: RepoState
    state_reason: str
    notice: str | None
    supported_tags: tuple[str, ...]
    tag_count: int | None  # tags on the Hub, when the Hub was asked
    architectures: tuple[str, ...]
    pull_count: int | None
    last_updated: datetime | None
    categories: tuple[str, ...]
    description: str | None
    star_count: int | None = None
    github_repo: str | None = None
    sources: tuple[str, ...] = ()  # which of library / docs / hub know this repository
    published: bool = False  # the library file lists tags: still built and pushed
