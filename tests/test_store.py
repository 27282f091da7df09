"""The store on SQLite and PostgreSQL: migrations, transactions, runs, timestamps."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    with Store.open(store_url, migrate=False) as store:
        store.upgrade()
        assert _schema_diff(store) == []


def _described(store: Store) -> dict[str, object]:
    """Every table as the database reports it: columns in order with their types, nulls
    and defaults, keys, foreign keys with their actions, indexes, unique and check rules."""
    from sqlalchemy import inspect

    with store.read() as conn:
        seen = inspect(conn)
        found: dict[str, object] = {}
        for table in sorted(seen.get_table_names()):

            def rows(items: list[dict[str, object]]) -> list[str]:
                return sorted(repr(sorted(item.items())) for item in items)

            columns = [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in seen.get_columns(table)
            ]
            found[table] = {
                "columns": columns,
                "primary": seen.get_pk_constraint(table),
                "foreign": rows(seen.get_foreign_keys(table)),  # type: ignore[arg-type]
                "indexes": rows(seen.get_indexes(table)),  # type: ignore[arg-type]
                "unique": rows(seen.get_unique_constraints(table)),  # type: ignore[arg-type]
                "checks": rows(seen.get_check_constraints(table)),  # type: ignore[arg-type]
            }
    return found


def test_a_new_store_gets_the_schema_the_migrations_build(store_url: str) -> None:
    """A new store is created from the declared schema in one step (no migration replayed):
    table for table, the same as running every migration from base gives."""
    from sqlalchemy import MetaData

    with Store.open(store_url, migrate=False) as store:
        store.upgrade()
        migrated = _described(store)
        with store.transaction() as conn:
            everything = MetaData()
            everything.reflect(conn)
            everything.drop_all(conn)
    with Store.open(store_url) as store:
        assert store.schema_state().current == HEAD_REVISION
        created = _described(store)
        assert _schema_diff(store) == []
    assert "alembic_version" in created
    assert created == migrated


def test_a_new_store_is_created_without_replaying_migrations(tmp_path: Path) -> None:
    """Creating the store is on a first run's path: Alembic stays unimported."""
    url = f"sqlite:///{tmp_path / 'new' / 'imagetrust.db'}"
    code = (
        "import sys\n"
        "from imagetrust.store.database import Store\n"
        f"Store.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
    with Store.open(url) as store:
        assert store.schema_state().up_to_date


def test_a_database_with_other_tables_is_migrated_not_created_over(store_url: str) -> None:
    """Tables already there (another application's): the migrations run, as before, and
    leave them be."""
    with Store.open(store_url, migrate=False) as store, store.transaction() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO someone_elses (id) VALUES (7)"))
    with Store.open(store_url) as store:
        assert store.schema_state().up_to_date
        assert _schema_diff(store)  # their table is not ours: it shows as extra
        with store.read() as conn:
            assert conn.execute(text("SELECT id FROM someone_elses")).scalar_one() == 7
            assert conn.execute(select(repositories)).all() == []


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


def test_vulndb_rows_written_at_0004_survive_the_generations_upgrade(store_url: str) -> None:
    """SQLite rebuilds vuln_records for 0005; with foreign keys on, dropping the old table
    would cascade into every affected entry. Rows of an unfinished old import stay too."""
    from imagetrust.vulndb.query import affected_records, db_status

    with Store.open(store_url, migrate=False) as store:
        store.upgrade("0004")
        with store.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO vuln_sources (id, name, kind, path, version, generation,"
                    " imported_at, counts) VALUES (1, 'osv', 'osv-zip', '/x', 'v1', 3, :t, '{}')"
                ),
                {"t": NOW},
            )
            for pk, record_id, generation in [(1, "DSA-1", 3), (2, "DSA-2", 2)]:
                conn.execute(
                    text(
                        "INSERT INTO vuln_records (id, source_id, record_id, generation,"
                        ' content_hash, aliases, upstream, related, severity, "references")'
                        " VALUES (:pk, 1, :rid, :g, 'h', '[]', '[]', '[]', '[]', '[]')"
                    ),
                    {"pk": pk, "rid": record_id, "g": generation},
                )
                conn.execute(
                    text(
                        "INSERT INTO vuln_affected (record_pk, ecosystem, ecosystem_base,"
                        " package, name, ranges, versions, severity)"
                        " VALUES (:pk, 'Debian:12', 'Debian', 'zlib', 'zlib', '[]', '[]', '[]')"
                    ),
                    {"pk": pk},
                )
        store.upgrade()
        with store.read() as conn:
            found = sorted(e.record_id for e in affected_records(conn, "Debian:12", "zlib"))
            status = db_status(conn)
        assert found == ["DSA-1", "DSA-2"]
        assert (status.records, status.affected_entries) == (2, 2)
        [source] = status.sources
        assert (source.state, source.version, source.import_pending) == ("live", "v1", False)
        store.downgrade("0004")  # and back: the live generation survives that too
        with store.read() as conn:
            rows = conn.execute(text("SELECT count(*) FROM vuln_affected")).scalar_one()
        assert rows == 2


def test_read_only_commands_create_nothing(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from imagetrust.cli.main import main

    base = tmp_path / "x"  # type: ignore[operator]
    url = f"sqlite:///{base}/a/b.db"
    assert main(["--db-url", url, "store", "status", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["exists"], doc["revision"], doc["backend"]) == (False, None, "sqlite")
    assert main(["--db-url", url, "store", "status"]) == 0
    assert "none" in capsys.readouterr().out
    assert main(["--db-url", url, "db", "status"]) == 1
    err = capsys.readouterr().err
    assert f"no store at {base}/a/b.db yet" in err and "hint:" in err
    assert not base.exists()
    assert main(["--db-url", url, "store", "migrate"]) == 0  # a command that writes creates it
    assert (base / "a" / "b.db").is_file()


@pytest.mark.postgres
def test_read_only_commands_create_no_tables_on_postgres(
    postgres_server: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    from imagetrust.cli.main import main
    from tests.conftest import create_pg_database

    url = create_pg_database(postgres_server)  # type: ignore[arg-type]
    assert main(["--db-url", url, "store", "status"]) == 0
    assert main(["--db-url", url, "db", "status"]) == 1
    assert main(["--db-url", url, "catalog", "--no-refresh"]) == 1
    assert "no imagetrust tables" in capsys.readouterr().err
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname='public'").fetchone()
    assert tables == (0,)


def test_a_read_is_one_snapshot_while_others_commit(store_url: str) -> None:
    """Every statement of one ``read()`` sees the store as of its first one, so a scan never
    mixes two states of the database (an import switching generations meanwhile)."""
    with Store.open(store_url) as store:
        with store.transaction() as conn:
            upsert_repository(conn, "python", now=NOW)
        with store.read() as reader:
            assert [r.name for r in list_repositories(reader)] == ["python"]
            with store.transaction() as writer:
                upsert_repository(writer, "alpine", now=NOW)
            assert [r.name for r in list_repositories(reader)] == ["python"]
        with store.read() as conn:
            assert [r.name for r in list_repositories(conn)] == ["alpine", "python"]


def test_a_unit_of_work_reads_and_writes_as_one_step(store_url: str) -> None:
    """A transaction that reads then writes holds the write lock from its start (SQLite's
    ``BEGIN IMMEDIATE``; row locks on PostgreSQL): a second writer waits instead of both
    acting on what they read."""
    import threading

    from sqlalchemy import func, update

    with Store.open(store_url) as store:
        with store.transaction() as conn:
            upsert_repository(conn, "python", now=NOW)
        order: list[str] = []
        first_in = threading.Event()

        def bump(name: str, hold: float) -> None:
            with store.transaction() as conn:
                if store.backend == "postgresql":  # what the first statement locks
                    conn.execute(select(repositories.c.id).with_for_update())
                seen = conn.execute(select(func.max(repositories.c.last_seen))).scalar_one()
                first_in.set()
                order.append(f"{name} read")
                threading.Event().wait(hold)
                conn.execute(update(repositories).values(last_seen=seen + timedelta(days=1)))
                order.append(f"{name} wrote")

        one = threading.Thread(target=bump, args=("one", 0.5))
        one.start()
        first_in.wait(10)
        two = threading.Thread(target=bump, args=("two", 0))
        two.start()
        one.join(30)
        two.join(30)
        with store.read() as conn:
            last = conn.execute(select(repositories.c.last_seen)).scalar_one()
    assert order == ["one read", "one wrote", "two read", "two wrote"]
    assert last == NOW + timedelta(days=2)  # neither bump was lost
