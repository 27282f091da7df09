"""Hostile image metadata is refused by its size or count before it costs memory.

Each input is built on the fly and small on disk (sparse files, a streaming server); the
production command runs in a child process whose peak RSS is measured on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from imagetrust.oci import media
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.services.measure import run_measured

MIB = 1 << 20
BASELINE_MIB = 64  # measured 24-41 MiB for these cases


def _endless(total: int) -> Iterator[bytes]:
    chunk = b"{" + b" " * (MIB - 1)
    for _ in range(total // MIB):
        yield chunk


def test_a_registry_manifest_without_an_end_stops_at_the_limit(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """1 GiB of "manifest", chunked (no Content-Length): read up to 4 MiB, then refused."""

    def handler(request: Request) -> Response:
        if request.method == "HEAD":
            return Response(status=200, content_type=media.OCI_MANIFEST)  # no digest: GET tells
        return Response(_endless(1 << 30), content_type=media.OCI_MANIFEST)

    httpserver.expect_request("/v2/hostile/manifests/t").respond_with_handler(handler)
    ref = f"127.0.0.1:{httpserver.port}/hostile:t"
    result = run_measured(["imagetrust", "--home", str(tmp_path), "inspect", ref])
    assert result.returncode == 1, result.stderr
    assert "over the 4194304-byte limit for manifests" in result.stderr
    assert result.peak_rss_mib < BASELINE_MIB, result.peak_rss_mib  # was 2x the body


def test_a_registry_manifest_announced_too_large_is_not_read(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for chunk in _endless(64 * MIB):
            sent.append(len(chunk))
            yield chunk

    def handler(request: Request) -> Response:
        if request.method == "HEAD":
            return Response(status=200, content_type=media.OCI_MANIFEST)  # no digest: GET tells
        response = Response(body(), content_type=media.OCI_MANIFEST)
        response.headers["Content-Length"] = str(64 * MIB)
        return response

    httpserver.expect_request("/v2/hostile/manifests/t").respond_with_handler(handler)
    ref = f"127.0.0.1:{httpserver.port}/hostile:t"
    result = run_measured(["imagetrust", "--home", str(tmp_path), "inspect", ref])
    assert result.returncode == 1 and f"{64 * MIB} bytes announced" in result.stderr
    assert sum(sent) < 16 * MIB  # the client hung up long before the end


def _layout_with_index(tmp_path: Path) -> Path:
    built = build_image(ImageSpec(layers=[Layer.from_files({"etc/hostname": "x"})]))
    return write_oci_layout(built, tmp_path / "layout", tag="t")


def test_a_huge_index_json_in_a_layout_is_refused_by_its_size(tmp_path: Path) -> None:
    layout = _layout_with_index(tmp_path)
    with (layout / "index.json").open("r+b") as handle:
        handle.truncate(200 * MIB)  # sparse: 200 MB that take no disk
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path), "inspect", f"oci-layout:{layout}"]
    )
    assert result.returncode == 1 and "index.json is 209715200 bytes" in result.stderr
    assert result.peak_rss_mib < BASELINE_MIB, result.peak_rss_mib


def _write_blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


def test_a_manifest_listing_too_many_layers_is_refused(tmp_path: Path) -> None:
    """A manifest under the byte limit can still list tens of thousands of layers."""
    layout = _layout_with_index(tmp_path)
    layer = {"mediaType": media.OCI_LAYER_GZIP, "digest": "sha256:" + "0" * 64, "size": 1}
    config_data = json.dumps({"os": "linux", "architecture": "amd64"}).encode()
    config = _write_blob(layout, config_data)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_CONFIG, "digest": config, "size": len(config_data)},
            "layers": [layer] * 20_000,
        }
    ).encode()
    assert len(manifest) < 4 * MIB
    digest = _write_blob(layout, manifest)
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path), "inspect", f"oci-layout:{layout}@{digest}"]
    )
    assert result.returncode == 1
    assert "lists 20000 layers, over the limit of 1000" in result.stderr


def test_a_docker_archive_with_too_many_members_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "many.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for i in range(3000):
            info = tarfile.TarInfo(f"junk/{i}")
            tar.addfile(info)
    env = {"IMAGETRUST_OCI_MAX_ARCHIVE_MEMBERS": "1000"}
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path), "inspect", f"docker-archive:{archive}"], env=env
    )
    assert result.returncode == 1 and "more than 1000 members" in result.stderr
    assert os.path.getsize(archive) < 200_000


def test_an_index_listing_too_many_manifests_is_refused(tmp_path: Path) -> None:
    layout = _layout_with_index(tmp_path)
    entry = {"mediaType": media.OCI_MANIFEST, "digest": "sha256:" + "1" * 64, "size": 1}
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [entry] * 5000}
    ).encode()
    digest = _write_blob(layout, index)
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path), "inspect", f"oci-layout:{layout}@{digest}"],
        env={"IMAGETRUST_OCI_MAX_INDEX_ENTRIES": "100"},
    )
    assert result.returncode == 1
    assert "index lists 5000 manifests, over the limit of 100" in result.stderr


def test_an_image_config_declared_too_large_is_not_read(tmp_path: Path) -> None:
    layout = _layout_with_index(tmp_path)
    config = _write_blob(layout, b"{}")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_CONFIG, "digest": config, "size": 9 << 20},
            "layers": [],
        }
    ).encode()
    digest = _write_blob(layout, manifest)
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path), "inspect", f"oci-layout:{layout}@{digest}"]
    )
    assert result.returncode == 1 and "image config of 9437184 bytes is too large" in result.stderr
