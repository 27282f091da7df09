"""The demo's images, built at run time from bundled root filesystems with the OCI builder.

Each stands for a catalog repository and the tags the bundled Hub recording lists for it,
and shows one thing the product judges:

- ``debian:12`` (``bookworm``): two platforms under one index with SBOM and provenance
  attestations, on a real Debian 12 package database; rebuilt upstream in the second week
  (same packages, a new build), so the tag moves to a new digest;
- ``debian:10`` (``buster``): an old Debian on a release whose LTS ended, a tag no longer in
  the library file, and packages the bundled database has no advisories for;
- ``alpine:3.16``: an old Alpine (ended 2024-05-23) with fixable OpenSSL findings;
- ``almalinux:9``: an rpm-based image (an rpm sqlite database);
- ``openjdk:27-rc-jdk-slim-bookworm``: a deprecated image, still published;
- ``node:22-bookworm``: runs as root (no ``USER``, as the official image) and bakes in an
  ``ENV`` whose name looks like a secret (``NPM_TOKEN``; values are never read).

The images are real OCI content (gzip and zstd layers, configs, indexes), so every stage
reads them through the same verified sources it uses for registry images. Building is
deterministic: the same package always yields the same digests, so the bundled recording's
digests are the images' own (the demo checks, and stamps them if a builder change moved
them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imagetrust.testkit.builder import Built

DATA = Path(__file__).parent / "data"
ROOTFS = DATA / "rootfs"
WEEK_ONE_CREATED = "2026-08-20T02:10:00Z"  # the debian:12 build the first week sees
WEEK_TWO_CREATED = "2026-08-27T01:55:00Z"  # its rebuild, seen the second week


@dataclass(frozen=True)
class DemoImage:
    """One demo image: the catalog repository and tags it stands for, and what it shows."""

    name: str
    tags: tuple[str, ...]
    built: Built
    description: str

    @property
    def tag(self) -> str:
        return self.tags[0]

    @property
    def label(self) -> str:
        return f"{self.name}:{self.tag}"

    @property
    def digest(self) -> str:
        return self.built.descriptor.digest


def build_demo_images(week: int = 1) -> list[DemoImage]:
    """The images as the registry serves them in ``week`` (1 or 2), in a stable order."""
    from imagetrust.testkit.builder import (
        ImageSpec,
        Layer,
        build_image,
        build_multiplatform,
    )

    debian_layer = Layer.from_dir(ROOTFS / "debian12")
    created = WEEK_ONE_CREATED if week == 1 else WEEK_TWO_CREATED
    debian = build_multiplatform(
        [debian_layer],
        subject="pkg:docker/debian@12",
        compression="gzip",
        cmd=["bash"],
        created=created,
        labels={"org.opencontainers.image.version": "12"},
    )
    buster = build_image(
        ImageSpec(
            layers=[Layer.from_dir(ROOTFS / "debian10")],
            cmd=["bash"],
            created="2024-06-10T23:39:54Z",
        )
    )
    alpine = build_image(
        ImageSpec(
            layers=[Layer.from_dir(ROOTFS / "alpine")],
            compression="zstd",
            cmd=["/bin/sh"],
            created="2024-01-27T00:44:20Z",
        )
    )
    alma = build_image(
        ImageSpec(
            layers=[Layer.from_dir(ROOTFS / "almalinux9")],
            cmd=["/bin/bash"],
            created="2024-01-23T05:11:49Z",
            labels={"org.opencontainers.image.version": "9.3"},
        )
    )
    jdk_layer = Layer.from_files(
        {
            "opt/java/openjdk/release": 'JAVA_VERSION="27"\nIMPLEMENTOR="Oracle Corporation"\n',
            "usr/local/bin/jshell": '#!/bin/sh\nexec /opt/java/openjdk/bin/jshell "$@"\n',
        }
    )
    openjdk = build_image(
        ImageSpec(
            layers=[debian_layer, jdk_layer],
            compression=["gzip", "zstd"],
            env=[
                "PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "JAVA_HOME=/opt/java/openjdk",
                "LANG=C.UTF-8",
                "JAVA_VERSION=27-ea+33",
            ],
            cmd=["jshell"],
            created="2026-08-19T18:03:12Z",
        )
    )
    node_layer = Layer.from_files(
        {
            "usr/local/bin/node": "#!/bin/sh\necho v22.23.2\n",
            "usr/local/bin/docker-entrypoint.sh": '#!/bin/sh\nexec "$@"\n',
        }
    )
    node = build_image(
        ImageSpec(
            layers=[debian_layer, node_layer],
            env=[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "NODE_VERSION=22.23.2",
                "YARN_VERSION=1.22.22",
                "NPM_TOKEN=demo-value-never-read",
            ],
            entrypoint=["docker-entrypoint.sh"],
            cmd=["node"],
            exposed_ports=["3000/tcp"],
            created="2026-08-21T03:40:09Z",
        )
    )
    return [
        DemoImage(
            "debian",
            ("12", "bookworm"),
            debian,
            "Debian 12, linux/amd64 and linux/arm64/v8 with SBOM and provenance attestations",
        ),
        DemoImage("debian", ("10", "buster"), buster, "Debian 10: its LTS ended 2024-06-30"),
        DemoImage("alpine", ("3.16",), alpine, "Alpine 3.16 (ended 2024-05-23), a zstd layer"),
        DemoImage("almalinux", ("9", "9.3"), alma, "AlmaLinux 9.3: an rpm database"),
        DemoImage(
            "openjdk",
            ("27-rc-jdk-slim-bookworm", "27-rc-slim-bookworm"),
            openjdk,
            "deprecated upstream, still published",
        ),
        DemoImage(
            "node",
            ("22-bookworm", "22"),
            node,
            "runs as root, ENV NPM_TOKEN baked in",
        ),
    ]


def write_layouts(images: list[DemoImage], directory: Path) -> dict[str, Path]:
    """One OCI layout per repository under ``directory``, each image under every tag."""
    from imagetrust.testkit.builder import write_oci_layout

    layouts: dict[str, Path] = {}
    for image in images:
        layout = directory / image.name
        for tag in image.tags:
            write_oci_layout(image.built, layout, tag=tag)
        layouts[image.name] = layout
    return layouts
