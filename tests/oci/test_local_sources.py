"""``oci-layout:`` and ``docker-archive:`` sources behind the same interface as registries."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from imagetrust.oci import media
from imagetrust.oci.errors import (
    DigestMismatchError,
    NotFoundError,
    OciError,
    PlatformNotFoundError,
)
from imagetrust.oci.image import PlatformSelection, load_image
from imagetrust.oci.sources import DockerArchiveSource, OciLayoutSource, OciSession
from imagetrust.testkit.builder import (
    ARM64,
    ImageSpec,
    Layer,
    build_image,
    build_multiplatform,
    write_docker_archive,
    write_oci_layout,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rootfs"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, object, object]:
    multi = build_multiplatform(
        [Layer.from_dir(FIXTURES / "debian12")], compression="zstd", labels={"k": "v"}
    )
    single = build_image(ImageSpec(layers=[Layer.from_dir(FIXTURES / "alpine")], platform=ARM64))
    root = tmp_path / "layout"
    write_oci_layout(multi, root, tag="debian")
    write_oci_layout(single, root, tag="alpine")
    return root, multi, single


def test_layout_by_tag_picks_platform_and_reads_verified_layers(
    layout: tuple[Path, object, object], session: OciSession
) -> None:
    root, multi, _ = layout
    with session.open(f"oci-layout:{root}:debian") as source:
        assert isinstance(source, OciLayoutSource)
        image = load_image(source, PlatformSelection.parse("linux/arm64"))
        assert image.digest == multi.index.digest  # type: ignore[attr-defined]
        assert [str(p) for p in image.available] == ["linux/amd64", "linux/arm64/v8"]
        (picked,) = image.images
        assert str(picked.platform) == "linux/arm64/v8"
        assert picked.config.labels == {"k": "v"}
        assert len(image.attestations) == 2
        assert picked.attestations[0].refers_to == picked.descriptor.digest
        layer = picked.layers[0]
        assert layer.media_type == media.OCI_LAYER_ZSTD
        data = source.read_blob(layer)
        assert sha(data) == layer.digest


def test_layout_by_digest_and_default(
    layout: tuple[Path, object, object], session: OciSession
) -> None:
    root, _, single = layout
    digest = single.manifest.digest  # type: ignore[attr-defined]
    with session.open(f"oci-layout:{root}@{digest}") as source:
        image = load_image(source, PlatformSelection.parse("all"))
        assert image.digest == digest and image.index is None
        assert str(image.images[0].platform) == "linux/arm64/v8"
    with session.open(f"oci-layout:{root}") as source, pytest.raises(OciError, match="holds 2"):
        source.resolve()
    with session.open(f"oci-layout:{root}:nope") as source, pytest.raises(NotFoundError) as info:
        source.resolve()
    assert info.value.hint is not None and "alpine" in info.value.hint


def test_layout_platform_not_found_lists_available(
    layout: tuple[Path, object, object], session: OciSession
) -> None:
    root, _, _ = layout
    with (
        session.open(f"oci-layout:{root}:debian") as source,
        pytest.raises(PlatformNotFoundError) as info,
    ):
        load_image(source, PlatformSelection.parse("linux/s390x"))
    assert "linux/amd64" in info.value.message and "unknown" not in info.value.message


def test_layout_corrupt_blob_is_refused(
    layout: tuple[Path, object, object], session: OciSession
) -> None:
    root, multi, _ = layout
    layer = multi.images[0].layers[0]  # type: ignore[attr-defined]
    path = root / "blobs/sha256" / layer.digest.split(":")[1]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    seen: list[bytes] = []

    def consume(stream: object) -> int:
        chunk = stream.read()  # type: ignore[attr-defined]
        seen.append(chunk)
        return len(chunk)

    with (
        session.open(f"oci-layout:{root}:debian") as source,
        pytest.raises(DigestMismatchError) as info,
    ):
        source.consume_blob(layer.descriptor, consume)
    assert info.value.expected == layer.digest and info.value.actual == sha(bytes(data))
    assert not seen  # the consumer never got a complete, unverified stream


@pytest.mark.parametrize("archive_layout", ["legacy", "oci"])
def test_docker_archive_source(tmp_path: Path, session: OciSession, archive_layout: str) -> None:
    image = build_image(
        ImageSpec(
            layers=[Layer.from_dir(FIXTURES / "debian12"), Layer.from_files({"etc/motd": "hi"})],
            user="nobody",
        )
    )
    path = write_docker_archive(
        image,
        tmp_path / "image.tar",
        repo_tags=["demo/deb:12"],
        layout=archive_layout,  # type: ignore[arg-type]
    )
    with session.open(f"docker-archive:{path}") as source:
        assert isinstance(source, DockerArchiveSource)
        resolved = load_image(source)
        assert resolved.synthesized and source.repo_tags == ["demo/deb:12"]
        (picked,) = resolved.images
        assert picked.manifest.config.digest == image.config.digest
        assert [layer.digest for layer in picked.layers] == list(image.diff_ids)
        assert {layer.media_type for layer in picked.layers} == {media.DOCKER_LAYER}
        assert picked.config.user == "nobody"
        assert source.read_blob(picked.layers[1]) == image.layer_tars[1]


def test_docker_archive_with_gzip_layers_and_errors(tmp_path: Path, session: OciSession) -> None:
    layer_tar = Layer.from_files({"a": "b"}).tar_bytes()
    compressed = gzip.compress(layer_tar, mtime=0)
    archive = tmp_path / "gz.tar"
    import io
    import json

    with tarfile.open(archive, "w") as tar:
        for name, data in {
            "cfg.json": b'{"os":"linux","architecture":"amd64","rootfs":{"type":"layers"}}',
            "l1.tar.gz": compressed,
            "manifest.json": json.dumps(
                [{"Config": "cfg.json", "RepoTags": [], "Layers": ["l1.tar.gz"]}]
            ).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with session.open(f"docker-archive:{archive}") as source:
        picked = load_image(source).images[0]
        assert picked.layers[0].media_type == media.DOCKER_LAYER_GZIP
        assert picked.layers[0].digest == sha(compressed)
    with (
        session.open(f"docker-archive:{tmp_path / 'missing.tar'}") as source,
        pytest.raises(NotFoundError),
    ):
        source.resolve()
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar at all" * 100)
    with session.open(f"docker-archive:{bogus}") as source, pytest.raises(OciError):
        source.resolve()


def test_consume_blob_checks_the_tail_even_if_consumer_stops_early(
    layout: tuple[Path, object, object], make_session: Callable[..., OciSession]
) -> None:
    root, multi, _ = layout
    layer = multi.images[0].layers[0]  # type: ignore[attr-defined]
    path = root / "blobs/sha256" / layer.digest.split(":")[1]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with (
        make_session().open(f"oci-layout:{root}:debian") as source,
        pytest.raises(DigestMismatchError),
    ):
        source.consume_blob(layer.descriptor, lambda stream: stream.read(10))
