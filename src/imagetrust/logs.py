"""Logging set-up with secret redaction.

Tokens reach imagetrust through the environment; a stray ``repr`` of a request or an
exception could carry one into a log line. The filter replaces the value of every
secret-looking environment variable wherever it appears in a record, so no code path has
to remember to do it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|PASSWD|CREDENTIAL|_PAT$|AUTH)", re.IGNORECASE)
REDACTED = "***"
_MIN_SECRET_LENGTH = 4


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    values = {
        value
        for name, value in env.items()
        if SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = redact(record.getMessage(), self._secrets)
            record.args = None
        return True


def configure_logging(verbosity: int) -> None:
    """-1 quiet (errors only), 0 warnings, 1 info, 2+ debug; always to stderr."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secret_values()))
    root = logging.getLogger("imagetrust")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
