"""Skip, or fail in CI, when a real server the tests need is not available.

``IMAGETRUST_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns every such skip into a failure,
so a CI run can never pass with the PostgreSQL, registry or browser tests quietly skipped.
"""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    return os.environ.get("IMAGETRUST_REQUIRE_SERVICES", "") not in {"", "0", "false", "no"}


def unavailable(what: str, how: str) -> None:
    message = f"{what} is not available: {how}"
    if services_required():
        pytest.fail(f"{message} (IMAGETRUST_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(f"{message}; run `sudo scripts/install-system-deps` to enable these tests")
