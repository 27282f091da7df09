"""vulndb: finding sets of other engines (trivy, grype) beside ours; the publisher's SBOM.

A finding set now says which engine matched (``builtin`` for every set written before), so
an imported Trivy or Grype report is a set of its own for the same image, and a re-import
replaces only that engine's set. The publisher's SBOM attestations are a package source of
their own, kept beside our analysis for the cross-check.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finding_sets") as batch:
        batch.add_column(
            sa.Column("engine", sa.String(32), nullable=False, server_default="builtin")
        )
        batch.add_column(sa.Column("packages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("engine_detail", sa.JSON(), nullable=True))
        batch.drop_constraint("uq_finding_sets_state", type_="unique")
        batch.create_unique_constraint(
            "uq_finding_sets_state", ["digest", "analyser_version", "engine", "db_state_key"]
        )
    op.create_table(
        "publisher_sboms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("index_digest", sa.String(100), nullable=True),
        sa.Column("attestation_digest", sa.String(100), nullable=True),
        sa.Column("statement_digest", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("predicate_type", sa.String(255), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("packages", sa.JSON(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_publisher_sboms"),
    )
    op.create_index("ix_publisher_sboms_digest", "publisher_sboms", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_publisher_sboms_digest", table_name="publisher_sboms")
    op.drop_table("publisher_sboms")
    # Only our own sets fit the old key: other engines' sets go, with their items.
    op.execute(
        "DELETE FROM finding_set_items WHERE set_id IN"
        " (SELECT id FROM finding_sets WHERE engine <> 'builtin')"
    )
    op.execute("DELETE FROM finding_sets WHERE engine <> 'builtin'")
    with op.batch_alter_table("finding_sets") as batch:
        batch.drop_constraint("uq_finding_sets_state", type_="unique")
        batch.create_unique_constraint(
            "uq_finding_sets_state", ["digest", "analyser_version", "db_state_key"]
        )
        batch.drop_column("engine_detail")
        batch.drop_column("packages")
        batch.drop_column("engine")
