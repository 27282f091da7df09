"""How old the vulnerability database is, and when that is too old to match or judge by.

Stale data looks clean: a database a month old misses a month of advisories and of CISA's
known-exploited listings. So every command that matches or judges by the database warns
when a part of it is older than ``[vulndb] max_age_days``, and the commands a scheduled job
gates on (``scan``, ``run``) refuse with ``--max-db-age DAYS`` rather than approve on old
data. The parts are the live sources and the KEV catalog (it flags findings, so it is part
of the database state too); each is as old as its last finished import.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, select

from imagetrust.errors import ImagetrustError
from imagetrust.store.schema import kev_catalog, vuln_sources

MAX_DB_AGE_FLAG = "--max-db-age"


class SourceAge(NamedTuple):
    name: str
    days: float


class DatabaseTooOld(ImagetrustError):
    """``--max-db-age`` and a part of the database is older (exit 1, as any failure)."""


def database_ages(conn: Connection, now: datetime) -> list[SourceAge]:
    """The age of every live source and of the KEV catalog, oldest first (empty while no
    source is live: there is no database to be old)."""
    from imagetrust.vulndb.kev import KEV_SOURCE

    rows = [
        (str(name), imported_at)
        for name, imported_at in conn.execute(
            select(vuln_sources.c.name, vuln_sources.c.imported_at).where(
                vuln_sources.c.generation > 0
            )
        )
    ]
    if rows:
        kev = conn.execute(select(kev_catalog.c.imported_at)).first()
        if kev is not None:
            rows.append((KEV_SOURCE, kev.imported_at))
    ages = [SourceAge(name, (now - when).total_seconds() / 86400) for name, when in rows]
    return sorted(ages, key=lambda age: (-age.days, age.name))


def stale(ages: list[SourceAge], max_days: float) -> list[SourceAge]:
    """The parts older than ``max_days``, oldest first."""
    return [age for age in ages if age.days > max_days]


def age_warnings(ages: list[SourceAge], warn_days: float) -> list[str]:
    """One line per part older than ``warn_days`` (``[vulndb] max_age_days``)."""
    return [
        f"vulnerability source {age.name} is {age.days:.1f} days old (imagetrust db update)"
        for age in stale(ages, warn_days)
    ]


def refuse_if_older(ages: list[SourceAge], max_days: float | None) -> None:
    """Raise ``DatabaseTooOld`` when ``max_days`` is set and the database is older, or
    empty: a job that asks for fresh data must not pass on none."""
    if max_days is None:
        return
    hint = "refresh it: imagetrust db update (or db import PATH)"
    if not ages:
        raise DatabaseTooOld(
            f"the vulnerability database is empty, and {MAX_DB_AGE_FLAG} {max_days:g} asks "
            "for one imported since",
            hint=hint,
        )
    too_old = stale(ages, max_days)
    if too_old:
        oldest = too_old[0]
        raise DatabaseTooOld(
            f"vulnerability source {oldest.name} is {oldest.days:.1f} days old, over "
            f"{MAX_DB_AGE_FLAG} {max_days:g}",
            hint=hint,
        )
