"""Python packages: PyPI advisories, by the normalised distribution name."""

from __future__ import annotations

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.matchers.base import MatchTarget, PackageMatcher, Uncovered, no_version


class PythonMatcher(PackageMatcher):
    name = "python"
    package_types = frozenset({PackageType.PYTHON})

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        return no_version(package) or MatchTarget("PyPI", "PyPI", package.name, package.version)
