"""npm packages: advisories by package name (scoped names keep their ``@scope/``)."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.matchers.base import MatchTarget, PackageMatcher, Uncovered, no_version


class NpmMatcher(PackageMatcher):
    name = "npm"
    package_types = frozenset({PackageType.NPM})

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        return no_version(package) or MatchTarget("npm", "npm", package.name, package.version)
