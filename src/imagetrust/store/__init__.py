"""The store: every stage reads and writes one database through SQLAlchemy Core.

SQLite (a file under the home folder, WAL mode) by default; PostgreSQL through
``IMAGETRUST_DB_URL``. The schema is owned by Alembic migrations in ``migrations/``; each
stage adds its tables with its own migration. Importing this package is cheap; the
submodules import SQLAlchemy.
"""
