"""Rocky Linux and AlmaLinux: their own OSV records, per major release (``AlmaLinux:9``).

Red Hat Enterprise Linux's own records name product streams instead (``redhat.py``);
Oracle Linux, Amazon Linux and CentOS publish no OSV, so their rpm packages are not
covered ("no advisory source").
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
