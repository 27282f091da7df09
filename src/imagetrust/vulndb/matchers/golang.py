"""Go modules and the standard library, from a binary's build info: Go advisories.

Build info says ``go1.22.1`` for the toolchain (the ``stdlib`` package) where advisories
say ``1.22.1``; a main module built from a checkout says ``(devel)``, which is no version
at all (no range can hold it), so it is not covered rather than compared as text.
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


class GoMatcher(PackageMatcher):
    name = "go"
    package_types = frozenset({PackageType.GO})

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        missing = no_version(package)
        if missing is not None:
            return missing
        version = package.version
        if version == "(devel)":
            return Uncovered(
                NotCoveredReason.NO_VERSION, "built from a checkout: build info says (devel)"
            )
        if package.name == "stdlib":
            version = version.removeprefix("go")
        return MatchTarget("Go", "Go", package.name, version)
