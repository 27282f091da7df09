"""The workflow's parts for ``--engine trivy``: Trivy installed, its database fetched once
per run, and its image reads sent to the same mirrors as imagetrust's.

**Installing.** ``aquasecurity/setup-trivy``, pinned by commit in ``actions``, installs the
pinned ``TRIVY_VERSION`` (its archive checked against the release's SHA-256 list) and
caches the binary per version.

**One database per run.** A ``trivy-db`` job, beside the catalog job, restores the last
run's Trivy databases (the vulnerability DB and the Java DB) from the Actions cache, lets
Trivy update them (it downloads only when they are stale) and saves them under this run's
key. Every shard restores exactly that entry and scans with updates switched off, so all
shards judge images against one database state (each finding set records it); only when
the entry is missing (evicted) does a shard let Trivy update on its own.

**Mirrors.** ``run --engine trivy`` points Trivy at the image's manifest digest on Docker
Hub; Trivy then reads manifests and layers itself, outside imagetrust's client. Trivy's
config file (``registry.mirrors``, read from ``trivy.yaml`` in the folder it runs in) sends
those reads to the mirrors first, by digest, which go-containerregistry verifies; Docker
Hub is asked only when no mirror has the image. Docker Hub credentials are not given to
Trivy: its ``--username`` would be offered to every registry, mirrors included.
"""

from __future__ import annotations

import json
from typing import Any

from imagetrust.oci.mirrors import parse_mirror
from imagetrust.workflow.actions import TRIVY_VERSION, uses

CACHE_DIR = "${{ github.workspace }}/.trivy"
DB_CACHE_KEY = "imagetrust-trivy-db-${{ github.run_id }}"
DB_PATHS = "${{ env.TRIVY_CACHE_DIR }}/db\n${{ env.TRIVY_CACHE_DIR }}/java-db\n"
DOCKER_HUB = "index.docker.io"  # the host Trivy's mirror table names Docker Hub by

UPDATE_DB_SCRIPT = """\
trivy image --download-db-only
trivy image --download-java-db-only
"""

CONFIG_SCRIPT = """\
printf '%s\\n' "$TRIVY_MIRRORS_CONFIG" > trivy.yaml
"""


def mirror_hosts(mirrors: tuple[str, ...]) -> list[str]:
    """imagetrust's Docker Hub mirrors as entries of Trivy's ``registry.mirrors``.

    Trivy puts a mirror entry in place of the registry host (``index.docker.io/library/
    python`` becomes ``ENTRY/library/python``), where imagetrust lets a mirror path that
    ends in ``library`` stand for that namespace (``public.ecr.aws/docker/library``): the
    entry is the host and the path without that last ``library``. Plain-HTTP mirrors (a
    loopback test registry) are left out: Trivy would need ``--insecure`` for every
    registry.
    """
    hosts: list[str] = []
    for url in mirrors:
        mirror = parse_mirror(url)
        if not mirror.base_url.startswith("https://"):
            continue
        path = mirror.prefix.split("/") if mirror.prefix else []
        if path and path[-1] == "library":
            path = path[:-1]
        entry = "/".join([mirror.registry, *path])
        if entry not in hosts:
            hosts.append(entry)
    return hosts


def config_text(mirrors: tuple[str, ...]) -> str:
    """Trivy's ``trivy.yaml`` (JSON is YAML) sending Docker Hub reads to the mirrors."""
    config = {"registry": {"mirrors": {DOCKER_HUB: mirror_hosts(mirrors)}}}
    return json.dumps(config, separators=(",", ":"))


def step_install() -> dict[str, Any]:
    return {
        "name": f"Install Trivy {TRIVY_VERSION}",
        "uses": uses("aquasecurity/setup-trivy"),
        "with": {"version": TRIVY_VERSION, "cache": True},
    }


def step_database_cache(step_id: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"name": "Restore Trivy's database"}
    if step_id is not None:
        step["id"] = step_id
    step |= {
        "uses": uses("actions/cache"),
        "with": {
            "path": DB_PATHS,
            "key": DB_CACHE_KEY,
            "restore-keys": "imagetrust-trivy-db-",
        },
    }
    return step


def database_job(runs_on: str | list[str]) -> dict[str, Any]:
    """Fetches Trivy's databases once for the run (the shards restore this cache entry)."""
    return {
        "name": "Trivy's database",
        "runs-on": runs_on,
        "timeout-minutes": 30,
        "permissions": {},
        "steps": [
            step_install(),
            step_database_cache(),
            {"name": "Update Trivy's database", "run": UPDATE_DB_SCRIPT},
        ],
    }


def shard_steps(mirrors: tuple[str, ...]) -> list[dict[str, Any]]:
    """Trivy, this run's database and the mirror configuration, before ``run``."""
    return [
        step_install(),
        step_database_cache("trivy-db"),
        {
            "name": "Send Trivy's image reads to the mirrors",
            "env": {"TRIVY_MIRRORS_CONFIG": config_text(mirrors)},
            "run": CONFIG_SCRIPT,
        },
    ]


def analyse_env() -> dict[str, str]:
    """With this run's database restored, no shard updates it (one state for all)."""
    fresh = "${{ steps.trivy-db.outputs.cache-hit == 'true' }}"
    return {"TRIVY_SKIP_DB_UPDATE": fresh, "TRIVY_SKIP_JAVA_DB_UPDATE": fresh}
