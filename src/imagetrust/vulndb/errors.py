"""Errors of the vulndb stage."""

from __future__ import annotations

from imagetrust.errors import ImagetrustError, UsageError


class VulnDbError(ImagetrustError):
    """A vulnerability source that cannot be read or imported; names the file and record."""


class VersionError(VulnDbError):
    """A version string that is not valid in its ecosystem (never raised for comparisons of
    versions a real package manager accepts)."""


class UnknownEcosystemError(UsageError):
    """An ecosystem imagetrust has no version order for."""
