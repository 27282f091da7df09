"""Ubuntu: Canonical's OSV records, per release; LTS releases are named ``Ubuntu:22.04:LTS``."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered, release_missing


class UbuntuMatcher(DistroMatcher):
    name = "ubuntu"
    package_types = frozenset({PackageType.DEB})
    distributions = frozenset({"ubuntu"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        version = os_release.version_id
        if not version:
            return release_missing(os_release, "Ubuntu")
        # LTS releases are the April releases of even years.
        year, _, month = version.partition(".")
        lts = month == "04" and year.isdigit() and int(year) % 2 == 0
        return f"Ubuntu:{version}{':LTS' if lts else ''}", "Ubuntu"
