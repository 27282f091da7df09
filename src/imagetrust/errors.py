"""The error types every stage raises for conditions a user can act on.

The command line turns an ``ImagetrustError`` into one line on stderr and its exit code;
anything else is a bug and shows as an internal error (the traceback only with ``--debug``).
Exit codes are part of the CLI contract: 0 success, 1 failure, 2 usage, 3 policy violation.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_POLICY_VIOLATION = 3


class ImagetrustError(Exception):
    """A failure with a message meant for the user; never carries a secret."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ImagetrustError):
    """Bad input from the user: wrong option value, missing file, unreadable config."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The configuration file or an environment setting is invalid."""


class StoreError(ImagetrustError):
    """The store cannot be opened, migrated or written."""


class PolicyViolation(ImagetrustError):
    """At least one image breaks the policy; distinct from a failure so CI can tell."""

    exit_code = EXIT_POLICY_VIOLATION
