"""catalog: ``published`` beside the state (snapshots and state history); evaluate: evidence
per analysed digest and the facts observed from its index and config.

``published`` is true when the library file lists tags. Rows written before this revision
get it from what they already hold: a snapshot row's ``supported_tags`` are exactly the
library file's tags, and a state row shares its snapshot with a snapshot row.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repository_snapshots") as batch:
        batch.add_column(
            sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("repository_states") as batch:
        batch.add_column(sa.Column("published", sa.Boolean(), nullable=True))
    # json_array_length exists on both backends (SQLite's JSON1, PostgreSQL's json type).
    op.execute(
        "UPDATE repository_snapshots SET published = (json_array_length(supported_tags) > 0)"
    )
    op.execute(
        "UPDATE repository_states SET published = (SELECT s.published FROM repository_snapshots s"
        " WHERE s.snapshot_id = repository_states.snapshot_id"
        " AND s.repository_id = repository_states.repository_id)"
    )
    op.create_table(
        "image_evidence",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("index_digest", sa.String(100), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("repository", sa.String(255), nullable=True),
        sa.Column("tag", sa.String(255), nullable=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("os_eol_status", sa.String(16), nullable=False),
        sa.Column("catalog_state", sa.String(16), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_evidence"),
    )
    op.create_index("ix_image_evidence_digest_time", "image_evidence", ["digest", "evaluated_at"])
    op.create_table(
        "image_observations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("index_digest", sa.String(100), nullable=True),
        sa.Column("healthcheck", sa.Boolean(), nullable=True),
        sa.Column("attestations", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_observations"),
    )
    op.create_index("ix_image_observations_digest", "image_observations", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_image_observations_digest", table_name="image_observations")
    op.drop_table("image_observations")
    op.drop_index("ix_image_evidence_digest_time", table_name="image_evidence")
    op.drop_table("image_evidence")
    with op.batch_alter_table("repository_states") as batch:
        batch.drop_column("published")
    with op.batch_alter_table("repository_snapshots") as batch:
        batch.drop_column("published")
