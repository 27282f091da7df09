"""Where imagetrust keeps its state: one home folder for the store, caches and databases."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``IMAGETRUST_HOME``, else ``$XDG_DATA_HOME/imagetrust``, else ``~/.local/share/...``."""
    env = os.environ if environ is None else environ
    if env.get("IMAGETRUST_HOME"):
        return Path(env["IMAGETRUST_HOME"]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "imagetrust"
