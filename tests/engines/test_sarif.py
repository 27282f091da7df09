"""``scan --format sarif`` is valid SARIF 2.1.0 (the official OASIS schema) and never lets an
empty result list pass for a clean image: what was not checked travels with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from imagetrust.demo import DATA
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.engines.helpers import FIXTURES, ROOTFS, Cli

SCHEMA = json.loads((FIXTURES / "schemas" / "sarif-schema-2.1.0.json").read_text())


def valid_sarif(text: str) -> dict[str, Any]:
    log = json.loads(text)
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return log  # type: ignore[no-any-return]


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "home", store_url, capsys)


def layout(tmp_path: Path, name: str) -> str:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / name)]))
    write_oci_layout(built, tmp_path / name, tag="t")
    return f"oci-layout:{tmp_path / name}:t"


def test_sarif_of_a_scan_is_valid_and_holds_what_json_holds(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    ref = layout(tmp_path, "alpine")
    document = cli.json("scan", ref)
    code, out, err = cli("scan", ref, "--format", "sarif")
    assert code == 0, err
    log = valid_sarif(out)
    assert log["version"] == "2.1.0" and "schema_version" not in log
    (run,) = log["runs"]
    results = run["results"]
    expected = {
        (v["id"], v["package"], v["installed_version"]) for v in document["vulnerabilities"]
    }
    assert len(results) == len(document["vulnerabilities"]) > 0
    assert {
        (r["ruleId"], r["properties"]["package"], r["properties"]["installed_version"])
        for r in results
    } == expected
    rules = run["tool"]["driver"]["rules"]
    assert {rule["id"] for rule in rules} == {v["id"] for v in document["vulnerabilities"]}
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == {"HIGH": "error", "MEDIUM": "warning"}.get(
            result["properties"]["severity"], "note"
        )
        fingerprints = result["partialFingerprints"]["imagetrustFinding/v1"]
        assert len(fingerprints) == 64
    assert len({r["partialFingerprints"]["imagetrustFinding/v1"] for r in results}) == len(results)
    (image,) = run["properties"]["images"]
    assert image["counts"] == document["counts"] and image["coverage"] == document["coverage"]
    assert image["image"]["digest"] == document["image"]["digest"]

    # a filter shows fewer results; the properties still count them all
    code, out, _ = cli("scan", ref, "--format", "sarif", "--severity", "MEDIUM")
    filtered = valid_sarif(out)["runs"][0]
    shown = [v for v in document["vulnerabilities"] if v["severity"] == "MEDIUM"]
    assert len(filtered["results"]) == len(shown) < len(results)
    assert filtered["properties"]["images"][0]["findings_total"] == document["findings_total"]


def test_sarif_of_an_image_nobody_checked_says_so(cli: Cli, tmp_path: Path) -> None:
    """Only Alpine advisories in the database: a Debian image's OS packages are not
    covered. No result, but an error notification and the coverage, never a clean run."""
    assert cli("db", "import", str(DATA / "vulndb" / "alpine"))[0] == 0
    code, out, err = cli("scan", layout(tmp_path, "debian12"), "--format", "sarif")
    assert code == 0, err
    assert "warning:" in err and "not covered" in err.lower()
    run = valid_sarif(out)["runs"][0]
    assert run["results"] == []
    notes = run["invocations"][0]["toolExecutionNotifications"]
    errors = [n for n in notes if n["level"] == "error"]
    assert errors and "NOT COVERED" in errors[0]["message"]["text"]
    assert errors[0]["descriptor"]["id"] == "not-covered"
    packages = [n for n in notes if n["descriptor"]["id"].startswith("not-covered/")]
    assert packages and all(n["level"] == "warning" for n in packages)
    image = run["properties"]["images"][0]
    assert image["coverage"]["os"] == "not-covered" and image["not_covered"] == len(packages)
