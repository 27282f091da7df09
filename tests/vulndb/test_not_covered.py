"""Every package is matched, matched through its OS package, or "not covered" with a reason.

The images are built from real package databases and real os-release files; the advisories
are real records. The oracle is the SBOM itself: whatever the scan says, every package of
the image must be accounted for, and a package nothing could judge must be listed with the
reason, never dropped (before, a CentOS or Debian testing image scanned "clean").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.demo import DATA
from imagetrust.oci.models import Platform
from imagetrust.sbom.models import ImageSbom
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOTFS = FIXTURES / "rootfs"
VULNDB = DATA / "vulndb"
CENTOS7 = FIXTURES / "sbom-files" / "trivy-centos-7-cyclonedx.json"
DEBIAN_STATUS = (ROOTFS / "debian12" / "var/lib/dpkg/status").read_bytes()
DEBIAN12_RELEASE = (ROOTFS / "debian12" / "etc/os-release").read_bytes()
TESTING_RELEASE = (ROOTFS / "debian-testing" / "etc/os-release").read_bytes()

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url, "--now", "2026-11-23"]

    def call(*args: str) -> tuple[int, str, str]:
        code = main([*base, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def image(tmp_path: Path, name: str, files: dict[str, bytes], **spec: Any) -> str:
    layout = tmp_path / name
    built = build_image(ImageSpec(layers=[Layer.from_files(files)], **spec))
    write_oci_layout(built, layout, tag="t")
    return f"oci-layout:{layout}:t"


def scan_json(cli: Cli, *args: str) -> dict[str, Any]:
    code, out, err = cli("scan", *args, "--format", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def dpkg_packages() -> set[str]:
    return {
        line.split(": ", 1)[1]
        for line in DEBIAN_STATUS.decode().splitlines()
        if line.startswith("Package: ")
    }


def accounted(doc: dict[str, Any]) -> None:
    """Every package is matched, through its owner, or listed: the numbers add up."""
    coverage = doc["coverage"]
    whole = {
        (i["package"], i["version"], i["package_type"])
        for i in doc["not_covered"]
        if i["package"] is not None and i["advisory"] is None
    }
    assert coverage["not_covered"] == len(whole)
    assert coverage["matched"] + coverage["through_owner"] + len(whole) == len(doc["packages"])
    assert sum(coverage["reasons"].values()) == len(doc["not_covered"])


# --- no advisory source ------------------------------------------------------------------


def test_an_rpm_distribution_without_a_source_is_not_covered_not_clean(cli: Cli) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    components = json.loads(CENTOS7.read_text())["components"]
    doc = scan_json(cli, f"sbom:{CENTOS7}")
    assert doc["vulnerabilities"] == [] and doc["findings_total"] == 0
    # every package trivy's own SBOM lists (the OS itself is a component without a purl)
    assert {i["package"] for i in doc["not_covered"]} == {
        c["name"] for c in components if "purl" in c
    }
    assert {i["reason"] for i in doc["not_covered"]} == {"no-advisory-source"}
    assert all("centos" in i["detail"].lower() for i in doc["not_covered"])
    assert doc["coverage"]["os"] == "not-covered" and "not covered" in doc["coverage"]["message"]
    accounted(doc)


def test_the_table_says_not_covered_first_and_exit_code_fails_unless_allowed(cli: Cli) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    code, out, err = cli("scan", f"sbom:{CENTOS7}")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("NOT COVERED: OS packages not covered (centos 7.6.1810, 2 pa")
    assert "no-advisory-source 2" in out
    code, _, err = cli("scan", f"sbom:{CENTOS7}", "--exit-code", "4")
    assert code == 4 and "not checked" in err and "--allow-not-covered" in err
    code, _, err = cli("scan", f"sbom:{CENTOS7}", "--exit-code", "4", "--allow-not-covered")
    assert code == 0, err
    code, out, err = cli("scan", f"sbom:{CENTOS7}", "-f", "json")
    assert code == 0 and err.startswith("warning: ") and "not covered" in err


def test_debian_testing_has_no_release_to_match(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    ref = image(
        tmp_path,
        "testing",
        {"etc/os-release": TESTING_RELEASE, "var/lib/dpkg/status": DEBIAN_STATUS},
    )
    doc = scan_json(cli, ref)
    assert doc["image"]["os"]["family"] == "debian" and doc["image"]["os"]["version"] is None
    assert {i["package"] for i in doc["not_covered"]} == dpkg_packages()
    assert all(
        i["reason"] == "no-advisory-source" and "VERSION_ID" in i["detail"]
        for i in doc["not_covered"]
    )
    assert doc["coverage"]["os"] == "not-covered"
    accounted(doc)


def test_a_release_the_database_has_no_records_for_is_not_covered(cli: Cli, tmp_path: Path) -> None:
    # Only the Alpine secdb is imported: the Debian 12 image has nothing to be matched with.
    assert cli("db", "import", str(VULNDB / "alpine"))[0] == 0
    files = {"etc/os-release": DEBIAN12_RELEASE, "var/lib/dpkg/status": DEBIAN_STATUS}
    ref = image(tmp_path, "debian", files)
    doc = scan_json(cli, ref)
    assert doc["findings_total"] == 0 and doc["coverage"]["os"] == "not-covered"
    assert {i["package"] for i in doc["not_covered"]} == dpkg_packages()
    assert {i["ecosystem"] for i in doc["not_covered"]} == {"Debian:12"}
    # with Debian's records the same image is matched, package for package
    assert cli("db", "import", str(VULNDB / "debian"))[0] == 0
    doc = scan_json(cli, ref)
    assert doc["coverage"]["os"] == "covered" and doc["not_covered"] == []
    assert doc["coverage"]["matched"] == len(dpkg_packages()) and doc["findings_total"] > 0


# --- versions ----------------------------------------------------------------------------


def cyclonedx(path: Path, purls: list[str]) -> Path:
    components = [{"type": "library", "purl": purl} for purl in purls]
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "components": components}))
    return path


def npm_record(tmp_path: Path, fixed_5: str) -> Path:
    """GHSA-93q8-gq69-wqmw (ansi-regex) with its 5.x range's fix written as ``fixed_5``."""
    record = json.loads((FIXTURES / "vulndb/osv/npm/GHSA-93q8-gq69-wqmw.json").read_text())
    for affected in record["affected"]:
        for event in affected["ranges"][0]["events"]:
            if event.get("fixed") == "5.0.1":
                event["fixed"] = fixed_5
    path = tmp_path / f"ghsa-{fixed_5}.json"
    path.write_text(json.dumps(record))
    return path


def test_no_version_and_versions_the_order_rejects_are_listed(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "import", str(npm_record(tmp_path, "5.0.1")))[0] == 0
    sbom = cyclonedx(
        tmp_path / "npm.cdx.json",
        [
            "pkg:npm/ansi-regex@5.0.0",  # affected: a finding
            "pkg:npm/ansi-regex",  # no version: nothing can place it
            "pkg:npm/chalk@latest",  # not a semantic version (semver.org's grammar)
            "pkg:npm/ansi-html@0.0.7",  # npm is covered; no advisory names it: clean
        ],
    )
    doc = scan_json(cli, f"sbom:{sbom}")
    assert [(f["package"], f["id"]) for f in doc["vulnerabilities"]] == [
        ("ansi-regex", "GHSA-93q8-gq69-wqmw")
    ]
    reasons = {(i["package"], i["version"]): i["reason"] for i in doc["not_covered"]}
    assert reasons == {
        ("ansi-regex", ""): "no-version",
        ("chalk", "latest"): "version-not-comparable",
    }
    assert doc["coverage"]["os"] == "no-os-packages" and doc["coverage"]["matched"] == 2
    accounted(doc)


def test_a_range_the_order_cannot_read_is_reported_for_that_advisory(
    cli: Cli, tmp_path: Path
) -> None:
    # "5.0.x" is an npm range, not a version: the 5.x entry says nothing about 5.0.0.
    assert cli("db", "import", str(npm_record(tmp_path, "5.0.x")))[0] == 0
    sbom = cyclonedx(
        tmp_path / "npm.cdx.json", ["pkg:npm/ansi-regex@5.0.0", "pkg:npm/ansi-regex@6.0.0"]
    )
    doc = scan_json(cli, f"sbom:{sbom}")
    # 6.0.0 is affected through its own, readable entry: answered, nothing to report
    assert [(f["installed_version"], f["fixed_version"]) for f in doc["vulnerabilities"]] == [
        ("6.0.0", "6.0.1")
    ]
    [item] = doc["not_covered"]
    assert (item["package"], item["version"], item["reason"], item["advisory"]) == (
        "ansi-regex",
        "5.0.0",
        "version-not-comparable",
        "GHSA-93q8-gq69-wqmw",
    )
    assert "5.0.x" in item["detail"]
    assert doc["coverage"]["matched"] == 2 and doc["coverage"]["not_covered"] == 0
    accounted(doc)


# --- the matcher seam --------------------------------------------------------------------


def test_a_new_distribution_is_one_matcher_module(store_url: str, tmp_path: Path) -> None:
    """Photon OS: without a Photon matcher not covered; with one more matcher (this small
    one, or the default one), matched against Photon's own advisory (sudo 1.9.15p5-2.ph4
    is before its 1.9.15p5-3.ph4 fix)."""
    from datetime import UTC, datetime

    from imagetrust.sbom.formats.read import read_sbom_file
    from imagetrust.sbom.models import OsRelease, PackageType
    from imagetrust.store.database import Store
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.matchers import DEFAULT_MATCHERS, MatcherRegistry
    from imagetrust.vulndb.matchers.base import DistroMatcher, Uncovered
    from imagetrust.vulndb.scan import scan_sbom, store_advisories

    class PhotonMatcher(DistroMatcher):
        name = "photon-in-one-module"
        package_types = frozenset({PackageType.RPM})
        distributions = frozenset({"photon"})

        def ecosystem(self, os_release: OsRelease) -> tuple[str, str] | Uncovered:
            return f"Photon OS:{os_release.version_id}", "Photon OS"

    sbom = read_sbom_file(
        cyclonedx(
            tmp_path / "photon.cdx.json",
            ["pkg:rpm/vmware/sudo@1.9.15p5-2.ph4?arch=x86_64&distro=photon-4.0"],
        )
    )
    record = FIXTURES / "vulndb/osv/photon/PHSA-2025-4.0-0824.json"
    with Store.open(store_url) as store:
        import_path(store, record, now=datetime(2026, 11, 23, tzinfo=UTC))
        others = [m for m in DEFAULT_MATCHERS if "photon" not in (m.distributions or ())]
        with store.read() as conn:
            before = scan_sbom(sbom, store_advisories(conn), MatcherRegistry(others))
            registry = MatcherRegistry([*others, PhotonMatcher()])
            after = scan_sbom(sbom, store_advisories(conn), registry)
            default = scan_sbom(sbom, store_advisories(conn))
    assert [(i.reason.value, i.package) for i in before.not_covered] == [
        ("no-advisory-source", "sudo")
    ]
    assert before.coverage.os.value == "not-covered" and before.findings == []
    assert [(f.id, f.fixed_version) for f in after.findings] == [
        ("PHSA-2025-4.0-0824", "1.9.15p5-3.ph4")
    ]
    assert after.not_covered == [] and after.coverage.os.value == "covered"
    assert [f.as_dict() for f in default.findings] == [f.as_dict() for f in after.findings]
    with pytest.raises(ValueError, match="both claim rpm on photon"):
        MatcherRegistry([*DEFAULT_MATCHERS, PhotonMatcher()])  # one matcher per distribution


def analyse(ref: str) -> list[ImageSbom]:
    from imagetrust.config import Settings
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.analyse import ImageAnalyser

    with OciSession(Settings()) as session, session.open(ref) as source:
        return ImageAnalyser(None).analyse(source, PlatformSelection.parse("all"))


def test_one_failing_package_never_stops_the_scan(store_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from msgspec.structs import replace

    from imagetrust.store.database import Store
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.scan import scan_sbom, store_advisories

    layout = tmp_path / "alpine"
    write_oci_layout(build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")])), layout)
    [sbom] = analyse(f"oci-layout:{layout}")
    # A name no database can hold (PostgreSQL refuses NUL in text): that package fails,
    # and every other package's verdict is exactly what it is without it.
    broken = replace(sbom.packages[0], name="musl\x00", source_name="musl\x00")
    with_broken = replace(sbom, packages=(broken, *sbom.packages))
    with Store.open(store_url) as store:
        import_path(store, VULNDB, now=datetime(2026, 11, 23, tzinfo=UTC))
        with store.read() as conn:
            clean = scan_sbom(sbom, store_advisories(conn))
            scanned = scan_sbom(with_broken, store_advisories(conn))
    assert clean.findings and clean.not_covered == []
    assert [f.as_dict() for f in scanned.findings] == [f.as_dict() for f in clean.findings]
    [item] = scanned.not_covered
    assert item.reason.value == "match-failed" and item.package == "musl\x00"
    assert scanned.coverage.matched == clean.coverage.matched


# --- what the SBOM could not read --------------------------------------------------------


def test_an_unreadable_package_database_is_cataloger_failed(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    # Debian 12's real database with a block of zeros in it, as a damaged disk leaves it
    damaged = DEBIAN_STATUS[:4096] + b"\0" * 512 + DEBIAN_STATUS[4096:]
    ref = image(
        tmp_path, "damaged", {"etc/os-release": DEBIAN12_RELEASE, "var/lib/dpkg/status": damaged}
    )
    code, out, err = cli("scan", ref, "--format", "json")
    assert code == 1 and "the SBOM is incomplete" in err  # unknown is never clean
    doc = json.loads(out)
    assert doc["packages"] == [] and doc["findings_total"] == 0 and doc["complete"] is False
    [item] = doc["not_covered"]
    assert item["reason"] == "cataloger-failed" and item["path"] == "var/lib/dpkg/status"
    assert "NUL bytes" in item["detail"]
    assert doc["coverage"]["os"] == "not-covered"
    assert "var/lib/dpkg/status" in doc["coverage"]["message"]


def test_a_database_over_the_size_limit_is_cataloger_failed(cli: Cli, tmp_path: Path) -> None:
    """An rpm database (read whole, unlike dpkg's and apk's, which stream) over the limit."""
    assert cli("db", "import", str(VULNDB))[0] == 0
    rpmdb = (FIXTURES / "rpm" / "rpmdb.sqlite").read_bytes()
    release = b'ID="almalinux"\nVERSION_ID="9.4"\nNAME="AlmaLinux"\n'
    files = {"etc/os-release": release, "var/lib/rpm/rpmdb.sqlite": rpmdb}
    ref = image(tmp_path, "big", files)
    config = tmp_path / "small.toml"
    config.write_text(f"[sbom]\nmax_file_bytes = {len(rpmdb) - 1}\n")
    code, out, err = cli("--config", str(config), "scan", ref, "--format", "json")
    assert code == 1 and "the SBOM is incomplete" in err
    doc = json.loads(out)
    assert doc["packages"] == []
    [item] = doc["not_covered"]
    assert item["reason"] == "cataloger-failed" and "max_file_bytes" in item["detail"]
    assert item["path"] == "var/lib/rpm/rpmdb.sqlite" and "layer sha256:" in item["detail"]
    assert doc["coverage"]["os"] == "not-covered"


def test_an_os_without_a_package_database_is_not_taken_for_an_empty_one(
    cli: Cli, tmp_path: Path
) -> None:
    # a Debian image whose dpkg database was deleted (some hardened images do that)
    assert cli("db", "import", str(VULNDB))[0] == 0
    ref = image(tmp_path, "nodb", {"etc/os-release": DEBIAN12_RELEASE})
    doc = scan_json(cli, ref)
    [item] = doc["not_covered"]
    assert item["reason"] == "no-package-database" and doc["coverage"]["os"] == "not-covered"
    # a scratch image with one static file has no OS to cover: nothing is claimed
    ref = image(tmp_path, "scratch", {"app/config.toml": b"port = 8080\n"})
    doc = scan_json(cli, ref)
    assert doc["not_covered"] == [] and doc["coverage"]["os"] == "no-os-packages"


def test_a_windows_image_is_not_covered_and_its_layers_are_not_read(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    layout = tmp_path / "windows"
    built = build_image(
        ImageSpec(
            layers=[Layer.from_files({"Files/Windows/System32/drivers/etc/hosts": b"# hosts\n"})],
            platform=Platform("windows", "amd64", os_version="10.0.20348.2582"),
        )
    )
    write_oci_layout(built, layout, tag="t")
    for blob in built.layers:  # a layer that is read would fail its digest check now
        (layout / "blobs" / "sha256" / blob.digest.split(":", 1)[1]).write_bytes(b"gone")
    ref = f"oci-layout:{layout}:t"
    code, out, err = cli("scan", ref, "--platform", "windows/amd64", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["image"]["platform"] == "windows/amd64"
    [item] = doc["not_covered"]
    assert item["reason"] == "unsupported-os" and "windows/amd64" in item["detail"]
    assert doc["coverage"]["os"] == "not-covered"
    code, _, err = cli("scan", ref, "--platform", "windows/amd64", "--exit-code", "1")
    assert code == 1 and "not checked" in err
    code, _, err = cli("sbom", ref, "--platform", "windows/amd64")
    assert code == 1 and "not analysed" in err


def test_language_packages_of_os_packages_are_covered_through_them(
    cli: Cli, tmp_path: Path
) -> None:
    from tests.sbom.test_owners import materialise_debian

    assert cli("db", "import", str(VULNDB))[0] == 0
    root = materialise_debian(tmp_path / "root")
    layout = tmp_path / "owned"
    write_oci_layout(build_image(ImageSpec(layers=[Layer.from_dir(root)])), layout, tag="t")
    doc = scan_json(cli, f"oci-layout:{layout}:t")
    listed = {(i["package"], i["version"]): i["reason"] for i in doc["not_covered"]}
    # Debian's pip, PyYAML and six are matched through python3-pip, python3-yaml and
    # python3-six (tests/fixtures/owners/README.md): covered, not listed
    owned = {("pip", "23.0.1"), ("pyyaml", "6.0"), ("six", "1.16.0")}
    assert owned <= {(p["name"], p["version"]) for p in doc["packages"]}
    assert not owned & set(listed) and doc["coverage"]["through_owner"] >= len(owned)
    # pip 23.2.1, installed by pip itself, is a PyPI package: the demo data has no PyPI
    assert listed[("pip", "23.2.1")] == "no-advisory-source"
    accounted(doc)


# --- stored with the scan, and the JSON shapes -------------------------------------------


def test_not_covered_items_are_stored_with_the_scan(
    cli: Cli, tmp_path: Path, store_url: str
) -> None:
    from imagetrust.sbom.stored import stored_sboms
    from imagetrust.store.database import Store
    from imagetrust.vulndb.stored import stored_not_covered

    assert cli("db", "import", str(VULNDB / "alpine"))[0] == 0
    files = {"etc/os-release": DEBIAN12_RELEASE, "var/lib/dpkg/status": DEBIAN_STATUS}
    ref = image(tmp_path, "debian", files)
    doc = scan_json(cli, ref)
    assert len(doc["not_covered"]) == len(dpkg_packages())
    with Store.open(store_url) as store, store.read() as conn:
        [sbom] = list(stored_sboms(conn))  # the SBOM reads back as it was
        items = stored_not_covered(conn, sbom.digest, sbom.analyser_version)
    assert sbom.digest == doc["image"]["digest"] and len(sbom.packages) == len(doc["packages"])
    assert items is not None and [i.as_dict() for i in items] == doc["not_covered"]
    # a later scan against more data replaces them
    assert cli("db", "import", str(VULNDB / "debian"))[0] == 0
    assert scan_json(cli, ref)["not_covered"] == []
    with Store.open(store_url) as store, store.read() as conn:
        assert stored_not_covered(conn, sbom.digest, sbom.analyser_version) == []


def test_one_platform_is_a_scan_several_are_scans_of_exactly_that_shape(
    cli: Cli, tmp_path: Path
) -> None:
    from imagetrust.testkit.builder import build_multiplatform

    assert cli("db", "import", str(VULNDB))[0] == 0
    layout = tmp_path / "multi"
    write_oci_layout(build_multiplatform([Layer.from_dir(ROOTFS / "debian12")]), layout, tag="t")
    ref = f"oci-layout:{layout}:t"
    one = scan_json(cli, ref)
    assert list(one)[:2] == ["schema_version", "kind"] and one["kind"] == "scan"
    several = scan_json(cli, ref, "--platform", "all")
    assert list(several) == ["schema_version", "kind", "images"] and several["kind"] == "scans"
    body = {k: v for k, v in one.items() if k not in ("schema_version", "kind")}
    assert [set(element) for element in several["images"]] == [set(body), set(body)]
    platforms = [element["image"]["platform"] for element in several["images"]]
    assert platforms == ["linux/amd64", "linux/arm64/v8"]
    assert several["images"][0] == body  # the same image, the same document
    code, out, err = cli("scan", ref, "--platform", "all")
    assert code == 0, err
    labels = [line.split()[1] for line in out.splitlines() if line.startswith("platform ")]
    assert labels == platforms
