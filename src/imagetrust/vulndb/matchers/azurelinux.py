"""Azure Linux and CBL-Mariner: Microsoft's advisories, per major release (``Azure Linux:3``).

Azure Linux 3.0 (os-release ``ID=azurelinux``) continues CBL-Mariner 1.0 and 2.0
(``ID=mariner``); Microsoft files all three under ``Azure Linux``, by source package, the
release as a number. The converter of its OVAL data writes the major alone (``.azl3`` ->
``Azure Linux:3``, ``.cm2`` -> ``Azure Linux:2``); ``3.0`` is asked as well, as a record
written by the os-release ``VERSION_ID`` would say.
"""

from __future__ import annotations

import re

from imagetrust.sbom.models import OsRelease, PackageType
from imagetrust.vulndb.matchers.base import (
    DistroMatcher,
    NotCoveredReason,
    Uncovered,
    release_missing,
)


class AzureLinuxMatcher(DistroMatcher):
    name = "azurelinux"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset({"azurelinux", "mariner"})

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        if not os_release.version_id:
            return release_missing(os_release, "Azure Linux")
        major = os_release.version_id.split(".")[0]
        if not major.isdigit():
            return Uncovered(
                NotCoveredReason.NO_ADVISORY_SOURCE,
                f"VERSION_ID {os_release.version_id!r} names no Azure Linux release",
            )
        return f"Azure Linux:{major}", "Azure Linux"

    def streams(self, os_release: OsRelease) -> re.Pattern[str] | None:
        major = (os_release.version_id or "").split(".")[0]
        return re.compile(rf"Azure Linux:{major}(?:\.0)?") if major.isdigit() else None
