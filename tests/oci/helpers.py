"""Small builders shared by the OCI tests: unique images, pushed where a test needs them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import Built, ImageSpec, Layer, build_image, build_multiplatform
from imagetrust.testkit.push import push
from tests.services.registry import RegistryServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rootfs"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unique_layers(tag: str) -> list[Layer]:
    """The Alpine rootfs plus a layer only this test has, so blobs are never shared."""
    return [
        Layer.from_dir(FIXTURES / "alpine"),
        Layer.from_files({"etc/test-id": tag, "usr/share/big.bin": tag.encode() * 20000}),
    ]


def multiplatform(tag: str, **spec: object) -> Built:
    return build_multiplatform(
        unique_layers(tag), compression=["gzip", "zstd"], labels={"test": tag}, **spec
    )


def single(tag: str, **spec: object) -> Built:
    return build_image(ImageSpec(layers=unique_layers(tag), **spec))  # type: ignore[arg-type]


def publish(
    session: OciSession,
    server: RegistryServer,
    built: Built,
    repository: str,
    tag: str = "latest",
    chunk_size: int | None = None,
) -> str:
    push(built, session.client(server.netloc), repository, tag=tag, chunk_size=chunk_size)
    return f"{server.netloc}/{repository}:{tag}"


def flip_byte(path: Path, position: int | None = None) -> bytes:
    data = bytearray(path.read_bytes())
    index = len(data) // 2 if position is None else position
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data)
