"""Database URLs: defaults, driver normalisation and redaction (no SQLAlchemy import)."""

from __future__ import annotations

import re
from pathlib import Path

from imagetrust.errors import UsageError

_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/:@]*:)(?P<password>[^@/]*)(?P<tail>@)")


def resolve_db_url(home: Path, db_url: str | None) -> str:
    """The URL to open: ``db_url`` when given, else the SQLite file in ``home``.

    ``postgresql://`` and ``postgres://`` are mapped to the psycopg 3 driver, the one we
    install; other schemes than SQLite and PostgreSQL are refused with a clear message.
    """
    if not db_url:
        from imagetrust.paths import HomeLayout

        return f"sqlite:///{HomeLayout(home).store_file.resolve()}"
    scheme = db_url.split("://", 1)[0].lower() if "://" in db_url else ""
    if scheme in {"postgresql", "postgres"}:
        return "postgresql+psycopg://" + db_url.split("://", 1)[1]
    if scheme in {"postgresql+psycopg", "sqlite", "sqlite+pysqlite"}:
        return db_url
    raise UsageError(
        f"unsupported database URL {redact_url(db_url)!r}: "
        "use postgresql://USER@HOST:PORT/DB or sqlite:///PATH"
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs, errors and the store."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", url)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for PostgreSQL and in-memory SQLite."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix) :].split("?", 1)[0]
            return Path(rest) if rest and rest != ":memory:" else None
    return None
