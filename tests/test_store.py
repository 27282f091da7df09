"""The store on SQLite and PostgreSQL: migrations, transactions, runs, timestamps."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from imagetrust.errors import StoreError
from imagetrust.store.database import Store, revision_history
from imagetrust.store.migrations import HEAD_REVISION
from imagetrust.store.repositories import list_repositories, upsert_repository
from imagetrust.store.runs import (
    RunStatus,
    finish_run,
    list_runs,
    record_item_error,
    run_item_errors,
    start_run,
)
from imagetrust.store.schema import metadata, repositories

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_head_revision_constant_matches_alembic() -> None:
    assert revision_history()[-1] == HEAD_REVISION


def test_open_upgrades_an_empty_database(store_url: str) -> None:
    with Store.open(store_url, migrate=False) as store:
        assert store.schema_state().current is None
    with Store.open(store_url) as store:
        assert store.schema_state().up_to_date
        with store.read() as conn:
            assert conn.execute(select(repositories)).all() == []


def _schema_diff(store: Store) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrations_build_exactly_the_declared_schema(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert _schema_diff(store) == []


@pytest.mark.parametrize("start", ["base", *revision_history()[:-1]])
def test_every_revision_upgrades_to_head(store_url: str, start: str) -> None:
    with Store.open(store_url, migrate=False) as store:
        if start != "base":
            store.upgrade(start)
            assert store.schema_state().current == start
        store.upgrade()
        assert store.schema_state().current == HEAD_REVISION
        assert _schema_diff(store) == []


def test_downgrade_to_base_and_back(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.downgrade("base").current is None
        assert store.upgrade().current == HEAD_REVISION


def test_a_newer_schema_is_refused_with_a_clear_error(store_url: str) -> None:
    with Store.open(store_url) as store, store.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer than this imagetrust"):
        Store.open(store_url)


def test_a_failed_unit_of_work_leaves_nothing_behind(store_url: str) -> None:
    with Store.open(store_url) as store:
        with pytest.raises(RuntimeError), store.transaction() as conn:
            upsert_repository(conn, "python", now=NOW)
            upsert_repository(conn, "node", now=NOW)
            raise RuntimeError("analysis failed half-way")
        with store.read() as conn:
            assert list_repositories(conn) == []


def test_repository_upsert_keeps_first_seen(store_url: str) -> None:
    later = NOW + timedelta(days=3)
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            first = upsert_repository(conn, "python", now=NOW)
        with store.transaction() as conn:
            again = upsert_repository(conn, "python", now=later)
            upsert_repository(conn, "alpine", now=later)
        with store.read() as conn:
            rows = list_repositories(conn)
    assert first == again
    assert [r.name for r in rows] == ["alpine", "python"]
    python = rows[1]
    assert (python.first_seen, python.last_seen) == (NOW, later)


def test_duplicate_repository_violates_the_unique_key(store_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    row = {
        "registry": "docker.io",
        "namespace": "library",
        "name": "x",
        "first_seen": NOW,
        "last_seen": NOW,
    }
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            conn.execute(insert(repositories).values(**row))
        with pytest.raises(IntegrityError), store.transaction() as conn:
            conn.execute(insert(repositories).values(**row))


def test_runs_record_item_errors_and_status(store_url: str) -> None:
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            run_id = start_run(conn, "run", {"tags": "latest"}, NOW)
            record_item_error(
                conn,
                run_id,
                stage="oci",
                item="nuxeo:latest",
                message="HTTP 429 after 5 retries",
                now=NOW,
            )
            record_item_error(
                conn, run_id, stage="sbom", item="java:8", message="corrupt dpkg status", now=NOW
            )
        with store.transaction() as conn:
            other = start_run(conn, "catalog", {}, NOW + timedelta(minutes=1))
            finish_run(
                conn,
                run_id,
                status=RunStatus.PARTIAL,
                now=NOW + timedelta(hours=1),
                summary={"images": 2},
            )
        with store.read() as conn:
            recent = list_runs(conn)
            errors = run_item_errors(conn, run_id)
    assert [r.id for r in recent] == [other, run_id]
    done = recent[1]
    assert done.status is RunStatus.PARTIAL
    assert done.error_count == 2
    assert done.parameters == {"tags": "latest"}
    assert done.summary == {"images": 2}
    assert done.finished_at == NOW + timedelta(hours=1)
    assert recent[0].status is RunStatus.RUNNING and recent[0].error_count == 0
    assert [(e.stage, e.item) for e in errors] == [("oci", "nuxeo:latest"), ("sbom", "java:8")]


def test_timestamps_come_back_aware_utc_and_naive_ones_are_refused(store_url: str) -> None:
    from datetime import timezone

    east = datetime(2026, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            upsert_repository(conn, "debian", now=east)
        with store.read() as conn:
            (row,) = list_repositories(conn)
        assert row.first_seen == east and row.first_seen.tzinfo == UTC
        from sqlalchemy.exc import StatementError

        with pytest.raises(StatementError, match="naive datetime"), store.transaction() as conn:
            upsert_repository(conn, "ubuntu", now=datetime(2026, 1, 1))


def _open_in_child(url: str) -> str | None:
    with Store.open(url) as store:
        return store.schema_state().current


def test_concurrent_first_use_migrates_once(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.map(_open_in_child, [store_url] * 3)
    assert results == [HEAD_REVISION] * 3


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    from tests.services.postgres import free_port

    url = f"postgresql+psycopg://user:s3cretpw@127.0.0.1:{free_port()}/db?connect_timeout=2"
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert "unavailable" in info.value.message
    assert "s3cretpw" not in info.value.message


def test_data_written_at_the_previous_revision_survives_the_upgrade(store_url: str) -> None:
    history = revision_history()
    if len(history) < 2:
        pytest.skip("only one revision exists")
    with Store.open(store_url, migrate=False) as store:
        store.upgrade(history[-2])
        with store.transaction() as conn:
            run_id = start_run(conn, "catalog", {"offline": True}, NOW)
            record_item_error(conn, run_id, stage="catalog", item="x", message="m", now=NOW)
            upsert_repository(conn, "python", now=NOW)
        store.upgrade()
        with store.read() as conn:
            (run,) = list_runs(conn)
            assert (run.id, run.kind, run.error_count) == (run_id, "catalog", 1)
            assert [r.name for r in list_repositories(conn)] == ["python"]
