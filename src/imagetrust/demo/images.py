"""The demo's images, built at run time from bundled root filesystems with the OCI builder.

The images are real OCI content (tar.gz and tar.zst layers, configs, an index for two
platforms with SBOM and provenance attestations, a ``docker save`` archive), so every later
stage reads them through the same verified sources it uses for registry images. Building
is deterministic: the same package always yields the same digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
ROOTFS = DATA / "rootfs"


@dataclass(frozen=True)
class DemoImage:
    """One demo image: the catalog name it stands for and the reference to read it by."""

    name: str
    tag: str
    reference: str
    description: str


def build_demo_images(directory: Path) -> list[DemoImage]:
    """Write the demo images under ``directory``; returns them in a stable order."""
    from imagetrust.testkit.builder import (
        ImageSpec,
        Layer,
        build_image,
        build_multiplatform,
        write_docker_archive,
        write_oci_layout,
    )

    directory.mkdir(parents=True, exist_ok=True)
    layout = directory / "oci-layout"

    debian = build_multiplatform(
        [Layer.from_dir(ROOTFS / "debian12")],
        subject="pkg:docker/debian@12",
        compression="gzip",
        cmd=["bash"],
        labels={"org.opencontainers.image.version": "12"},
    )
    write_oci_layout(debian, layout, tag="debian-12")

    app_layer = Layer.from_files(
        {"usr/local/bin/app": "#!/bin/sh\necho hello\n", "etc/app/config.toml": "port = 8080\n"}
    )
    alpine = build_image(
        ImageSpec(
            layers=[Layer.from_dir(ROOTFS / "alpine"), app_layer],
            compression=["gzip", "zstd"],
            env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            user="app",
            exposed_ports=["8080/tcp"],
            cmd=["/usr/local/bin/app"],
        )
    )
    write_oci_layout(alpine, layout, tag="alpine-3.16-app")

    archive = directory / "alpine-3.16.tar"
    base = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")]))
    write_docker_archive(base, archive, repo_tags=["alpine:3.16"])

    return [
        DemoImage(
            "debian",
            "12",
            f"oci-layout:{layout}:debian-12",
            "index for linux/amd64 and linux/arm64/v8, with attestations",
        ),
        DemoImage(
            "alpine",
            "3.16-app",
            f"oci-layout:{layout}:alpine-3.16-app",
            "an application on Alpine 3.16, gzip and zstd layers",
        ),
        DemoImage("alpine", "3.16", f"docker-archive:{archive}", "a docker save archive"),
    ]
