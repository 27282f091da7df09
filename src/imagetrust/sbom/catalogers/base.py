"""The cataloger interface."""

from __future__ import annotations

from typing import Protocol

from imagetrust.sbom.models import OsRelease, Package


class Cataloger(Protocol):
    """``wants`` is called for every path in every layer, so it must be cheap."""

    name: str

    def wants(self, path: str) -> bool: ...

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        """Packages in one file; raise ``CatalogerError`` for a corrupt database."""
        ...
