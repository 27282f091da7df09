"""Matchers: which advisories speak about a package, one module per type or distribution.

The registry picks a package's matcher by its type and, for OS packages, by the image's
distribution (os-release ``ID``); adding a source (openEuler, Mageia, crates.io) is one
module with a ``PackageMatcher`` and one line in ``DEFAULT_MATCHERS``. Every package gets
an answer: a ``MatchTarget``, or ``Uncovered`` with the reason (no matcher for its type or
distribution is "no advisory source").
"""

from __future__ import annotations

from collections.abc import Iterable

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.matchers.alpine import AlpineMatcher
from imagetrust.vulndb.matchers.azurelinux import AzureLinuxMatcher
from imagetrust.vulndb.matchers.base import (
    MatchTarget,
    NotCoveredReason,
    PackageMatcher,
    Uncovered,
)
from imagetrust.vulndb.matchers.debian import DebianMatcher
from imagetrust.vulndb.matchers.golang import GoMatcher
from imagetrust.vulndb.matchers.java import JavaMatcher
from imagetrust.vulndb.matchers.npm import NpmMatcher
from imagetrust.vulndb.matchers.photon import PhotonMatcher
from imagetrust.vulndb.matchers.python import PythonMatcher
from imagetrust.vulndb.matchers.redhat import RedHatMatcher
from imagetrust.vulndb.matchers.rhel_rebuilds import RhelRebuildMatcher
from imagetrust.vulndb.matchers.suse import OpenSuseMatcher, SuseMatcher
from imagetrust.vulndb.matchers.ubuntu import UbuntuMatcher
from imagetrust.vulndb.matchers.wolfi import WolfiMatcher

#: Package types whose advisories come from the distribution, per release.
OS_PACKAGE_TYPES = frozenset({PackageType.DEB, PackageType.APK, PackageType.RPM})


class MatcherRegistry:
    """Matchers by package type; for one type, at most one per distribution (or one for any).

    Two matchers claiming the same type and distribution is a programming error, found when
    the registry is built rather than by whichever happens to be asked first.
    """

    def __init__(self, matchers: Iterable[PackageMatcher]) -> None:
        self._by_type: dict[PackageType, list[PackageMatcher]] = {}
        claimed: dict[tuple[PackageType, str | None], str] = {}
        for matcher in matchers:
            for kind in matcher.package_types:
                for distro in matcher.distributions or (None,):
                    earlier = claimed.setdefault((kind, distro), matcher.name)
                    if earlier != matcher.name:
                        raise ValueError(
                            f"matchers {earlier} and {matcher.name} both claim {kind.value}"
                            + (f" on {distro}" if distro else "")
                        )
                self._by_type.setdefault(kind, []).append(matcher)

    def matcher_for(self, package: Package, os_release: OsRelease | None) -> PackageMatcher | None:
        os_id = os_release.id if os_release is not None else None
        fallback = None
        for matcher in self._by_type.get(package.type, ()):
            if matcher.distributions is None:
                fallback = matcher
            elif os_id is not None and os_id in matcher.distributions:
                return matcher
        return fallback

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        """Where to look ``package`` up, or why it is not covered."""
        matcher = self.matcher_for(package, os_release)
        if matcher is not None:
            return matcher.target(package, os_release)
        kind = package.type.value
        if package.type in OS_PACKAGE_TYPES:
            if os_release is None:
                detail = f"{kind} package in an image with no os-release: no release to match"
            else:
                named = os_release.pretty_name or " ".join(
                    part for part in (os_release.id, os_release.version_id) if part
                )
                detail = f"no advisory source for {kind} packages of {named}"
        else:
            detail = f"no advisory source for {kind} packages"
        return Uncovered(NotCoveredReason.NO_ADVISORY_SOURCE, detail)


DEFAULT_MATCHERS: tuple[PackageMatcher, ...] = (
    DebianMatcher(),
    UbuntuMatcher(),
    AlpineMatcher(),
    WolfiMatcher(),
    RhelRebuildMatcher(),
    RedHatMatcher(),
    SuseMatcher(),
    OpenSuseMatcher(),
    PhotonMatcher(),
    AzureLinuxMatcher(),
    PythonMatcher(),
    NpmMatcher(),
    GoMatcher(),
    JavaMatcher(),
)

DEFAULT_REGISTRY = MatcherRegistry(DEFAULT_MATCHERS)

__all__ = [
    "DEFAULT_MATCHERS",
    "DEFAULT_REGISTRY",
    "OS_PACKAGE_TYPES",
    "MatchTarget",
    "MatcherRegistry",
    "NotCoveredReason",
    "PackageMatcher",
    "Uncovered",
]
