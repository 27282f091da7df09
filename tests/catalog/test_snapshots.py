"""State rules, snapshot history, state changes and pull deltas, on both store backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from imagetrust.catalog.assemble import assemble, decide_state
from imagetrust.catalog.models import (
    DeprecationKind,
    DocsInfo,
    HubRepository,
    HubTag,
    HubTagImage,
    LibraryEntry,
    LibraryManifest,
    RepoState,
)
from imagetrust.catalog.refresh import CatalogInputs, ItemProblem, refresh_catalog
from imagetrust.catalog.snapshots import (
    latest_snapshot,
    pull_deltas,
    record_snapshot,
    snapshot_entries,
    state_history,
)
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, list_runs, run_item_errors

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def manifest(
    name: str, *tag_groups: tuple[str, ...], arches: tuple[str, ...] = ("amd64",)
) -> LibraryManifest:
    entries = tuple(LibraryEntry(tags=tags, architectures=arches) for tags in tag_groups)
    return LibraryManifest(name=name, path=f"library/{name}", maintainers=(), entries=entries)


def hub(name: str, pulls: int | None, description: str | None = None) -> HubRepository:
    return HubRepository(
        namespace="library",
        name=name,
        description=description,
        star_count=10,
        pull_count=pulls,
        last_updated=DAY0,
        date_registered=DAY0,
        status="active",
        categories=("os",),
    )


def docs(name: str, kind: DeprecationKind, text: str | None = None) -> DocsInfo:
    return DocsInfo(
        name=name,
        deprecation=kind,
        deprecated_text=text,
        categories=("languages-and-frameworks",),
        description=f"{name} docs",
    )


@pytest.mark.parametrize(
    ("library", "doc", "on_hub", "state", "reason_part"),
    [
        (manifest("x", ("1", "latest")), None, True, RepoState.ACTIVE, "lists 2 tags"),
        (manifest("x", ()), None, True, RepoState.DEPRECATED, "no tags"),
        (
            manifest("x", ("1",)),
            docs("x", DeprecationKind.DEPRECATED, "gone"),
            True,
            RepoState.DEPRECATED,
            "deprecated.md",
        ),
        (
            manifest("x", ("1",)),
            docs("x", DeprecationKind.NOTICE, "note"),
            True,
            RepoState.ACTIVE,
            "lists 1 tags",
        ),
        (None, None, True, RepoState.REMOVED, "neither a library file nor docs"),
        (None, docs("x", DeprecationKind.NONE), False, RepoState.DEPRECATED, "no library file"),
    ],
)
def test_state_rules(
    library: LibraryManifest | None,
    doc: DocsInfo | None,
    on_hub: bool,
    state: RepoState,
    reason_part: str,
) -> None:
    got, reason = decide_state(library, doc, hub("x", 1) if on_hub else None)
    assert got is state and reason_part in reason


def test_assemble_merges_sources_and_keeps_notices() -> None:
    entries = assemble(
        {
            "nextcloud": manifest("nextcloud", ("31", "latest"), arches=("arm64v8", "amd64")),
            "java": manifest("java"),
        },
        {
            "nextcloud": docs("nextcloud", DeprecationKind.NOTICE, "  # IMPORTANT NOTE\nuse AIO "),
            "java": docs("java", DeprecationKind.DEPRECATED, "This image is officially deprecated"),
        },
        {"nextcloud": hub("nextcloud", 5, "<b>cloud</b>"), "sentry": hub("sentry", 99)},
        {"nextcloud": 420},
    )
    by_name = {e.name: e for e in entries}
    assert list(by_name) == ["java", "nextcloud", "sentry"]
    nc = by_name["nextcloud"]
    assert nc.state is RepoState.ACTIVE and nc.notice == "# IMPORTANT NOTE\nuse AIO"
    assert nc.architectures == ("amd64", "arm64v8") and nc.supported_tags == ("31", "latest")
    assert nc.description == "<b>cloud</b>" and nc.tag_count == 420 and nc.categories == ("os",)
    assert nc.sources == ("library", "docs", "hub")
    assert by_name["java"].state is RepoState.DEPRECATED
    assert by_name["java"].description == "java docs"
    assert by_name["sentry"].state is RepoState.REMOVED and by_name["sentry"].pull_count == 99


def _snap(
    store: Store,
    when: datetime,
    pulls: dict[str, int | None],
    library: dict[str, LibraryManifest] | None = None,
) -> int:
    lib = library if library is not None else {n: manifest(n, ("latest",)) for n in pulls}
    entries = assemble(lib, {}, {n: hub(n, p) for n, p in pulls.items()})
    with store.transaction() as conn:
        return record_snapshot(conn, entries, now=when, sources={"hub": "test"}).id


def test_snapshots_keep_history_and_state_changes_once(store_url: str) -> None:
    with Store.open(store_url) as store:
        _snap(store, DAY0, {"python": 100, "java": 50})
        _snap(store, DAY0 + timedelta(days=1), {"python": 110, "java": 51})
        _snap(
            store,
            DAY0 + timedelta(days=2),
            {"python": 120, "java": 52},
            library={"python": manifest("python", ("latest",)), "java": manifest("java")},
        )
        third = _snap(
            store,
            DAY0 + timedelta(days=3),
            {"python": 130, "java": 53},
            library={"python": manifest("python", ("latest",)), "java": manifest("java")},
        )
        with store.read() as conn:
            history = state_history(conn, "java")
            latest = latest_snapshot(conn)
            assert latest is not None and latest.id == third
            rows = {s.entry.name: s for s in snapshot_entries(conn, third)}
            first = latest_snapshot(conn, at_or_before=DAY0 + timedelta(hours=1))
            assert first is not None
            old = {s.entry.name: s.entry for s in snapshot_entries(conn, first.id)}
    assert [(h.state, h.since) for h in history] == [
        (RepoState.ACTIVE, DAY0),
        (RepoState.DEPRECATED, DAY0 + timedelta(days=2)),
    ]
    assert rows["java"].entry.state is RepoState.DEPRECATED
    assert rows["java"].state_since == DAY0 + timedelta(days=2)
    assert rows["python"].state_since == DAY0
    assert old["java"].state is RepoState.ACTIVE and old["java"].pull_count == 50


def test_pull_deltas_between_any_two_snapshots(store_url: str) -> None:
    with Store.open(store_url) as store:
        _snap(store, DAY0, {"alpine": 1_000_000_000_000, "node": 10, "new": None})
        _snap(
            store, DAY0 + timedelta(days=10), {"alpine": 1_000_000_500_000, "node": 30, "new": None}
        )
        _snap(store, DAY0 + timedelta(days=20), {"alpine": 999_000_000_000, "node": 70, "new": 5})
        with store.read() as conn:
            last = latest_snapshot(conn)
            assert last is not None
            previous = pull_deltas(conn, last)
            since_start = pull_deltas(conn, last, since=DAY0 + timedelta(days=1))
            before_any = pull_deltas(conn, last, since=DAY0 - timedelta(days=30))
    assert previous["node"].delta == 40 and previous["node"].per_day == 4.0
    assert previous["node"].base_at == DAY0 + timedelta(days=10)
    assert since_start["node"].delta == 60 and since_start["node"].base_at == DAY0
    assert before_any["node"].base_at == DAY0  # nothing that old: the oldest snapshot
    wrapped = previous["alpine"]
    assert wrapped.unreliable and wrapped.delta is None and wrapped.as_dict()["value"] is None
    assert previous["new"].base is None and previous["new"].delta is None
    assert not previous["new"].unreliable


def test_hub_tags_are_upserted_with_supported_flag(store_url: str) -> None:
    from sqlalchemy import select

    from imagetrust.store.schema import repository_tags

    def tag(name: str, digest: str) -> HubTag:
        return HubTag(
            name=name,
            digest=digest,
            last_updated=DAY0,
            tag_last_pushed=DAY0,
            tag_status="active",
            images=(HubTagImage("amd64", "linux", None, "sha256:" + "1" * 64, 100),),
        )

    entries = assemble(
        {"python": manifest("python", ("3.14", "latest"))}, {}, {"python": hub("python", 1)}
    )
    with Store.open(store_url) as store:
        for day, digest in ((0, "sha256:" + "a" * 64), (1, "sha256:" + "b" * 64)):
            with store.transaction() as conn:
                record_snapshot(
                    conn,
                    entries,
                    now=DAY0 + timedelta(days=day),
                    sources={},
                    tags={"python": [tag("latest", digest), tag("2.7", digest)]},
                )
        with store.read() as conn:
            rows = {r.name: r for r in conn.execute(select(repository_tags))}
    assert set(rows) == {"latest", "2.7"}
    assert rows["latest"].supported and not rows["2.7"].supported
    assert rows["latest"].digest == "sha256:" + "b" * 64
    assert rows["latest"].first_seen == DAY0 and rows["latest"].last_seen == DAY0 + timedelta(1)
    assert rows["latest"].images[0]["architecture"] == "amd64"


def test_refresh_records_a_partial_run_with_item_errors(store_url: str) -> None:
    def load() -> CatalogInputs:
        return CatalogInputs(
            library={"python": manifest("python", ("latest",))},
            problems=[ItemProblem("library", "library/broken", "broken:3: unknown field")],
            sources={"library": "test"},
        )

    with Store.open(store_url) as store:
        result = refresh_catalog(store, load, now=DAY0, parameters={"offline": True})
        with store.read() as conn:
            (run,) = list_runs(conn)
            errors = run_item_errors(conn, run.id)
    assert run.status is RunStatus.PARTIAL and run.summary is not None
    assert run.summary["states"] == {"active": 1}
    assert [(e.stage, e.item) for e in errors] == [("catalog.library", "library/broken")]
    assert result.snapshot.repository_count == 1


def test_refresh_failure_leaves_a_failed_run_and_no_snapshot(store_url: str) -> None:
    def load() -> CatalogInputs:
        raise RuntimeError("hub went away")

    with Store.open(store_url) as store:
        with pytest.raises(RuntimeError):
            refresh_catalog(store, load, now=DAY0, parameters={})
        with store.read() as conn:
            (run,) = list_runs(conn)
            assert latest_snapshot(conn) is None
            assert run_item_errors(conn, run.id)[0].message == "hub went away"
    assert run.status is RunStatus.FAILED


@pytest.mark.parametrize("failing_step", ["item errors", "finish"])
def test_a_failure_after_the_snapshot_is_written_leaves_no_trace_of_it(
    store_url: str, monkeypatch: pytest.MonkeyPatch, failing_step: str
) -> None:
    # The snapshot, its item errors and the run's outcome are one transaction: a failure
    # in the steps after record_snapshot must take the snapshot back with it.
    import imagetrust.catalog.refresh as refresh
    from imagetrust.store.runs import table_counts

    written: list[int] = []
    real_snapshot, real_error, real_finish = (
        refresh.record_snapshot,
        refresh.record_item_error,
        refresh.finish_run,
    )

    def spy_snapshot(*args: Any, **kwargs: Any) -> Any:
        info = real_snapshot(*args, **kwargs)
        written.append(info.id)
        return info

    def failing_error(*args: Any, stage: str, **kwargs: Any) -> None:
        if failing_step == "item errors" and stage != "catalog":
            raise RuntimeError("disk full")
        real_error(*args, stage=stage, **kwargs)

    def failing_finish(*args: Any, status: RunStatus, **kwargs: Any) -> None:
        if failing_step == "finish" and status is not RunStatus.FAILED:
            raise RuntimeError("disk full")
        real_finish(*args, status=status, **kwargs)

    monkeypatch.setattr(refresh, "record_snapshot", spy_snapshot)
    monkeypatch.setattr(refresh, "record_item_error", failing_error)
    monkeypatch.setattr(refresh, "finish_run", failing_finish)

    def load() -> CatalogInputs:
        return CatalogInputs(
            library={"python": manifest("python", ("latest",)), "java": manifest("java")},
            hub={"python": hub("python", 100), "java": hub("java", 50)},
            problems=[ItemProblem("library", "library/broken", "broken:3: unknown field")],
            sources={"library": "test"},
        )

    tables = ["catalog_snapshots", "repository_snapshots", "repository_states", "repositories"]
    with Store.open(store_url) as store:
        with pytest.raises(RuntimeError, match="disk full"):
            refresh_catalog(store, load, now=DAY0, parameters={})
        with store.read() as conn:
            (run,) = list_runs(conn)
            counts = table_counts(conn, tables)
            snapshot = latest_snapshot(conn)
            errors = run_item_errors(conn, run.id)
    assert written, "the failure must come after the snapshot was written"
    assert snapshot is None and counts == dict.fromkeys(tables, 0)
    assert run.status is RunStatus.FAILED
    assert [(e.stage, e.message) for e in errors] == [("catalog", "disk full")]
