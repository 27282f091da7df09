"""``crosscheck`` on a constructed disagreement: our scan of a real Alpine image, a Trivy
report and a Grype report written to disagree with it in known ways.

Our side is what ``scan`` found (real advisories on real package versions, checked in
``tests/vulndb``); the other side is built from it here, each difference made on purpose,
so what the cross-check must report follows from the construction alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.demo import DATA
from imagetrust.testkit.builder import BuiltImage, ImageSpec, Layer, build_image, write_oci_layout
from tests.engines.helpers import ROOTFS, Cli

VULNERABLE = ("libcrypto1.1", "libssl1.1")


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "home", store_url, capsys)


def cve_of(finding: dict[str, Any]) -> str:
    return next(a for a in finding["aliases"] if a.startswith("CVE-"))


class Disagreement:
    """Trivy and Grype reports that differ from our scan ``ours`` as the names say."""

    def __init__(self, ours: dict[str, Any], image: BuiltImage) -> None:
        packages = sorted(ours["packages"], key=lambda p: p["name"])
        plain = [p for p in packages if p["name"] not in VULNERABLE]
        self.dropped, self.changed = plain[0], plain[1]
        self.added = {"name": "extra-tool", "version": "1.0-r0"}
        listed = []
        for package in packages:
            if package is self.dropped:
                continue
            version = "9.9-r9" if package is self.changed else package["version"]
            purl = f"pkg:apk/alpine/{package['name']}@{version}?arch=x86_64"
            listed.append(
                {"Name": package["name"], "Version": version, "Identifier": {"PURL": purl}}
            )
        added_purl = "pkg:apk/alpine/extra-tool@1.0-r0?arch=x86_64"
        listed.append(
            {"Name": "extra-tool", "Version": "1.0-r0", "Identifier": {"PURL": added_purl}}
        )
        libssl = [f for f in ours["vulnerabilities"] if f["package"] == "libssl1.1"]
        by_cve = {cve_of(f): f for f in libssl}
        self.agree, self.fixed_other, self.severity_other = sorted(by_cve)[:3]
        severity_word = by_cve[self.severity_other]["severity"]
        self.new_severity = "CRITICAL" if severity_word != "CRITICAL" else "LOW"
        self.only_trivy = "CVE-2099-0001"
        purl = next(p["purl"] for p in packages if p["name"] == "libssl1.1")

        def fixed(cve: str) -> str:
            return str(by_cve[cve]["fixed_version"])

        def severity(cve: str) -> str:
            return str(by_cve[cve]["severity"])

        def vuln(cve: str, fixed_in: str | None, level: str) -> dict[str, Any]:
            item = {
                "VulnerabilityID": cve,
                "PkgName": "libssl1.1",
                "PkgIdentifier": {"PURL": purl},
                "InstalledVersion": by_cve.get(cve, libssl[0])["installed_version"],
                "Status": "fixed" if fixed_in else "affected",
                "Severity": level,
            }
            if fixed_in:
                item["FixedVersion"] = fixed_in
            return item

        self.trivy = {
            "SchemaVersion": 2,
            "CreatedAt": "2026-11-23T10:00:00.123456789Z",  # after ours
            "ArtifactName": "constructed",
            "ArtifactType": "container_image",
            "Trivy": {"Version": "0.99.0"},
            "Metadata": {
                "OS": {"Family": "alpine", "Name": "3.16.2"},
                "ImageID": image.config.digest,
            },
            "Results": [
                {
                    "Target": "constructed (alpine 3.16.2)",
                    "Class": "os-pkgs",
                    "Type": "alpine",
                    "Packages": listed,
                    "Vulnerabilities": [
                        vuln(self.agree, fixed(self.agree), severity(self.agree)),
                        vuln(self.fixed_other, "1.1.1z-r9", severity(self.fixed_other)),
                        vuln(self.severity_other, fixed(self.severity_other), self.new_severity),
                        vuln(self.only_trivy, None, "CRITICAL"),
                    ],
                }
            ],
        }
        self.grype = {
            "matches": [
                {
                    "vulnerability": {
                        "id": "GHSA-0000-0000-0001",  # named after another database
                        "severity": severity(self.agree).title(),
                        "fix": {"versions": [fixed(self.agree)], "state": "fixed"},
                    },
                    "relatedVulnerabilities": [{"id": self.agree}],
                    "artifact": {
                        "name": "libssl1.1",
                        "version": by_cve[self.agree]["installed_version"],
                        "type": "apk",
                        "purl": purl,
                    },
                }
            ],
            "source": {
                "type": "image",
                "target": {"manifestDigest": image.manifest.digest, "imageID": image.config.digest},
            },
            "distro": {"name": "alpine", "version": "3.16.2"},
            "descriptor": {
                "name": "grype",
                "version": "0.99.0",
                "db": {"built": "2026-11-22T00:00:00Z", "schemaVersion": 6},
            },
        }


def test_crosscheck_reports_each_constructed_disagreement(cli: Cli, tmp_path: Path) -> None:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")]))
    write_oci_layout(built, tmp_path / "alpine", tag="t")
    ref = f"oci-layout:{tmp_path / 'alpine'}:t"
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    ours = cli.json("scan", ref)
    built_evidence = cli.json("evaluate", ref)["images"][0]["vulnerabilities"]["counts"]
    made = Disagreement(ours, built)
    (tmp_path / "trivy.json").write_text(json.dumps(made.trivy))
    (tmp_path / "grype.json").write_text(json.dumps(made.grype))
    placed = cli.json("import", str(tmp_path / "trivy.json"), "--engine", "trivy")
    assert placed["digest"] == built.manifest.digest  # found by its image ID (config)
    cli.json("import", str(tmp_path / "grype.json"), "--engine", "grype")

    document = cli.json("crosscheck", ref, "--offline")
    assert document["kind"] == "crosscheck"
    (image,) = document["images"]
    assert image["image"]["digest"] == built.manifest.digest
    sources = image["sources"]
    assert sources["builtin"]["packages"] == len(ours["packages"])
    assert sources["trivy"]["packages"] == len(ours["packages"])  # one dropped, one added
    assert sources["grype"]["packages"] is None  # matches only: no inventory
    pairs = {(p["a"], p["b"]): p for p in image["pairs"]}
    assert set(pairs) == {("builtin", "trivy"), ("builtin", "grype"), ("trivy", "grype")}

    packages = pairs["builtin", "trivy"]["packages"]
    assert [p["name"] for p in packages["only_a"]] == [made.dropped["name"]]
    assert [p["name"] for p in packages["only_b"]] == ["extra-tool"]
    assert [(d["package"], d["a"], d["b"]) for d in packages["version_differs"]] == [
        (made.changed["name"], [made.changed["version"]], ["9.9-r9"])
    ]
    total = len(ours["packages"]) + 1
    assert packages["total"] == total
    assert packages["agreement"] == round((total - 3) / total, 4)
    assert pairs["builtin", "grype"]["packages"] is None

    # our findings, one per CVE and package: each finding names its CVE as an alias
    ours_units = {(cve_of(f), f["package"]) for f in ours["vulnerabilities"]}
    findings = pairs["builtin", "trivy"]["findings"]
    trivy_units = {
        (c, "libssl1.1")
        for c in (made.agree, made.fixed_other, made.severity_other, made.only_trivy)
    }
    both = ours_units & trivy_units
    assert findings["both"] == len(both) == 3
    assert {
        (f["vulnerability"], f["package"]) for f in findings["only_a"]
    } == ours_units - trivy_units
    assert [(f["vulnerability"], f["package"]) for f in findings["only_b"]] == [
        (made.only_trivy, "libssl1.1")
    ]
    assert [(d["vulnerability"], d["b"]) for d in findings["fixed_differs"]] == [
        (made.fixed_other, ["1.1.1z-r9"])
    ]
    assert [(d["vulnerability"], d["b"]) for d in findings["severity_differs"]] == [
        (made.severity_other, made.new_severity)
    ]
    assert findings["agreement"] == round(3 / len(ours_units | trivy_units), 4)
    # Grype names the one it shares with us after GitHub's database; its CVE alias joins them
    grype_pair = pairs["builtin", "grype"]["findings"]
    assert grype_pair["both"] == 1 and grype_pair["only_b"] == []
    assert pairs["trivy", "grype"]["findings"]["both"] == 1

    code, out, err = cli("crosscheck", ref, "--offline")
    assert code == 0, err
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert f"finding only trivy {made.only_trivy} in libssl1.1 (CRITICAL)" in lines
    agreement = f"{findings['agreement'] * 100:.1f}% agree"
    assert any(line.startswith("builtin vs trivy packages") and agreement in line for line in lines)
    code, out, err = cli("crosscheck", "--all", "--offline", "-f", "json")
    assert code == 0 and len(json.loads(out)["images"]) == 1

    # The other engines never reach the evidence: a critical only Trivy reports is not ours,
    # even once the database moved on and our set is no longer the live state's (the newest
    # set of the image is then Trivy's, made after ours).
    extra = Path(__file__).parent.parent / "fixtures" / "vulndb" / "osv" / "DSA-3029-1.json"
    assert cli("db", "import", str(extra))[0] == 0
    evidence = cli.json("evaluate", ref)["images"][0]["vulnerabilities"]
    assert "earlier database state" in evidence["reason"]
    assert evidence["counts"] == built_evidence and evidence["counts"]["all"]["CRITICAL"] == 0


def test_crosscheck_needs_something_to_check(cli: Cli) -> None:
    code, _, err = cli("crosscheck")
    assert code == 2 and "REF or --all" in err
    assert cli("db", "import", str(DATA / "vulndb" / "alpine"))[0] == 0
    code, out, err = cli("crosscheck", "python:3.12", "--offline")
    assert (code, out) == (1, "") and "no analysed image matches python:3.12" in err
