"""Where imagetrust keeps its state: one home folder, and the one place that lays it out.

Every command, the demo and the pipeline find the store, the caches and the feeds through
``HomeLayout``, so moving a folder is a change here and nowhere else::

    HOME/imagetrust.db        the SQLite store (unless --db-url names another database)
    HOME/cache/layers/        layer analyses, per layer digest and analyser version
    HOME/cache/sources/       downloaded official-images and docs archives (catalog)
    HOME/feeds/               vulnerability feeds kept for re-imports

Nothing here creates a folder: the code that writes one creates it, so a read-only command
leaves no trace behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STORE_FILENAME = "imagetrust.db"


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``IMAGETRUST_HOME``, else ``$XDG_DATA_HOME/imagetrust``, else ``~/.local/share/...``."""
    env = os.environ if environ is None else environ
    if env.get("IMAGETRUST_HOME"):
        return Path(env["IMAGETRUST_HOME"]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "imagetrust"


class HomeLayout:
    """The folders and files under one home folder."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> HomeLayout:
        return cls(default_home(environ))

    @property
    def store_file(self) -> Path:
        return self.root / STORE_FILENAME

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def layer_cache(self) -> Path:
        return self.cache / "layers"

    @property
    def source_cache(self) -> Path:
        return self.cache / "sources"

    @property
    def feeds(self) -> Path:
        return self.root / "feeds"

    def __repr__(self) -> str:
        return f"HomeLayout({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HomeLayout) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)
