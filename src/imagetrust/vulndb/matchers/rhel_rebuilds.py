"""Rocky Linux and AlmaLinux: their own OSV records, per major release (``AlmaLinux:9``).

Red Hat Enterprise Linux itself publishes no OSV; its images stay not covered until a
matcher for its own advisory format exists (one more module beside this one).
"""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered, release_missing

_BASES = {"rocky": "Rocky Linux", "almalinux": "AlmaLinux"}


class RhelRebuildMatcher(DistroMatcher):
    name = "rhel-rebuilds"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset(_BASES)

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        base = _BASES[os_release.id]
        if not os_release.version_id:
            return release_missing(os_release, base)
        return f"{base}:{os_release.version_id.split('.')[0]}", base
