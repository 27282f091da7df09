"""Settings: defaults, then the TOML file, then environment variables.

Every setting lives in a section of the TOML file (``[http] timeout = 30``) and can also be
set with ``IMAGETRUST_<SECTION>_<KEY>`` (``IMAGETRUST_HTTP_TIMEOUT=30``); the environment wins
so CI can override a checked-in file. Lists in the environment are comma-separated.
Credentials are deliberately *not* settings: they come from the environment or a credential
helper at the point of use, so a config file can be shared and a settings dump can be shown.

The sections are frozen ``msgspec.Struct``s (declared in C: a 3.11 dataclass costs ~1 ms
to declare, and every command reads settings), with each bound in ``msgspec.Meta``. Pydantic
validates what a TOML file or an ``IMAGETRUST_*`` variable supplies, through standard
dataclasses built from the sections only then, with the same fields, defaults and bounds. So
a run with no configuration, the common case and the one every warm ``imagetrust sbom``
takes, never imports Pydantic (~0.1 s of start-up here), while every value a user supplies
is still checked by it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from msgspec import Meta, Struct, field

from imagetrust.errors import ConfigError

ENV_PREFIX = "IMAGETRUST_"


class _Section(Struct, frozen=True, kw_only=True):
    """A section of the settings file (``[http]``); unknown keys in it are errors."""


class HttpSettings(_Section, frozen=True, kw_only=True):
    timeout: Annotated[float, Meta(gt=0, description="seconds per request")] = 30.0
    retries: Annotated[int, Meta(ge=0, description="retries on 5xx, 429 and connection errors")] = 5
    max_wait: Annotated[
        float, Meta(ge=0, description="total seconds one run may spend waiting")
    ] = 300.0
    ca_bundle: Annotated[str | None, Meta(description="CA bundle file for TLS verification")] = None
    proxy: Annotated[str | None, Meta(description="HTTP(S) proxy URL")] = None


class HubSettings(_Section, frozen=True, kw_only=True):
    url: str = "https://hub.docker.com"
    namespace: str = "library"


class RegistrySettings(_Section, frozen=True, kw_only=True):
    default: str = "https://registry-1.docker.io"
    mirrors: list[str] = field(default_factory=list)
    insecure: Annotated[list[str], Meta(description="registry hosts spoken to over plain HTTP")] = (
        field(default_factory=list)
    )
    pull_reserve: Annotated[
        int, Meta(ge=0, description="manifest pulls to leave unspent in a registry's rate limit")
    ] = 0
    max_pulls: (
        Annotated[
            int, Meta(ge=0, description="at most this many manifest pulls per registry in one run")
        ]
        | None
    ) = None


class OciSettings(_Section, frozen=True, kw_only=True):
    """Bounds on what one image's metadata may cost, whatever its source says."""

    max_manifest_bytes: Annotated[
        int, Meta(gt=0, description="largest manifest or index read (registries cap at 4 MiB)")
    ] = 4 << 20
    max_layers: Annotated[int, Meta(gt=0, description="layers in one image manifest")] = 1000
    max_index_entries: Annotated[int, Meta(gt=0, description="manifests in one index")] = 1000
    max_archive_members: Annotated[
        int, Meta(gt=0, description="tar members read from a docker-archive: file")
    ] = 100_000


class SourcesSettings(_Section, frozen=True, kw_only=True):
    """Where the catalog downloads the official-images and docs repositories (tar.gz)."""

    library_url: str = (
        "https://github.com/docker-library/official-images/archive/refs/heads/master.tar.gz"
    )
    docs_url: str = "https://github.com/docker-library/docs/archive/refs/heads/master.tar.gz"
    max_archive_bytes: Annotated[
        int, Meta(gt=0, description="refuse a source archive larger than this")
    ] = 256 * 1024 * 1024


class SbomSettings(_Section, frozen=True, kw_only=True):
    max_file_bytes: Annotated[
        int, Meta(gt=0, description="largest package file read from a layer")
    ] = 64 << 20
    max_layer_bytes: Annotated[int, Meta(gt=0, description="uncompressed bytes per layer")] = (
        64 << 30
    )
    max_entries: Annotated[int, Meta(gt=0, description="tar entries per layer")] = 2_000_000
    max_ratio: Annotated[
        float, Meta(gt=1, description="uncompressed/compressed bytes per layer")
    ] = 1000.0
    layer_workers: Annotated[
        int, Meta(ge=0, le=64, description="layers of one image analysed at once (0: up to 4)")
    ] = 0
    worker_memory_mb: Annotated[
        int, Meta(gt=0, description="address space one layer worker may add")
    ] = 2048


class VulnDbSettings(_Section, frozen=True, kw_only=True):
    """Bounds on one ``db import``: past any of them the import fails, the data unchanged."""

    max_file_bytes: Annotated[
        int, Meta(gt=0, description="one advisory file or zip member, decompressed")
    ] = 64 << 20
    max_members: Annotated[int, Meta(gt=0, description="files in one zip")] = 2_000_000
    max_total_bytes: Annotated[
        int, Meta(gt=0, description="all members of one zip, decompressed")
    ] = 64 << 30
    max_json_nodes: Annotated[
        int, Meta(gt=0, description="JSON objects and arrays in one file")
    ] = 1_000_000
    max_yaml_depth: Annotated[int, Meta(gt=0, description="nesting of one YAML file")] = 64
    osv_url: Annotated[str, Meta(description="base URL of OSV's bulk exports (db update)")] = (
        "https://osv-vulnerabilities.storage.googleapis.com"
    )
    kev_url: Annotated[str, Meta(description="CISA's Known Exploited Vulnerabilities JSON")] = (
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
    )
    max_download_bytes: Annotated[
        int, Meta(gt=0, description="largest export db update downloads")
    ] = 8 << 30
    max_age_days: Annotated[
        float, Meta(gt=0, description="warn when a live source is older than this")
    ] = 7.0


class BundleSettings(_Section, frozen=True, kw_only=True):
    """Bounds on one bundle ``merge`` reads: past any of them the merge fails, nothing
    written (a bundle is untrusted input, e.g. an artifact another job uploaded)."""

    max_bytes: Annotated[int, Meta(gt=0, description="one bundle file, compressed")] = 16 << 30
    max_members: Annotated[int, Meta(gt=0, description="files in one bundle")] = 1_000_000
    max_member_bytes: Annotated[
        int, Meta(gt=0, description="one file in a bundle, decompressed")
    ] = 8 << 30
    max_total_bytes: Annotated[
        int, Meta(gt=0, description="all files of one bundle, decompressed")
    ] = 64 << 30
    max_record_bytes: Annotated[
        int, Meta(gt=0, description="one record (a JSON line) or one SBOM document")
    ] = 256 << 20


class EolSettings(_Section, frozen=True, kw_only=True):
    """End-of-life data (endoflife.date) and the rule that reads it."""

    url: Annotated[str, Meta(description="endoflife.date base URL; the API is under /api/v1")] = (
        "https://endoflife.date"
    )
    until_eoes: Annotated[
        list[str],
        Meta(description="products supported until their extended support end (eoes)"),
    ] = field(default_factory=lambda: ["debian"])


class Settings(_Section, frozen=True, kw_only=True):
    http: HttpSettings = field(default_factory=HttpSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    oci: OciSettings = field(default_factory=OciSettings)
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    sbom: SbomSettings = field(default_factory=SbomSettings)
    vulndb: VulnDbSettings = field(default_factory=VulnDbSettings)
    eol: EolSettings = field(default_factory=EolSettings)
    bundle: BundleSettings = field(default_factory=BundleSettings)


@cache
def _sections() -> dict[str, type[_Section]]:
    """Section name -> its class, read off ``Settings``'s fields."""
    from msgspec.structs import fields

    return {f.name: f.type for f in fields(Settings)}


@cache
def _list_fields(section: type[_Section]) -> frozenset[str]:
    """The fields of ``section`` that hold lists (comma-separated in the environment)."""
    from typing import get_origin, get_type_hints

    return frozenset(
        name for name, kind in get_type_hints(section).items() if get_origin(kind) is list
    )


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for section_name, section_type in _sections().items():
        for key in section_type.__struct_fields__:
            env_name = f"{ENV_PREFIX}{section_name}_{key}".upper()
            if env_name not in environ:
                continue
            raw = environ[env_name]
            value: Any = raw
            if key in _list_fields(section_type):
                value = [item.strip() for item in raw.split(",") if item.strip()]
            overrides.setdefault(section_name, {})[key] = value
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
    import dataclasses

    import msgspec
    from pydantic import TypeAdapter, ValidationError

    try:
        checked = TypeAdapter(_pydantic_view(Settings)).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        source = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid setting {where}{source}: {first['msg']}") from None
    return msgspec.convert(dataclasses.asdict(checked), Settings)


@cache
def _pydantic_view(section: type[_Section]) -> Any:
    """A frozen standard dataclass with ``section``'s fields, defaults and bounds, which
    Pydantic validates (it does not read msgspec types); nested sections become views too."""
    import dataclasses
    from typing import get_type_hints

    from msgspec import NODEFAULT
    from msgspec.structs import fields

    hints = get_type_hints(section, include_extras=True)
    specs: list[tuple[str, Any, Any]] = []
    for f in fields(section):
        kind = _for_pydantic(hints[f.name])
        if f.default is not NODEFAULT:
            spec = dataclasses.field(default=f.default)
        elif isinstance(kind, type) and dataclasses.is_dataclass(kind):
            spec = dataclasses.field(default_factory=kind)
        else:
            spec = dataclasses.field(default_factory=f.default_factory)
        specs.append((f.name, kind, spec))
    view = dataclasses.make_dataclass(section.__name__, specs, frozen=True, kw_only=True)
    view.__pydantic_config__ = {"extra": "forbid"}  # type: ignore[attr-defined]
    return view


def _for_pydantic(kind: Any) -> Any:
    """``kind`` with msgspec bounds as Pydantic ``Field``s and sections as their views."""
    import types
    from typing import Union, get_args, get_origin

    from pydantic import Field

    origin = get_origin(kind)
    if origin is Annotated:
        base, *extras = get_args(kind)
        bounds = [
            Field(**{k: v for k in ("gt", "ge", "description") if (v := getattr(m, k)) is not None})
            for m in extras
            if isinstance(m, Meta)
        ]
        return Annotated[(_for_pydantic(base), *bounds)]
    if origin in (Union, types.UnionType):
        return Union[tuple(_for_pydantic(arg) for arg in get_args(kind))]  # noqa: UP007
    if isinstance(kind, type) and issubclass(kind, _Section):
        return _pydantic_view(kind)
    return kind
