"""resolve and run: tag history, image platforms, per-image results and findings.

``tag_history`` keeps every (tag, platform) -> digest observation as spans of identical
answers; ``repository_tags`` keeps only the Hub's latest listing, so what it knows now is
copied in as one observation per tag (and per platform image) at the time it was last
seen: that is all anyone knew before. ``image_platforms``, ``image_results`` and
``image_findings`` hold what ``imagetrust run`` works out per image.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from imagetrust.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "repository_id",
            sa.Integer(),
            sa.ForeignKey(
                "repositories.id",
                ondelete="CASCADE",
                name="fk_tag_history_repository_id_repositories",
            ),
            nullable=False,
        ),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tag_history"),
    )
    op.create_index(
        "ix_tag_history_lookup",
        "tag_history",
        ["repository_id", "tag", "platform", "first_seen"],
    )
    op.create_table(
        "image_platforms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("manifest_digest", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_platforms"),
        sa.UniqueConstraint("digest", "platform", name="uq_image_platforms_digest_platform"),
    )
    op.create_table(
        "image_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("manifest_digest", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("analyser_version", sa.String(200), nullable=True),
        sa.Column("db_versions", sa.JSON(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("package_count", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("runs.id", ondelete="SET NULL", name="fk_image_results_run_id_runs"),
            nullable=True,
        ),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_results"),
        sa.UniqueConstraint("digest", "platform", name="uq_image_results_digest_platform"),
    )
    op.create_table(
        "image_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "result_id",
            sa.Integer(),
            sa.ForeignKey(
                "image_results.id",
                ondelete="CASCADE",
                name="fk_image_findings_result_id_image_results",
            ),
            nullable=False,
        ),
        sa.Column("vuln_id", sa.String(255), nullable=False),
        sa.Column("package", sa.String(512), nullable=False),
        sa.Column("installed_version", sa.Text(), nullable=False),
        sa.Column("fixed_version", sa.Text(), nullable=True),
        sa.Column("fix_state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("db_source", sa.String(255), nullable=False),
        sa.Column("db_version", sa.String(128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_findings"),
    )
    op.create_index("ix_image_findings_result_id", "image_findings", ["result_id"])
    _copy_current_tags()


def _platform(image: dict[str, Any]) -> str | None:
    os_name, arch = image.get("os"), image.get("architecture")
    if not os_name or not arch or "unknown" in (os_name, arch):
        return None  # attestation entries are no platform
    return "/".join(str(p) for p in (os_name, arch, image.get("variant")) if p)


def _copy_current_tags() -> None:
    """What ``repository_tags`` knows now becomes the first observation of each tag."""
    tags = sa.table(
        "repository_tags",
        sa.column("repository_id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("digest", sa.String()),
        sa.column("images", sa.JSON()),
        sa.column("last_seen", UtcDateTime()),
    )
    history = sa.table(
        "tag_history",
        sa.column("repository_id", sa.Integer()),
        sa.column("tag", sa.String()),
        sa.column("platform", sa.String()),
        sa.column("digest", sa.String()),
        sa.column("source", sa.String()),
        sa.column("first_seen", UtcDateTime()),
        sa.column("last_seen", UtcDateTime()),
    )
    bind = op.get_bind()
    rows = []
    for row in bind.execute(sa.select(tags).order_by(tags.c.repository_id, tags.c.name)):
        seen = {"first_seen": row.last_seen, "last_seen": row.last_seen, "source": "hub"}
        base = {"repository_id": row.repository_id, "tag": row.name, **seen}
        if row.digest:
            rows.append({**base, "platform": "*", "digest": row.digest})
        images = row.images if not isinstance(row.images, str) else json.loads(row.images)
        done: set[str] = set()
        for image in images or []:
            platform = _platform(image) if isinstance(image, dict) else None
            if platform and image.get("digest") and platform not in done:
                done.add(platform)
                rows.append({**base, "platform": platform, "digest": str(image["digest"])})
    if rows:
        bind.execute(sa.insert(history), rows)


def downgrade() -> None:
    op.drop_index("ix_image_findings_result_id", table_name="image_findings")
    op.drop_table("image_findings")
    op.drop_table("image_results")
    op.drop_table("image_platforms")
    op.drop_index("ix_tag_history_lookup", table_name="tag_history")
    op.drop_table("tag_history")
