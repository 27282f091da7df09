"""Recommendations end to end: the real catalog, real images, real advisories, both backends.

The catalog is the real library files and docs (offline); the images are built from real
root filesystems, scanned against the demo's real advisories (``scan`` writes each finding
set through the production path) and evaluated as catalog tags:

- postgres:16.15 and postgres:18.6: Alpine 3.16, ended: rejected;
- postgres:17.11: Debian 12: approved; openjdk:27-rc-jdk-slim: Alpine 3.16 and deprecated;
- eclipse-temurin:21-jdk-noble: Debian 12, approved (a replacement openjdk's notice names).

What changes is checked against what ``scan``, ``evaluate`` and ``sbom`` printed for the
two images, not against the recommender's own arithmetic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.demo import DATA
from imagetrust.pipeline.plan import recommended_candidates
from imagetrust.store.database import Store
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 8, 22, tzinfo=UTC)
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
IMAGES = {
    "a": ("alpine", "postgres:16.15"),
    "b": ("debian12", "postgres:17.11"),
    "c": ("alpine", "postgres:18.6"),
    "d": ("alpine", "openjdk:27-rc-jdk-slim"),
    "e": ("debian12", "eclipse-temurin:21-jdk-noble"),
}


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url, "--now", "2026-08-22"]
    code, _, err = call(
        capsys,
        *base,
        "catalog",
        "--offline",
        "--library-dir",
        str(FIXTURES / "official-images"),
        "--docs-dir",
        str(FIXTURES / "docs"),
    )
    assert code == 0, err
    assert call(capsys, *base, "db", "import", str(DATA / "vulndb"))[0] == 0
    scans: dict[str, Any] = {}
    sboms: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    for label, (rootfs, name) in IMAGES.items():
        built = build_image(
            ImageSpec(layers=[Layer.from_dir(FIXTURES / "rootfs" / rootfs)], labels={"x": label})
        )
        write_oci_layout(built, tmp_path / label, tag="t")
        ref = f"oci-layout:{tmp_path / label}:t"
        code, out, err = call(capsys, *base, "scan", ref, "--format", "json")
        assert code == 0, err
        scans[name] = json.loads(out)
        code, out, err = call(capsys, *base, "sbom", ref, "--format", "json")
        assert code == 0, err
        (sboms[name],) = json.loads(out)["images"]
        code, out, err = call(capsys, *base, "evaluate", ref, "--as", name, "--format", "json")
        assert code == 0, err
        (evidence[name],) = json.loads(out)["images"]
    return {"base": base, "scans": scans, "sboms": sboms, "evidence": evidence, "url": store_url}


def as_json(world: dict[str, Any], capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = call(capsys, *world["base"], *args, "--format", "json")
    assert code in (0, 3), err
    return json.loads(out)


def by_vulnerability(scan: dict[str, Any]) -> dict[str, str]:
    """One entry per flaw (its CVE where it has one), at its highest severity."""
    found: dict[str, str] = {}
    for item in scan["vulnerabilities"]:
        cves = sorted(i for i in [item["id"], *item["aliases"]] if i.startswith("CVE-"))
        key = cves[0] if cves else item["id"]
        if key not in found or SEVERITIES.index(item["severity"]) < SEVERITIES.index(found[key]):
            found[key] = item["severity"]
    return found


def test_a_rejected_tag_gets_a_better_tag_of_its_variant_with_what_changes(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    document = as_json(world, capsys, "recommend", "postgres")
    assert document["kind"] == "recommendations"
    assert document["approved"] == ["postgres:17.11"]
    found = {(r["image"], r["tag"]): r for r in document["recommendations"]}
    old = found[("postgres", "16.15")]
    assert old["verdict"] == "rejected" and old["variant"] == "default"
    (alternative,) = old["alternatives"]  # 18.6 is rejected too: no better, never listed
    assert (alternative["image"], alternative["tag"]) == ("postgres", "17.11")
    assert (alternative["kind"], alternative["verdict"]) == ("same-variant", "approved")
    assert not any(n["tag"] == "18.6" for n in old["not_assessed"])  # it was assessed
    # 18.6 is the newest stable line: an older line (17.11, approved) is never proposed
    newest = found[("postgres", "18.6")]
    assert newest["alternatives"] == [] and "18.6 or newer" in newest["reason"]

    (gains,) = alternative["gains"]
    current = by_vulnerability(world["scans"]["postgres:16.15"])
    better = by_vulnerability(world["scans"]["postgres:17.11"])
    assert current and better  # both images have findings: the comparison means something
    for severity in SEVERITIES:
        fixed = sum(1 for k, s in current.items() if s == severity and k not in better)
        added = sum(1 for k, s in better.items() if s == severity and k not in current)
        assert gains["findings_fixed"][severity] == fixed, severity
        assert gains["findings_added"][severity] == added, severity
    os_now = world["evidence"]["postgres:16.15"]["os"]
    os_then = world["evidence"]["postgres:17.11"]["os"]
    assert gains["eol"]["current"]["status"] == os_now["status"] == "eol"
    assert gains["eol"]["alternative"]["status"] == os_then["status"] == "supported"
    assert gains["eol"]["alternative"]["eol_date"] == os_then["eol_date"]
    sizes = {
        name: sum(layer["size"] for layer in world["sboms"][name]["layers"])
        for name in ("postgres:16.15", "postgres:17.11")
    }
    assert gains["size"]["current"] == sizes["postgres:16.15"]
    assert gains["size"]["alternative"] == sizes["postgres:17.11"]


def test_a_deprecated_image_gets_the_replacements_its_notice_names(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (found,) = as_json(world, capsys, "recommend", "openjdk:27-rc-jdk-slim")["recommendations"]
    (alternative,) = found["alternatives"]
    assert (alternative["image"], alternative["tag"]) == ("eclipse-temurin", "21-jdk-noble")
    assert alternative["kind"] == "replacement"
    assert "jdk+ubuntu24.04" in alternative["note"]
    # the other replacements the notice names, in its order, are not yet assessed
    assert [(n["image"], n["reason"]) for n in found["not_assessed"]] == [
        ("amazoncorretto", "not yet assessed"),
        ("ibm-semeru-runtimes", "not yet assessed"),
        ("ibmjava", "not yet assessed"),
    ]
    # and what `run` downloads first: any tag of those (no tag of their variant is known)
    with Store.open(world["url"]) as store, store.read() as conn:
        wanted = recommended_candidates(conn, NOW)
    assert {("amazoncorretto", "*"), ("ibm-semeru-runtimes", "*"), ("ibmjava", "*")} <= wanted
    assert not {name for name, _ in wanted} & {"postgres", "eclipse-temurin", "openjdk"}


def test_every_surface_shows_the_recommendation(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tag,) = as_json(world, capsys, "show", "postgres:16.15")["tags"]
    assert [a["tag"] for a in tag["recommendation"]["alternatives"]] == ["17.11"]
    (approved,) = as_json(world, capsys, "show", "postgres:17.11")["tags"]
    assert approved["recommendation"] is None

    checked = as_json(world, capsys, "policy", "check")
    items = {(i["image"], i["tag"]): i for i in checked["items"]}
    assert items[("postgres", "17.11")]["recommendations"] is None
    instead = items[("openjdk", "27-rc-jdk-slim")]["recommendations"]["alternatives"]
    assert [a["image"] for a in instead] == ["eclipse-temurin"]

    code, out, _ = call(capsys, *world["base"], "policy", "check", "--format", "md")
    assert code == 3 and "Instead:" in out and "postgres:17.11: approved" in out

    code, out, _ = call(capsys, *world["base"], "allowlist")
    assert code == 0
    comments = [line for line in out.splitlines() if line.startswith("#")]
    assert "# not approved: postgres:16.15 (rejected, grade F)" in comments
    assert any(line.startswith("#   instead: postgres:17.11: approved") for line in comments)

    code, out, _ = call(capsys, *world["base"], "recommend", "postgres:16.15")
    assert code == 0 and "postgres:17.11: approved, grade B" in out and "fixes" in out

    code, out, err = call(capsys, *world["base"], "report", "--format", "json", "--out", "-")
    assert code == 0, err
    pages = {(i["name"], i["platform"]): i for i in json.loads(out)["images"]}
    view = pages[("postgres:16.15", "linux/amd64")]["recommendation"]
    assert [a["name"] for a in view["alternatives"]] == ["postgres:17.11"]
    assert view["alternatives"][0]["page"] == pages[("postgres:17.11", "linux/amd64")]["page"]
    assert pages[("postgres:17.11", "linux/amd64")]["recommendation"] is None

    code, _, err = call(capsys, *world["base"], "recommend", "redis")
    assert code == 1 and "no evaluated image matches redis" in err
