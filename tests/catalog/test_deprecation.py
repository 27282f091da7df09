"""The deprecation rule and the ``published`` flag: every image of the issue's table from the
real library files and docs, each rule on its own, and the state history they leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imagetrust.catalog.assemble import assemble, decide_state, is_published
from imagetrust.catalog.docs import load_docs_dir
from imagetrust.catalog.library import load_library_dir
from imagetrust.catalog.models import (
    CatalogEntry,
    DeprecationKind,
    DocsInfo,
    HubRepository,
    LibraryEntry,
    LibraryManifest,
    RepoState,
)
from imagetrust.catalog.snapshots import record_snapshot, snapshot_entries, state_history
from imagetrust.store.database import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DAY0 = datetime(2026, 8, 22, tzinfo=UTC)

# The issue's table, from the real official-images and docs data (2026-08-21).
ACTIVE_WITH_NOTICE = ("amazonlinux", "nextcloud", "rockylinux")
DEPRECATED_PUBLISHED = ("clearlinux", "emqx", "liquibase", "openjdk")
DEPRECATED_UNPUBLISHED = (
    "clefos",
    "mongo-express",
    "notary",
    "php-zendserver",
    "plone",
    "unit",
)
EXPECTED = {
    **{name: ("active", True) for name in ACTIVE_WITH_NOTICE},
    **{name: ("deprecated", True) for name in DEPRECATED_PUBLISHED},
    **{name: ("deprecated", False) for name in DEPRECATED_UNPUBLISHED},
}


@pytest.fixture(scope="module")
def real_catalog() -> dict[str, CatalogEntry]:
    library = load_library_dir(FIXTURES / "official-images")
    docs = load_docs_dir(FIXTURES / "docs")
    assert not library.errors and not docs.errors
    return {entry.name: entry for entry in assemble(library.manifests, docs.docs)}


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_the_issue_table_on_the_real_data(
    name: str, expected: tuple[str, bool], real_catalog: dict[str, CatalogEntry]
) -> None:
    entry = real_catalog[name]
    assert (entry.state.value, entry.published) == expected, entry.state_reason
    assert entry.notice  # every one of them has a deprecated.md, shown as the notice


def test_emqx_is_deprecated_by_both_its_description_and_its_notice(
    real_catalog: dict[str, CatalogEntry],
) -> None:
    """The earlier rule kept emqx active: "we stopped publishing the emqx Docker Official
    Image" is a retirement, and its short description starts with DEPRECATED."""
    reason = real_catalog["emqx"].state_reason
    assert "starts with DEPRECATED" in reason and "deprecated.md" in reason


def test_every_active_image_lists_tags_and_carries_no_marker(
    real_catalog: dict[str, CatalogEntry],
) -> None:
    for entry in real_catalog.values():
        if entry.state is RepoState.ACTIVE:
            assert entry.published and entry.supported_tags
            assert not (entry.description or "").upper().startswith("DEPRECATED")


# --- each rule on its own ---------------------------------------------------------------


def manifest(name: str, *tags: str) -> LibraryManifest:
    entries = (LibraryEntry(tags=tags),) if tags else (LibraryEntry(tags=()),)
    return LibraryManifest(name=name, path=f"library/{name}", maintainers=(), entries=entries)


def docs(
    kind: DeprecationKind = DeprecationKind.NONE,
    description: str | None = "An image.",
    text: str | None = None,
) -> DocsInfo:
    if kind is not DeprecationKind.NONE and text is None:
        text = "some note"
    return DocsInfo(name="x", deprecation=kind, deprecated_text=text, description=description)


def hub(description: str | None) -> HubRepository:
    return HubRepository(
        namespace="library",
        name="x",
        description=description,
        star_count=None,
        pull_count=None,
        last_updated=None,
        date_registered=None,
        status=None,
    )


@pytest.mark.parametrize(
    ("library", "doc", "on_hub", "state", "published", "reason_part"),
    [
        # the short description marker, from the docs or from the Hub
        (
            manifest("x", "1"),
            docs(description="DEPRECATED; use y"),
            None,
            "deprecated",
            True,
            "README-short.txt",
        ),
        (manifest("x", "1"), docs(), hub("DEPRECATED. Use y."), "deprecated", True, "Docker Hub"),
        (
            manifest("x", "1"),
            docs(description="Not DEPRECATED at all"),
            None,
            "active",
            True,
            "lists 1 tags",
        ),
        # deprecated.md that retires the image, or only informs
        (
            manifest("x", "1"),
            docs(DeprecationKind.DEPRECATED),
            None,
            "deprecated",
            True,
            "deprecated.md",
        ),
        (manifest("x", "1"), docs(DeprecationKind.NOTICE), None, "active", True, "lists 1 tags"),
        # the library file
        (manifest("x"), docs(), None, "deprecated", False, "lists no tags"),
        (None, docs(), hub("An image."), "deprecated", False, "no library file"),
        (None, None, hub("An image."), "removed", False, "neither a library file nor docs"),
    ],
)
def test_each_rule(
    library: LibraryManifest | None,
    doc: DocsInfo | None,
    on_hub: HubRepository | None,
    state: str,
    published: bool,
    reason_part: str,
) -> None:
    got, reason = decide_state(library, doc, on_hub)
    assert (got.value, is_published(library)) == (state, published)
    assert reason_part in reason


# --- the history the store keeps --------------------------------------------------------


def test_state_history_records_when_an_image_stops_being_published(store_url: str) -> None:
    deprecated_note = docs(DeprecationKind.DEPRECATED, text="This image is deprecated.")
    steps = [
        (DAY0, manifest("x", "1")),  # active
        (DAY0 + timedelta(days=1), manifest("x", "1")),  # unchanged: no history row
        (DAY0 + timedelta(days=2), manifest("x", "1")),  # deprecated, still published
        (DAY0 + timedelta(days=3), manifest("x")),  # deprecated, no longer published
    ]
    with Store.open(store_url) as store:
        for number, (when, library) in enumerate(steps):
            doc = deprecated_note if number >= 2 else docs()
            with store.transaction() as conn:
                snapshot = record_snapshot(
                    conn, assemble({"x": library}, {"x": doc}), now=when, sources={}
                )
        with store.read() as conn:
            history = state_history(conn, "x")
            (stored,) = snapshot_entries(conn, snapshot.id)
    assert [(h.state.value, h.published, h.since) for h in history] == [
        ("active", True, DAY0),
        ("deprecated", True, DAY0 + timedelta(days=2)),
        ("deprecated", False, DAY0 + timedelta(days=3)),
    ]
    # still deprecated since the day it became so, whatever happened to publishing after
    assert stored.state_since == DAY0 + timedelta(days=2)
    assert stored.entry.published is False
