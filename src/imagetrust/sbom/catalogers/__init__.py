"""One module per ecosystem. A cataloger declares which paths it wants and parses them.

Catalogers never see layers or tarballs: the layer walker hands them the bytes of the
files they asked for (paths are relative to the image root, without a leading slash).
``default_catalogers`` is the set every analysis runs; its names are part of the layer cache
key, so adding a cataloger re-analyses layers instead of silently missing its packages.
"""

from __future__ import annotations

from imagetrust.sbom.catalogers.base import Cataloger


def default_catalogers() -> list[Cataloger]:
    """OS detection first, then OS packages, then language packages (the walker asks in
    this order and the first cataloger that wants a file gets it)."""
    from imagetrust.sbom.catalogers.apk import ApkCataloger
    from imagetrust.sbom.catalogers.dpkg import DpkgCataloger
    from imagetrust.sbom.catalogers.golang import GoCataloger
    from imagetrust.sbom.catalogers.java import JavaCataloger
    from imagetrust.sbom.catalogers.npm import NpmCataloger
    from imagetrust.sbom.catalogers.osrelease import OsReleaseCataloger
    from imagetrust.sbom.catalogers.python import PythonCataloger
    from imagetrust.sbom.catalogers.rpm.cataloger import RpmCataloger

    return [
        OsReleaseCataloger(),
        DpkgCataloger(),
        ApkCataloger(),
        RpmCataloger(),
        PythonCataloger(),
        NpmCataloger(),
        JavaCataloger(),
        GoCataloger(),
    ]
