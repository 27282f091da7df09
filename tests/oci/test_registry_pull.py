"""The client against a real distribution registry: push, HEAD, index, platforms, streaming."""

from __future__ import annotations

import json

import pytest

from imagetrust.config import RegistrySettings, Settings
from imagetrust.oci import media
from imagetrust.oci.client import registry_base_url
from imagetrust.oci.errors import DigestMismatchError, NotFoundError, PlatformNotFoundError
from imagetrust.oci.image import PlatformSelection, load_image
from imagetrust.oci.models import Platform
from imagetrust.oci.reference import parse_image_reference
from imagetrust.oci.sources import OciSession, RegistrySource
from imagetrust.testkit.builder import ARM64, ImageSpec, Layer, build_image, build_index
from tests.oci.helpers import flip_byte, multiplatform, publish, sha, single
from tests.services.registry import RegistryServer


def test_index_pull_default_platform_with_attestations(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    built = multiplatform(repo_name)
    ref = publish(session, registry, built, repo_name, "1.0", chunk_size=40_000)
    with session.open(ref) as source:
        image = load_image(source)
    assert image.digest == built.descriptor.digest == sha(built.index.data)  # type: ignore[union-attr]
    assert image.descriptor.media_type == media.OCI_INDEX
    assert [str(p) for p in image.available] == ["linux/amd64", "linux/arm64/v8"]
    (amd64,) = image.images
    expected = built.images[0]  # type: ignore[union-attr]
    assert str(amd64.platform) == "linux/amd64"
    assert amd64.descriptor.digest == expected.manifest.digest
    assert amd64.config.labels == {"test": repo_name}
    assert [layer.digest for layer in amd64.layers] == [b.digest for b in expected.layers]
    # both attestations recorded, only the picked image's one detailed
    assert {a.refers_to for a in image.attestations} == {i.manifest.digest for i in built.images}  # type: ignore[union-attr]
    (mine,) = amd64.attestations
    assert mine.predicate_types == ("https://spdx.dev/Document", "https://slsa.dev/provenance/v0.2")
    assert all(not str(p).startswith("unknown") for p in image.available)


def test_head_is_free_and_gives_the_digest(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name, "v1")
    client = session.client(registry.netloc)
    head = client.head_manifest(repo_name, "v1")
    assert head is not None
    assert head.digest == sha(built.manifest.data)  # type: ignore[union-attr]
    assert head.media_type == media.OCI_MANIFEST and head.size == len(built.manifest.data)  # type: ignore[union-attr]
    assert session.budget.quota(registry.netloc).pulls == 0
    got = client.get_manifest(repo_name, "v1")
    assert got.digest == head.digest and got.data == built.manifest.data  # type: ignore[union-attr]
    assert session.budget.quota(registry.netloc).pulls == 1
    with pytest.raises(NotFoundError):
        client.head_manifest(repo_name, "missing-tag")


@pytest.mark.parametrize(
    ("platforms", "expected"),
    [
        ("linux/arm64", ["linux/arm64/v8"]),
        ("linux/arm64/v8,linux/amd64", ["linux/arm64/v8", "linux/amd64"]),
        ("all", ["linux/amd64", "linux/arm64/v8"]),
        ("linux/x86_64", ["linux/amd64"]),
    ],
)
def test_platform_selection(
    registry: RegistryServer,
    session: OciSession,
    repo_name: str,
    platforms: str,
    expected: list[str],
) -> None:
    built = multiplatform(repo_name)
    ref = publish(session, registry, built, repo_name)
    with session.open(ref) as source:
        image = load_image(source, PlatformSelection.parse(platforms))
    assert [str(i.platform) for i in image.images] == expected
    for picked in image.images:
        assert picked.config.platform.matches(picked.platform)


def test_platform_missing_and_single_manifest_mismatch(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    publish(session, registry, multiplatform(repo_name), repo_name, "multi")
    publish(session, registry, single(repo_name, platform=ARM64), repo_name, "arm")
    with (
        session.open(f"{registry.netloc}/{repo_name}:multi") as source,
        pytest.raises(PlatformNotFoundError, match="linux/riscv64"),
    ):
        load_image(source, PlatformSelection.parse("linux/riscv64"))
    with session.open(f"{registry.netloc}/{repo_name}:arm") as source:
        assert str(load_image(source).images[0].platform) == "linux/arm64/v8"  # default accepts
    with (
        session.open(f"{registry.netloc}/{repo_name}:arm") as source,
        pytest.raises(PlatformNotFoundError),
    ):
        load_image(source, PlatformSelection.parse("linux/amd64"))


def test_docker_v2_manifest_list(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    layer = Layer.from_files({"id": repo_name})
    images = [
        build_image(ImageSpec(layers=[layer], media_types="docker")),
        build_image(ImageSpec(layers=[layer], media_types="docker", platform=ARM64)),
    ]
    built = build_index(images)
    ref = publish(session, registry, built, repo_name)
    with session.open(ref) as source:
        image = load_image(source, PlatformSelection.parse("all"))
        assert image.descriptor.media_type == media.DOCKER_LIST
        assert [i.descriptor.media_type for i in image.images] == [media.DOCKER_MANIFEST] * 2
        assert image.images[1].layers[0].media_type == media.DOCKER_LAYER_GZIP
        assert source.read_blob(image.images[0].layers[0]) == images[0].layers[0].data


def test_pull_by_digest_and_missing(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    digest = built.descriptor.digest
    with session.open(f"{registry.netloc}/{repo_name}@{digest}") as source:
        assert load_image(source).digest == digest
    with (
        session.open(f"{registry.netloc}/{repo_name}:nope") as source,
        pytest.raises(NotFoundError),
    ):
        load_image(source)


def test_streaming_verification_refuses_a_corrupt_blob(
    registry: RegistryServer, session: OciSession, repo_name: str
) -> None:
    built = single(repo_name)
    ref = publish(session, registry, built, repo_name)
    layer = built.layers[1]  # type: ignore[union-attr]
    corrupt = flip_byte(registry.blob_path(layer.digest))
    handed_on: list[int] = []
    with session.open(ref) as source:
        image = load_image(source)
        descriptor = image.images[0].layers[1]
        with pytest.raises(DigestMismatchError) as info:
            source.consume_blob(descriptor, lambda s: handed_on.append(len(s.read())))
        assert info.value.expected == layer.digest and info.value.actual == sha(corrupt)
        assert handed_on == []
        # the raw stream ends in the error too, never in a clean EOF
        reader = source.open_blob(descriptor)
        with pytest.raises(DigestMismatchError):
            while reader.read(4096):
                pass
        reader.close()
        # the intact layer still reads fine
        assert sha(source.read_blob(image.images[0].layers[0])) == built.layers[0].digest  # type: ignore[union-attr]


def test_docker_hub_base_url_override(
    registry: RegistryServer, make_session, repo_name: str
) -> None:  # type: ignore[no-untyped-def]
    """``docker.io`` refs go to ``[registry] default``: here, the loopback registry."""
    settings = Settings(registry=RegistrySettings(default=registry.url))
    session = make_session(settings=settings)
    name = repo_name.split("/")[1]
    publish(session, registry, single(repo_name), f"library/{name}", "3")
    with session.open(f"{name}:3") as source:
        assert isinstance(source, RegistrySource)
        assert source.origin.base_url == registry.url
        assert load_image(source).images[0].config.os == "linux"


def test_registry_base_urls() -> None:
    settings = RegistrySettings(insecure=["registry.internal:5000", "plain.example"])
    assert registry_base_url("docker.io", settings) == "https://registry-1.docker.io"
    assert registry_base_url("localhost:5000", settings) == "http://localhost:5000"
    assert registry_base_url("127.0.0.1:41000", settings) == "http://127.0.0.1:41000"
    assert registry_base_url("[::1]:5000", settings) == "http://[::1]:5000"
    assert registry_base_url("registry.internal:5000", settings) == "http://registry.internal:5000"
    assert registry_base_url("plain.example", settings) == "http://plain.example"
    assert registry_base_url("ghcr.io", settings) == "https://ghcr.io"


def test_known_digest_skips_the_head(
    registry: RegistryServer, session: OciSession, repo_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    ref = parse_image_reference(f"{registry.netloc}/{repo_name}:latest")
    with session.open(ref, known_digest=built.descriptor.digest) as source:
        assert isinstance(source, RegistrySource)

        def no_head(*args: object) -> None:
            raise AssertionError("HEAD not expected when the digest is known")

        monkeypatch.setattr(source.origin, "head_manifest", no_head)
        image = load_image(source)
    assert image.digest == built.descriptor.digest
    assert json.loads(built.manifest.data)["mediaType"] == image.descriptor.media_type  # type: ignore[union-attr]
    assert Platform.parse("linux/arm64").matches(Platform("linux", "arm64", "v8"))
