"""Other engines' sets and the publisher's SBOM are shown, never counted.

The report scenario is reported, then a newer Trivy report of one of its images (Trivy's own
report, retargeted at the image) is imported the way a user imports it, with the
publisher's SBOM of three images beside it, and the report is written again: every
verdict, count, trend, time to fix, the overview, the Markdown and the CSV files must be
what they were. Only the image pages' "other sources" may change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.vulndb.findings_store import BUILTIN, finding_set_history
from tests.report.world import TRIVY_AT, add_other_sources, build_world, world_now

SHOWN_ONLY = ("other_engines", "publisher_sbom")  # the image page's other sources


def reports(home: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Every format of the report, as files and the JSON document."""
    common = ["--home", str(home), "--now", world_now().isoformat(), "report"]
    assert main([*common, "--out", str(out / "site")]) == 0
    assert main([*common, "--format", "csv", "--out", str(out / "csv")]) == 0
    assert main([*common, "--format", "md", "--out", str(out / "md")]) == 0
    capsys.readouterr()
    assert main([*common, "--format", "json", "--out", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    files = {
        name: (out / name).read_bytes()
        for name in (
            "site/index.html",
            "site/trends.html",
            "site/review.html",
            "csv/images.csv",
            "csv/findings.csv",
            "md/report.md",
        )
    }
    return {"json": document, "files": files}


def counted(document: dict[str, Any]) -> dict[str, Any]:
    """The document without what the image pages show of other sources."""
    body = dict(document)
    body["images"] = [
        {k: v for k, v in image.items() if k not in SHOWN_ONLY} for image in document["images"]
    ]
    return body


def test_another_engines_newer_set_changes_no_verdict_count_trend_or_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store:
        build_world(store)
    before = reports(home, tmp_path / "before", capsys)
    sources = add_other_sources(home)
    after = reports(home, tmp_path / "after", capsys)

    # the Trivy set is there, and it is the image's newest set of any engine
    url = f"sqlite:///{home / 'imagetrust.db'}"
    with Store.open(url, create=False) as store, store.read() as conn:
        sets = finding_set_history(conn, sources.trivy_digest, engine=None)
    assert [s.engine for s in sets][-1] == "trivy" and sets[-1].matched_at == TRIVY_AT
    assert BUILTIN in {s.engine for s in sets[:-1]}
    web = next(i for i in after["json"]["images"] if i["digest"] == sources.trivy_digest)
    assert [e["engine"] for e in web["other_engines"]] == ["trivy"]

    # verdicts, counts, findings, trends and time to fix: as before
    assert counted(after["json"]) == counted(before["json"])
    for name, content in before["files"].items():
        assert after["files"][name] == content, f"{name} changed"
    # (and they say something: the trends follow findings, web's fix among them)
    trends = after["json"]["trends"]
    assert trends["fix_summary"]["fixed"] == 2 and trends["fix_summary"]["open"] > 0
    assert trends["fixable"], trends
