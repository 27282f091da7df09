"""The image builder: deterministic layers, whiteouts, configs, indexes, attestations, outputs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import zstandard

from imagetrust.oci import media
from imagetrust.oci.models import ImageConfig, ImageIndex, ImageManifest, parse_manifest
from imagetrust.testkit.builder import (
    ARM64,
    ImageSpec,
    Layer,
    build_image,
    build_index,
    build_multiplatform,
    write_docker_archive,
    write_image_layout,
    write_oci_layout,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rootfs"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_rootfs_fixtures_hold_real_package_databases() -> None:
    status = (FIXTURES / "debian12/var/lib/dpkg/status").read_text()
    assert status.count("\nPackage: ") > 100 and "Status: install ok installed" in status
    assert 'VERSION_ID="12"' in (FIXTURES / "debian12/etc/os-release").read_text()
    installed = (FIXTURES / "alpine/lib/apk/db/installed").read_text()
    assert "P:musl\n" in installed and "P:busybox\n" in installed
    assert "ID=alpine" in (FIXTURES / "alpine/etc/os-release").read_text()


def test_layer_from_dir_is_deterministic_and_complete() -> None:
    first = Layer.from_dir(FIXTURES / "debian12").tar_bytes()
    second = Layer.from_dir(FIXTURES / "debian12").tar_bytes()
    assert first == second
    members = tar_members(first)
    assert list(members) == sorted(members)
    status = members["var/lib/dpkg/status"]
    assert members["var/lib/dpkg"].isdir() and members["var"].isdir()
    assert (status.uid, status.gid, status.uname, status.mtime) == (0, 0, "", 1_700_000_000)
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        handle = tar.extractfile("var/lib/dpkg/status")
        assert handle is not None
        assert handle.read() == (FIXTURES / "debian12/var/lib/dpkg/status").read_bytes()


def test_whiteouts_symlinks_and_modes() -> None:
    layer = (
        Layer.from_files({"usr/bin/tool": b"#!/bin/sh\n"})
        .add_file("usr/bin/run", b"x", 0o755)
        .add_symlink("bin", "usr/bin")
        .whiteout("etc/old.conf")
        .opaque("var/cache")
    )
    members = tar_members(layer.tar_bytes())
    assert members["etc/.wh.old.conf"].isfile() and members["etc/.wh.old.conf"].size == 0
    assert "var/cache/.wh..wh..opq" in members
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["usr/bin/run"].mode == 0o755


def test_image_config_manifest_and_compressions() -> None:
    base = Layer.from_dir(FIXTURES / "alpine")
    top = Layer.from_files({"app/main": "print(1)"}).whiteout("etc/alpine-release")
    image = build_image(
        ImageSpec(
            layers=[base, top],
            platform=ARM64,
            compression=["gzip", "zstd"],
            env=["PATH=/bin", "API_TOKEN=hunter2"],
            user="app",
            labels={"org.opencontainers.image.source": "https://example.invalid/x"},
            exposed_ports=["8080/tcp"],
            created_by=["ADD rootfs /", "COPY app /app"],
        )
    )
    manifest = parse_manifest(image.manifest.data)
    assert isinstance(manifest, ImageManifest) and manifest.media_type == media.OCI_MANIFEST
    assert [layer.media_type for layer in manifest.layers] == [
        media.OCI_LAYER_GZIP,
        media.OCI_LAYER_ZSTD,
    ]
    gz, zst = image.layers
    assert gz.digest == sha(gz.data) and zst.digest == sha(zst.data)
    assert gzip.decompress(gz.data) == image.layer_tars[0]
    assert zstandard.ZstdDecompressor().decompress(zst.data) == image.layer_tars[1]
    config = ImageConfig.parse(image.config.data)
    assert config.diff_ids == (sha(image.layer_tars[0]), sha(image.layer_tars[1]))
    assert (config.os, config.architecture, config.variant) == ("linux", "arm64", "v8")
    assert config.env_names == ("PATH", "API_TOKEN") and config.user == "app"
    assert config.exposed_ports == ("8080/tcp",)
    assert [h.created_by for h in config.history] == ["ADD rootfs /", "COPY app /app"]
    assert manifest.config.digest == sha(image.config.data)
    assert image.manifest.digest == sha(image.manifest.data)
    # Same input, same bytes: digests are stable across builds.
    again = build_image(ImageSpec(layers=[base, top], platform=ARM64, compression=["gzip", "zstd"]))
    assert again.layers[0].digest == gz.digest and again.layers[1].digest == zst.digest


def test_index_with_attestations_like_buildkit() -> None:
    built = build_multiplatform([Layer.from_files({"etc/os-release": "ID=x\n"})])
    index = parse_manifest(built.index.data)
    assert isinstance(index, ImageIndex) and index.media_type == media.OCI_INDEX
    platforms = [str(e.platform) for e in index.manifests]
    assert platforms == ["linux/amd64", "unknown/unknown", "linux/arm64/v8", "unknown/unknown"]
    for image_entry, attestation_entry in zip(
        index.manifests[::2], index.manifests[1::2], strict=True
    ):
        assert attestation_entry.is_attestation
        assert attestation_entry.attests == image_entry.digest
        attestation = next(
            a for a in built.attestations if a.manifest.digest == attestation_entry.digest
        )
        manifest = parse_manifest(attestation.manifest.data)
        assert isinstance(manifest, ImageManifest)
        assert {layer.media_type for layer in manifest.layers} == {media.IN_TOTO}
        statement = json.loads(attestation.layers[0].data)
        assert statement["subject"][0]["digest"]["sha256"] == image_entry.digest.split(":")[1]
        assert statement["predicateType"] == "https://spdx.dev/Document"


def test_docker_media_types_give_a_manifest_list_without_attestations() -> None:
    layer = Layer.from_files({"a": "b"})
    images = [
        build_image(ImageSpec(layers=[layer], media_types="docker")),
        build_image(ImageSpec(layers=[layer], media_types="docker", platform=ARM64)),
    ]
    built = build_index(images)
    index = parse_manifest(built.index.data)
    assert isinstance(index, ImageIndex) and index.media_type == media.DOCKER_LIST
    assert len(index.manifests) == 2 and not built.attestations
    manifest = parse_manifest(images[0].manifest.data)
    assert isinstance(manifest, ImageManifest)
    assert manifest.media_type == media.DOCKER_MANIFEST
    assert manifest.config.media_type == media.DOCKER_CONFIG
    assert manifest.layers[0].media_type == media.DOCKER_LAYER_GZIP


def test_oci_layout_output(tmp_path: Path) -> None:
    built = build_multiplatform([Layer.from_files({"x": "1"})])
    single = build_image(ImageSpec(layers=[Layer.from_files({"y": "2"})]))
    layout = tmp_path / "layout"
    write_oci_layout(built, layout, tag="multi")
    write_oci_layout(single, layout, tag="single")
    write_oci_layout(single, layout, tag="single")  # replaces, does not duplicate
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert names == ["multi", "single"]
    assert index["manifests"][0]["digest"] == built.index.digest
    for blob in [*built.blobs(), *single.blobs()]:
        data = (layout / "blobs/sha256" / blob.digest.split(":")[1]).read_bytes()
        assert sha(data) == blob.digest


def test_docker_archive_outputs(tmp_path: Path) -> None:
    image = build_image(
        ImageSpec(layers=[Layer.from_files({"a": "1"}), Layer.from_files({"b": "2"})])
    )
    legacy = write_docker_archive(image, tmp_path / "legacy.tar", repo_tags=["demo/x:1"])
    with tarfile.open(legacy) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert manifest[0]["RepoTags"] == ["demo/x:1"]
        layers = [tar.extractfile(name).read() for name in manifest[0]["Layers"]]  # type: ignore[union-attr]
        assert layers == list(image.layer_tars)
        assert json.loads(tar.extractfile("repositories").read())  # type: ignore[union-attr]
    modern = write_docker_archive(image, tmp_path / "oci.tar", repo_tags=["demo/x:1"], layout="oci")
    with tarfile.open(modern) as tar:
        names = set(tar.getnames())
        assert {"oci-layout", "index.json", "manifest.json"} <= names
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
        assert sha(config) == image.config.digest


def test_streamed_layout_matches_the_in_memory_build(tmp_path: Path) -> None:
    """``write_image_layout`` writes the very image ``build_image`` makes, readable by GNU
    tar and gzip, with the ``diff_id`` of what they decompress."""
    spec = ImageSpec(
        layers=[
            Layer.from_dir(FIXTURES / "debian12"),
            Layer.from_files({"app/x": "1"}).whiteout("var/lib/dpkg/status"),
            Layer.from_files({"app/y": "2"}),
        ],
        compression=["gzip", "none", "gzip"],
    )
    streamed = write_image_layout(spec, tmp_path / "streamed", tag="t")
    in_memory = build_image(spec)
    write_oci_layout(in_memory, tmp_path / "memory", tag="t")
    assert streamed.manifest.digest == in_memory.manifest.digest
    assert (tmp_path / "streamed/index.json").read_bytes() == (
        tmp_path / "memory/index.json"
    ).read_bytes()
    config = json.loads(streamed.config.data)
    for layer, diff_id in zip(streamed.layers, config["rootfs"]["diff_ids"], strict=True):
        blob = layer.path.read_bytes()
        assert sha(blob) == layer.descriptor.digest and len(blob) == layer.descriptor.size
        gzipped = layer.descriptor.media_type == media.OCI_LAYER_GZIP
        tar = (
            subprocess.run(["gzip", "-dc"], input=blob, capture_output=True, check=True).stdout
            if gzipped
            else blob
        )
        assert sha(tar) == diff_id == layer.diff_id and len(tar) == layer.tar_size
        listing = (
            subprocess.run(["tar", "-tf", "-"], input=tar, capture_output=True, check=True)
            .stdout.decode()
            .split()
        )
        assert [name.rstrip("/") for name in listing] == sorted(tar_members(tar))
    assert "var/lib/dpkg/.wh.status" in tar_members(in_memory.layer_tars[1])


def test_streamed_layer_holds_no_file_in_memory(tmp_path: Path) -> None:
    """A 48 MB file goes from disk into the blob through fixed-size buffers: the builder
    must be able to make benchmark images of any size."""
    root = tmp_path / "rootfs"
    (root / "usr/lib").mkdir(parents=True)
    big = root / "usr/lib/big.bin"
    with big.open("wb") as handle:
        for i in range(48):
            handle.write(hashlib.sha256(str(i).encode()).digest() * 32768)
    tracemalloc.start()
    try:
        image = write_image_layout(ImageSpec(layers=[Layer.from_dir(root)]), tmp_path / "layout")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak >> 20} MB while streaming a 48 MB file"
    (layer,) = image.layers
    tar = gzip.decompress(layer.path.read_bytes())
    assert sha(tar) == layer.diff_id and big.read_bytes() in tar
