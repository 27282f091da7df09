"""What a scan could not judge, and why: "not covered" items and the image's OS coverage.

A scan that finds nothing must mean "nothing known", never "nothing looked at". So every
package ends in exactly one of three places: matched against an advisory source, matched
through the OS package that installed it (``owner``), or here with its reason. Problems
that are not one package's (an unreadable package database, an image that is not Linux)
are items too, without a package. A package can also be matched and still carry an item
for one advisory whose ranges its version order could not read (``advisory`` is set).

The catalogers' failures come from what the SBOM records today: ``ImageSbom.errors``
(one per file, named by path) and the layers' ``skipped["too-large"]`` counts (wanted
files over ``[sbom] max_file_bytes``). ``sbom_items`` is the one place that reads them, so
an explicit "incomplete SBOM" flag can replace both later without touching the matching.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imagetrust.sbom.models import ImageSbom, OsRelease, Package
from imagetrust.vulndb.matchers.base import NotCoveredReason

#: Platforms whose layers imagetrust reads; any other is reported as not covered whole.
SUPPORTED_PLATFORM_OS = "linux"


@dataclass(frozen=True)
class NotCovered:
    """One thing the scan could not judge: a package, one advisory of a package, a file."""

    reason: NotCoveredReason
    detail: str
    package: str | None = None
    version: str | None = None
    package_type: str | None = None
    purl: str | None = None
    ecosystem: str | None = None
    advisory: str | None = None  # set when one advisory could not be evaluated
    path: str | None = None  # a package database that could not be read
    layer: str | None = None

    @classmethod
    def for_package(
        cls,
        package: Package,
        reason: NotCoveredReason,
        detail: str,
        *,
        ecosystem: str | None = None,
        advisory: str | None = None,
    ) -> NotCovered:
        return cls(
            reason=reason,
            detail=detail,
            package=package.name,
            version=package.version,
            package_type=package.type.value,
            purl=package.purl,
            ecosystem=ecosystem,
            advisory=advisory,
            layer=package.layer,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "detail": self.detail,
            "package": self.package,
            "version": self.version,
            "package_type": self.package_type,
            "purl": self.purl,
            "ecosystem": self.ecosystem,
            "advisory": self.advisory,
            "path": self.path,
            "layer": self.layer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotCovered:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        return cls(
            reason=NotCoveredReason(str(data["reason"])),
            detail=str(data.get("detail") or ""),
            package=text("package"),
            version=text("version"),
            package_type=text("package_type"),
            purl=text("purl"),
            ecosystem=text("ecosystem"),
            advisory=text("advisory"),
            path=text("path"),
            layer=text("layer"),
        )


class OsCoverage(StrEnum):
    """Whether the image's OS packages were judged at all."""

    COVERED = "covered"  # at least one OS package was matched against an advisory source
    NOT_COVERED = "not-covered"  # none was: "0 vulnerabilities" would say nothing
    NO_OS_PACKAGES = "no-os-packages"  # no OS and no OS package (scratch, static binaries)


def platform_supported(sbom: ImageSbom) -> bool:
    """False for a platform known not to be Linux (``windows/amd64``); SBOM files that do
    not say their platform are taken as they come."""
    os_name = sbom.platform.split("/", 1)[0].strip().lower()
    return os_name in ("", "unknown", SUPPORTED_PLATFORM_OS)


def sbom_items(sbom: ImageSbom) -> list[NotCovered]:
    """What the SBOM itself says could not be read: the platform, files, oversized files."""
    if not platform_supported(sbom):
        return [
            NotCovered(
                NotCoveredReason.UNSUPPORTED_OS,
                f"{sbom.platform} image: imagetrust analyses Linux images only",
            )
        ]
    items = []
    if sbom.incomplete:  # the SBOM's own account of what it could not read: one item each
        for reason in sbom.incomplete:
            head, sep, _ = reason.partition(": ")
            path = head if sep and "/" in head and " " not in head else None
            items.append(NotCovered(NotCoveredReason.CATALOGER_FAILED, reason, path=path))
        return items
    # An SBOM from a file or an older imagetrust: its errors and skipped counts say it
    for error in sbom.errors:
        head, sep, _ = error.partition(": ")
        path = head if sep and "/" in head and " " not in head else None
        items.append(NotCovered(NotCoveredReason.CATALOGER_FAILED, error, path=path))
    for layer in sbom.layers:
        too_large = layer.skipped.get("too-large", 0)
        if too_large:
            items.append(
                NotCovered(
                    NotCoveredReason.CATALOGER_FAILED,
                    f"{too_large} package file{'s' if too_large != 1 else ''} over the "
                    "size limit ([sbom] max_file_bytes) not read",
                    layer=layer.digest,
                )
            )
    return items


def os_name(os_release: OsRelease) -> str:
    """``Debian GNU/Linux 12 (bookworm)``, or ``centos 7.6.1810`` when only ids are known."""
    return os_release.pretty_name or " ".join(
        part for part in (os_release.id, os_release.version_id) if part
    )


@dataclass(frozen=True)
class Coverage:
    """How every package of one image ended: the numbers add up to ``packages``."""

    packages: int
    matched: int
    through_owner: int
    not_covered: int  # packages with no verdict at all (advisory-level items not counted)
    os: OsCoverage
    message: str | None  # the one line to show when the OS packages are not covered
    reasons: dict[str, int]  # items per reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "os": self.os.value,
            "message": self.message,
            "packages": self.packages,
            "matched": self.matched,
            "through_owner": self.through_owner,
            "not_covered": self.not_covered,
            "reasons": self.reasons,
        }


def summarise(
    sbom: ImageSbom,
    *,
    matched: int,
    os_matched: int,
    through_owner: int,
    items: Iterable[NotCovered],
    os_packages: int,
) -> Coverage:
    """The coverage of one image from its matching pass.

    The OS packages are not covered when none of them was matched and there was something
    to match: OS packages, an OS with no package database, an unreadable file (it may have
    been that database), or a platform that is not analysed.
    """
    listed = list(items)
    reasons = Counter(item.reason.value for item in listed)
    whole = {
        (item.package, item.version, item.package_type, item.purl)
        for item in listed
        if item.package is not None and item.advisory is None
    }
    image_level = [item for item in listed if item.reason in _IMAGE_LEVEL]
    message = None
    if os_matched:
        os_state = OsCoverage.COVERED
    elif os_packages or image_level:
        os_state = OsCoverage.NOT_COVERED
        message = _not_covered_message(sbom, listed, image_level, os_packages)
    else:
        os_state = OsCoverage.NO_OS_PACKAGES
    return Coverage(
        packages=len(sbom.packages),
        matched=matched,
        through_owner=through_owner,
        not_covered=len(whole),
        os=os_state,
        message=message,
        reasons=dict(sorted(reasons.items())),
    )


# Items that may stand for the OS packages themselves (a database unread, none found).
_IMAGE_LEVEL = frozenset(
    {
        NotCoveredReason.UNSUPPORTED_OS,
        NotCoveredReason.NO_PACKAGE_DATABASE,
        NotCoveredReason.CATALOGER_FAILED,
    }
)


def _not_covered_message(
    sbom: ImageSbom, items: list[NotCovered], image_level: list[NotCovered], os_packages: int
) -> str:
    """One line for the top of a report: what was not judged, and the first reason why."""
    named = os_name(sbom.os) if sbom.os is not None else "no OS found"
    if os_packages:
        first = next(
            (item for item in items if item.package_type in _OS_TYPES and item.advisory is None),
            None,
        )
        why = first.detail if first is not None else "no OS package could be matched"
        return (
            f"OS packages not covered ({named}, {os_packages} packages): {why}; "
            "no finding here means nothing was checked"
        )
    unsupported = image_level[0].reason is NotCoveredReason.UNSUPPORTED_OS
    where = "" if unsupported else f" ({named})"
    return f"OS packages not covered{where}: {image_level[0].detail}"


_OS_TYPES = frozenset({"deb", "apk", "rpm"})
