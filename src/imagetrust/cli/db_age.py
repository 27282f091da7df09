"""The database-age warning (and ``--max-db-age`` refusal) as every command prints it.

The rule lives in ``vulndb.freshness``; this only says it on stderr, the same way for
``scan``, ``evaluate``, ``policy check``, ``recommend`` and ``report`` (``run`` says it through its
observer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.cli.output import say

if TYPE_CHECKING:
    from imagetrust.cli.state import CliState
    from imagetrust.store.database import Store
    from imagetrust.vulndb.freshness import SourceAge


def check_db_age(state: CliState, ages: list[SourceAge], max_days: float | None = None) -> None:
    """Warn about parts older than ``[vulndb] max_age_days``; refuse past ``max_days``."""
    from imagetrust.vulndb.freshness import age_warnings, refuse_if_older

    for line in age_warnings(ages, state.settings.vulndb.max_age_days):
        say(f"warning: {line}")
    refuse_if_older(ages, max_days)


def warn_db_age(state: CliState, store: Store) -> None:
    """For the commands that judge by stored findings: warn, never refuse."""
    from imagetrust.vulndb.freshness import database_ages

    with store.read() as conn:
        ages = database_ages(conn, state.clock.now())
    check_db_age(state, ages)
