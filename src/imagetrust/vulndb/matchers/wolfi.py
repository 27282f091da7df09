"""Wolfi and Chainguard: rolling distributions, one ecosystem each and no release."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered


class WolfiMatcher(DistroMatcher):
    name = "wolfi"
    package_types = frozenset({PackageType.APK})
    distributions = frozenset({"wolfi", "chainguard"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        base = "Wolfi" if os_release.id == "wolfi" else "Chainguard"
        return base, base
