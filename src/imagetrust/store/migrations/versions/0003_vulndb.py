"""vulndb: advisory sources, records, and affected packages indexed by (ecosystem, package).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vuln_sources",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("version", sa.String(128), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vuln_sources"),
        sa.UniqueConstraint("name", name="uq_vuln_sources_name"),
    )
    op.create_table(
        "vuln_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn", sa.DateTime(timezone=True), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("upstream", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("severity", sa.JSON(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("database_specific", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vuln_records"),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["vuln_sources.id"],
            name="fk_vuln_records_source_id_vuln_sources",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("source_id", "record_id", name="uq_vuln_records_source_record"),
    )
    op.create_table(
        "vuln_affected",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_pk", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(128), nullable=False),
        sa.Column("ecosystem_base", sa.String(64), nullable=False),
        sa.Column("package", sa.String(512), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("severity", sa.JSON(), nullable=False),
        sa.Column("ecosystem_specific", sa.JSON(), nullable=True),
        sa.Column("database_specific", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vuln_affected"),
        sa.ForeignKeyConstraint(
            ["record_pk"],
            ["vuln_records.id"],
            name="fk_vuln_affected_record_pk_vuln_records",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_vuln_affected_ecosystem_package", "vuln_affected", ["ecosystem", "package"])
    op.create_index("ix_vuln_affected_record_pk", "vuln_affected", ["record_pk"])


def downgrade() -> None:
    op.drop_index("ix_vuln_affected_record_pk", table_name="vuln_affected")
    op.drop_index("ix_vuln_affected_ecosystem_package", table_name="vuln_affected")
    op.drop_table("vuln_affected")
    op.drop_table("vuln_records")
    op.drop_table("vuln_sources")
