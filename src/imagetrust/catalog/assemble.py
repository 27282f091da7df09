"""Combine the three sources into one ``CatalogEntry`` per repository.

The state rules, in order (the first that applies wins):

1. A library file with no ``Tags`` at all: **deprecated** (the official-images maintainers
   empty a file when an image is retired, before removing it).
2. A docs ``deprecated.md`` that declares the whole image deprecated, unmaintained or end
   of life: **deprecated**, even while the library file still lists tags (openjdk kept its
   tags for a long time after being deprecated).
3. A library file with tags: **active**. A ``deprecated.md`` that is only a note, or that
   retires some variants only, is shown as the ``notice`` and does not change the state.
4. No library file, but the Hub or the docs know the repository: **removed** (removed images
   stay on Docker Hub, still pullable, which is exactly what a reviewer must see).
"""

from __future__ import annotations

from collections.abc import Mapping

from imagetrust.catalog.models import (
    CatalogEntry,
    DeprecationKind,
    DocsInfo,
    HubRepository,
    LibraryManifest,
    RepoState,
)

NOTICE_MAX_CHARS = 2000


def _notice(docs: DocsInfo | None) -> str | None:
    if docs is None or not docs.deprecated_text:
        return None
    text = docs.deprecated_text.strip()
    if len(text) > NOTICE_MAX_CHARS:
        text = text[: NOTICE_MAX_CHARS - 1].rstrip() + "…"
    return text or None


def decide_state(
    manifest: LibraryManifest | None,
    docs: DocsInfo | None,
    hub: HubRepository | None,
) -> tuple[RepoState, str]:
    """The repository's state and a one-line reason a reviewer can check."""
    docs_deprecated = docs is not None and docs.deprecation is DeprecationKind.DEPRECATED
    if manifest is not None:
        if not manifest.has_tags:
            return RepoState.DEPRECATED, "the library file lists no tags"
        if docs_deprecated:
            return RepoState.DEPRECATED, "deprecated.md declares the image deprecated"
        return RepoState.ACTIVE, f"the library file lists {len(manifest.supported_tags)} tags"
    if hub is not None:
        return RepoState.REMOVED, "on Docker Hub but has no library file"
    return RepoState.REMOVED, "in the docs repository but has no library file"


def assemble_entry(
    name: str,
    manifest: LibraryManifest | None,
    docs: DocsInfo | None,
    hub: HubRepository | None,
    tag_count: int | None = None,
) -> CatalogEntry:
    state, reason = decide_state(manifest, docs, hub)
    sources = tuple(
        label
        for label, present in (("library", manifest), ("docs", docs), ("hub", hub))
        if present is not None
    )
    description = (hub.description if hub is not None else None) or (
        docs.description if docs is not None else None
    )
    categories = (hub.categories if hub is not None and hub.categories else ()) or (
        docs.categories if docs is not None else ()
    )
    return CatalogEntry(
        name=name,
        state=state,
        state_reason=reason,
        notice=_notice(docs),
        supported_tags=manifest.supported_tags if manifest is not None else (),
        tag_count=tag_count,
        architectures=manifest.architectures if manifest is not None else (),
        pull_count=hub.pull_count if hub is not None else None,
        last_updated=hub.last_updated if hub is not None else None,
        categories=tuple(categories),
        description=description,
        star_count=hub.star_count if hub is not None else None,
        github_repo=docs.github_repo if docs is not None else None,
        sources=sources,
    )


def assemble(
    library: Mapping[str, LibraryManifest],
    docs: Mapping[str, DocsInfo],
    hub: Mapping[str, HubRepository] | None = None,
    tag_counts: Mapping[str, int] | None = None,
) -> list[CatalogEntry]:
    """One entry per repository known to any source, sorted by name."""
    hub = hub or {}
    tag_counts = tag_counts or {}
    names = sorted(set(library) | set(docs) | set(hub))
    return [
        assemble_entry(name, library.get(name), docs.get(name), hub.get(name), tag_counts.get(name))
        for name in names
    ]
