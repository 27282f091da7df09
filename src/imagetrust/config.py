"""Settings: defaults, then the TOML file, then environment variables.

Every setting lives in a section of the TOML file (``[http] timeout = 30``) and can also be
set with ``IMAGETRUST_<SECTION>_<KEY>`` (``IMAGETRUST_HTTP_TIMEOUT=30``); the environment wins
so CI can override a checked-in file. Lists in the environment are comma-separated.
Credentials are deliberately *not* settings: they come from the environment or a credential
helper at the point of use, so a config file can be shared and a settings dump can be shown.

The sections are frozen standard-library dataclasses, and Pydantic validates them only when
there is something to validate (a file or an ``IMAGETRUST_*`` variable). Bounds live in each
field's metadata under Pydantic's own ``Field`` argument names (``gt``, ``ge``), which
Pydantic reads from dataclass fields. So a run with no configuration, the common case and the
one every warm ``imagetrust sbom`` takes, never imports Pydantic (~0.1 s of start-up here),
while every value a user supplies is still checked by it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from imagetrust.errors import ConfigError

ENV_PREFIX = "IMAGETRUST_"


@dataclass(frozen=True, kw_only=True)
class _Section:
    # Unknown keys are errors: a typo in a config file must not be silently ignored.
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}


@dataclass(frozen=True, kw_only=True)
class HttpSettings(_Section):
    timeout: float = field(default=30.0, metadata={"gt": 0, "description": "seconds per request"})
    retries: int = field(
        default=5, metadata={"ge": 0, "description": "retries on 5xx, 429 and connection errors"}
    )
    max_wait: float = field(
        default=300.0, metadata={"ge": 0, "description": "total seconds one run may spend waiting"}
    )
    ca_bundle: str | None = field(
        default=None, metadata={"description": "CA bundle file for TLS verification"}
    )
    proxy: str | None = field(default=None, metadata={"description": "HTTP(S) proxy URL"})


@dataclass(frozen=True, kw_only=True)
class HubSettings(_Section):
    url: str = "https://hub.docker.com"
    namespace: str = "library"


@dataclass(frozen=True, kw_only=True)
class RegistrySettings(_Section):
    default: str = "https://registry-1.docker.io"
    mirrors: list[str] = field(default_factory=list)
    insecure: list[str] = field(
        default_factory=list, metadata={"description": "registry hosts spoken to over plain HTTP"}
    )
    pull_reserve: int = field(
        default=0,
        metadata={
            "ge": 0,
            "description": "manifest pulls to leave unspent in a registry's rate limit",
        },
    )
    max_pulls: int | None = field(
        default=None,
        metadata={
            "ge": 0,
            "description": "at most this many manifest pulls per registry in one run",
        },
    )


@dataclass(frozen=True, kw_only=True)
class SourcesSettings(_Section):
    """Where the catalog downloads the official-images and docs repositories (tar.gz)."""

    library_url: str = (
        "https://github.com/docker-library/official-images/archive/refs/heads/master.tar.gz"
    )
    docs_url: str = "https://github.com/docker-library/docs/archive/refs/heads/master.tar.gz"
    max_archive_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata={"gt": 0, "description": "refuse a source archive larger than this"},
    )


@dataclass(frozen=True, kw_only=True)
class SbomSettings(_Section):
    max_file_bytes: int = field(
        default=64 << 20,
        metadata={"gt": 0, "description": "largest package file read from a layer"},
    )
    max_layer_bytes: int = field(
        default=64 << 30, metadata={"gt": 0, "description": "uncompressed bytes per layer"}
    )
    max_entries: int = field(
        default=2_000_000, metadata={"gt": 0, "description": "tar entries per layer"}
    )
    max_ratio: float = field(
        default=1000.0, metadata={"gt": 1, "description": "uncompressed/compressed bytes per layer"}
    )


@dataclass(frozen=True, kw_only=True)
class Settings(_Section):
    http: HttpSettings = field(default_factory=HttpSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    sbom: SbomSettings = field(default_factory=SbomSettings)


# Section name -> its class, read off ``Settings`` (each field's default factory is the class).
_SECTIONS: dict[str, type[_Section]] = {
    section.name: section.default_factory  # type: ignore[misc]
    for section in fields(Settings)
}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for section_name, section_type in _SECTIONS.items():
        for key in fields(section_type):
            env_name = f"{ENV_PREFIX}{section_name}_{key.name}".upper()
            if env_name not in environ:
                continue
            raw = environ[env_name]
            value: Any = raw
            if str(key.type).startswith("list["):
                value = [item.strip() for item in raw.split(",") if item.strip()]
            overrides.setdefault(section_name, {})[key.name] = value
    return overrides


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and apply environment overrides; errors name the source."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    for section, values in _env_overrides(env).items():
        current = data.get(section)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(values)
        data[section] = merged
    if not data:
        return Settings()
    return _validate(data, path)


def _validate(data: dict[str, Any], path: Path | None) -> Settings:
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(Settings).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        source = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid setting {where}{source}: {first['msg']}") from None
