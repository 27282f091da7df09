"""Errors the OCI stage raises; all are ``ImagetrustError`` so the CLI prints one line."""

from __future__ import annotations

from imagetrust.errors import ImagetrustError, UsageError


class OciError(ImagetrustError):
    """A registry, layout or archive could not give us what we asked for."""


class InvalidReferenceError(UsageError):
    """The image reference given by the user does not parse."""


class NotFoundError(OciError):
    """The registry or source does not have the manifest, tag or blob."""


class AuthError(OciError):
    """The registry refused us (401/403) even after the token dance."""


class DigestMismatchError(OciError):
    """Content does not hash to the digest it was asked for; it must not be used."""

    def __init__(self, message: str, *, expected: str, actual: str | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class PlatformNotFoundError(UsageError):
    """The index has no manifest for the platform asked for."""


class PullBudgetExhaustedError(OciError):
    """Going on would use up the registry's pull quota; stop and come back later."""
