"""SBOM files read back for ``scan sbom:FILE``: ours in every format, and syft's."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagetrust.config import Settings
from imagetrust.oci.sources import OciSession
from imagetrust.sbom.analyse import ImageAnalyser
from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json
from imagetrust.sbom.formats.native import to_native
from imagetrust.sbom.formats.read import read_sbom_file
from imagetrust.sbom.formats.spdx import to_spdx_json
from imagetrust.sbom.models import ImageSbom, SbomError
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.sbom.test_image_sbom import syft_binary

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImageSbom, Path]:
    layout = tmp_path_factory.mktemp("layout")
    write_oci_layout(
        build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")])), layout, tag="t"
    )
    with (
        OciSession(Settings(), mirrors={}) as session,
        session.open(f"oci-layout:{layout}:t") as src,
    ):
        (sbom,) = ImageAnalyser(None).analyse(src)
    return sbom, layout


def facts(sbom: ImageSbom) -> set[tuple[str, str, str | None]]:
    return {(p.name, p.version, p.source_name) for p in sbom.packages}


@pytest.mark.parametrize("kind", ["cyclonedx", "spdx", "native"])
def test_our_formats_read_back(debian: tuple[ImageSbom, Path], tmp_path: Path, kind: str) -> None:
    sbom, _ = debian
    text = {
        "cyclonedx": lambda: to_cyclonedx_json(sbom, tool_version="t", now=NOW),
        "spdx": lambda: to_spdx_json(sbom, tool_version="t", now=NOW),
        "native": lambda: json.dumps({"kind": "sbom", "images": [to_native(sbom)]}),
    }[kind]()
    path = tmp_path / f"sbom.{kind}.json"
    path.write_text(text)
    again = read_sbom_file(path)
    assert again.os is not None and (again.os.id, again.os.version_id) == ("debian", "12")
    assert {(n, v) for n, v, _ in facts(again)} == {(n, v) for n, v, _ in facts(sbom)}
    libc = next(p for p in again.packages if p.name == "libc6")
    assert libc.source_name == "glibc"


def test_syft_cyclonedx_reads_with_source_packages(
    debian: tuple[ImageSbom, Path], tmp_path: Path
) -> None:
    sbom, layout = debian
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(tmp_path)}
    out = subprocess.run(
        [syft_binary(), f"oci-dir:{layout}", "-o", "cyclonedx-json", "-q"],
        capture_output=True,
        check=True,
        env=env,
        timeout=300,
    )
    path = tmp_path / "syft.cdx.json"
    path.write_bytes(out.stdout)
    theirs = read_sbom_file(path)
    assert theirs.os is not None and theirs.os.id == "debian"
    assert {(p.name, p.version) for p in theirs.packages} == {
        (p.name, p.version) for p in sbom.packages
    }
    # syft names the source package in the purl's `upstream` qualifier.
    by_name = {p.name: p for p in theirs.packages}
    assert by_name["libc6"].source_name == "glibc"
    assert by_name["bsdutils"].source_name == "util-linux"


RPM_FIXTURES = Path(__file__).parent.parent / "fixtures" / "rpm"


@pytest.fixture(scope="module")
def rocky(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImageSbom, Path]:
    """A Rocky 9 image holding the real sqlite rpmdb (beta has Epoch: 2)."""
    layout = tmp_path_factory.mktemp("rocky")
    files = {
        "etc/os-release": 'ID="rocky"\nVERSION_ID="9.4"\n',
        "var/lib/rpm/rpmdb.sqlite": (RPM_FIXTURES / "rpmdb.sqlite").read_bytes(),
    }
    write_oci_layout(build_image(ImageSpec(layers=[Layer.from_files(files)])), layout, tag="t")
    with (
        OciSession(Settings(), mirrors={}) as session,
        session.open(f"oci-layout:{layout}:t") as src,
    ):
        (sbom,) = ImageAnalyser(None).analyse(src)
    return sbom, layout


def rpm_qa_versions() -> set[tuple[str, str, str]]:
    """(name, [epoch:]version-release, [epoch:]source version-release) as the real
    ``rpm -qa`` printed them for rpmdb.sqlite; a source rpm shares its binaries' epoch."""
    rows = json.loads((RPM_FIXTURES / "rpm-qa.json").read_text())["rpmdb.sqlite"]
    found = set()
    for row in rows:
        if row["NAME"] == "gpg-pubkey":  # a key, not software
            continue
        prefix = "" if row["EPOCH"] == "(none)" else f"{row['EPOCH']}:"
        source = row["SOURCERPM"].removesuffix(".src.rpm").split("-", 1)[1]
        found.add((row["NAME"], f"{prefix}{row['VERSION']}-{row['RELEASE']}", prefix + source))
    return found


@pytest.mark.parametrize("kind", ["cyclonedx", "spdx", "native", "syft-cyclonedx"])
def test_rpm_epochs_survive_every_sbom_file(
    rocky: tuple[ImageSbom, Path], tmp_path: Path, kind: str
) -> None:
    # Matching compares [epoch:]version-release: an epoch lost on the way back from a file
    # puts a patched package below every fix that has one.
    sbom, layout = rocky
    if kind == "syft-cyclonedx":
        env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(tmp_path)}
        text = subprocess.run(
            [syft_binary(), f"oci-dir:{layout}", "-o", "cyclonedx-json", "-q"],
            capture_output=True,
            check=True,
            env=env,
            timeout=300,
            text=True,
        ).stdout
    else:
        text = {
            "cyclonedx": lambda: to_cyclonedx_json(sbom, tool_version="t", now=NOW),
            "spdx": lambda: to_spdx_json(sbom, tool_version="t", now=NOW),
            "native": lambda: json.dumps({"kind": "sbom", "images": [to_native(sbom)]}),
        }[kind]()
    path = tmp_path / f"sbom.{kind}.json"
    path.write_text(text)
    again = read_sbom_file(path)
    read = {(p.name, p.version, p.source_version) for p in again.packages}
    assert {r for r in read if r[0] != "gpg-pubkey"} == rpm_qa_versions()


def test_trivy_cyclonedx_keeps_epochs_and_whole_source_versions() -> None:
    # trivy writes an rpm epoch in the purl's epoch qualifier, and splits the source
    # version into SrcEpoch, SrcVersion and SrcRelease properties (CentOS 7's openssl has
    # Epoch 1); matching compares whole [epoch:]version-release strings.
    sbom = read_sbom_file(
        Path(__file__).parent.parent / "fixtures/sbom-files/trivy-centos-7-cyclonedx.json"
    )
    assert sbom.os is not None and (sbom.os.id, sbom.os.version_id) == ("centos", "7.6.1810")
    assert {(p.name, p.version, p.source_name, p.source_version) for p in sbom.packages} == {
        ("bash", "4.2.46-31.el7", "bash", "4.2.46-31.el7"),
        ("openssl-libs", "1:1.0.2k-16.el7", "openssl", "1:1.0.2k-16.el7"),
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not a JSON SBOM"),
        (b"[]", "not a JSON object"),
        (b'{"hello": 1}', "not an SBOM imagetrust reads"),
        (b'{"bomFormat": "CycloneDX", "components": [{"purl": 5}, "x", {"purl": "pkg:"}]}', ""),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    if message:
        with pytest.raises(SbomError, match=message):
            read_sbom_file(path)
    else:
        assert read_sbom_file(path).packages == ()
    with pytest.raises(SbomError, match="no such file"):
        read_sbom_file(tmp_path / "missing.json")
