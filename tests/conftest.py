"""Shared fixtures: isolated homes, the store on both backends, a real registry.

``store_url`` is parametrised over SQLite and a real PostgreSQL server, so every store test
runs against both. Each test gets a fresh, empty database.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.postgres import PostgresServer, find_bindir, running_postgres
from tests.services.registry import RegistryServer, registry_for_tests
from tests.services.require import unavailable

_db_counter = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real home, config or database by accident."""
    for name in (
        "IMAGETRUST_HOME",
        "IMAGETRUST_DB_URL",
        "IMAGETRUST_CONFIG",
        "IMAGETRUST_NOW",
        "IMAGETRUST_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL", "no initdb/pg_ctl found (Debian package postgresql)")
        raise AssertionError("unreachable")
    try:
        with running_postgres(bindir) as server:
            yield server
    except subprocess.CalledProcessError as exc:
        unavailable("PostgreSQL", f"the server did not start: {exc.stderr!r}")


def create_pg_database(server: PostgresServer) -> str:
    import psycopg

    name = f"it_{next(_db_counter)}"
    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'imagetrust.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return create_pg_database(server)


_repo_names = itertools.count()


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """A real CNCF distribution registry on loopback, shared by the whole test session."""
    yield from registry_for_tests()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses."""
    base = request.node.name.lower().replace("[", "-").replace("]", "")
    clean = "".join(c if c.isalnum() else "-" for c in base)[:40].strip("-")
    return f"t{next(_repo_names)}/{clean}"
