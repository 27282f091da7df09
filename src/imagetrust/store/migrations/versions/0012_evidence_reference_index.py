"""evaluate: evidence found by reference (a tag's history of digests) through an index.

The report asks, for each image page, which digests its reference was evaluated as; with
only the (digest, time) index that read the whole evidence table once per page, so the
report grew with the square of the catalog (0.04 s per image at 1,000 images, 0.09 s at
8,000).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_image_evidence_reference_platform", "image_evidence", ["reference", "platform"]
    )


def downgrade() -> None:
    op.drop_index("ix_image_evidence_reference_platform", table_name="image_evidence")
