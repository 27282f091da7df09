"""Secrets never reach logs; files are replaced atomically."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from imagetrust.fsutil import atomic_write_text
from imagetrust.logs import configure_logging, redact, secret_values


def test_secret_values_come_from_secret_looking_variables() -> None:
    env = {
        "DOCKERHUB_TOKEN": "abcd1234",
        "REGISTRY_PASSWORD": "pw-xyz",
        "HOME": "/root",
        "GITHUB_TOKEN": "ab",
    }
    assert secret_values(env) == ["abcd1234", "pw-xyz"]
    assert redact("Bearer abcd1234 / pw-xyz", secret_values(env)) == "Bearer *** / ***"


def test_log_records_are_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKERHUB_TOKEN", "dckr_pat_SECRETVALUE")
    configure_logging(1)
    logging.getLogger("imagetrust.test").info("auth header: Bearer %s", "dckr_pat_SECRETVALUE")
    err = capsys.readouterr().err
    assert "auth header: Bearer ***" in err and "SECRETVALUE" not in err
    configure_logging(0)


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
