"""Settings: defaults, then the TOML file, then environment variables.

Every setting lives in a section of the TOML file (``[http] timeout = 30``) and can also be
set with ``IMAGETRUST_<SECTION>_<KEY>`` (``IMAGETRUST_HTTP_TIMEOUT=30``); the environment wins
so CI can override a checked-in file. Lists in the environment are comma-separated.
Credentials are deliberately *not* settings: they come from the environment or a credential
helper at the point of use, so a config file can be shared and a settings dump can be shown.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from imagetrust.errors import ConfigError

ENV_PREFIX = "IMAGETRUST_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    timeout: float = Field(30.0, gt=0, description="seconds per request")
    retries: int = Field(5, ge=0, description="retries on 5xx, 429 and connection errors")
    max_wait: float = Field(300.0, ge=0, description="total seconds one run may spend waiting")
    ca_bundle: str | None = Field(None, description="CA bundle file for TLS verification")
    proxy: str | None = Field(None, description="HTTP(S) proxy URL")


class HubSettings(_Section):
    url: str = "https://hub.docker.com"
    namespace: str = "library"


class RegistrySettings(_Section):
    default: str = "https://registry-1.docker.io"
    mirrors: list[str] = Field(default_factory=list)
    insecure: list[str] = Field(
        default_factory=list, description="registry hosts spoken to over plain HTTP"
    )
    pull_reserve: int = Field(
        0, ge=0, description="manifest pulls to leave unspent in a registry's rate limit"
    )
    max_pulls: int | None = Field(
        None, ge=0, description="at most this many manifest pulls per registry in one run"
    )


class SourcesSettings(_Section):
    """Where the catalog downloads the official-images and docs repositories (tar.gz)."""

    library_url: str = (
        "https://github.com/docker-library/official-images/archive/refs/heads/master.tar.gz"
    )
    docs_url: str = "https://github.com/docker-library/docs/archive/refs/heads/master.tar.gz"
    max_archive_bytes: int = Field(
        256 * 1024 * 1024, gt=0, description="refuse a source archive larger than this"
    )


class SbomSettings(_Section):
    max_file_bytes: int = Field(
        64 << 20, gt=0, description="largest package file read from a layer"
    )
    max_layer_bytes: int = Field(64 << 30, gt=0, description="uncompressed bytes per layer")
    max_entries: int = Field(2_000_000, gt=0, description="tar entries per layer")
    max_ratio: float = Field(1000.0, gt=1, description="uncompressed/compressed bytes per layer")


class Settings(_Section):
    http: HttpSettings = Field(default_factory=HttpSettings)
    hub: HubSettings = Field(default_factory=HubSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    sbom: SbomSettings = Field(default_factory=SbomSettings)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for section_name, section_field in Settings.model_fields.items():
        section_type = section_field.annotation
        assert isinstance(section_type, type) and issubclass(section_type, BaseModel)
        for key, key_field in section_type.model_fields.items():
            env_name = f"{ENV_PREFIX}{section_name}_{key}".upper()
            if env_name not in environ:
                continue
            raw = environ[env_name]
            value: Any = raw
            if "list" in str(key_field.annotation):
                value = [item.strip() for item in raw.split(",") if item.strip()]
            overrides.setdefault(section_name, {})[key] = value
    return overrides


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and apply environment overrides; errors name the source."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
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
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        source = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid setting {where}{source}: {first['msg']}") from None
