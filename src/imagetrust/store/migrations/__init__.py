"""Alembic migrations. ``HEAD_REVISION`` lets start-up check the schema without Alembic.

When you add a revision, set ``HEAD_REVISION`` to it; a test fails if the two disagree.
"""

HEAD_REVISION = "0012"
