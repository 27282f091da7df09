"""Three boundaries a second time, end to end: real records imported, SBOMs scanned.

Each boundary has its unit test (the rpm epoch in test_versions.py, ``last_affected`` in
test_match.py, the 7.0 band in test_severity.py); these come in another way, through
``imagetrust db import`` and ``imagetrust scan``, each against an oracle of its own:

- the rpm epoch: AlmaLinux's ALSA-2024:0310 (openssl fixed in ``1:3.0.7-25.el9_3``)
  against SBOM files whose rpm purls carry the epoch in the ``epoch`` qualifier, as syft
  and imagetrust write them; the verdict must be the real rpm's (``rpm.vercmp``);
- ``last_affected``: GHSA-3pxv-7cmr-fjr4 (log4j-core 3.0.0-alpha1 up to and including
  3.0.0-beta3), imported without its ``versions`` list so that the ranges alone decide;
  the affected versions must be the ones osv.dev enumerated in that very list;
- the CVSS 7.0 band: ALPINE-CVE-2025-26519 (musl) on a real Alpine 3.16 image; its one
  severity is a CVSS v3.1 vector the ``cvss`` library scores exactly 7.0, which NVD's
  bands (7.0-8.9) call HIGH.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.services.require import unavailable

FIXTURES = Path(__file__).parent.parent / "fixtures"
RECORDS = FIXTURES / "vulndb" / "boundaries"


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


def cyclonedx(path: Path, purls: list[str]) -> Path:
    """A CycloneDX SBOM listing ``purls``, the shape syft and imagetrust write."""
    components = [{"type": "library", "purl": purl} for purl in purls]
    path.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components})
    )
    return path


def rpm_vercmp(pairs: list[tuple[str, str]]) -> list[int]:
    """The real rpm's answers (Lua ``rpm.vercmp`` compares whole [epoch:]version-release)."""
    rpm = shutil.which("rpm")
    if rpm is None:
        unavailable("`rpm` (Debian package rpm)", "it is not on PATH")
        raise AssertionError("unreachable")
    body = " ".join(f'print(rpm.vercmp("{a}", "{b}"))' for a, b in pairs)
    out = subprocess.run(
        [rpm, "--eval", f"%{{lua: {body}}}"], capture_output=True, text=True, check=True
    ).stdout
    return [int(x) for x in re.findall(r"-?\d", out)]  # rpm's Lua print adds no newline


# AlmaLinux 9.3 shipped openssl 1:3.0.7-24.el9, 9.4 1:3.0.7-27.el9; the last one has a
# higher version than the fix but no epoch (epoch 0), as a rebuild without Epoch: would.
INSTALLED_OPENSSL = ["1:3.0.7-24.el9", "1:3.0.7-25.el9_3", "1:3.0.7-27.el9", "3.0.8-1.el9"]


@pytest.mark.parametrize("installed", INSTALLED_OPENSSL)
def test_rpm_epochs_decide_like_rpm_through_sbom_files(cli, tmp_path: Path, installed: str) -> None:  # type: ignore[no-untyped-def]
    record = json.loads((RECORDS / "ALSA-2024-0310.json").read_text())
    (fixed,) = {
        event["fixed"]
        for affected in record["affected"]
        for event in affected["ranges"][0]["events"]
        if "fixed" in event
    }
    cli("db", "import", str(RECORDS / "ALSA-2024-0310.json"))
    epoch, colon, evr = installed.rpartition(":")
    qualifiers = f"arch=x86_64{'&epoch=' + epoch if colon else ''}"
    qualifiers += f"&upstream=openssl-{evr}.src.rpm&distro=almalinux-9.3"
    sbom = cyclonedx(
        tmp_path / "sbom.cdx.json", [f"pkg:rpm/almalinux/openssl-libs@{evr}?{qualifiers}"]
    )

    doc = cli("scan", f"sbom:{sbom}")
    found = [(v["id"], v["installed_version"], v["fixed_version"]) for v in doc["vulnerabilities"]]
    (answer,) = rpm_vercmp([(installed, fixed)])
    assert found == ([("ALSA-2024:0310", installed, fixed)] if answer < 0 else [])


def test_the_rpm_cases_straddle_the_fix() -> None:
    # The oracle itself, so the cases above keep meaning something: two below the fix
    # (one only by its epoch), one at it, one above it.
    answers = rpm_vercmp([(v, "1:3.0.7-25.el9_3") for v in INSTALLED_OPENSSL])
    assert answers == [-1, 0, 1, -1]


def test_last_affected_is_the_last_version_osv_dev_lists(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record = json.loads((RECORDS / "GHSA-3pxv-7cmr-fjr4.json").read_text())
    listed: set[str] = set()
    for affected in record["affected"]:
        listed.update(affected.pop("versions"))  # osv.dev's enumeration: the oracle
    (last,) = {
        event["last_affected"]
        for affected in record["affected"]
        for event in affected["ranges"][0]["events"]
        if "last_affected" in event
    }
    assert last in listed and "3.0.0-alpha1" in listed
    ranges_only = tmp_path / "GHSA-3pxv-7cmr-fjr4.json"
    ranges_only.write_text(json.dumps(record))
    cli("db", "import", str(ranges_only))
    # Past the end of each range: the 2.x fix, and 3.x versions above last_affected.
    beyond = ["2.25.4", "3.0.0-rc1", "3.0.0"]
    purls = [f"pkg:maven/org.apache.logging.log4j/log4j-core@{v}" for v in [*listed, *beyond]]
    doc = cli("scan", f"sbom:{cyclonedx(tmp_path / 'sbom.cdx.json', purls)}")
    affected = {v["installed_version"] for v in doc["vulnerabilities"]}
    assert {v["id"] for v in doc["vulnerabilities"]} == {"GHSA-3pxv-7cmr-fjr4"}
    assert affected == listed


def test_a_cvss_score_of_exactly_7_is_high_end_to_end(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cvss import CVSS3  # type: ignore[import-untyped]

    record = json.loads((RECORDS / "ALPINE-CVE-2025-26519.json").read_text())
    ((kind, vector),) = {(s["type"], s["score"]) for s in record["severity"]}
    assert kind == "CVSS_V3" and float(CVSS3(vector).base_score) == 7.0
    built = build_image(ImageSpec(layers=[Layer.from_dir(FIXTURES / "rootfs" / "alpine")]))
    write_oci_layout(built, tmp_path / "alpine", tag="t")
    cli("db", "import", str(RECORDS / "ALPINE-CVE-2025-26519.json"))

    doc = cli("scan", f"oci-layout:{tmp_path / 'alpine'}:t")
    # Alpine 3.16 fixed it in musl 1.2.3-r4; the image ships musl and musl-utils 1.2.3-r0.
    findings = {v["package"]: v for v in doc["vulnerabilities"]}
    assert set(findings) == {"musl", "musl-utils"}
    for finding in findings.values():
        assert (finding["cvss_score"], finding["cvss_vector"]) == (7.0, vector)
        assert (finding["severity"], finding["severity_source"]) == ("HIGH", "CVSS_V3")
    assert doc["counts"]["all"]["HIGH"] == 2 and doc["counts"]["all"]["MEDIUM"] == 0
