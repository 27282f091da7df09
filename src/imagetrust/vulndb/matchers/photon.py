"""Photon OS: VMware's advisories, per release (``Photon OS:5.0``), by source package."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered, release_missing


class PhotonMatcher(DistroMatcher):
    name = "photon"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset({"photon"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        if not os_release.version_id:
            return release_missing(os_release, "Photon OS")
        major, _, minor = os_release.version_id.partition(".")
        # os-release says 5.0, as the advisories do; a purl's distro=photon-5 says 5
        return f"Photon OS:{major}.{minor.split('.')[0] or 0}", "Photon OS"
