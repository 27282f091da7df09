"""Java archives: Maven advisories, which name ``groupId:artifactId``.

A jar whose manifest and ``pom.properties`` give no group id cannot be named the way
advisories name it; looking the bare artifact id up would find nothing and look clean, so
it is not covered instead.
"""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.matchers.base import (
    MatchTarget,
    NotCoveredReason,
    PackageMatcher,
    Uncovered,
    no_version,
)


class JavaMatcher(PackageMatcher):
    name = "java"
    package_types = frozenset({PackageType.JAVA})

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        missing = no_version(package)
        if missing is not None:
            return missing
        group = package.extra.get("group_id") or package.extra.get("groupId")
        if not group:
            return Uncovered(
                NotCoveredReason.UNKNOWN_IDENTITY,
                "no Maven group id in the jar: advisories name groupId:artifactId",
                ecosystem="Maven",
            )
        return MatchTarget("Maven", "Maven", f"{group}:{package.name}", package.version)
