"""``scan --engine`` and ``run --engine`` run the trivy / grype binaries when present.

Trivy's vulnerability database cannot be downloaded here and Grype has no binary we can
install, so the binaries are stand-ins on PATH (``helpers.StandIn``) that record how they
were called and print a real report of that tool (``tests/fixtures/engines``). The one
change made to a real report is the field that ties it to an image (Trivy's
``Metadata.ImageID``, Grype's ``source.target.manifestDigest`` and ``imageID``), set to the
image the test built, as the tool would have written it for that image; an unchanged report
is refused because it is about another image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.demo import DATA
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import BuiltImage, ImageSpec, Layer, build_image, write_oci_layout
from imagetrust.testkit.push import push
from tests.engines.helpers import GRYPE, ROOTFS, TRIVY, Cli, StandIn, raw
from tests.engines.test_sarif import valid_sarif
from tests.services.registry import RegistryServer


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "home", store_url, capsys)


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    return StandIn(tmp_path / "standin", monkeypatch)


@pytest.fixture
def alpine(tmp_path: Path) -> tuple[BuiltImage, str]:
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")]))
    write_oci_layout(built, tmp_path / "alpine", tag="t")
    return built, str(tmp_path / "alpine")


def trivy_report_for(image: BuiltImage) -> dict[str, Any]:
    doc: dict[str, Any] = raw(TRIVY["alpine-39"])
    doc["Metadata"]["ImageID"] = image.config.digest
    return doc


def grype_report_for(image: BuiltImage) -> dict[str, Any]:
    doc: dict[str, Any] = raw(GRYPE["keycloak-test"])
    doc["source"]["target"]["manifestDigest"] = image.manifest.digest
    doc["source"]["target"]["imageID"] = image.config.digest
    return doc


def stored_sets(cli: Cli, digest: str) -> dict[str, Any]:
    from imagetrust.store.database import Store
    from imagetrust.vulndb.findings_store import finding_items, newest_sets

    with Store.open(cli.store_url) as store, store.read() as conn:
        return {e: finding_items(conn, s.id) for e, s in newest_sets(conn, digest).items()}


def test_scan_with_trivy_on_a_layout(
    cli: Cli, standin: StandIn, alpine: tuple[BuiltImage, str]
) -> None:
    built, path = alpine
    standin.install("trivy")
    report = trivy_report_for(built)
    standin.prints(report)
    document = cli.json("scan", f"oci-layout:{path}:t", "--engine", "trivy")
    [call] = standin.calls()
    assert call["argv"] == [
        "image", "--format", "json", "--quiet", "--list-all-pkgs", "--scanners", "vuln",
        "--platform", "linux/amd64", "--input", path,
    ]  # fmt: skip
    vulns = report["Results"][0]["Vulnerabilities"]
    assert {(v["id"], v["package"]) for v in document["vulnerabilities"]} == {
        (v["VulnerabilityID"], v["PkgName"]) for v in vulns
    }
    assert document["image"]["digest"] == built.manifest.digest
    assert document["engine"]["name"] == "trivy" and document["engine"]["version"] == "dev"
    assert document["coverage"]["os"] == "not-covered"  # alpine 3.9.4: EOSL, Trivy says
    assert {v["db_source"] for v in document["vulnerabilities"]} == {"trivy"}
    kept = stored_sets(cli, built.manifest.digest)
    assert list(kept) == ["trivy"] and len(kept["trivy"]) == len(vulns)

    code, out, err = cli("scan", f"oci-layout:{path}:t", "--engine", "trivy", "-f", "sarif")
    assert code == 0, err
    log = valid_sarif(out)
    assert log["runs"][0]["tool"]["extensions"] == [{"name": "trivy", "version": "dev"}]
    assert len(log["runs"][0]["results"]) == len(vulns)

    standin.prints(raw(TRIVY["alpine-39"]))  # unchanged: about the image Trivy's test read
    code, out, err = cli("scan", f"oci-layout:{path}:t", "--engine", "trivy")
    assert code == 1 and out == "" and "reported on the image with config" in err


def test_scan_with_grype_on_a_registry_image(
    cli: Cli,
    standin: StandIn,
    alpine: tuple[BuiltImage, str],
    registry: RegistryServer,
    repo_name: str,
) -> None:
    from imagetrust.config import Settings

    built, _ = alpine
    with OciSession(Settings()) as session:
        push(built, session.client(registry.netloc), repo_name, tag="1")
    standin.install("grype")
    report = grype_report_for(built)
    standin.prints(report)
    ref = f"{registry.netloc}/{repo_name}:1"
    document = cli.json("scan", ref, "--engine", "grype")
    [call] = standin.calls()
    pinned = f"{registry.netloc}/{repo_name}@{built.manifest.digest}"
    assert call["argv"] == [f"registry:{pinned}", "-o", "json", "-q"]
    assert call["env"]["GRYPE_REGISTRY_INSECURE_USE_HTTP"] == "true"  # loopback: plain HTTP
    assert len(document["vulnerabilities"]) == len(report["matches"])
    assert {v["fix_state"] for v in document["vulnerabilities"]} == {"wont-fix"}
    assert document["counts"]["fixable"]["LOW"] == 0 < document["counts"]["all"]["LOW"]
    assert list(stored_sets(cli, built.manifest.digest)) == ["grype"]


def test_a_missing_failing_or_flooding_tool_fails_clearly(
    cli: Cli,
    standin: StandIn,
    alpine: tuple[BuiltImage, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built, path = alpine
    ref = f"oci-layout:{path}:t"
    code, out, err = cli("scan", ref, "--engine", "grype")
    assert (code, out) == (1, "") and "grype is not installed" in err and "import" in err
    standin.install("trivy")
    standin.prints("")
    monkeypatch.setenv("STANDIN_EXIT", "1")
    monkeypatch.setenv("STANDIN_STDERR", "2026-11-23 FATAL init error: DB download failed\n")
    code, out, err = cli("scan", ref, "--engine", "trivy")
    assert (code, out) == (1, "") and "trivy failed (exit status 1)" in err
    assert "DB download failed" in err
    monkeypatch.setenv("STANDIN_EXIT", "0")
    monkeypatch.setenv("STANDIN_STDERR", "")
    standin.prints(trivy_report_for(built))
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_FILE_BYTES", "2048")
    code, out, err = cli("scan", ref, "--engine", "trivy")
    assert (code, out) == (1, "") and "wrote more than 2048 bytes" in err
    monkeypatch.delenv("IMAGETRUST_VULNDB_MAX_FILE_BYTES")
    standin.prints('{"SchemaVersion": 2, "ArtifactName": "x", "Results": {"oops": 1}}')
    code, out, err = cli("scan", ref, "--engine", "trivy")
    assert (code, out) == (1, "") and "Results is not a list" in err
    assert stored_sets(cli, built.manifest.digest) == {}


def test_run_adds_each_engines_set_once_beside_ours(
    cli: Cli, standin: StandIn, alpine: tuple[BuiltImage, str], tmp_path: Path
) -> None:
    built, path = alpine
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    standin.install("trivy")
    standin.prints(trivy_report_for(built))
    listing = tmp_path / "images.txt"
    listing.write_text(f"oci-layout:{path}:t\n")
    code, out, err = cli(
        "run", "--images-file", str(listing), "--engine", "trivy", "-j", "1", "-f", "json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["images"]["new"] == 1 and summary["engine_sets"] == {"trivy": 1}
    kept = stored_sets(cli, built.manifest.digest)
    assert sorted(kept) == ["builtin", "trivy"]
    assert {i["db_source"] for i in kept["trivy"]} == {"trivy"}
    assert all(i["db_source"] != "trivy" for i in kept["builtin"])
    [call] = standin.calls()
    assert call["argv"][-2:] == ["--input", path]
    code, out, err = cli(  # nothing new: no second trivy run
        "run", "--images-file", str(listing), "--engine", "trivy", "-j", "1", "-f", "json"
    )
    assert code == 0, err
    assert json.loads(out)["engine_sets"] == {"trivy": 0} and len(standin.calls()) == 1
    code, _, err = cli("run", "--images-file", str(listing), "--engine", "anchore")
    assert code == 2 and "not an engine" in err


def test_run_records_an_engine_failure_with_its_image(
    cli: Cli, standin: StandIn, alpine: tuple[BuiltImage, str], tmp_path: Path
) -> None:
    _, path = alpine
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    standin.install("grype")
    standin.prints(raw(GRYPE["keycloak-test"]))  # about keycloak, not this image
    listing = tmp_path / "images.txt"
    listing.write_text(f"oci-layout:{path}:t\n")
    code, out, err = cli(
        "run", "--images-file", str(listing), "--engine", "grype", "-j", "1", "-f", "json"
    )
    assert code == 1 and "reported on" in err
    summary = json.loads(out)
    assert summary["engine_sets"] == {"grype": 0}
    assert summary["failures"][0]["reason"].startswith("grype: grype reported on")
