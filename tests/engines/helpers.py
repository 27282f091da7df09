"""Shared by the engine tests: the real reports, the CLI against one store, stand-ins."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
ENGINES = FIXTURES / "engines"
TRIVY = {
    name: ENGINES / "trivy" / f"{name}.json"
    for name in ("alpine-39", "debian-stretch", "debian-buster")
}
GRYPE = {
    name: ENGINES / "grype" / f"{name}.json" for name in ("chainguard-ruby-test", "keycloak-test")
}
ROOTFS = FIXTURES / "rootfs"
NOW = "2026-11-23"


def raw(path: Path) -> Any:
    return json.loads(path.read_text())


class Cli:
    """``imagetrust`` with one home and store, as a user would run it."""

    def __init__(self, home: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.base = ["--home", str(home), "--db-url", store_url, "--now", NOW]
        self.capsys = capsys
        self.store_url = store_url

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main([*self.base, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--format", "json")
        assert code == 0, err
        return json.loads(out)


STANDIN = '''#!{python}
"""A stand-in for {name}: records how it was called, then prints a real report."""
import json, os, sys
log = os.environ["STANDIN_LOG"]
with open(log, "a") as out:
    keep = {{k: v for k, v in os.environ.items() if k.startswith(("GRYPE_", "TRIVY_"))}}
    out.write(json.dumps({{"tool": "{name}", "argv": sys.argv[1:], "env": keep}}) + "\\n")
sys.stderr.write(os.environ.get("STANDIN_STDERR", ""))
with open(os.environ["STANDIN_OUTPUT"], "rb") as report:
    sys.stdout.buffer.write(report.read())
sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
'''


class StandIn:
    """``trivy`` and ``grype`` executables on PATH that print a prepared real report."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        self.log = folder / "calls.jsonl"
        self.output = folder / "report.json"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setenv("STANDIN_LOG", str(self.log))
        monkeypatch.setenv("STANDIN_OUTPUT", str(self.output))

    def install(self, name: str) -> None:
        tool = self.bin / name
        tool.write_text(STANDIN.format(python=sys.executable, name=name))
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)

    def prints(self, report: Any) -> None:
        self.output.write_text(json.dumps(report) if not isinstance(report, str) else report)

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]
