"""The package records every cataloger produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from imagetrust.errors import ImagetrustError


class SbomError(ImagetrustError):
    """Base error of the sbom stage."""


class CatalogerError(SbomError):
    """A package database that cannot be read; names the file so the user can look."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


class PackageType(StrEnum):
    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    PYTHON = "python"
    NPM = "npm"
    JAVA = "java"
    GO = "go"


@dataclass(frozen=True)
class Package:
    """One installed package.

    ``source_name``/``source_version`` are what distribution advisories name (dpkg
    ``Source:``, apk origin, rpm source RPM); ``layer`` is the digest of the layer that
    installed this version; ``path`` the database file it was read from.
    """

    name: str
    version: str
    type: PackageType
    purl: str
    source_name: str | None = None
    source_version: str | None = None
    architecture: str | None = None
    layer: str | None = None
    path: str | None = None
    licenses: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class OsRelease:
    """The distribution, from os-release (or alpine-release / debian_version / redhat-release)."""

    id: str  # e.g. debian, alpine, ubuntu, rhel, centos, fedora, amzn
    version_id: str | None
    pretty_name: str | None = None
    version_codename: str | None = None
    id_like: tuple[str, ...] = ()
