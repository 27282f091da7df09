"""``imagetrust db import`` then ``imagetrust scan``: real images, a real store, both backends.

The database is the demo's small set of real advisories (Debian tracker and Alpine secdb
facts); the images are built from real package databases, so every expected finding is a
fact about those package versions, not something the code under test computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.demo import DATA
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
VULNDB = DATA / "vulndb"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def layouts(tmp_path: Path) -> dict[str, str]:
    refs = {}
    for name in ("alpine", "debian12"):
        built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / name)]))
        write_oci_layout(built, tmp_path / name, tag="t")
        refs[name] = f"oci-layout:{tmp_path / name}:t"
    return refs


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url, "--now", "2026-11-23"]

    def call(*args: str) -> tuple[int, str, str]:
        return run(capsys, *base, *args)

    return call


def test_scan_needs_a_database(cli, layouts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("scan", layouts["alpine"])
    # nothing to match against is a failure (1), not a mistake in how scan was called (2)
    assert code == 1 and "vulnerability database is empty" in err and out == ""


def test_alpine_findings_fix_state_and_counts(cli, layouts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("db", "import", str(VULNDB))
    assert code == 0, err
    code, out, err = cli("scan", layouts["alpine"], "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "scan"
    # alpine-linux.md (endoflife.date): 3.16 ended 2024-05-23, before the clock (2026-11-23)
    assert (doc["image"]["os"]["family"], doc["image"]["os"]["eol_status"]) == ("alpine", "eol")
    assert doc["image"]["os"]["eol_date"] == "2024-05-23"
    found = {(v["package"], v["id"], v["fixed_version"]) for v in doc["vulnerabilities"]}
    # Alpine 3.16's secdb: openssl 1.1.1t-r0 fixed the February 2023 advisories, and the
    # image ships libssl1.1/libcrypto1.1 1.1.1q-r0 (origin openssl).
    for package in ("libssl1.1", "libcrypto1.1"):
        assert (package, "ALPINE-CVE-2023-0286", "1.1.1t-r0") in found
        assert (package, "ALPINE-CVE-2023-2650", "1.1.1u-r0") in found
    # zlib 1.2.12-r3 already has the 1.2.12-r2 fix for CVE-2022-37434.
    assert not any(package == "zlib" for package, _, _ in found)
    assert all(v["fix_state"] == "fixed" for v in doc["vulnerabilities"])
    assert all("CVE-" in " ".join(v["aliases"]) for v in doc["vulnerabilities"])
    # The secdb has no severity; the NVD-derived record of the alias has (NVD: 7.4 HIGH).
    x400 = next(v for v in doc["vulnerabilities"] if v["id"] == "ALPINE-CVE-2023-0286")
    assert (x400["severity"], x400["cvss_score"]) == ("HIGH", 7.4)
    assert x400["severity_source"] == "CVSS_V3 of CVE-2023-0286"
    assert doc["counts"]["all"] == doc["counts"]["fixable"]
    assert sum(doc["counts"]["all"].values()) == len(doc["vulnerabilities"]) == 10
    assert doc["databases"][0]["version"] == doc["vulnerabilities"][0]["db_version"]


def test_debian_matches_source_packages_and_filters(cli, layouts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("db", "import", str(VULNDB))[0] == 0
    code, out, err = cli("scan", layouts["debian12"], "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    by_package = {(v["package"], v["id"]): v for v in doc["vulnerabilities"]}
    # Debian advisories name source packages: glibc reaches libc6 and libc-bin.
    libc = by_package[("libc6", "DEBIAN-CVE-2010-4756")]
    assert libc["source_name"] == "glibc" and libc["fix_state"] == "wont-fix"
    assert ("libc-bin", "DEBIAN-CVE-2010-4756") in by_package
    assert libc["severity"] == "LOW" and libc["severity_source"] == "debian-urgency"
    assert doc["counts"]["fixable"]["LOW"] == 0 < doc["counts"]["all"]["LOW"]

    code, out, _ = cli("scan", layouts["debian12"], "-f", "json", "--ignore-unfixed")
    assert code == 0 and json.loads(out)["vulnerabilities"] == []
    code, out, _ = cli("scan", layouts["debian12"], "-f", "json", "--severity", "high,critical")
    assert code == 0 and json.loads(out)["vulnerabilities"] == []
    code, _, err = cli("scan", layouts["debian12"], "--exit-code", "5")
    assert code == 5 and "vulnerabilities found" in err
    code, _, err = cli("scan", layouts["debian12"], "--severity", "bad")
    assert code == 2 and "unknown severity" in err


def test_rescan_reads_no_blob_and_sbom_files_scan_the_same(  # type: ignore[no-untyped-def]
    cli, layouts: dict[str, str], tmp_path: Path
) -> None:
    assert cli("db", "import", str(VULNDB))[0] == 0
    code, first, err = cli("scan", layouts["alpine"], "-f", "json")
    assert code == 0, err
    for blob in (tmp_path / "alpine" / "blobs" / "sha256").iterdir():
        manifest_or_config = blob.stat().st_size < 4096
        if not manifest_or_config:
            blob.write_bytes(b"gone")  # layers: a re-scan must come from the layer cache
    code, again, err = cli("scan", layouts["alpine"], "-f", "json")
    assert code == 0, err
    ids = lambda text: sorted((v["package"], v["id"]) for v in json.loads(text)["vulnerabilities"])  # noqa: E731
    assert ids(again) == ids(first)

    code, cyclonedx, err = cli("sbom", layouts["debian12"], "-f", "cyclonedx-json")
    assert code == 0, err
    sbom_file = tmp_path / "debian.cdx.json"
    sbom_file.write_text(cyclonedx)
    code, from_file, err = cli("scan", f"sbom:{sbom_file}", "-f", "json")
    assert code == 0, err
    code, from_image, err = cli("scan", layouts["debian12"], "-f", "json")
    assert ids(from_file) == ids(from_image) != []


def test_stored_sboms_rematch_a_changed_database_without_any_image(  # type: ignore[no-untyped-def]
    cli, layouts: dict[str, str], tmp_path: Path, store_url: str
) -> None:
    import shutil

    from imagetrust.sbom.stored import stored_sboms
    from imagetrust.store.database import Store
    from imagetrust.vulndb.scan import scan_sboms

    assert cli("db", "import", str(VULNDB))[0] == 0
    assert cli("scan", layouts["alpine"], "-f", "json")[0] == 0
    shutil.rmtree(tmp_path / "alpine")  # the image is gone: only the stored SBOM is left
    shutil.rmtree(tmp_path / "home" / "cache", ignore_errors=True)
    advisory = {
        "id": "TEST-2026-0001",
        "modified": "2026-11-20T00:00:00Z",
        "aliases": ["CVE-2026-99999"],
        "affected": [
            {
                "package": {"ecosystem": "Alpine:v3.16", "name": "musl"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3-r2"}]}
                ],
            }
        ],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    }
    (tmp_path / "new.json").write_text(json.dumps(advisory))
    assert cli("db", "import", str(tmp_path / "new.json"), "--name", "extra")[0] == 0
    with Store.open(store_url) as store, store.read() as conn:
        results = list(scan_sboms(conn, stored_sboms(conn)))
    sbom, findings = results[0].sbom, results[0].findings
    assert len(results) == 1 and sbom.os is not None and sbom.os.id == "alpine"
    new = [f for f in findings if f.id == "TEST-2026-0001"]
    assert {f.package for f in new} == {"musl", "musl-utils"}  # both binaries of origin musl
    assert all(f.severity.level.value == "CRITICAL" and f.fixed_version == "1.2.3-r2" for f in new)
    assert len(findings) == 10 + len(new)


def test_scan_keeps_the_findings_and_evaluate_reads_them(
    cli, layouts: dict[str, str], store_url: str
) -> None:  # type: ignore[no-untyped-def]
    """``scan`` stores the image's finding set; ``evaluate`` reads it without matching."""
    from imagetrust.store.database import Store
    from imagetrust.vulndb.findings_store import finding_items, finding_set_history

    assert cli("db", "import", str(VULNDB))[0] == 0
    code, out, err = cli("scan", layouts["alpine"], "--format", "json")
    assert code == 0, err
    scanned = json.loads(out)
    digest = scanned["image"]["digest"]
    with Store.open(store_url) as store, store.read() as conn:
        [stored] = finding_set_history(conn, digest)
        items = finding_items(conn, stored.id)
    assert sorted(i["id"] for i in items) == sorted(v["id"] for v in scanned["vulnerabilities"])
    assert stored.counts == scanned["counts"] and stored.coverage == scanned["coverage"]
    code, out, err = cli("evaluate", layouts["alpine"], "--format", "json")
    assert code == 0, err
    [image] = json.loads(out)["images"]
    vulns = image["vulnerabilities"]
    assert vulns["known"] is True and vulns["counts"] == scanned["counts"]
    # the same database again: the set is replaced, not doubled
    assert cli("scan", layouts["alpine"])[0] == 0
    with Store.open(store_url) as store, store.read() as conn:
        assert len(finding_set_history(conn, digest)) == 1


KEV = (
    Path(__file__).parent.parent
    / "fixtures"
    / "vulndb"
    / "kev"
    / "known_exploited_vulnerabilities.json"
)


def test_scan_keys_its_set_by_the_kev_catalog_too(cli, layouts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """A set ``scan`` stored after a KEV import is the live one for ``evaluate`` (the same
    state ``run`` keys by), not "an earlier database state"."""
    assert cli("db", "import", str(VULNDB))[0] == 0
    assert cli("db", "import", str(KEV))[0] == 0
    assert cli("scan", layouts["alpine"])[0] == 0
    code, out, err = cli("evaluate", layouts["alpine"], "--format", "json")
    assert code == 0, err
    [image] = json.loads(out)["images"]
    assert "against the live database" in image["vulnerabilities"]["reason"]


def test_scan_warns_about_an_old_database_and_refuses_past_max_db_age(  # type: ignore[no-untyped-def]
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], layouts: dict[str, str]
) -> None:
    """Every part counts, the KEV catalog too: an old catalog flags too few findings."""
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url]
    assert run(capsys, *base, "--now", "2026-11-01", "db", "import", str(KEV))[0] == 0
    assert run(capsys, *base, "--now", "2026-11-23", "db", "import", str(VULNDB))[0] == 0
    code, out, err = run(capsys, *base, "--now", "2026-11-24", "scan", layouts["alpine"])
    assert code == 0 and out, err
    assert "warning: vulnerability source cisa-kev is 23.0 days old" in err
    assert "1.0 days old" not in err  # the sources are fresh
    scan = [*base, "--now", "2026-11-24", "scan", layouts["alpine"], "--max-db-age", "5"]
    code, out, err = run(capsys, *scan)
    assert code == 1 and "cisa-kev is 23.0 days old, over --max-db-age 5" in err
    assert run(capsys, *base, "--now", "2026-11-24", "db", "import", str(KEV))[0] == 0
    code, out, err = run(capsys, *scan)
    assert code == 0 and "warning" not in err, err


def test_the_scan_table_marks_known_exploited_findings_with_cisas_dates(  # type: ignore[no-untyped-def]
    cli, layouts: dict[str, str], tmp_path: Path
) -> None:
    """A copy of the real catalog that also lists the OpenSSL CVE Alpine's libssl1.1 has."""
    catalog = json.loads(KEV.read_text())
    catalog["vulnerabilities"].append(
        {**catalog["vulnerabilities"][0], "cveID": "CVE-2023-0286", "dateAdded": "2026-05-20"}
        | {"dueDate": "2026-06-10"}
    )
    (tmp_path / "kev.json").write_text(json.dumps(catalog))
    assert cli("db", "import", str(VULNDB))[0] == 0
    assert cli("db", "import", str(tmp_path / "kev.json"))[0] == 0
    code, out, err = cli("scan", layouts["alpine"])
    assert code == 0, err
    assert "known exploited (CISA)" in out
    lines = [line for line in out.splitlines() if "ALPINE-CVE-2023-0286" in line]
    assert lines and all(
        "KEV CVE-2023-0286: added 2026-05-20, due 2026-06-10" in line for line in lines
    )
    others = [line for line in out.splitlines() if "ALPINE-CVE-2023-0215" in line]
    assert others and all("KEV" not in line and line.rstrip().endswith("-") for line in others)
    # without a listed finding the table keeps its columns
    assert cli("db", "import", str(KEV))[0] == 0
    code, out, _ = cli("scan", layouts["alpine"])
    assert code == 0 and "ALPINE-CVE-2023-0286" in out and "known exploited" not in out
