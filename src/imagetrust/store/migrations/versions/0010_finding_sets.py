"""vulndb: stored findings, one set per image and vulnerability-database state.

A set holds what matching one image's SBOM against one state of the database found:
findings, what could not be judged (not covered), whether the SBOM was complete. A
database change yields a new set beside the old one, so evaluation, history and reports
read findings without matching again, and what an image's findings were on a date stays
answerable.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_sets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("analyser_version", sa.String(200), nullable=False),
        sa.Column("db_state", sa.JSON(), nullable=False),
        sa.Column("db_state_key", sa.String(64), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("incomplete", sa.JSON(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("not_covered", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("known_exploited", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_sets"),
        sa.UniqueConstraint(
            "digest", "analyser_version", "db_state_key", name="uq_finding_sets_state"
        ),
    )
    op.create_index("ix_finding_sets_digest", "finding_sets", ["digest"])
    op.create_table(
        "finding_set_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("vuln_id", sa.String(255), nullable=False),
        sa.Column("package", sa.String(512), nullable=False),
        sa.Column("installed_version", sa.Text(), nullable=False),
        sa.Column("fixed_version", sa.Text(), nullable=True),
        sa.Column("fix_state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("known_exploited", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_set_items"),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["finding_sets.id"],
            name="fk_finding_set_items_set_id_finding_sets",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_finding_set_items_set_id", "finding_set_items", ["set_id"])


def downgrade() -> None:
    op.drop_index("ix_finding_set_items_set_id", table_name="finding_set_items")
    op.drop_table("finding_set_items")
    op.drop_index("ix_finding_sets_digest", table_name="finding_sets")
    op.drop_table("finding_sets")
