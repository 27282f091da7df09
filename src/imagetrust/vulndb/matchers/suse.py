"""SUSE Linux Enterprise and openSUSE: SUSE's OSV records, per product.

SUSE names an ecosystem after a product, as its os-release ``PRETTY_NAME`` spells it with
the vendor as the family (``SUSE:Linux Enterprise Server 15 SP5``, ``openSUSE:Leap 15.5``,
``openSUSE:Tumbleweed``), and ``package.name`` after the source rpm (the binaries are in
``ecosystem_specific``). An update is filed under every product and module that ships it,
a base package often under its module only (``SUSE:Linux Enterprise Module for Basesystem
15 SP5``), so an SLE image is matched against every SUSE product of its release (``15 SP5``,
``-LTSS`` and the like included); openSUSE Leap has its ``NonFree`` repository beside it.

The release comes from ``ID`` and ``VERSION_ID`` (``sles``, ``15.5``), which every image
and SBOM carries, rather than from ``PRETTY_NAME``, which SBOM purls do not.
"""

from __future__ import annotations

import re

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import (
    DistroMatcher,
    NotCoveredReason,
    Uncovered,
    release_missing,
)

# os-release ID -> the product as SUSE's ecosystems name it
_SLE_PRODUCTS = {
    "sles": "Linux Enterprise Server",
    "sles_sap": "Linux Enterprise Server for SAP Applications",
    "sled": "Linux Enterprise Desktop",
}
_MICRO_PRODUCTS = {"sle-micro": "Linux Enterprise Micro", "sl-micro": "Linux Micro"}
_OPENSUSE = {
    "opensuse-leap": "Leap",
    "opensuse-leap-micro": "Leap Micro",
    "opensuse-tumbleweed": "Tumbleweed",
}
_SUFFIX = r"(?:-[A-Za-z]+)?"  # 15 SP5-LTSS, 15 SP5-ESPOS


def sle_release(version_id: str) -> str | None:
    """``15.5`` -> ``15 SP5``, ``15`` -> ``15``; from 16 on, releases are dotted: ``16.0``."""
    major, _, minor = version_id.partition(".")
    if not major.isdigit() or (minor and not minor.isdigit()):
        return None
    if int(major) >= 16:
        return f"{major}.{minor or 0}"
    return f"{major} SP{minor}" if minor and int(minor) else major


class SuseMatcher(DistroMatcher):
    name = "suse"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset(_SLE_PRODUCTS) | frozenset(_MICRO_PRODUCTS)

    def _release(self, os_release: OsRelease) -> str | Uncovered:
        version = os_release.version_id
        if not version:
            return release_missing(os_release, "SUSE")
        release = version if os_release.id in _MICRO_PRODUCTS else sle_release(version)
        if release is None:
            return Uncovered(
                NotCoveredReason.NO_ADVISORY_SOURCE,
                f"VERSION_ID {version!r} names no SUSE Linux Enterprise release",
            )
        return release

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        release = self._release(os_release)
        if isinstance(release, Uncovered):
            return release
        product = _SLE_PRODUCTS.get(os_release.id) or _MICRO_PRODUCTS[os_release.id]
        return f"SUSE:{product} {release}", "SUSE"

    def streams(self, os_release: OsRelease) -> re.Pattern[str] | None:
        release = self._release(os_release)
        if isinstance(release, Uncovered):
            return None
        if os_release.id in _MICRO_PRODUCTS:  # Micro 5.5 is not Server 15 SP5's "5.5"
            return re.compile(rf"SUSE:.*Micro.* {re.escape(release)}{_SUFFIX}")
        return re.compile(rf"SUSE:.+ {re.escape(release)}{_SUFFIX}")


class OpenSuseMatcher(DistroMatcher):
    name = "opensuse"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset(_OPENSUSE)

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        product = _OPENSUSE[os_release.id]
        if product == "Tumbleweed":  # rolling: one ecosystem, no release
            return "openSUSE:Tumbleweed", "openSUSE"
        if not os_release.version_id:
            return release_missing(os_release, "openSUSE")
        return f"openSUSE:{product} {os_release.version_id}", "openSUSE"

    def streams(self, os_release: OsRelease) -> re.Pattern[str] | None:
        if _OPENSUSE[os_release.id] != "Leap" or not os_release.version_id:
            return None
        return re.compile(rf"openSUSE:Leap {re.escape(os_release.version_id)}(?: NonFree)?")
