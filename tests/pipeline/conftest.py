"""The run's world: a real registry behind a logging proxy, a Hub recording, a library."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.world import World
from tests.services.registry import FaultProxy, RegistryServer

_worlds = itertools.count()


@pytest.fixture
def world(
    tmp_path: Path, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    proxy = FaultProxy(registry.port).start()
    built = World(tmp_path, registry, proxy, f"w{next(_worlds)}{tmp_path.name[-6:]}".lower())
    built.prefix = "".join(c for c in built.prefix if c.isalnum())
    built.build()
    for key, value in built.env().items():
        monkeypatch.setenv(key, value)
    yield built
    proxy.stop()
