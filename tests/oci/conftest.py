"""Session-wide registries on loopback for the OCI tests (see tests/services/registry.py).

Three real registries: a plain one (the origin), a second plain one (the mirror), and one
behind token auth. Each test works in its own repository names, so sharing is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imagetrust.config import Settings
from imagetrust.http import RetryPolicy
from imagetrust.oci.auth import CredentialStore
from imagetrust.oci.sources import OciSession
from tests.services.registry import (
    FaultProxy,
    RegistryServer,
    TokenService,
    registry_for_tests,
)
from tests.services.require import unavailable

TEST_USER = "alice"
TEST_PASSWORD = "s3cret-pa55word"
TEST_REFRESH_TOKEN = "refresh-abcdef123456"


@pytest.fixture(scope="session")
def mirror_registry() -> Iterator[RegistryServer]:
    yield from registry_for_tests()


@pytest.fixture(scope="session")
def token_registry() -> Iterator[RegistryServer]:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        unavailable("The token-auth registry", "the `cryptography` package is not installed")
    service = TokenService(
        users={TEST_USER: TEST_PASSWORD},
        refresh_tokens={TEST_REFRESH_TOKEN: TEST_USER},
    )
    yield from registry_for_tests(token=service)


@pytest.fixture
def fault_proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(registry.port).start()
    yield proxy
    proxy.stop()


class SleepRecorder:
    """Stands in for ``time.sleep`` so retry waits are recorded, not slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02, jitter=lambda cap: cap)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_session(tmp_path: Path, sleeps: SleepRecorder) -> Iterator[Callable[..., OciSession]]:
    """Sessions with fast retries, recorded sleeps and no docker config unless given."""
    opened: list[OciSession] = []

    def factory(**kwargs: Any) -> OciSession:
        kwargs.setdefault("credentials", CredentialStore({}, config_dir=tmp_path / "no-docker"))
        kwargs.setdefault("policy", FAST)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("mirrors", {})
        settings = kwargs.pop("settings", None) or Settings()
        session = OciSession(settings, **kwargs)
        opened.append(session)
        return session

    yield factory
    for session in opened:
        session.close()


@pytest.fixture
def session(make_session: Callable[..., OciSession]) -> OciSession:
    return make_session()


@pytest.fixture(autouse=True)
def _imagetrust_logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI tests call ``configure_logging``, which stops propagation; the secret-redaction
    assertions here need every ``imagetrust`` record in ``caplog``."""
    logger = logging.getLogger("imagetrust")
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "level", logging.NOTSET)
