"""Opening the store, checking its schema, and migrating it.

Opening is on the start-up path of most commands, so the schema check is one cheap query
against ``alembic_version``; Alembic itself is imported only when an upgrade is due.
Migrations are serialised between processes (an advisory lock on PostgreSQL, a lock file
beside the SQLite database), so two commands started at once cannot both create tables.

Transactions mean the same on both backends. Python's sqlite3 module would only open a
transaction at the first write, so the reads before it saw other commits, and every read
connection saw each statement's own moment; here SQLite runs in autocommit at the driver
and the store issues ``BEGIN IMMEDIATE`` for a unit of work (the write lock taken first, so
its reads and writes are one atomic step) and ``BEGIN`` for a read (one WAL snapshot for
all its statements). PostgreSQL reads run at REPEATABLE READ for the same reason: a scan
reading while an import switches generations sees the old generation or the new, whole.

Read-only commands open with ``create=False``: nothing is created (no folder, no file, no
tables), and a missing store is a ``StoreMissing`` error saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from imagetrust.errors import StoreError
from imagetrust.store.migrations import HEAD_REVISION
from imagetrust.store.url import redact_url, sqlite_path

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x696D6774  # "imgt": one advisory lock id for schema changes


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class StoreMissing(StoreError):
    """A read-only command found no store: it says so rather than creating an empty one."""


_WRITE = "imagetrust_write"  # execution option: this connection's transaction will write


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the store, not the driver, opens transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_store_engine(url: str, *, create: bool = True) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.is_file():
            raise StoreMissing(
                f"no store at {path} yet",
                hint="the first command that writes creates it (e.g. `imagetrust store migrate`)",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {path.parent}: {exc}") from None
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
    return engine


def _read_revision(conn: Connection) -> str | None:
    if conn.dialect.name == "sqlite":
        exists = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'")
        ).first()
    else:
        exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    if not exists:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class Store:
    """One database connection pool plus the schema bookkeeping around it."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, create: bool = True) -> Store:
        """Connect; with ``migrate`` bring an older schema up to date first.

        ``create=False`` is for commands that only read: a store that does not exist yet
        (no SQLite file, or a database without our tables) raises ``StoreMissing`` and
        nothing is created.
        """
        store = cls(create_store_engine(url, create=create), url)
        state = store.schema_state()
        if state.current is None and not create:
            store.close()
            raise StoreMissing(
                f"no store at {store.display_url} yet (the database holds no imagetrust tables)",
                hint="the first command that writes creates it (e.g. `imagetrust store migrate`)",
            )
        if state.current is not None and not _known_revision(state.current):
            store.close()
            raise StoreError(
                f"the store at {store.display_url} has schema {state.current}, newer than "
                f"this imagetrust understands (head {state.head}); upgrade imagetrust"
            )
        if migrate and not state.up_to_date:
            if state.current is None:
                store.create()
            else:
                store.upgrade()
        return store

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """All writes for one unit of work (one image, one catalog snapshot) go here."""
        with self._translate_errors(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot: every statement sees the store as of the first one."""
        with self._translate_errors(), self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    def schema_state(self) -> SchemaState:
        with self.read() as conn:
            return SchemaState(_read_revision(conn), HEAD_REVISION)

    def create(self) -> SchemaState:
        """A new store: the declared schema at once, stamped with the head revision.

        Replaying every migration on an empty database costs more than the rest of a first
        run's start-up (0.5 s of Alembic and table copies on SQLite, against 0.05 s), for
        the same schema (a test compares the two, table by table). A database that already
        holds tables (another application's, or a store from before Alembic stamped it) is
        migrated as before, so nothing is created over what is there.
        """
        with self._migration_lock(), self._migration_transaction() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            if _read_revision(conn) is not None:  # another process created it meanwhile
                return self.schema_state()
            if _table_names(conn):
                _run_alembic(conn, "upgrade", "head")
            else:
                from imagetrust.store.schema import metadata

                log.info("store: new schema at %s", HEAD_REVISION)
                metadata.create_all(conn)
                _ALEMBIC_VERSION.create(conn)
                conn.execute(_ALEMBIC_VERSION.insert().values(version_num=HEAD_REVISION))
        return self.schema_state()

    def upgrade(self, target: str = "head") -> SchemaState:
        """Run Alembic up to ``target``, holding the cross-process migration lock."""
        with self._migration_lock(), self._migration_transaction() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            _run_alembic(conn, "upgrade", target)
        return self.schema_state()

    def downgrade(self, target: str) -> SchemaState:
        with self._migration_lock(), self._migration_transaction() as conn:
            _run_alembic(conn, "downgrade", target)
        return self.schema_state()

    @contextlib.contextmanager
    def _migration_transaction(self) -> Iterator[Connection]:
        """One transaction for the whole migration; on SQLite with foreign keys off.

        SQLite changes a table by copying it into a new one and dropping the old, and with
        foreign keys on, dropping a table deletes its rows first, cascading into the tables
        that refer to it (every affected entry of every advisory, for one). SQLite's own
        procedure for schema changes turns them off outside the transaction and checks
        them before committing, which is what this does.
        """
        if self.backend != "sqlite":
            with self.transaction() as conn:
                yield conn
            return
        with self._translate_errors(), self.engine.connect() as conn:
            raw = conn.connection.driver_connection  # a pragma, outside any transaction
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise StoreError(f"migration broke a foreign key: {tuple(broken)}")
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        path = sqlite_path(self.url)
        if path is None:
            yield
            return
        lock_path = path.with_name(path.name + ".migrate-lock")
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, DBAPIError) as exc:
            if exc.connection_invalidated or isinstance(exc, OperationalError):
                detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise StoreError(
                    f"store {self.display_url} unavailable: {redact_url(detail)}"
                ) from exc
            raise


# Alembic's own bookkeeping table, as ``alembic upgrade`` creates it.
_ALEMBIC_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _table_names(conn: Connection) -> list[str]:
    from sqlalchemy import inspect

    return list(inspect(conn).get_table_names())


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def _run_alembic(conn: Connection, action: str, target: str) -> None:
    from alembic import command

    log.info("store: %s to %s", action, target)
    getattr(command, action)(_alembic_config(conn), target)


def _known_revision(revision: str) -> bool:
    return (MIGRATIONS_DIR / "versions").is_dir() and any(
        path.name.startswith(f"{revision}_") for path in (MIGRATIONS_DIR / "versions").glob("*.py")
    )


def revision_history() -> list[str]:
    """Every revision from base to head, in order (imports Alembic)."""
    from alembic.script import ScriptDirectory

    from imagetrust.store.migrations import HEAD_REVISION as _head

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revisions = [rev.revision for rev in script.walk_revisions("base", _head)]
    return list(reversed(revisions))
