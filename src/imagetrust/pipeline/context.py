"""What every job shares: where home is, the settings, the clock and the store.

The command line builds one from its global options; the demo and the tests build their
own. Jobs take it instead of a ``CliState`` so they never depend on the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from imagetrust.clock import Clock
from imagetrust.config import Settings
from imagetrust.paths import HomeLayout

if TYPE_CHECKING:
    from imagetrust.store.database import Store


class PipelineContext(Struct, frozen=True):
    home: HomeLayout
    settings: Settings
    clock: Clock
    db_url: str  # resolved: the SQLite file in home unless another database was named

    def open_store(self, *, create: bool = True, migrate: bool = True) -> Store:
        """``create=False`` for jobs that only read (nothing is created if there is none)."""
        from imagetrust.store.database import Store

        return Store.open(self.db_url, migrate=migrate, create=create)
