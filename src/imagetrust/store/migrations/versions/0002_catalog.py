"""Catalog: snapshots per run, repository snapshots, state history, Hub tags.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("repository_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_snapshots"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_catalog_snapshots_run_id_runs", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_catalog_snapshots_taken_at", "catalog_snapshots", ["taken_at"])
    op.create_table(
        "repository_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("supported_tags", sa.JSON(), nullable=False),
        sa.Column("tag_count", sa.Integer(), nullable=True),
        sa.Column("architectures", sa.JSON(), nullable=False),
        sa.Column("pull_count", sa.BigInteger(), nullable=True),
        sa.Column("star_count", sa.Integer(), nullable=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("github_repo", sa.Text(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repository_snapshots"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["catalog_snapshots.id"],
            name="fk_repository_snapshots_snapshot_id_catalog_snapshots",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name="fk_repository_snapshots_repository_id_repositories",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("snapshot_id", "repository_id", name="uq_repository_snapshots_pair"),
    )
    op.create_index(
        "ix_repository_snapshots_repo_time", "repository_snapshots", ["repository_id", "taken_at"]
    )
    op.create_table(
        "repository_states",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repository_states"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name="fk_repository_states_repository_id_repositories",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["catalog_snapshots.id"],
            name="fk_repository_states_snapshot_id_catalog_snapshots",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_repository_states_repo_since", "repository_states", ["repository_id", "since"]
    )
    op.create_table(
        "repository_tags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(80), nullable=True),
        sa.Column("supported", sa.Boolean(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tag_last_pushed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tag_status", sa.String(32), nullable=True),
        sa.Column("full_size", sa.BigInteger(), nullable=True),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repository_tags"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name="fk_repository_tags_repository_id_repositories",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("repository_id", "name", name="uq_repository_tags_name"),
    )


def downgrade() -> None:
    op.drop_table("repository_tags")
    op.drop_index("ix_repository_states_repo_since", table_name="repository_states")
    op.drop_table("repository_states")
    op.drop_index("ix_repository_snapshots_repo_time", table_name="repository_snapshots")
    op.drop_table("repository_snapshots")
    op.drop_index("ix_catalog_snapshots_taken_at", table_name="catalog_snapshots")
    op.drop_table("catalog_snapshots")
