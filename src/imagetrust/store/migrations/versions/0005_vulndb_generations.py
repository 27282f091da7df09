"""vulndb: generations, so an import is all or nothing and readers see whole generations.

A record row now carries the generation that added it (``added_in``, was ``generation``),
the one that removed it (``removed_in``) and the last that saw it (``seen_in``); a record id
may have an old and a new row while an import builds, so it is unique per ``added_in``.
A source keeps its live ``generation``, the newest started (``last_generation``) and the
digest of its live content. Existing rows all belong to their source's live generation.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vuln_sources") as batch:
        batch.add_column(
            sa.Column("last_generation", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("content_digest", sa.String(64), nullable=True))
    with op.batch_alter_table("vuln_records") as batch:
        batch.alter_column("generation", new_column_name="added_in")
        batch.add_column(sa.Column("removed_in", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seen_in", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_vuln_records_source_record", type_="unique")
    with op.batch_alter_table("vuln_records") as batch:  # SQLite: after the rename, not with it
        batch.create_unique_constraint(
            "uq_vuln_records_source_record_added", ["source_id", "record_id", "added_in"]
        )
    # The old importer bumped ``generation`` when an import began and stamped the rows it
    # saw; a source whose last import never finished has rows of two generations. Keep
    # what the old code would have shown: every row, now as the live generation.
    op.execute(
        "UPDATE vuln_records SET added_in = (SELECT generation FROM vuln_sources"
        " WHERE vuln_sources.id = vuln_records.source_id)"
    )
    op.execute("UPDATE vuln_records SET seen_in = added_in")
    op.execute("UPDATE vuln_sources SET last_generation = generation")


def downgrade() -> None:
    # Only the live generation survives: rows being built or already replaced go first.
    live = "(SELECT generation FROM vuln_sources WHERE vuln_sources.id = vuln_records.source_id)"
    hidden = f"added_in > {live} OR (removed_in IS NOT NULL AND removed_in <= {live})"
    op.execute(
        f"DELETE FROM vuln_affected WHERE record_pk IN (SELECT id FROM vuln_records WHERE {hidden})"  # noqa: S608
    )
    op.execute(f"DELETE FROM vuln_records WHERE {hidden}")  # noqa: S608
    op.execute(f"UPDATE vuln_records SET added_in = {live}")  # noqa: S608
    with op.batch_alter_table("vuln_records") as batch:
        batch.drop_constraint("uq_vuln_records_source_record_added", type_="unique")
        batch.drop_column("seen_in")
        batch.drop_column("removed_in")
        batch.alter_column("added_in", new_column_name="generation")
    with op.batch_alter_table("vuln_records") as batch:
        batch.create_unique_constraint("uq_vuln_records_source_record", ["source_id", "record_id"])
    with op.batch_alter_table("vuln_sources") as batch:
        batch.drop_column("content_digest")
        batch.drop_column("last_generation")
