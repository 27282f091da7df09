"""policy: the verdict of each decision (image_verdicts), history kept.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("index_digest", sa.String(100), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("repository", sa.String(255), nullable=True),
        sa.Column("tag", sa.String(255), nullable=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_name", sa.String(255), nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_verdicts"),
    )
    op.create_index("ix_image_verdicts_digest_time", "image_verdicts", ["digest", "decided_at"])
    op.create_index("ix_image_verdicts_repository_tag", "image_verdicts", ["repository", "tag"])


def downgrade() -> None:
    op.drop_index("ix_image_verdicts_repository_tag", table_name="image_verdicts")
    op.drop_index("ix_image_verdicts_digest_time", table_name="image_verdicts")
    op.drop_table("image_verdicts")
