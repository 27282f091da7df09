"""Alpine: secdb and OSV records per branch (``Alpine:v3.19``), from ``VERSION_ID`` 3.19.x."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered, release_missing


class AlpineMatcher(DistroMatcher):
    name = "alpine"
    package_types = frozenset({PackageType.APK})
    distributions = frozenset({"alpine"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        if not os_release.version_id:
            return release_missing(os_release, "Alpine")
        major_minor = ".".join(os_release.version_id.split(".")[:2])
        return f"Alpine:v{major_minor}", "Alpine"
