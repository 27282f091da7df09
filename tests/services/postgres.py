"""A real PostgreSQL server on loopback for the store tests.

PostgreSQL refuses to run as root, so as root the cluster is created and started as the
``postgres`` system user; otherwise as the current user. The cluster lives in a temporary
folder, listens on 127.0.0.1 on a free port with its socket in that folder, and is
stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imagetrust.testkit.registry import free_port  # one port picker for every service


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def find_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@contextlib.contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresServer]:
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="imagetrust-pg-"))
    data = base / "data"
    if run_as:
        shutil.chown(base, user=run_as)
    port = free_port()
    db_user = "imagetrust"
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        subprocess.run(
            _as_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    db_user,
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                run_as,
            ),
            check=True,
            capture_output=True,
            env=env,
            cwd=base,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
        subprocess.run(
            _as_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                run_as,
            ),
            check=True,
            capture_output=True,
            env=env,
            cwd=base,
        )
        yield PostgresServer("127.0.0.1", port, db_user)
    finally:
        subprocess.run(
            _as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], run_as),
            capture_output=True,
            env=env,
            cwd=base,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)
