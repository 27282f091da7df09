"""Every ecosystem mapping on a real record: found below the fix, gone at the fix.

Each case imports one real OSV record of its ecosystem (tests/fixtures/vulndb/README.md
says where each comes from) and scans two SBOMs that list one package the way syft and
trivy write it: a purl with the distribution in ``distro=`` (and the source package in
``upstream=``, the epoch in ``epoch=``). At a version below the record's fix the finding
must be there, naming the record and its fix, under the ecosystem the matcher maps the
image to; at the fix it must be gone. That "below" is below is not our own order's word:
for dpkg and rpm versions the real ``dpkg --compare-versions`` and ``rpm.vercmp`` say so.

The mappings of releases a record does not cover are checked the other way: a Red Hat
image of another minor release gets no extended-support advisory of 9.2, and Oracle
Linux, Amazon Linux and CentOS, which publish no OSV, stay "not covered".
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from tests.services.require import unavailable

VULNDB = Path(__file__).parent.parent / "fixtures" / "vulndb"


@dataclass(frozen=True)
class Case:
    ecosystem: str  # what the image maps to: the finding's ecosystem
    record: str  # fixture, relative to tests/fixtures/vulndb
    advisory: str  # the record's id
    purl: str  # "{v}" is the version (without epoch; an epoch goes in the qualifier)
    below: str
    at: str  # the fix, as the purl writes it
    fixed: str  # the fix, as the record writes it
    order: str | None = None  # the real tool that confirms below < fixed: dpkg, rpm
    epoch: str | None = None
    shown: str = "{v}"  # the installed version as the package says it

    def installed(self, version: str) -> str:
        shown = self.shown.format(v=version)
        return f"{self.epoch}:{shown}" if self.epoch else shown

    @property
    def id(self) -> str:
        return f"{self.ecosystem}-{self.advisory}"


CASES = [
    Case(
        "Debian:9",
        "feeds/DLA-3008-1.json",
        "DLA-3008-1",
        "pkg:deb/debian/libssl1.1@{v}?arch=amd64&upstream=openssl&distro=debian-9.13",
        "1.1.0l-1~deb9u5",
        "1.1.0l-1~deb9u6",
        "1.1.0l-1~deb9u6",
        "dpkg",
    ),
    Case(
        "Ubuntu:24.04:LTS",
        "ecosystems/UBUNTU-CVE-2025-32463.json",
        "UBUNTU-CVE-2025-32463",
        "pkg:deb/ubuntu/sudo@{v}?arch=amd64&distro=ubuntu-24.04",
        "1.9.15p5-3ubuntu5",
        "1.9.15p5-3ubuntu5.24.04.1",
        "1.9.15p5-3ubuntu5.24.04.1",
        "dpkg",
    ),
    Case(
        "Alpine:v3.16",
        "boundaries/ALPINE-CVE-2025-26519.json",
        "ALPINE-CVE-2025-26519",
        "pkg:apk/alpine/musl-utils@{v}?arch=x86_64&upstream=musl&distro=alpine-3.16.9",
        "1.2.3-r0",
        "1.2.3-r4",
        "1.2.3-r4",
    ),
    Case(
        "AlmaLinux:9",
        "boundaries/ALSA-2024-0310.json",
        "ALSA-2024:0310",
        "pkg:rpm/almalinux/openssl-libs@{v}?arch=x86_64&epoch=1"
        "&upstream=openssl-{v}.src.rpm&distro=almalinux-9.3",
        "3.0.7-24.el9",
        "3.0.7-25.el9_3",
        "1:3.0.7-25.el9_3",
        "rpm",
        epoch="1",
    ),
    Case(
        "Rocky Linux:9",
        "ecosystems/RLSA-2024_3671.json",
        "RLSA-2024:3671",
        "pkg:rpm/rocky/ruby-libs@{v}?arch=x86_64&upstream=ruby-{v}.src.rpm&distro=rocky-9.4",
        "3.1.4-143.module+el9.3.0+17713+4e4b8e2d",
        "3.3.1-2.module+el9.4.0+20787+4c237fd3",
        "0:3.3.1-2.module+el9.4.0+20787+4c237fd3",
        "rpm",
    ),
    Case(
        "Wolfi",
        "ecosystems/CGA-5f5c-53mg-6p2v.json",
        "CGA-5f5c-53mg-6p2v",
        "pkg:apk/wolfi/ko@{v}?arch=x86_64&distro=wolfi-20230201",
        "0.13.0-r2",
        "0.13.0-r3",
        "0.13.0-r3",
    ),
    Case(
        "Chainguard",
        "ecosystems/CGA-5f5c-53mg-6p2v.json",
        "CGA-5f5c-53mg-6p2v",
        "pkg:apk/chainguard/ko@{v}?arch=x86_64&distro=chainguard-20230214",
        "0.12.0-r0",
        "0.13.0-r3",
        "0.13.0-r3",
    ),
    Case(
        "PyPI",
        "feeds/PYSEC-2021-98.json",
        "PYSEC-2021-98",
        "pkg:pypi/django@{v}",
        "3.2.3",
        "3.2.4",
        "3.2.4",
    ),
    Case(
        "npm",
        "osv/npm/GHSA-93q8-gq69-wqmw.json",
        "GHSA-93q8-gq69-wqmw",
        "pkg:npm/ansi-regex@{v}",
        "5.0.0",
        "5.0.1",
        "5.0.1",
    ),
    Case(  # build info says go1.22.3 for the toolchain; advisories say 1.22.3
        "Go",
        "ecosystems/GO-2024-2887.json",
        "GO-2024-2887",
        "pkg:golang/stdlib@go{v}",
        "1.22.3",
        "1.22.4",
        "1.22.4",
        shown="go{v}",
    ),
    Case(
        "Maven",
        "feeds/GHSA-269g-pwp5-87pp.json",
        "GHSA-269g-pwp5-87pp",
        "pkg:maven/junit/junit@{v}",
        "4.13",
        "4.13.1",
        "4.13.1",
    ),
    Case(
        "Photon OS:4.0",
        "osv/photon/PHSA-2025-4.0-0824.json",
        "PHSA-2025-4.0-0824",
        "pkg:rpm/vmware/sudo@{v}?arch=x86_64&distro=photon-4.0",
        "1.9.15p5-2.ph4",
        "1.9.15p5-3.ph4",
        "1.9.15p5-3.ph4",
        "rpm",
    ),
    Case(  # the record's own purl says photon-5; os-release says 5.0
        "Photon OS:5.0",
        "ecosystems/PHSA-2026-5.0-0810.json",
        "PHSA-2026-5.0-0810",
        "pkg:rpm/vmware/openssl-libs@{v}?arch=x86_64&upstream=openssl-{v}.src.rpm&distro=photon-5",
        "3.0.18-2.ph5",
        "3.0.18-3.ph5",
        "3.0.18-3.ph5",
        "rpm",
    ),
    Case(  # an extended-support stream of the image's own minor release; binary names
        "Red Hat:enterprise_linux:9",
        "ecosystems/RHSA-2024-8709.json",
        "RHSA-2024:8709",
        "pkg:rpm/redhat/podman-docker@{v}?arch=noarch&epoch=2"
        "&upstream=podman-{v}.src.rpm&distro=rhel-9.2",
        "4.4.1-20.el9_2",
        "4.4.1-21.el9_2",
        "2:4.4.1-21.el9_2",
        "rpm",
        epoch="2",
    ),
    Case(  # trivy's purls say redhat-8.6; AUS, E4S and TUS streams of 8.6
        "Red Hat:enterprise_linux:8",
        "ecosystems/RHSA-2024-4546.json",
        "RHSA-2024:4546",
        "pkg:rpm/redhat/git-lfs@{v}?arch=x86_64&distro=redhat-8.6",
        "2.13.3-3.el8_6",
        "2.13.3-3.el8_6.1",
        "0:2.13.3-3.el8_6.1",
        "rpm",
    ),
    Case(
        "SUSE:Linux Enterprise Server 12",
        "ecosystems/SUSE-SU-403-Forbidden-1.json",
        "SUSE-SU-403 Forbidden-1",
        "pkg:rpm/suse/libqt4-x11@{v}?arch=x86_64&upstream=libqt4-{v}.src.rpm&distro=sles-12",
        "4.8.6-6.1",
        "4.8.6-7.1",
        "4.8.6-7.1",
        "rpm",
    ),
    Case(
        "SUSE:Linux Enterprise Server 12 SP1",
        "ecosystems/SUSE-SU-403-Forbidden-1.json",
        "SUSE-SU-403 Forbidden-1",
        "pkg:rpm/suse/libqt4-x11@{v}?arch=x86_64&upstream=libqt4-{v}.src.rpm&distro=sles-12.1",
        "4.8.5-3.2",
        "4.8.6-7.1",
        "4.8.6-7.1",
        "rpm",
    ),
]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    base = ["--home", str(tmp_path / "home"), "--now", "2026-11-23"]

    def call(*args: str) -> dict[str, Any]:
        code = main([*base, *args, "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        doc: dict[str, Any] = json.loads(out)
        return doc

    return call


def sbom(path: Path, purls: list[str]) -> str:
    components = [{"type": "library", "purl": purl} for purl in purls]
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "components": components}))
    return f"sbom:{path}"


def fixes_in(record: dict[str, Any]) -> set[str]:
    ranges = [r for a in record["affected"] for r in (a.get("ranges") or [])]
    return {e["fixed"] for r in ranges if isinstance(r, dict) for e in r["events"] if "fixed" in e}


def lower(order: str, a: str, b: str) -> bool:
    """The real tool's answer to "a < b"."""
    if order == "dpkg":
        dpkg = shutil.which("dpkg")
        if dpkg is None:
            unavailable("`dpkg`", "it is not on PATH")
            raise AssertionError("unreachable")
        return subprocess.run([dpkg, "--compare-versions", a, "lt", b]).returncode == 0
    rpm = shutil.which("rpm")
    if rpm is None:
        unavailable("`rpm` (Debian package rpm)", "it is not on PATH")
        raise AssertionError("unreachable")
    lua = f'%{{lua: print(rpm.vercmp("{a}", "{b}"))}}'
    out = subprocess.run([rpm, "--eval", lua], capture_output=True, text=True, check=True)
    return int(re.findall(r"-?\d", out.stdout)[0]) < 0


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_real_record_finds_the_version_below_its_fix_and_not_the_fix(
    cli, tmp_path: Path, case: Case
) -> None:  # type: ignore[no-untyped-def]
    record = json.loads((VULNDB / case.record).read_text())
    assert record["id"] == case.advisory and case.fixed in fixes_in(record)
    if case.order is not None:
        assert lower(case.order, case.installed(case.below), case.fixed)
    cli("db", "import", str(VULNDB / case.record))

    doc = cli("scan", sbom(tmp_path / "below.json", [case.purl.format(v=case.below)]))
    found = [
        (v["id"], v["installed_version"], v["fixed_version"], v["ecosystem"])
        for v in doc["vulnerabilities"]
    ]
    assert found == [(case.advisory, case.installed(case.below), case.fixed, case.ecosystem)]
    assert doc["not_covered"] == []

    doc = cli("scan", sbom(tmp_path / "at.json", [case.purl.format(v=case.at)]))
    assert doc["vulnerabilities"] == [] and doc["not_covered"] == []
    assert doc["coverage"]["matched"] == 1


def test_red_hat_extended_support_of_another_minor_release_is_not_applied(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """RHSA-2024:8709 fixes podman in the 9.2 EUS stream only: a 9.4 image is not judged by
    it (its fix comes from the 9.4 stream), and says so rather than scanning clean."""
    cli("db", "import", str(VULNDB / "ecosystems" / "RHSA-2024-8709.json"))
    purl = "pkg:rpm/redhat/podman@4.4.1-20.el9_2?arch=x86_64&epoch=2&distro=rhel-9.4"
    doc = cli("scan", sbom(tmp_path / "s.json", [purl]))
    assert doc["vulnerabilities"] == []
    [item] = doc["not_covered"]
    assert (item["reason"], item["ecosystem"]) == (
        "no-advisory-source",
        "Red Hat:enterprise_linux:9",
    )


def test_suse_records_of_another_service_pack_are_not_applied(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("db", "import", str(VULNDB / "ecosystems" / "SUSE-SU-403-Forbidden-1.json"))
    purl = "pkg:rpm/suse/libqt4@4.8.6-6.1?arch=x86_64&distro=sles-12.2"
    doc = cli("scan", sbom(tmp_path / "s.json", [purl]))
    assert doc["vulnerabilities"] == []
    [item] = doc["not_covered"]
    assert item["ecosystem"] == "SUSE:Linux Enterprise Server 12 SP2"


@pytest.mark.parametrize(
    ("distro", "vendor"),
    [("ol-9.4", "oracle"), ("amzn-2023", "amazon"), ("centos-9", "centos")],
)
def test_rpm_distributions_without_an_osv_feed_are_not_covered(
    cli, tmp_path: Path, distro: str, vendor: str
) -> None:  # type: ignore[no-untyped-def]
    """Oracle Linux, Amazon Linux and CentOS rebuild Red Hat's packages, but publish no OSV:
    with Red Hat's and AlmaLinux's records at hand they are still not matched (their
    versions and fixes are their own), and the scan says why."""
    cli("db", "import", str(VULNDB / "ecosystems" / "RHSA-2024-8709.json"))
    cli("db", "import", str(VULNDB / "boundaries" / "ALSA-2024-0310.json"))
    purls = [
        f"pkg:rpm/{vendor}/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&distro={distro}",
        f"pkg:rpm/{vendor}/podman@4.4.1-20.el9_2?arch=x86_64&epoch=2&distro={distro}",
    ]
    doc = cli("scan", sbom(tmp_path / "s.json", purls))
    assert doc["vulnerabilities"] == []
    assert [(i["package"], i["reason"]) for i in doc["not_covered"]] == [
        ("openssl-libs", "no-advisory-source"),
        ("podman", "no-advisory-source"),
    ]
    assert all("no advisory source for rpm packages" in i["detail"] for i in doc["not_covered"])
    assert doc["coverage"]["os"] == "not-covered"


def test_a_malformed_affected_entry_is_dropped_and_the_record_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PHSA-2024-3.0-0715, as published: of three entries for glibc, the second has its
    ``ranges`` as an object. The record is kept with the other two, and the bad entry is
    reported with the record's id and its index; the advisory still finds glibc."""
    record = VULNDB / "ecosystems" / "PHSA-2024-3.0-0715.json"
    entries = json.loads(record.read_text())["affected"]
    assert [type(e.get("ranges")).__name__ for e in entries] == ["NoneType", "dict", "list"]
    base = ["--home", str(tmp_path / "home"), "--now", "2026-11-23"]

    assert main([*base, "db", "import", str(record)]) == 0
    table, err = capsys.readouterr()
    assert re.search(r"affected entries dropped +1", table)
    assert "PHSA-2024-3.0-0715: affected[1] dropped: ranges:" in err

    assert main([*base, "db", "import", str(record), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["records"] == 1 and doc["counts"]["skipped"] == 0
    assert doc["counts"]["dropped_entries"] == 1
    [dropped] = doc["dropped_entries"]
    assert dropped["id"] == "PHSA-2024-3.0-0715"
    assert dropped["reason"].startswith("affected[1] dropped: ranges: Input should be a valid list")

    purl = "pkg:rpm/vmware/glibc@{v}?arch=x86_64&distro=photon-3.0"
    below = [("PHSA-2024-3.0-0715", "2.28-25.ph3")]
    for version, found in (("2.28-24.ph3", below), ("2.28-25.ph3", [])):
        target = sbom(tmp_path / f"{version}.json", [purl.format(v=version)])
        assert main([*base, "scan", target, "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert [(v["id"], v["fixed_version"]) for v in doc["vulnerabilities"]] == found
        assert doc["not_covered"] == []


# os-release ID and VERSION_ID of each new family, and the OSV export its packages need
NEW_FAMILIES = [
    ("rhel-9.4", "Red Hat"),
    ("redhat-8.10", "Red Hat"),
    ("sles-15.5", "SUSE"),
    ("sle-micro-5.5", "SUSE"),
    ("opensuse-leap-15.5", "openSUSE"),
    ("opensuse-tumbleweed-20240801", "openSUSE"),
    ("photon-5.0", "Photon OS"),
    ("azurelinux-3.0", "Azure Linux"),
    ("mariner-2.0", "Azure Linux"),
]


def os_of(distro: str) -> Any:
    from imagetrust.sbom.models import OsRelease

    os_id, _, version = distro.rpartition("-")
    return OsRelease(os_id, version)


@pytest.mark.parametrize(("distro", "export"), NEW_FAMILIES)
def test_each_new_family_needs_an_osv_export_with_the_rpm_order(distro: str, export: str) -> None:
    """The export ``db update`` fetches is the target's base: it must be a name OSV
    defines (osv-schema's ecosystems.json), and its order must be rpm's."""
    from imagetrust.sbom.models import Package, PackageType
    from imagetrust.vulndb.matchers import DEFAULT_REGISTRY, MatchTarget
    from imagetrust.vulndb.versions import key_function, rpm

    official = json.loads((VULNDB / "ecosystems" / "osv-schema-ecosystems.json").read_text())
    package = Package("openssl-libs", "3.0.7-1", PackageType.RPM, "pkg:rpm/x/openssl-libs")
    target = DEFAULT_REGISTRY.target(package, os_of(distro))
    assert isinstance(target, MatchTarget)
    assert target.base == export and export in official
    assert target.ecosystem.startswith(f"{export}:") and key_function(export) is rpm.sort_key


def test_db_update_asks_for_the_exports_of_the_new_families(store_url: str) -> None:
    from datetime import UTC, datetime

    from imagetrust.sbom.models import ImageFacts, ImageSbom, Package, PackageType
    from imagetrust.sbom.stored import save_sbom
    from imagetrust.store.database import Store
    from imagetrust.vulndb.feeds import needed_ecosystems

    now = datetime(2026, 11, 23, tzinfo=UTC)
    with Store.open(store_url) as store:
        for n, (distro, _) in enumerate(NEW_FAMILIES):
            package = Package("bash", "5.2-1", PackageType.RPM, f"pkg:rpm/x/bash?distro={distro}")
            image = ImageSbom(
                reference=f"example/{distro}",
                digest=f"sha256:{n:064x}",
                index_digest=None,
                platform="linux/amd64",
                config_digest="",
                analyser_version="test",
                os=os_of(distro),
                packages=(package,),
                layers=(),
                facts=ImageFacts(None, (), (), {}, {}),
            )
            with store.transaction() as conn:
                save_sbom(conn, image, now)
        with store.read() as conn:
            assert needed_ecosystems(conn) == sorted({export for _, export in NEW_FAMILIES})


def test_every_stream_of_the_release_is_asked_in_one_lookup(store_url: str, tmp_path: Path) -> None:
    """RHSA-2024:4546 names git-lfs in three support streams of 8.6 (AUS, E4S, TUS): all
    three are asked, together, and the advisory is one finding, on either database."""
    from datetime import UTC, datetime

    from imagetrust.sbom.formats.read import read_sbom_file
    from imagetrust.store.database import Store
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.scan import scan_sbom, store_advisories

    record = VULNDB / "ecosystems" / "RHSA-2024-4546.json"
    purls = [
        f"pkg:rpm/redhat/{name}@2.13.3-3.el8_6?arch=x86_64&distro=rhel-8.6"
        for name in ("git-lfs", "git-lfs-debuginfo")
    ]
    image = read_sbom_file(sbom(tmp_path / "s.json", purls).removeprefix("sbom:"))
    asked: list[tuple[str, ...]] = []
    with Store.open(store_url) as store:
        import_path(store, record, now=datetime(2026, 11, 23, tzinfo=UTC))
        with store.read() as conn:
            advisories = store_advisories(conn)
            many = advisories.lookup_many
            assert many is not None

            def spy(ecosystems: Any, name: str) -> Any:
                asked.append(tuple(ecosystems))
                return many(ecosystems, name)

            advisories.lookup_many = spy
            scanned = scan_sbom(image, advisories)
    streams = tuple(f"Red Hat:rhel_{s}:8.6::appstream" for s in ("aus", "e4s", "tus"))
    assert asked == [streams, streams]  # one query per package, every stream in it
    assert [(f.package, f.id, f.fixed_version, f.ecosystem) for f in scanned.findings] == [
        (name, "RHSA-2024:4546", "0:2.13.3-3.el8_6.1", "Red Hat:enterprise_linux:8")
        for name in ("git-lfs", "git-lfs-debuginfo")
    ]
