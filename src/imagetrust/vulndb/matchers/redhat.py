"""Red Hat Enterprise Linux and UBI: Red Hat's own OSV records, per product stream.

Red Hat names an ecosystem after the CPE of a product stream and repository
(``Red Hat:enterprise_linux:9::appstream`` is ``cpe:/a:redhat:enterprise_linux:9::appstream``)
and ``package.name`` after each binary rpm of the update (``podman``, ``podman-docker``;
newer records list the source rpm too), fixed in a full ``epoch:version-release``. So a
package is looked up by its own name and version, not its source rpm's.

An image says ``ID=rhel`` and ``VERSION_ID=9.4`` (UBI images too; syft's and trivy's purls
say ``rhel-9.4`` and ``redhat-9.4``). Its packages come from some repositories of the
release (BaseOS, AppStream, CodeReady Builder), which the rpm database does not record, so
every repository of these streams is asked:

- the main stream of the major release, ``enterprise_linux:9`` (RHEL 10 names it per
  minor release, ``enterprise_linux:10.0``: all of them);
- the extended-support streams of the very minor release: ``rhel_eus:9.4``, ``rhel_aus``,
  ``rhel_e4s``, ``rhel_tus`` (``enterprise_linux_eus`` from RHEL 10). An image built from
  those repositories (OpenShift's are) gets its fixes only there. A main-stream image of
  9.4 predates each of them (they are issued once 9.5 is out), so they are true of it too;
  the fix it can install is the main stream's, which its own advisory names.

Other minor releases' support streams and layered products (OpenShift, JBoss, software
collections) are not asked: an image of this release does not get packages from them.
Red Hat's images name their exact repositories in ``/root/buildinfo/content_manifests``;
reading those would narrow the streams further.
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

BASE = "Red Hat"
_EXTENDED_SUPPORT = ("rhel_eus", "rhel_aus", "rhel_e4s", "rhel_tus", "enterprise_linux_eus")


class RedHatMatcher(DistroMatcher):
    name = "redhat"
    package_types = frozenset({PackageType.RPM})
    distributions = frozenset({"rhel", "redhat"})
    by_source = False

    def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
        if not os_release.version_id:
            return release_missing(os_release, BASE)
        major = os_release.version_id.split(".")[0]
        if not major.isdigit():
            return Uncovered(
                NotCoveredReason.NO_ADVISORY_SOURCE,
                f"VERSION_ID {os_release.version_id!r} names no Red Hat Enterprise Linux release",
            )
        return f"{BASE}:enterprise_linux:{major}", BASE

    def streams(self, os_release: OsRelease) -> re.Pattern[str] | None:
        major, _, rest = (os_release.version_id or "").partition(".")
        minor = rest.split(".")[0]
        products = [rf"enterprise_linux:{major}(?:\.\d+)?"]
        if minor.isdigit():
            products.append(rf"(?:{'|'.join(_EXTENDED_SUPPORT)}):{major}\.{minor}")
        # the product stream, then optionally "::" and the repository (baseos, appstream)
        return re.compile(rf"{BASE}:(?:{'|'.join(products)})(?:::.+)?")
