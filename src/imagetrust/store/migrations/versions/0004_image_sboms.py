"""sbom: stored SBOMs, one per platform manifest digest and analyser version; vulndb: an
index on record ids, for severity by alias.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_sboms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("analyser_version", sa.String(200), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("os_id", sa.String(64), nullable=True),
        sa.Column("os_version", sa.String(64), nullable=True),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_sboms"),
        sa.UniqueConstraint("digest", "analyser_version", name="uq_image_sboms_digest_analyser"),
    )
    op.create_index("ix_vuln_records_record_id", "vuln_records", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_vuln_records_record_id", table_name="vuln_records")
    op.drop_table("image_sboms")
