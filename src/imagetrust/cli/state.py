"""Global options, resolved once by the root callback and handed to every command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from imagetrust.clock import Clock

if TYPE_CHECKING:
    from imagetrust.config import Settings
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.store.database import Store

DEBUG = {"enabled": False}


class CliState(Struct):
    home_option: Path | None
    db_url: str | None
    config_path: Path | None
    verbosity: int
    clock: Clock
    _settings: Settings | None = None  # loaded on first use

    @property
    def home(self) -> Path:
        from imagetrust.paths import default_home

        return self.home_option if self.home_option is not None else default_home()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from imagetrust.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    def resolved_db_url(self, home: Path | None = None) -> str:
        from imagetrust.store.url import resolve_db_url

        return resolve_db_url(home or self.home, self.db_url)

    def open_store(self, *, migrate: bool = True, create: bool = True) -> Store:
        """``create=False`` for commands that only read: a missing store is an error that
        says so, and nothing is created."""
        from imagetrust.store.database import Store

        return Store.open(self.resolved_db_url(), migrate=migrate, create=create)

    def context(self) -> PipelineContext:
        """What the pipeline's jobs need from the global options, resolved once."""
        from imagetrust.paths import HomeLayout
        from imagetrust.pipeline.context import PipelineContext

        return PipelineContext(
            home=HomeLayout(self.home),
            settings=self.settings,
            clock=self.clock,
            db_url=self.resolved_db_url(),
        )
