"""Alembic environment: always run in-process on a connection the store hands over."""

from __future__ import annotations

from alembic import context

from imagetrust.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running alembic by hand
    raise RuntimeError("run migrations with `imagetrust store migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
