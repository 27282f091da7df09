"""Database URLs, the clock and settings: the small pieces every command relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagetrust.clock import Clock, parse_instant
from imagetrust.config import load_settings
from imagetrust.errors import ConfigError, UsageError
from imagetrust.paths import default_home
from imagetrust.store.url import redact_url, resolve_db_url, sqlite_path


def test_default_db_is_sqlite_in_home(tmp_path: Path) -> None:
    url = resolve_db_url(tmp_path, None)
    assert url == f"sqlite:///{tmp_path.resolve()}/imagetrust.db"
    assert sqlite_path(url) == tmp_path.resolve() / "imagetrust.db"


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("postgresql://u@h:5432/d", "postgresql+psycopg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////x/y.db", "sqlite:////x/y.db"),
    ],
)
def test_db_url_normalisation(given_url: str, expected: str) -> None:
    assert resolve_db_url(Path("/unused"), given_url) == expected
    assert sqlite_path(expected) is None or expected.startswith("sqlite")


def test_unsupported_db_url_is_a_usage_error_without_password() -> None:
    with pytest.raises(UsageError) as info:
        resolve_db_url(Path("/x"), "mysql://root:hunter22@db/x")
    assert "hunter22" not in info.value.message and info.value.exit_code == 2


def test_redact_url() -> None:
    assert redact_url("postgresql://me:pw@h/d") == "postgresql://me:***@h/d"
    assert redact_url("postgresql://me@h/d") == "postgresql://me@h/d"


def test_home_resolution_order(tmp_path: Path) -> None:
    assert default_home({"IMAGETRUST_HOME": str(tmp_path)}) == tmp_path
    assert default_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "imagetrust"
    assert default_home({}).parts[-3:] == (".local", "share", "imagetrust")


def test_parse_instant_forms() -> None:
    assert parse_instant("2020-05-01") == datetime(2020, 5, 1, tzinfo=UTC)
    assert parse_instant("2020-05-01T10:00:00Z") == datetime(2020, 5, 1, 10, tzinfo=UTC)
    assert parse_instant("2020-05-01T12:00:00+02:00") == datetime(2020, 5, 1, 10, tzinfo=UTC)
    assert parse_instant("2020-05-01T10:00") == datetime(2020, 5, 1, 10, tzinfo=UTC)
    for bad in ("", "yesterday", "2020-13-01", "01/05/2020"):
        with pytest.raises(UsageError):
            parse_instant(bad)


@given(st.datetimes(timezones=st.just(UTC)))
def test_parse_instant_round_trips_isoformat(moment: datetime) -> None:
    assert parse_instant(moment.isoformat()) == moment


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_parse_instant_normalises_any_offset_to_utc(naive: datetime, minutes: int) -> None:
    moment = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    parsed = parse_instant(moment.isoformat())
    assert parsed == moment and parsed.utcoffset() == timedelta(0)


def test_clock_fixed_and_real() -> None:
    fixed = Clock.from_text("2024-02-29")
    assert fixed.now() == datetime(2024, 2, 29, tzinfo=UTC) == fixed.now()
    assert fixed.today().isoformat() == "2024-02-29"
    real = Clock.from_text(None).now()
    assert abs(real - datetime.now(UTC)) < timedelta(seconds=5)


def test_settings_defaults() -> None:
    settings = load_settings(None, environ={})
    assert settings.hub.url == "https://hub.docker.com"
    assert settings.registry.mirrors == []
    assert settings.http.timeout == 30


def test_settings_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "imagetrust.toml"
    path.write_text(
        '[hub]\nurl = "http://127.0.0.1:9"\n[http]\ntimeout = 5\nretries = 1\n'
        '[registry]\nmirrors = ["https://mirror.example/a"]\n'
    )
    settings = load_settings(
        path,
        environ={
            "IMAGETRUST_HTTP_TIMEOUT": "7.5",
            "IMAGETRUST_REGISTRY_MIRRORS": "https://m1.example, https://m2.example",
        },
    )
    assert settings.hub.url == "http://127.0.0.1:9"
    assert settings.http.timeout == 7.5 and settings.http.retries == 1
    assert settings.registry.mirrors == ["https://m1.example", "https://m2.example"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[http\n", "invalid TOML"),
        ("[http]\ntimeout = -1\n", "invalid setting http.timeout"),
        ("[http]\nspeed = 1\n", "invalid setting http.speed"),
        ("[nope]\nx = 1\n", "invalid setting nope"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, environ={})
    assert info.value.exit_code == 2


def test_bad_environment_setting_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"http\.retries"):
        load_settings(None, environ={"IMAGETRUST_HTTP_RETRIES": "many"})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    ("name", "value", "where"),
    [
        ("IMAGETRUST_SBOM_MAX_RATIO", "1", "sbom.max_ratio"),
        ("IMAGETRUST_REGISTRY_MAX_PULLS", "-1", "registry.max_pulls"),
        ("IMAGETRUST_SOURCES_MAX_ARCHIVE_BYTES", "0", "sources.max_archive_bytes"),
        ("IMAGETRUST_HTTP_MAX_WAIT", "-0.5", "http.max_wait"),
    ],
)
def test_every_bound_is_enforced(name: str, value: str, where: str) -> None:
    with pytest.raises(ConfigError, match=rf"invalid setting {where}: Input should be greater"):
        load_settings(None, environ={name: value})


def test_settings_without_file_or_environment_do_not_load_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from imagetrust.config import load_settings; "
        "s = load_settings(None, environ={}); "
        "print(s.http.timeout, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["30.0", "False"]


def _bounded_fields() -> list[tuple[str, str, Any]]:
    from typing import Annotated, get_args, get_origin, get_type_hints

    import msgspec

    from imagetrust.config import Settings

    found = []
    for section in Settings.__struct_fields__:
        section_type = get_type_hints(Settings)[section]
        for name, kind in get_type_hints(section_type, include_extras=True).items():
            # ``X | None`` keeps its bound on X
            options = get_args(kind) if get_origin(kind) is not Annotated else (kind,)
            for option in options:
                if get_origin(option) is Annotated:
                    for meta in get_args(option)[1:]:
                        if isinstance(meta, msgspec.Meta) and (meta.gt, meta.ge) != (None, None):
                            found.append((section, name, meta))
    return found


def test_every_declared_bound_is_enforced_through_pydantic() -> None:
    bounded = _bounded_fields()
    assert len(bounded) >= 8  # the timeouts, retries, pull counts, sizes and ratio
    for section, name, meta in bounded:
        limit = meta.gt if meta.gt is not None else meta.ge
        bad = limit if meta.gt is not None else limit - 1
        env = {f"IMAGETRUST_{section}_{name}".upper(): str(bad)}
        with pytest.raises(ConfigError, match=rf"invalid setting {section}\.{name}: Input should"):
            load_settings(None, environ=env)
        good = {f"IMAGETRUST_{section}_{name}".upper(): str(limit + 1)}
        assert getattr(getattr(load_settings(None, environ=good), section), name) == limit + 1


def test_validated_settings_keep_every_default(tmp_path: Path) -> None:
    from imagetrust.config import Settings

    path = tmp_path / "empty-sections.toml"
    path.write_text("[http]\n[hub]\n[registry]\n[sources]\n[sbom]\n")
    assert load_settings(path, environ={}) == Settings()
    settings = load_settings(path, environ={"IMAGETRUST_HTTP_RETRIES": "2"})
    assert settings.http.retries == 2 and settings.http.timeout == Settings().http.timeout
    assert type(settings) is Settings and type(settings.http) is type(Settings().http)
