"""The command-line contract: global options, JSON envelope, exit codes, error lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagetrust.cli.app import VALUED_ROOT_OPTIONS, app, app_for, command_name
from imagetrust.cli.main import main
from imagetrust.store.migrations import HEAD_REVISION

HEAVY_MODULES = {
    "sqlalchemy",
    "alembic",
    "httpx",
    "pydantic",
    "cyclonedx",
    "rich",
    "psycopg",
    "jinja2",
    "playwright",
}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, exactly as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "imagetrust", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands_that_exist() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("store", "demo"):
        assert f"  {command} " in result.stdout
    for option in ("--home", "--db-url", "--config", "--now", "--verbose", "--quiet", "--debug"):
        assert option in result.stdout


def test_root_help_lists_every_command_even_before_a_command_name() -> None:
    result = run_cli("--help", "sbom")
    assert result.returncode == 0
    commands = ("catalog", "inspect", "sbom", "scan", "resolve", "run", "evaluate", "eol", "db")
    commands += ("policy", "show", "allowlist")
    for command in (*commands, "export", "merge", "workflow", "store", "demo"):
        assert f"  {command} " in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sbom", "python:3.12"], "sbom"),
        (["-v", "-q", "--debug", "store", "status"], "store"),
        (["--home", "sbom", "scan", "x"], "scan"),
        (["--home=sbom", "--db-url", "inspect", "catalog"], "catalog"),
        (["--config", "c.toml", "--now", "2026-01-01", "db", "status"], "db"),
        (["--help", "sbom"], None),
        (["-h"], None),
        (["--home", "x"], None),
        (["--", "sbom"], None),
        ([], None),
    ],
)
def test_command_name_skips_root_options_and_their_values(
    args: list[str], expected: str | None
) -> None:
    assert command_name(args) == expected


def test_valued_root_options_are_exactly_those_that_take_a_value() -> None:
    import typer

    group = typer.main.get_command(app)
    valued = {
        opt
        for param in group.params
        if not getattr(param, "is_flag", False) and not getattr(param, "count", False)
        for opt in param.opts
    }
    assert valued == VALUED_ROOT_OPTIONS


def test_a_run_builds_only_its_own_command_and_leaves_the_app_whole() -> None:
    everything = (
        [c.name for c in app.registered_commands],
        [g.name for g in app.registered_groups],
    )
    narrowed = app_for(["--home", "/tmp/h", "sbom", "python"])
    assert [c.name for c in narrowed.registered_commands] == ["sbom"]
    assert narrowed.registered_groups == []
    store = app_for(["store", "status"])
    assert store.registered_commands == [] and [g.name for g in store.registered_groups] == [
        "store"
    ]
    assert app_for(["sbon"]) is app and app_for(["--help", "sbom"]) is app
    assert ([c.name for c in app.registered_commands], [g.name for g in app.registered_groups]) == (
        everything
    )


def test_a_mistyped_command_still_gets_a_suggestion() -> None:
    result = run_cli("--home", "/nonexistent", "sbon")
    assert result.returncode == 2
    assert "No such command 'sbon'" in result.stderr and "sbom" in result.stderr


def test_the_console_script_skips_tear_down_but_nothing_a_user_sees() -> None:
    """``run`` leaves with ``os._exit``: buffered output, exit handlers registered during
    the run, a still-running worker thread and the exit code must all survive that (and
    the collector runs less often during start-up)."""
    code = """
import atexit, gc, sys, threading, time
from imagetrust.cli import main as cli_main

def fake_main(argv=None):
    atexit.register(lambda: sys.stdout.write("handler ran\\n"))
    def late():
        time.sleep(0.3)
        sys.stdout.write("thread done\\n")
    threading.Thread(target=late).start()
    sys.stdout.write("x" * 1_000_000 + "\\n")  # left in the buffer
    sys.stderr.write(f"threshold {gc.get_threshold()[0]}")  # no newline: still buffered
    return 3

cli_main.main = fake_main
cli_main.run()
"""
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=buffered,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == "x" * 1_000_000 + "\nthread done\nhandler ran\n"
    assert result.stderr == "threshold 50000"


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["--bogus"], 2), (["sbom"], 2)])
def test_the_console_script_keeps_exit_codes(args: list[str], code: int) -> None:
    assert run_cli(*args).returncode == code


def test_start_up_imports_no_heavy_library() -> None:
    code = (
        "import sys, imagetrust.cli.app; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY_MODULES)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from imagetrust import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"imagetrust {__version__}"


def test_store_status_and_migrate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "store", "status", "--format", "json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert list(before)[:2] == ["schema_version", "kind"]
    assert before["kind"] == "store-status" and before["revision"] is None
    assert before["up_to_date"] is False

    assert main(["--home", str(home), "store", "migrate", "-f", "json"]) == 0
    migrated = json.loads(capsys.readouterr().out)
    assert migrated["kind"] == "store-migration" and migrated["changed"] is True
    assert migrated["from_revision"] is None and migrated["to_revision"] == HEAD_REVISION

    assert main(["--home", str(home), "store", "migrate", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False

    assert main(["--home", str(home), "store", "status"]) == 0
    table = capsys.readouterr().out
    assert "up to date" in table and str(home) in table


def test_db_url_from_environment(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)
    assert main(["store", "migrate", "-f", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["backend"] == store_url.split("+")[0].split(":")[0]
    assert payload["to_revision"] == HEAD_REVISION


@pytest.mark.parametrize(
    ("args", "stderr_part"),
    [
        (["--now", "someday", "store", "status"], "Invalid value for --now"),
        (["store", "nope"], "No such command"),
        (["store", "status", "--format", "xml"], "Invalid value for '--format'"),
        (["--db-url", "mysql://root:pw1234@h/db", "store", "status"], "unsupported database URL"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_message(args: list[str], stderr_part: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert stderr_part in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw1234" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


@pytest.mark.parametrize(
    ("args", "message", "usage"),
    [
        (["scan"], "Missing argument 'REF'.", "imagetrust scan [OPTIONS] REF"),
        (["sbom", "--bogus", "x"], "No such option: --bogus", "imagetrust sbom [OPTIONS] REF"),
        (["inspect"], "Missing argument 'REF'.", "imagetrust inspect [OPTIONS] REF"),
        (["db", "import"], "Missing argument 'PATH'.", "imagetrust db import [OPTIONS] PATH"),
    ],
)
def test_click_usage_errors_are_one_line_naming_the_arguments(
    args: list[str], message: str, usage: str
) -> None:
    result = run_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {message}") and f"usage: {usage};" in line
    help_text = run_cli(*[a for a in args if not a.startswith("-")], "--help").stdout
    assert help_text.startswith(f"Usage: {usage}\n")


def test_a_file_that_is_not_a_docker_archive_is_one_error_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    result = run_cli("--home", str(tmp_path), "inspect", f"docker-archive:{text}")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: docker-archive:{text}: not a tar archive (plain, gzip, bzip2 or xz)"
    assert all(line.startswith(("error: ", "hint: ")) for line in lines) and len(lines) <= 2


def test_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[http]\ntimeout = 'soon'\n")
    result = run_cli("--config", str(config), "--home", str(tmp_path), "store", "status")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: invalid setting http.timeout in {config}: "
        "Input should be a valid number, unable to parse string as a number"
    ]
    missing = run_cli(
        "--home",
        str(tmp_path),
        "store",
        "status",
        env={"IMAGETRUST_CONFIG": str(tmp_path / "absent.toml")},
    )
    assert missing.returncode == 2 and "config file not found" in missing.stderr


def test_failure_exits_1_with_one_line_and_redacted_secret(tmp_path: Path) -> None:
    from tests.services.postgres import free_port

    secret = "tok-" + "9" * 12
    url = f"postgresql://me:{secret}@127.0.0.1:{free_port()}/x?connect_timeout=2"
    result = run_cli("--db-url", url, "store", "status", env={"DOCKERHUB_TOKEN": secret})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: store ")
    assert secret not in result.stderr

    debug = run_cli("--debug", "--db-url", url, "store", "status", env={"DOCKERHUB_TOKEN": secret})
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and secret not in debug.stderr


def test_now_is_applied_to_recorded_runs(tmp_path: Path) -> None:
    home = tmp_path / "h"
    demo = run_cli("--home", str(home), "--now", "2020-05-01", "demo", "--out", str(tmp_path / "d"))
    assert demo.returncode == 0, demo.stderr
    status = run_cli("--home", str(home), "store", "status", "-f", "json")
    assert json.loads(status.stdout)["last_run"]["started_at"] == "2020-05-01T00:00:00+00:00"
