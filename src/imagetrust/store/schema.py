"""The tables, as SQLAlchemy Core metadata: the target the migrations must produce.

A test compares this metadata with the database the migrations build, so the two cannot
drift apart. Tables are grouped by the stage that owns them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from imagetrust.store.types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# --- runs: every command that does work records one, with per-item errors -------------
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("parameters", JSON, nullable=False),
    Column("summary", JSON, nullable=True),
    Column("imagetrust_version", String(32), nullable=False),
)

run_errors = Table(
    "run_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("stage", String(32), nullable=False),
    Column("item", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index("ix_run_errors_run_id", "run_id"),
)

# --- catalog: the repositories we know of --------------------------------------------
repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("registry", String(255), nullable=False),
    Column("namespace", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    UniqueConstraint("registry", "namespace", "name", name="uq_repositories_ref"),
)
