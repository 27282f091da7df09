"""One module per ecosystem. A cataloger declares which paths it wants and parses them.

Catalogers never see layers or tarballs: the layer walker hands them the bytes of the
files they asked for (paths are relative to the image root, without a leading slash).
``default_catalogers`` is the set every analysis runs; its names are part of the layer cache
key, so adding a cataloger re-analyses layers instead of silently missing its packages.
"""

from __future__ import annotations

from importlib import import_module

from imagetrust.sbom.catalogers.base import Cataloger

# Name, module and class of each default cataloger, in the order the walker asks them: OS
# detection first, then OS packages, then language packages (the first cataloger that
# wants a file gets it). Names are listed here so that the cache key and a warm run's
# parsing can be had without importing catalogers the image never needed.
DEFAULT_CATALOGERS: tuple[tuple[str, str, str], ...] = (
    ("os", "osrelease", "OsReleaseCataloger"),
    ("dpkg", "dpkg", "DpkgCataloger"),
    ("apk", "apk", "ApkCataloger"),
    ("rpm", "rpm.cataloger", "RpmCataloger"),
    ("python", "python", "PythonCataloger"),
    ("npm", "npm", "NpmCataloger"),
    ("java", "java", "JavaCataloger"),
    ("go", "golang", "GoCataloger"),
)


def default_cataloger_names() -> list[str]:
    return [name for name, _, _ in DEFAULT_CATALOGERS]


def default_cataloger(name: str) -> Cataloger | None:
    """The default cataloger called ``name``, importing only its module; None if unknown."""
    for known, module, cls in DEFAULT_CATALOGERS:
        if known == name:
            return _load(module, cls)
    return None


def default_catalogers() -> list[Cataloger]:
    """Every default cataloger, in the order the walker asks them."""
    return [_load(module, cls) for _, module, cls in DEFAULT_CATALOGERS]


def _load(module: str, cls: str) -> Cataloger:
    cataloger: Cataloger = getattr(import_module(f"{__name__}.{module}"), cls)()
    return cataloger
