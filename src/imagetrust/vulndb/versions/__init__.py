"""Version order per OSV ecosystem, for matching installed versions against advisory ranges.

``compare(ecosystem, a, b)`` answers -1, 0 or 1; ``sort_key(ecosystem, version)`` gives a
key whose order is the same, so a caller that compares one version against many bounds
parses it once. The ecosystem is the OSV name; a release suffix (``Debian:12``,
``Alpine:v3.19``, ``Ubuntu:22.04:LTS``) does not change the order and is ignored.

Which order, and why (details in each module):

* dpkg (``dpkg.py``): Debian, Ubuntu - exactly ``dpkg --compare-versions``.
* apk (``apk.py``): Alpine, Wolfi, Chainguard - apk-tools 3 ``version.c``, with apk-tools
  2.x's reading of a digit after a letter and the ``-rN`` of an unreadable tail.
* rpm (``rpm.py``): Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, Photon OS, Mageia,
  openEuler, Azure Linux - rpmvercmp over epoch, version, release.
* ``generic.py``: PyPI (PEP 440, legacy fallback), npm / Go / crates.io (semver), Maven
  (ComparableVersion of Maven 3.9), RubyGems (Gem::Version, canonical segments), NuGet
  (NuGetVersion), Packagist (PHP version_compare).

Keys of different ecosystems must never be compared with each other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from imagetrust.vulndb.errors import UnknownEcosystemError
from imagetrust.vulndb.versions import apk, dpkg, generic, rpm

KeyFunction = Callable[[str], Any]

_ORDERS: dict[str, KeyFunction] = {
    "Debian": dpkg.sort_key,
    "Ubuntu": dpkg.sort_key,
    "Alpine": apk.sort_key,
    "Wolfi": apk.sort_key,
    "Chainguard": apk.sort_key,
    "Red Hat": rpm.sort_key,
    "Rocky Linux": rpm.sort_key,
    "AlmaLinux": rpm.sort_key,
    "openSUSE": rpm.sort_key,
    "SUSE": rpm.sort_key,
    "Photon OS": rpm.sort_key,
    "Mageia": rpm.sort_key,
    "openEuler": rpm.sort_key,
    "Azure Linux": rpm.sort_key,
    "PyPI": generic.pypi_key,
    "npm": generic.semver_key,
    "Go": generic.semver_key,
    "crates.io": generic.semver_key,
    "Maven": generic.maven_key,
    "RubyGems": generic.rubygems_key,
    "NuGet": generic.nuget_key,
    "Packagist": generic.packagist_key,
}

#: The OSV ecosystem names (without release suffix) that have a version order.
ECOSYSTEMS: frozenset[str] = frozenset(_ORDERS)
_FOLDED = {name.casefold(): fn for name, fn in _ORDERS.items()}


@lru_cache(maxsize=1024)
def key_function(ecosystem: str) -> KeyFunction:
    """The key function of an OSV ecosystem name (release suffix ignored, any case)."""
    base = ecosystem.split(":", 1)[0].strip()
    found = _ORDERS.get(base) or _FOLDED.get(base.casefold())
    if found is None:
        raise UnknownEcosystemError(f"no version order for ecosystem {ecosystem!r}")
    return found


def sort_key(ecosystem: str, version: str) -> Any:
    """A key for ``version`` whose order is ``ecosystem``'s version order.

    Typed ``Any`` so it can go straight to ``sorted``/``bisect``; only keys of the same
    ecosystem compare.

    Raises UnknownEcosystemError, or VersionError for a string the ecosystem's own tool
    would refuse outright (never for one it accepts, even with a warning).
    """
    return key_function(ecosystem)(version)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is lower than, equal to or higher than ``b`` in ``ecosystem``."""
    key = key_function(ecosystem)
    ka, kb = key(a), key(b)
    if ka < kb:
        return -1
    return 1 if ka > kb else 0


def comparator(ecosystem: str) -> Callable[[str, str], int]:
    """``compare`` bound to one ecosystem: the version order a matcher asks for."""
    return lambda a, b: compare(ecosystem, a, b)


__all__ = ["ECOSYSTEMS", "comparator", "compare", "key_function", "sort_key"]
