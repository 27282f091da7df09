"""Opening the store, checking its schema, and migrating it.

Opening is on the start-up path of most commands, so the schema check is one cheap query
against ``alembic_version``; Alembic itself is imported only when an upgrade is due.
Migrations are serialised between processes (an advisory lock on PostgreSQL, a lock file
beside the SQLite database), so two commands started at once cannot both create tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
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


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {path.parent}: {exc}") from None
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
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
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect; with ``migrate`` bring an older schema up to date first."""
        store = cls(create_store_engine(url), url)
        state = store.schema_state()
        if state.current is not None and not _known_revision(state.current):
            store.close()
            raise StoreError(
                f"the store at {store.display_url} has schema {state.current}, newer than "
                f"this imagetrust understands (head {state.head}); upgrade imagetrust"
            )
        if migrate and not state.up_to_date:
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
        with self._translate_errors(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translate_errors(), self.engine.connect() as conn:
            yield conn

    def schema_state(self) -> SchemaState:
        with self.read() as conn:
            return SchemaState(_read_revision(conn), HEAD_REVISION)

    def upgrade(self, target: str = "head") -> SchemaState:
        """Run Alembic up to ``target``, holding the cross-process migration lock."""
        with self._migration_lock(), self.transaction() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            _run_alembic(conn, "upgrade", target)
        return self.schema_state()

    def downgrade(self, target: str) -> SchemaState:
        with self._migration_lock(), self.transaction() as conn:
            _run_alembic(conn, "downgrade", target)
        return self.schema_state()

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
