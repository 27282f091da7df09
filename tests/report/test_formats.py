"""``imagetrust report`` in Markdown, JSON and CSV, ``--out -``, and the workflow's steps.

Each format renders the one model: the tests check each against ``policy check --format
json`` on the same store (verdicts), against what the scenario stored (counts, findings),
and that hostile text stays inert in each format's own way.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.workflow.generate import REPORT_SCRIPT
from tests.report.world import (
    API,
    DB,
    EVIL_PACKAGE,
    EVIL_TAG,
    SCRIPT,
    TRIVY_AT,
    TRIVY_TARGET,
    WEB_BASH,
    OtherSources,
    add_other_sources,
    build_world,
    world_now,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OtherSources]:
    folder = tmp_path_factory.mktemp("formats") / "home"
    with Store.open(f"sqlite:///{folder / 'imagetrust.db'}") as store:
        build_world(store)
    return folder, add_other_sources(folder)


@pytest.fixture(scope="module")
def home(world: tuple[Path, OtherSources]) -> Path:
    return world[0]


def cli(home: Path, *args: str) -> list[str]:
    return ["--home", str(home), "--now", world_now().isoformat(), *args]


def policy_check(home: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(cli(home, "policy", "check", "--format", "json"))
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_json_is_one_versioned_document_that_agrees_with_policy_check(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checked = policy_check(home, capsys)
    assert main(cli(home, "report", "--format", "json", "--out", "-")) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document)[:2] == ["schema_version", "kind"]
    assert (document["schema_version"], document["kind"]) == (3, "report")
    verdicts = {r["name"]: r["verdict"] for r in document["repositories"]}
    assert verdicts == {
        **{r["image"]: r["verdict"] for r in checked["repositories"]},
        "ghost": "not-evaluated",
    }
    assert document["totals"]["images"] == checked["counts"]
    api = next(i for i in document["images"] if i["name"] == "api:latest")
    assert {f["id"] for f in api["findings"]} == {f"CVE-2026-100{n}" for n in range(1, 5)}
    assert "packages" not in api and "layers" not in api
    assert api["vulns"]["fixable"]["CRITICAL"] == 2
    assert document["trends"]["fix_summary"]["median_days"] == 7.0
    assert document["review"]["most_fixable"][0]["image"] == "db"


def test_json_shows_other_engines_and_the_publishers_sbom_beside_ours(
    world: tuple[Path, OtherSources], capsys: pytest.CaptureFixture[str]
) -> None:
    home, sources = world
    assert main(cli(home, "report", "--format", "json", "--out", "-")) == 0
    images = {i["digest"]: i for i in json.loads(capsys.readouterr().out)["images"]}
    # Trivy's newest set of web (linux/amd64), counted from the report itself
    trivy = sources.trivy
    reported = [v for r in trivy["Results"] for v in r.get("Vulnerabilities") or []]
    severities = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
    every = {s: sum(v["Severity"] == s for v in reported) for s in severities}
    fixable = {
        s: sum(v["Severity"] == s and bool(v.get("FixedVersion")) for v in reported)
        for s in severities
    }
    theirs = {(v["VulnerabilityID"], v["PkgName"]) for v in reported}
    ours = {(WEB_BASH.id, WEB_BASH.package)}
    (shown,) = images[sources.trivy_digest]["other_engines"]
    assert shown == {
        "engine": "trivy",
        "version": trivy["Trivy"]["Version"],
        "matched_at": TRIVY_AT.isoformat().replace("+00:00", "Z"),
        "findings": len(reported),
        "all": every,
        "fixable": fixable,
        "complete": True,
        "target": TRIVY_TARGET,
        "skipped": 0,
        "agreement": len(ours & theirs) / len(ours | theirs),
        "both": len(ours & theirs),
        "only_ours": len(ours - theirs),
        "only_theirs": len(theirs - ours),
    }
    assert shown["both"] == 1  # the bash finding both report: the agreement is not vacuous
    assert all(i["other_engines"] == [] for d, i in images.items() if d != sources.trivy_digest)
    # the publisher's SBOM: present (its packages), unreadable (why), absent, never read
    publisher = {d: i["publisher_sbom"] for d, i in images.items()}
    web = publisher.pop(sources.trivy_digest)
    assert (web["status"], web["packages"], web["format"]) == (
        "present",
        sources.publisher_packages,
        "SPDX-2.3",
    )
    api = publisher.pop(API)
    assert api["status"] == "unreadable" and api["reason"] == sources.unreadable_reason
    assert SCRIPT in api["reason"]  # kept as it came: each renderer escapes it
    assert publisher.pop(DB)["status"] == "absent"
    assert {p["status"] for p in publisher.values()} == {"not-read"}


def test_markdown_for_a_step_summary(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checked = policy_check(home, capsys)
    counts = {"approved": 0, "conditional": 0, "rejected": 0}
    for repository in checked["repositories"]:
        counts[repository["verdict"]] += 1
    assert main(cli(home, "report", "--format", "md", "--out", "-")) == 0
    text = capsys.readouterr().out
    assert (
        f"**{counts['approved']} approved, {counts['conditional']} conditional, "
        f"{counts['rejected']} rejected**, 1 not evaluated" in text
    )
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + 6  # the header, its rule, one row per repository
    # GitHub renders HTML in Markdown: no tag, no link, no table break from the Hub's text
    assert "<script" not in text and "<img" not in text and "<svg" not in text
    assert "](javascript:" not in text
    assert 'legacy:1.0"&gt;&lt;img src=x' in text  # the hostile tag is shown, as text
    assert all(line.count(" | ") == 9 for line in table)
    # and written to a folder
    out = home.parent / "md"
    assert main(cli(home, "report", "--format", "md", "--out", str(out))) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.md")
    assert (out / "report.md").read_text() == text


def test_csv_has_every_image_and_finding_and_no_formula(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    checked = policy_check(home, capsys)
    out = tmp_path / "csv"
    assert main(cli(home, "report", "--format", "csv", "--out", str(out))) == 0
    assert capsys.readouterr().out.split() == [str(out / "images.csv"), str(out / "findings.csv")]
    with open(out / "images.csv", newline="", encoding="utf-8") as handle:
        images = list(csv.DictReader(handle))
    assert sorted((r["repository"], r["platform"], r["verdict"]) for r in images) == sorted(
        (i["image"], i["platform"], i["verdict"]) for i in checked["items"]
    )
    evil = next(r for r in images if r["tag"].startswith("1.0"))
    assert evil["tag"] == EVIL_TAG
    with open(out / "findings.csv", newline="", encoding="utf-8") as handle:
        findings = list(csv.DictReader(handle))
    db = [f for f in findings if f["repository"] == "db"]
    assert len(db) == 5 and {f["severity"] for f in db} == {"CRITICAL", "LOW"}
    assert next(f for f in db if f["id"] == "GHSA-xss")["package"] == EVIL_PACKAGE


def test_a_formula_in_a_cell_stays_text() -> None:
    from imagetrust.report.text import csv_cell

    assert csv_cell('=HYPERLINK("https://evil")') == '\'=HYPERLINK("https://evil")'
    assert [csv_cell(v) for v in ("+1", "-1", "@x", "\tx", "ok", -1, None)] == [
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "ok",
        "-1",
        "",
    ]


def test_what_cannot_be_asked(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("html", "csv"):
        assert main(cli(home, "report", "--format", fmt, "--out", "-")) == 2
        assert "several files" in capsys.readouterr().err
    # no store: an error, and nothing created
    empty = tmp_path / "no-home"
    assert main(["--home", str(empty), "report", "--out", str(tmp_path / "site")]) == 1
    assert not empty.exists() and not (tmp_path / "site").exists()
    # a folder that is not a report is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert main(cli(home, "report", "--out", str(mine))) == 1
    assert "holds no imagetrust report" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]


def test_the_workflow_report_step_works_as_generated(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generated workflow's report step, command by command, in the job's folder."""
    monkeypatch.chdir(tmp_path)
    summary = ""
    for line in REPORT_SCRIPT.strip().splitlines():
        command, _, redirect = line.partition(">>")
        argv = shlex.split(command)
        assert argv[0] == "imagetrust"
        assert main(cli(home, *argv[1:])) == 0, line
        output = capsys.readouterr().out
        if redirect:
            summary += output
    assert (tmp_path / "site" / "index.html").is_file()
    assert summary.startswith("# imagetrust report")
