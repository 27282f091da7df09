"""Debian: the security tracker's OSV records, per major release (``Debian:12``)."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered, release_missing


class DebianMatcher(DistroMatcher):
    name = "debian"
    package_types = frozenset({PackageType.DEB})
    distributions = frozenset({"debian"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        if not os_release.version_id:
            # testing and unstable carry only a codename; the tracker's OSV export covers
            # released versions, so guessing one would match against the wrong release.
            return release_missing(os_release, "Debian")
        return f"Debian:{os_release.version_id.split('.')[0]}", "Debian"
