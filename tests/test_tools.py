"""Tests that compare with syft or trivy find them next to the interpreter, not on PATH."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.tools import venv_tool

TESTS = Path(__file__).parent


def fake_tool(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    return tool


def test_the_tool_beside_the_interpreter_wins_even_with_nothing_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside = fake_tool(tmp_path / "venv" / "bin", "syft")
    elsewhere = fake_tool(tmp_path / "elsewhere", "syft")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(elsewhere.parent))
    assert venv_tool("syft") == beside
    monkeypatch.setenv("PATH", "")
    assert venv_tool("syft") == beside
    assert venv_tool("trivy") is None


def test_no_test_looks_for_syft_or_trivy_on_path_alone() -> None:
    """``.venv/bin/pytest`` from a shell without the venv on PATH must still find them."""
    pattern = re.compile(r"""which\(\s*["'](syft|trivy)["']|["']\.venv["']""")
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "test_tools.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
