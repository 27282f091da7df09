"""Combine the three sources into one ``CatalogEntry`` per repository.

The state rules. An image is **deprecated** when any of these holds (every one that holds
is named in the reason, so a reviewer sees all the evidence):

1. its short description (Docker Hub's, else the docs' ``README-short.txt``) starts with
   ``DEPRECATED``: the marker the official-images maintainers put on the Hub page of a
   retired image;
2. its docs ``deprecated.md`` declares the whole image deprecated, being deprecated,
   archived, unmaintained, or no longer published or updated (``docs.py`` has the rules);
3. its library file lists no tags (the maintainers empty a file when an image is retired,
   before removing it), or it has no library file but the docs repository still knows it.

It is **removed** when neither a library file nor a docs folder exists (removed images stay
on Docker Hub, still pullable, which is exactly what a reviewer must see), and **active**
otherwise. A ``deprecated.md`` that only informs, or retires some tags only, is kept as the
``notice`` and leaves the image active.

Beside the state, ``published`` says whether the library file lists tags: "deprecated, still
published" (openjdk kept its tags long after its deprecation, emqx and clearlinux too) is
what the 2020 review of official images warned about, and differs from "deprecated, no
longer published" for anyone still pulling the image.
"""

from __future__ import annotations

import re
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
# "DEPRECATED; use ...", "DEPRECATED. Plone is ...": the word first, whatever follows.
_DEPRECATED_MARK = re.compile(r"\s*\W{0,3}\s*DEPRECATED\b", re.IGNORECASE)


def _notice(docs: DocsInfo | None) -> str | None:
    if docs is None or not docs.deprecated_text:
        return None
    text = docs.deprecated_text.strip()
    if len(text) > NOTICE_MAX_CHARS:
        text = text[: NOTICE_MAX_CHARS - 1].rstrip() + "…"
    return text or None


def _marked_deprecated(description: str | None) -> bool:
    return bool(description) and _DEPRECATED_MARK.match(description or "") is not None


def deprecation_reasons(
    manifest: LibraryManifest | None,
    docs: DocsInfo | None,
    hub: HubRepository | None,
) -> list[str]:
    """Every rule that makes the image deprecated, each as a line a reviewer can check."""
    reasons: list[str] = []
    for source, description in (
        ("Docker Hub", hub.description if hub is not None else None),
        ("README-short.txt", docs.description if docs is not None else None),
    ):
        if _marked_deprecated(description):
            reasons.append(f"the short description ({source}) starts with DEPRECATED")
            break
    if docs is not None and docs.deprecation is DeprecationKind.DEPRECATED:
        reasons.append("deprecated.md declares the image deprecated")
    if manifest is not None and not manifest.has_tags:
        reasons.append("the library file lists no tags")
    elif manifest is None and docs is not None:
        reasons.append("no library file, only the docs repository knows it")
    return reasons


def decide_state(
    manifest: LibraryManifest | None,
    docs: DocsInfo | None,
    hub: HubRepository | None,
) -> tuple[RepoState, str]:
    """The repository's state and a one-line reason a reviewer can check."""
    if manifest is None and docs is None:
        return RepoState.REMOVED, "on Docker Hub, but neither a library file nor docs exist"
    reasons = deprecation_reasons(manifest, docs, hub)
    if reasons:
        return RepoState.DEPRECATED, "; ".join(reasons)
    assert manifest is not None  # without one, deprecation_reasons always names it
    return RepoState.ACTIVE, f"the library file lists {len(manifest.supported_tags)} tags"


def is_published(manifest: LibraryManifest | None) -> bool:
    """Published: the library file lists tags, so the image is still built and pushed."""
    return manifest is not None and manifest.has_tags


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
        published=is_published(manifest),
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
