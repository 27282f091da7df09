"""An image's layers analysed side by side in worker processes (``sbom.parallel``).

The oracle is the sequential path (``layer_workers = 1``), which the rest of the suite
checks against syft: on real multi-layer images (real package databases, whiteouts and an
opaque directory across layers, a database rewritten by a later layer, from a real
registry and from an OCI layout) the parallel SBOM must be the same, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from imagetrust.cli.main import main
from imagetrust.config import Settings
from imagetrust.oci import media
from imagetrust.oci.errors import DigestMismatchError
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.sources import OciSession
from imagetrust.sbom import parallel
from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions
from imagetrust.sbom.cache import LayerCache
from imagetrust.sbom.models import ImageSbom, LayerError, LayerLimits
from imagetrust.testkit.builder import (
    Blob,
    BuiltImage,
    ImageSpec,
    Layer,
    build_image,
    write_image_layout,
    write_oci_layout,
)
from imagetrust.testkit.push import push
from tests.services.registry import RegistryServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
ROOTFS = FIXTURES / "rootfs"


@pytest.fixture(autouse=True)
def no_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


@pytest.fixture
def session() -> Iterator[OciSession]:
    with OciSession(Settings(), mirrors={}) as opened:
        yield opened


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many workers each ``LayerWorkers`` started (the parallel path was taken)."""
    counts: list[int] = []
    real = parallel.LayerWorkers.__init__

    def spy(self: parallel.LayerWorkers, count: int, *args: object, **kwargs: object) -> None:
        counts.append(count)
        real(self, count, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel.LayerWorkers, "__init__", spy)
    return counts


def layered_image() -> BuiltImage:
    """A base (Debian 12's real status and file lists), an "apt" layer that rewrites the
    status and deletes across layers, a "pip + npm" layer deleting from both below."""
    status = (ROOTFS / "debian12/var/lib/dpkg/status").read_text()
    first, _, rest = status.partition("\n\n")
    apt = (
        Layer.from_dir(FIXTURES / "lang/python")
        .add_file("var/lib/dpkg/status", rest)  # the first package removed
        .whiteout("usr/share/doc")
        .opaque("var/lib/dpkg/info")
        .add_file("usr/bin/su", b"\x7fELF", 0o4755)
    )
    app = (
        Layer.from_dir(FIXTURES / "lang/npm")
        .whiteout("usr/local/lib")  # the pip packages of the layer below
        .whiteout("etc/os-release")
        .add_file("etc/os-release", (ROOTFS / "debian12/etc/os-release").read_text())
        .add_file("tmp/open", "x", 0o666)
    )
    assert first.startswith("Package: ")
    return build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12"), apt, app]))


def analyse(
    session: OciSession, reference: str, workers: int, cache: LayerCache | None = None
) -> ImageSbom:
    analyser = ImageAnalyser(cache, SbomOptions(workers=workers))
    with session.open(reference) as source:
        (sbom,) = analyser.analyse(source, PlatformSelection.parse("linux/amd64"))
    return sbom


def test_parallel_sbom_is_the_sequential_one_from_a_layout(
    session: OciSession, tmp_path: Path, spawned: list[int]
) -> None:
    built = layered_image()
    write_oci_layout(built, tmp_path / "layout", tag="t")
    reference = f"oci-layout:{tmp_path / 'layout'}:t"
    sequential = analyse(session, reference, workers=1)
    assert spawned == []
    side_by_side = analyse(session, reference, workers=3)
    assert spawned == [3]
    assert side_by_side == sequential
    # The image really has what the layers above deleted taken away, and the rest.
    types = {p.type.value for p in sequential.packages}
    assert {"deb", "npm", "python"} <= types
    assert any("usr/local/lib" in str(p) for p in (FIXTURES / "lang/python").rglob("METADATA"))
    assert not any("usr/local/lib" in (p.path or "") for p in sequential.packages)
    assert sequential.setuid and sequential.world_writable
    assert [layer.digest for layer in sequential.layers] == [b.digest for b in built.layers]


def test_parallel_sbom_is_byte_identical_from_a_registry(
    registry: RegistryServer,
    repo_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spawned: list[int],
) -> None:
    built = layered_image()
    with OciSession(Settings(), mirrors={}) as session:
        push(built, session.client(registry.netloc), repo_name, tag="1")
    reference = f"{registry.netloc}/{repo_name}:1"
    outputs: dict[str, str] = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("IMAGETRUST_SBOM_LAYER_WORKERS", workers)
        for output in ("json", "cyclonedx-json"):
            home = tmp_path / f"home-{workers}-{output}"
            code = main(["--home", str(home), "sbom", reference, "--format", output])
            out, err = capsys.readouterr()
            assert code == 0, err
            outputs[f"{workers}-{output}"] = out
    assert outputs["1-json"] == outputs["2-json"]
    one = json.loads(outputs["1-cyclonedx-json"])
    two = json.loads(outputs["2-cyclonedx-json"])
    for doc in (one, two):  # a fresh serial number and timestamp per document
        doc.pop("serialNumber", None)
        doc.get("metadata", {}).pop("timestamp", None)
    assert one == two
    assert 2 in spawned


def test_cached_and_shared_layers_are_not_analysed_again(
    session: OciSession, tmp_path: Path, spawned: list[int]
) -> None:
    base = Layer.from_dir(ROOTFS / "debian12")
    built = build_image(
        ImageSpec(layers=[base, Layer.from_files({"a": "1"}), base, Layer.from_files({"b": "2"})])
    )
    write_oci_layout(built, tmp_path / "layout", tag="t")
    reference = f"oci-layout:{tmp_path / 'layout'}:t"
    cache = LayerCache(tmp_path / "cache")
    first = analyse(session, reference, workers=4, cache=cache)
    assert spawned == [3]  # three distinct layers, the repeated one once
    assert [layer.from_cache for layer in first.layers] == [False, False, True, False]
    again = analyse(session, reference, workers=4, cache=cache)
    assert spawned == [3]  # all cached: no worker started
    assert all(layer.from_cache for layer in again.layers)
    assert again.packages == first.packages


def test_one_layer_to_analyse_starts_no_worker(
    session: OciSession, tmp_path: Path, spawned: list[int]
) -> None:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")]))
    write_oci_layout(built, tmp_path / "layout", tag="t")
    sbom = analyse(session, f"oci-layout:{tmp_path / 'layout'}:t", workers=4)
    assert spawned == [] and sbom.packages


def test_a_corrupt_blob_fails_as_it_does_in_sequence(session: OciSession, tmp_path: Path) -> None:
    built = layered_image()
    layout = tmp_path / "layout"
    write_oci_layout(built, layout, tag="t")
    blob = layout / "blobs/sha256" / built.layers[1].digest.split(":")[1]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    reference = f"oci-layout:{layout}:t"
    for workers in (1, 3):
        with pytest.raises(DigestMismatchError):
            analyse(session, reference, workers=workers)


def test_a_worker_over_its_memory_fails_that_layer_with_its_name(
    session: OciSession, tmp_path: Path
) -> None:
    """A 160 MB wanted file in a worker allowed 8 MB more than it started with. The image
    is streamed from disk, so this process never holds the file (whose freed memory a
    forked worker would otherwise reuse, staying under its cap)."""
    root = tmp_path / "rootfs"
    metadata = root / "usr/lib/python3/dist-packages/big-1.0.dist-info/METADATA"
    metadata.parent.mkdir(parents=True)
    with metadata.open("w") as handle:
        handle.write("Metadata-Version: 2.1\nName: big\nVersion: 1.0\n\n")
        for _ in range(160):
            handle.write("x" * (1 << 20))
    image = write_image_layout(
        ImageSpec(
            layers=[Layer.from_dir(ROOTFS / "alpine"), Layer.from_dir(root), Layer.from_files({})]
        ),
        tmp_path / "layout",
        tag="t",
    )
    options = SbomOptions(
        workers=3, worker_memory=8 << 20, limits=LayerLimits(max_file_bytes=256 << 20)
    )
    with (
        session.open(f"oci-layout:{tmp_path / 'layout'}:t") as source,
        pytest.raises(LayerError) as caught,
    ):
        ImageAnalyser(None, options).analyse(source, PlatformSelection.parse("linux/amd64"))
    assert image.layers[1].descriptor.digest in caught.value.message
    assert "memory" in caught.value.message


def test_a_layer_error_in_a_worker_names_the_layer(session: OciSession, tmp_path: Path) -> None:
    """A corrupt layer (its digest right, its gzip wrong) fails in the worker as in sequence."""
    image = build_image(
        ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), Layer.from_files({"b": "2"})])
    )
    garbage = Blob.of(media.OCI_LAYER_GZIP, b"not gzip at all" * 100)
    layers = (image.layers[0], garbage)
    manifest = json.loads(image.manifest.data)
    manifest["layers"] = [blob.descriptor.to_json() for blob in layers]
    broken = replace(
        image,
        layers=layers,
        manifest=Blob.of(image.manifest.descriptor.media_type, json.dumps(manifest).encode()),
    )
    write_oci_layout(broken, tmp_path / "layout", tag="t")
    messages = []
    for workers in (1, 2):
        with pytest.raises(LayerError) as caught:
            analyse(session, f"oci-layout:{tmp_path / 'layout'}:t", workers=workers)
        messages.append(caught.value.message)
    assert garbage.digest in messages[0] and messages[0] == messages[1]
