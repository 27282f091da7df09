"""An SBOM written to a file and read back (``imagetrust scan sbom:FILE``) gives the same
packages, in every output format and for every package type.

The packages are what the catalogers find in real data: the Debian 12 status (711 packages,
101 with an epoch), the Alpine 3.16 database, the rpm fixtures (an epoch, a source rpm
shared by two binaries), the Python, npm and Java fixtures and the Go modules of the real
syft binary. The assertion is only "what was written is what is read": name, version
(epoch included), source name and version, type, purl and owner.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from msgspec.structs import replace

from imagetrust.sbom.catalogers.apk import parse_apk_installed
from imagetrust.sbom.catalogers.dpkg import parse_dpkg_status
from imagetrust.sbom.catalogers.golang import GoCataloger
from imagetrust.sbom.catalogers.java import JavaCataloger
from imagetrust.sbom.catalogers.npm import NpmCataloger
from imagetrust.sbom.catalogers.python import PythonCataloger
from imagetrust.sbom.catalogers.rpm import RpmCataloger
from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json
from imagetrust.sbom.formats.cyclonedx_model import library_cyclonedx_json
from imagetrust.sbom.formats.native import to_native
from imagetrust.sbom.formats.read import read_sbom_file
from imagetrust.sbom.formats.spdx import to_spdx_json
from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease, Package, PackageType
from tests.sbom.test_language_catalogers import materialise, syft_binary, walk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
DEBIAN = OsRelease("debian", "12", id_like=())
ALPINE = OsRelease("alpine", "3.16.2")
ALMA = OsRelease("almalinux", "9.3", id_like=("rhel", "centos", "fedora"))

Identity = tuple[str, str, str | None, str | None, str, str, str | None]


def identity(package: Package) -> Identity:
    return (
        package.name,
        package.version,
        package.source_name,
        package.source_version,
        package.type.value,
        package.purl,
        package.owner,
    )


def _go_packages() -> list[Package]:
    binary = syft_binary()
    cataloger = GoCataloger()
    sniffer = cataloger.sniffer("usr/bin/syft")
    with binary.open("rb") as handle:
        while block := handle.read(1 << 20):
            sniffer.feed(block)
    kept = sniffer.finish()
    assert kept is not None
    return cataloger.parse("usr/bin/syft", kept, None)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> list[Package]:
    tmp = tmp_path_factory.mktemp("langs")
    status = FIXTURES / "rootfs/debian12/var/lib/dpkg/status"
    found = parse_dpkg_status("var/lib/dpkg/status", status.read_bytes(), DEBIAN)
    installed = FIXTURES / "rootfs/alpine/lib/apk/db/installed"
    found += parse_apk_installed("lib/apk/db/installed", installed.read_bytes(), ALPINE)
    rpmdb = (FIXTURES / "rpm/rpmdb.sqlite").read_bytes()
    found += RpmCataloger().parse("var/lib/rpm/rpmdb.sqlite", rpmdb, ALMA)
    found += walk(materialise("python", tmp), PythonCataloger())
    found += walk(materialise("npm", tmp), NpmCataloger())
    found += walk(materialise("java", tmp), JavaCataloger())
    found += _go_packages()
    # Owners as the analyser records them: the purl of an OS package.
    pip_owner = next(p for p in found if p.name == "libc6").purl
    found = [
        replace(p, owner=pip_owner) if p.type is PackageType.PYTHON and i % 2 else p
        for i, p in enumerate(found)
    ]
    # A package without a version cannot be matched and is not read back (see read.py).
    return [p for p in found if p.version]


def _sbom(packages: list[Package]) -> ImageSbom:
    return ImageSbom(
        reference="example.test/app:1",
        digest="sha256:" + "ab" * 32,
        index_digest=None,
        platform="linux/amd64",
        config_digest="sha256:" + "cd" * 32,
        analyser_version="test",
        os=DEBIAN,
        packages=tuple(packages),
        layers=(),
        facts=ImageFacts(None, (), (), {}, {}),
    )


WRITERS = {
    "json": lambda sbom: json.dumps({"kind": "sbom", "images": [to_native(sbom)]}),
    "cyclonedx-json": lambda sbom: to_cyclonedx_json(sbom, tool_version="t", now=NOW),
    "spdx-json": lambda sbom: to_spdx_json(sbom, tool_version="t", now=NOW),
}


def test_the_data_has_every_case(packages: list[Package]) -> None:
    kinds = Counter(p.type for p in packages)
    assert set(kinds) == set(PackageType)
    rpm_epoch = [p for p in packages if p.type is PackageType.RPM and ":" in p.version]
    deb_epoch = [p for p in packages if p.type is PackageType.DEB and ":" in p.version]
    assert rpm_epoch and len(deb_epoch) > 100
    assert any(p.type is PackageType.GO and "#" in p.purl for p in packages)  # subpaths
    assert any(p.type is PackageType.NPM and p.name.startswith("@") for p in packages)
    assert any(p.owner for p in packages)


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("package_type", [t.value for t in PackageType])
def test_every_package_reads_back_as_written(
    packages: list[Package], tmp_path: Path, kind: str, package_type: str
) -> None:
    sbom = _sbom(packages)
    path = tmp_path / f"sbom.{kind}"
    path.write_text(WRITERS[kind](sbom))
    again = read_sbom_file(path)
    wrote = Counter(identity(p) for p in packages if p.type.value == package_type)
    read = Counter(identity(p) for p in again.packages if p.type.value == package_type)
    assert wrote
    assert read == wrote


def test_cyclonedx_is_what_the_library_writes_for_every_kind_of_package(
    packages: list[Package],
) -> None:
    """Real packages of every ecosystem (licenses, owners, epochs, Go modules) written by
    the direct writer and through cyclonedx-python-lib's model: the same JSON."""
    sbom = _sbom(packages)
    ours = to_cyclonedx_json(sbom, tool_version="t", now=NOW)
    theirs = library_cyclonedx_json(sbom, tool_version="t", now=NOW)
    assert json.dumps(json.loads(ours)) == json.dumps(json.loads(theirs))
    assert len(json.loads(ours)["components"]) == len(packages) + 1
