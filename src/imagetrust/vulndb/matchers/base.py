"""The interface every matcher implements: where to look one package up, or why not.

A matcher knows one advisory source's naming (an OSV ecosystem with its release, the
package name advisories use, the version they compare); looking records up and evaluating
their ranges is shared (``vulndb.scan``). A matcher never raises for a package it cannot
place: it answers ``Uncovered`` with the reason, so the scan can show it.

Shaped after grype's matchers (one per package type or distribution family, chosen from a
registry); simpler in one way: a matcher only names the lookup, because every source
imagetrust reads is OSV-shaped and evaluated the same way.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from imagetrust.sbom.models import OsRelease, Package, PackageType


class NotCoveredReason(StrEnum):
    """Why a package (or a file, or the whole image) has no verdict."""

    UNSUPPORTED_OS = "unsupported-os"  # not a Linux image: nothing is analysed
    NO_ADVISORY_SOURCE = "no-advisory-source"  # no matcher, or no records in the database
    NO_PACKAGE_DATABASE = "no-package-database"  # an OS was found, no OS package database
    NO_VERSION = "no-version"
    UNKNOWN_IDENTITY = "unknown-identity"  # advisories need a name part the SBOM lacks
    VERSION_NOT_COMPARABLE = "version-not-comparable"  # the order rejects a version
    CATALOGER_FAILED = "cataloger-failed"  # a package database that could not be read
    MATCH_FAILED = "match-failed"  # matching this package raised: a bug, shown, not fatal


@dataclass(frozen=True)
class MatchTarget:
    """Where to look a package up: OSV ecosystem (with release), name and version to compare.

    Some sources file one release under many ecosystems: Red Hat one per product stream
    and repository (``Red Hat:enterprise_linux:9::appstream``, ``...::baseos``), SUSE one
    per product and module. Which of them exist is known only from the data, so such a
    target carries ``streams``: every ecosystem of the database the pattern matches whole
    is asked, and ``ecosystem`` names the release (``Red Hat:enterprise_linux:9``).
    """

    ecosystem: str  # e.g. "Debian:12", "Alpine:v3.19", "PyPI"
    base: str  # the ecosystem without the release, which selects the version order
    name: str  # the name advisories use (the source package for distributions)
    version: str  # the version advisories compare (the source version for distributions)
    streams: re.Pattern[str] | None = None  # more ecosystems of the release, see above


@dataclass(frozen=True)
class Uncovered:
    """A matcher's answer for a package it cannot place."""

    reason: NotCoveredReason
    detail: str
    ecosystem: str | None = None


class PackageMatcher(ABC):
    """One advisory source's view of some package types.

    ``distributions`` are the os-release ``ID`` values an OS matcher serves (None: any,
    for language packages). The registry picks the matcher whose types and distribution
    fit the package; a package no matcher fits is not covered.
    """

    name: ClassVar[str]
    package_types: ClassVar[frozenset[PackageType]]
    distributions: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        """Where advisories about ``package`` are, or why nothing can say."""


def no_version(package: Package) -> Uncovered | None:
    """The shared check: a package without a version cannot be placed in any range."""
    if not package.version.strip():
        return Uncovered(NotCoveredReason.NO_VERSION, "the package has no version")
    return None


class DistroMatcher(PackageMatcher):
    """OS packages: advisories name the source package and one release of the distribution.

    Subclasses say how a release is named (``ecosystem``); the source package and its
    version (dpkg ``Source:``, apk origin, source RPM) are what their advisories name.
    """

    #: Advisories name the source package (Debian, Alpine, SUSE); False: the binary package
    #: itself, with its own version (Red Hat lists every binary rpm of an update).
    by_source: ClassVar[bool] = True

    @abstractmethod
    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        """(ecosystem with release, base ecosystem), or why this release has no source."""

    def streams(self, os_release: OsRelease) -> re.Pattern[str] | None:
        """More ecosystems this release's advisories are filed under (see ``MatchTarget``)."""
        return None

    def target(self, package: Package, os_release: OsRelease | None) -> MatchTarget | Uncovered:
        missing = no_version(package)
        if missing is not None:
            return missing
        if os_release is None:  # the registry never asks without one; kept total anyway
            return Uncovered(NotCoveredReason.NO_ADVISORY_SOURCE, "no OS release found")
        place = self.ecosystem(os_release)
        if isinstance(place, Uncovered):
            return place
        ecosystem, base = place
        if self.by_source:
            name = package.source_name or package.name
            version = package.source_version or package.version
        else:
            name, version = package.name, package.version
        return MatchTarget(ecosystem, base, name, version, self.streams(os_release))


def release_missing(os_release: OsRelease, what: str) -> Uncovered:
    """No ``VERSION_ID`` (Debian testing and unstable, rolling releases): no release to ask."""
    named = os_release.pretty_name or os_release.id
    codename = f" ({os_release.version_codename})" if os_release.version_codename else ""
    return Uncovered(
        NotCoveredReason.NO_ADVISORY_SOURCE,
        f"{named}{codename} has no VERSION_ID: {what} advisories are per release",
    )
