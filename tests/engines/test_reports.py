"""Trivy and Grype reports read into findings: the real published outputs of both tools.

The oracle is each report itself, read here independently of the importer, and the tools'
documented states: Trivy's ``Status`` (``fixed``, ``affected``, ``will_not_fix``,
``fix_deferred``, ``end_of_life``) and Grype's ``fix.state`` (``fixed``, ``not-fixed``,
``wont-fix``, ``unknown``), folded into imagetrust's three fix states as
``vulndb.fixstate`` documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.config import VulnDbSettings
from imagetrust.vulndb.engines import EngineName
from imagetrust.vulndb.engines.convert import image_scan
from imagetrust.vulndb.engines.read import read_report_file
from tests.engines.helpers import GRYPE, TRIVY, Cli, raw

TRIVY_STATES = {
    "fixed": "fixed",
    "affected": "not-fixed",
    "fix_deferred": "not-fixed",
    "will_not_fix": "wont-fix",
    "end_of_life": "wont-fix",
}
GRYPE_STATES = {
    "fixed": "fixed",
    "not-fixed": "not-fixed",
    "unknown": "not-fixed",
    "wont-fix": "wont-fix",
}
DIGEST = "sha256:" + "ab" * 32


def trivy_facts(doc: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (
            v["VulnerabilityID"],
            v["PkgName"],
            v["InstalledVersion"],
            v.get("FixedVersion") or None,
            TRIVY_STATES[v["Status"]]
            if v.get("FixedVersion") or v["Status"] != "fixed"
            else "not-fixed",
            v["Severity"],
        )
        for result in doc["Results"]
        for v in result.get("Vulnerabilities") or []
    }


@pytest.mark.parametrize("name", sorted(TRIVY))
def test_trivy_reports_are_read_as_written(name: str) -> None:
    doc = raw(TRIVY[name])
    report = read_report_file(TRIVY[name], EngineName.TRIVY, VulnDbSettings())
    found = {
        (f.id, f.package, f.installed_version, f.fixed_version, f.fix_state, f.severity)
        for f in report.findings
    }
    assert found == trivy_facts(doc)
    assert len(report.findings) == sum(len(r.get("Vulnerabilities") or []) for r in doc["Results"])
    assert report.problems == [] and report.problem_count == 0
    assert report.config_digest == doc["Metadata"]["ImageID"]
    os_doc = doc["Metadata"]["OS"]
    assert report.os is not None
    assert (report.os.family, report.os.name, report.os.eosl) == (
        os_doc["Family"],
        os_doc["Name"],
        os_doc.get("EOSL", False),
    )
    purls = {v["PkgIdentifier"]["PURL"] for r in doc["Results"] for v in r["Vulnerabilities"]}
    assert {f.purl for f in report.findings} == purls
    for finding in report.findings:  # the vendor ids Trivy names are the finding's aliases
        vendor = next(
            v.get("VendorIDs") or []
            for r in doc["Results"]
            for v in r["Vulnerabilities"]
            if (v["VulnerabilityID"], v["PkgName"]) == (finding.id, finding.package)
        )
        assert set(finding.aliases) == set(vendor)


def test_trivy_end_of_service_life_is_not_called_covered() -> None:
    """alpine 3.9.4 is past Trivy's end of service life: its findings cannot be complete,
    and the scan says so instead of showing six findings as the whole story."""
    eosl = read_report_file(TRIVY["alpine-39"], EngineName.TRIVY, VulnDbSettings())
    scanned = image_scan(eosl, reference="alpine", digest=DIGEST)
    assert scanned.coverage.os.value == "not-covered"
    assert "end of service life" in (scanned.coverage.message or "")
    supported = read_report_file(TRIVY["debian-buster"], EngineName.TRIVY, VulnDbSettings())
    assert image_scan(supported, reference="buster", digest=DIGEST).coverage.os.value == "covered"


@pytest.mark.parametrize("name", sorted(GRYPE))
def test_grype_reports_are_read_as_written(name: str) -> None:
    doc = raw(GRYPE[name])
    report = read_report_file(GRYPE[name], EngineName.GRYPE, VulnDbSettings())
    expected = set()
    for match in doc["matches"]:
        vuln, artifact = match["vulnerability"], match["artifact"]
        versions = vuln["fix"]["versions"]
        state = (
            GRYPE_STATES[vuln["fix"]["state"]]
            if versions or vuln["fix"]["state"] != "fixed"
            else "not-fixed"
        )
        expected.add(
            (
                vuln["id"],
                artifact["name"],
                artifact["version"],
                ", ".join(versions) or None,
                state,
                vuln["severity"].upper().replace("NEGLIGIBLE", "LOW"),
            )
        )
    found = {
        (f.id, f.package, f.installed_version, f.fixed_version, f.fix_state, f.severity)
        for f in report.findings
    }
    assert found == expected
    target = doc["source"]["target"]
    assert report.manifest_digest == target["manifestDigest"]
    assert report.config_digest == target["imageID"]
    assert report.version == doc["descriptor"]["version"]
    assert report.db_state[0][1] == doc["descriptor"]["db"]["schemaVersion"]
    assert report.os is not None and report.os.family == doc["distro"]["name"]
    for match in doc["matches"]:
        related = {r["id"] for r in match["relatedVulnerabilities"]} - {
            match["vulnerability"]["id"]
        }
        mine = next(
            f
            for f in report.findings
            if (f.id, f.package) == (match["vulnerability"]["id"], match["artifact"]["name"])
        )
        assert set(mine.aliases) == related
    assert report.packages is None  # grype lists matches, not every package


# --------------------------------------------------------------------------- import FILE


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "home", store_url, capsys)


def sets(cli: Cli, digest: str, engine: str | None) -> list[Any]:
    from imagetrust.store.database import Store
    from imagetrust.vulndb.findings_store import finding_items, finding_set_history

    with Store.open(cli.store_url) as store, store.read() as conn:
        found = finding_set_history(conn, digest, engine=engine)
        return [(s, finding_items(conn, s.id)) for s in found]


def test_import_keeps_a_set_per_engine_and_replaces_the_same_report(cli: Cli) -> None:
    doc = raw(GRYPE["keycloak-test"])
    manifest = doc["source"]["target"]["manifestDigest"]
    first = cli.json("import", str(GRYPE["keycloak-test"]), "--engine", "grype")
    assert first["kind"] == "engine-import" and first["digest"] == manifest  # the report says
    assert first["findings"] == len(doc["matches"])
    again = cli.json("import", str(GRYPE["keycloak-test"]), "--engine", "GRYPE")
    assert again["digest"] == manifest
    [(stored, items)] = sets(cli, manifest, "grype")  # the same report twice is one set
    assert stored.engine == "grype" and stored.analyser_version == "grype 0.66.0"
    assert {(i["id"], i["package"]) for i in items} == {
        (m["vulnerability"]["id"], m["artifact"]["name"]) for m in doc["matches"]
    }
    assert {i["db_source"] for i in items} == {"grype"}
    assert sets(cli, manifest, "builtin") == []  # ours is a separate engine: none yet

    # Trivy's test reports name no image the store knows: the digest must be given
    code, _, err = cli("import", str(TRIVY["debian-buster"]), "--engine", "trivy")
    assert code == 1 and "cannot tell which image" in err and "--digest" in err
    placed = cli.json(
        "import", str(TRIVY["debian-buster"]), "--engine", "trivy", "--digest", manifest
    )
    assert placed["digest"] == manifest
    everything = sets(cli, manifest, None)
    assert sorted(s.engine for s, _ in everything) == ["grype", "trivy"]
    code, _, err = cli(
        "import", str(TRIVY["debian-buster"]), "--engine", "trivy", "--digest", "sha256:xyz"
    )
    assert code == 1 and "not a sha256" in err


def test_reports_that_are_not_the_tools_fail_clearly_and_store_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases: dict[str, tuple[str, str]] = {}
    truncated = tmp_path / "truncated.json"
    truncated.write_text(TRIVY["debian-buster"].read_text()[:3000])
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2, 3]")
    schema_one = tmp_path / "schema1.json"
    schema_one.write_text(json.dumps({**raw(TRIVY["debian-buster"]), "SchemaVersion": 1}))
    cases = {
        str(GRYPE["keycloak-test"]): ("trivy", "a Grype report, not Trivy's"),
        str(TRIVY["alpine-39"]): ("grype", "a Trivy report, not Grype's"),
        str(truncated): ("trivy", "not JSON"),
        str(listing): ("grype", "not a Grype JSON report"),
        str(schema_one): ("trivy", "SchemaVersion 1"),
        str(tmp_path / "missing.json"): ("trivy", "no such file"),
        str(tmp_path): ("trivy", "a folder"),
    }
    for path, (engine, message) in cases.items():
        code, out, err = cli("import", path, "--engine", engine, "--digest", DIGEST)
        assert (code, out) == (1, ""), (path, err)
        assert message in err and "Traceback" not in err, (path, err)
    code, _, err = cli("import", str(TRIVY["alpine-39"]), "--engine", "anchore")
    assert code == 2 and "anchore" in err
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_FILE_BYTES", "4096")
    code, _, err = cli("import", str(GRYPE["keycloak-test"]), "--engine", "grype")
    assert code == 1 and "more than a report may be (4096)" in err
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_FILE_BYTES", str(64 << 20))
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_JSON_NODES", "20")
    code, _, err = cli("import", str(GRYPE["keycloak-test"]), "--engine", "grype")
    assert code == 1 and "too large" in err and "limit 20" in err
    assert sets(cli, DIGEST, None) == []
    manifest = raw(GRYPE["keycloak-test"])["source"]["target"]["manifestDigest"]
    assert sets(cli, manifest, None) == []


def test_malformed_entries_are_skipped_counted_and_the_rest_kept(cli: Cli, tmp_path: Path) -> None:
    doc = raw(TRIVY["debian-stretch"])
    vulns = doc["Results"][0]["Vulnerabilities"]
    kept = {(v["VulnerabilityID"], v["PkgName"]) for v in vulns[2:]}
    vulns[0]["VulnerabilityID"] = 42  # not a string
    vulns[1]["PkgName"] = "x" * 5000  # longer than any package name is stored
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    code, _, err = cli("import", str(broken), "--engine", "trivy", "--digest", DIGEST)
    assert code == 0, err
    assert "skipped: Results[0].Vulnerabilities[0]" in err
    assert "skipped: Results[0].Vulnerabilities[1]" in err
    [(stored, items)] = sets(cli, DIGEST, "trivy")
    assert {(i["id"], i["package"]) for i in items} == kept
    assert stored.complete is False and "2 entries could not be read" in stored.incomplete[0]
