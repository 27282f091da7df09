"""A small official-images world on loopback for ``imagetrust run``: registry, Hub, library.

Three repositories, pushed to a real ``docker-registry`` and reached through a loopback
proxy that logs every request (so tests count pulls, HEADs and blob bytes at the registry):

- ``web``: an index (linux/amd64, linux/arm64/v8, with attestations), listed by the
  replayed Hub with its digests and a Windows image; the most pulled;
- ``api``: one linux/amd64 manifest, listed by the Hub; pulled less;
- ``tool``: in the library file only, so resolved by ``HEAD``; an index with linux/amd64
  and windows/amd64.

All three sit on the same Alpine base layer (the real Alpine 3.16 package database, so
the demo's advisories give real findings) plus a small layer of their own. The Hub answers
are a recording in the API's page format (read through the live parsers); Docker Hub's
registry is the loopback one (``[registry] default``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imagetrust.cli.main import main
from imagetrust.config import Settings
from imagetrust.demo import DATA as DEMO_DATA
from imagetrust.oci.models import Platform
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import (
    AMD64,
    ARM64,
    Built,
    ImageSpec,
    Layer,
    build_image,
    build_multiplatform,
)
from imagetrust.testkit.push import push
from tests.services.registry import FaultProxy, RegistryServer

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
VULNDB = DEMO_DATA / "vulndb"
NOW = "2026-06-01T08:00:00Z"
WINDOWS = Platform("windows", "amd64")
KEV_CATALOG = ROOTFS.parent / "vulndb" / "kev" / "known_exploited_vulnerabilities.json"


def kev_catalog_listing(cve: str, out: Path) -> Path:
    """A copy of the real KEV catalog (the fixture) with one entry more, for ``cve``, as
    CISA would add it on 2026-05-20; written to ``out``."""
    catalog = json.loads(KEV_CATALOG.read_text())
    listed = {**catalog["vulnerabilities"][0], "cveID": cve}
    listed.update(dateAdded="2026-05-20", dueDate="2026-06-10")
    catalog["vulnerabilities"].append(listed)
    catalog["catalogVersion"] = "2026.05.20"
    out.write_text(json.dumps(catalog))
    return out


def base_layer() -> Layer:
    return Layer.from_dir(ROOTFS / "alpine")


def own_layer(name: str) -> Layer:
    # 320 KB that gzip cannot shrink: the blob arrives in several chunks, so a crash can
    # land half-way through it.
    noise = b"".join(hashlib.sha256(f"{name}{i}".encode()).digest() for i in range(10000))
    return Layer.from_files({f"opt/{name}/id": name, f"opt/{name}/data.bin": noise})


@dataclass
class World:
    tmp: Path
    registry: RegistryServer
    proxy: FaultProxy
    prefix: str
    built: dict[str, Built] = field(default_factory=dict)
    pulls: dict[str, int] = field(default_factory=dict)

    def name(self, short: str) -> str:
        return f"{self.prefix}-{short}"

    # ------------------------------------------------------------------ building

    def build(self) -> World:
        self.built["web"] = build_multiplatform([base_layer(), own_layer("web")])
        self.built["api"] = build_image(ImageSpec(layers=[base_layer(), own_layer("api")]))
        self.built["tool"] = build_multiplatform(
            [base_layer(), own_layer("tool")], platforms=(AMD64, WINDOWS), attestations=False
        )
        self.pulls = {"web": 1000, "api": 500}
        for short, built in self.built.items():
            self.publish(short, built)
        self.write_library()
        self.write_hub()
        return self

    def publish(self, short: str, built: Built, tag: str = "latest") -> None:
        with OciSession(Settings(), mirrors={}) as session:
            push(
                built, session.client(self.registry.netloc), f"library/{self.name(short)}", tag=tag
            )
        self.proxy.log.clear()

    @property
    def library(self) -> Path:
        return self.tmp / "library"

    @property
    def hub(self) -> Path:
        return self.tmp / "hub"

    def write_library(self) -> None:
        self.library.mkdir(parents=True, exist_ok=True)
        for short in self.built:
            (self.library / self.name(short)).write_text(
                "Maintainers: Test <test@example.com> (@test)\n"
                "GitRepo: https://example.com/test.git\n\n"
                "Tags: latest\n"
                "Architectures: amd64\n"
                "GitCommit: 0123456789abcdef0123456789abcdef01234567\n"
                "Directory: .\n"
            )

    def platform_digest(self, short: str, platform: Platform = AMD64) -> str:
        built = self.built[short]
        images = getattr(built, "images", None)
        if images is None:
            return built.descriptor.digest
        for image in images:
            if image.platform == platform:
                return str(image.manifest.digest)
        raise KeyError(platform)

    def write_hub(self) -> None:
        listed = [s for s in self.built if s in self.pulls]
        pages = self.hub / "repositories"
        pages.mkdir(parents=True, exist_ok=True)
        (pages / "page-1.json").write_text(
            json.dumps(
                {
                    "count": len(listed),
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "name": self.name(short),
                            "namespace": "library",
                            "status": 1,
                            "status_description": "active",
                            "description": f"the {short} image",
                            "pull_count": self.pulls[short],
                            "star_count": 1,
                            "last_updated": "2026-05-30T00:00:00Z",
                        }
                        for short in listed
                    ],
                }
            )
        )
        for short in listed:
            images = [self._hub_image(short, AMD64)]
            if short == "web":
                images.append(self._hub_image(short, ARM64))
                images.append(
                    {
                        "architecture": "amd64",
                        "os": "windows",
                        "variant": None,
                        "digest": "sha256:" + "0" * 64,
                        "size": 1,
                    }
                )
            tags = self.hub / "tags" / self.name(short)
            tags.mkdir(parents=True, exist_ok=True)
            (tags / "page-1.json").write_text(
                json.dumps(
                    {
                        "count": 1,
                        "next": None,
                        "previous": None,
                        "results": [
                            {
                                "name": "latest",
                                "digest": self.built[short].descriptor.digest,
                                "last_updated": "2026-05-30T00:00:00Z",
                                "tag_status": "active",
                                "images": images,
                            }
                        ],
                    }
                )
            )

    def _hub_image(self, short: str, platform: Platform) -> dict[str, Any]:
        return {
            "architecture": platform.architecture,
            "os": platform.os,
            "variant": platform.variant,
            "digest": self.platform_digest(short, platform),
            "size": 1000,
        }

    # ------------------------------------------------------------------ running

    def env(self) -> dict[str, str]:
        return {
            "IMAGETRUST_REGISTRY_DEFAULT": self.proxy.url,
            "IMAGETRUST_NOW": NOW,
            "DOCKER_CONFIG": str(self.tmp / "no-docker-config"),
        }

    def run_args(self, home: Path, *extra: str) -> list[str]:
        return [
            "--home",
            str(home),
            "run",
            "--offline",
            "--library-dir",
            str(self.library),
            "--hub-recording",
            str(self.hub),
            "--format",
            "json",
            *extra,
        ]

    def import_db(self, home: Path) -> None:
        assert main(["--home", str(home), "db", "import", str(VULNDB)]) == 0

    def subprocess_run(
        self, home: Path, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            [sys.executable, "-m", "imagetrust", *self.run_args(home, *extra)],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env(), **(env or {})},
            timeout=300,
            check=False,
            start_new_session=True,
        )

    # ------------------------------------------------------------------ the registry's view

    def requests(self, method: str, kind: str) -> list[Any]:
        return [r for r in self.proxy.log if r.method == method and f"/{kind}/" in r.path]

    def blob_bytes(self) -> int:
        total = 0
        for record in self.requests("GET", "blobs"):
            digest = record.path.rsplit("/", 1)[-1]
            total += self.registry.blob_path(digest).stat().st_size
        return total
