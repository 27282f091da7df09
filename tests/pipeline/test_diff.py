"""``imagetrust diff`` over a history two real runs made, with each kind of change between.

Between the runs: ``api`` is rebuilt with OpenSSL upgraded (its tag moves; its OpenSSL
findings are fixed), an Alpine advisory is published (a new finding in every image), the
Alpine 3.16 release ends (2024-05-23: the images are newly rejected), ``tool``'s library
file loses its tags (deprecated), and a ``ghost`` repository that no registry has appears
(the second run fails on it). The expectations come from those facts, not from the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from imagetrust.cli.main import main
from imagetrust.demo import DATA as DEMO_DATA
from imagetrust.store.database import Store
from imagetrust.store.runs import list_runs
from imagetrust.store.schema import finding_set_items, finding_sets
from imagetrust.testkit.builder import ImageSpec, Layer, build_image
from tests.pipeline.world import ROOTFS, VULNDB, World, base_layer, own_layer

FIRST = "2024-05-20T08:00:00Z"  # Alpine 3.16 still supported (it ends on 2024-05-23)
SECOND = "2024-05-25T08:00:00Z"
MUSL = "ALPINE-CVE-2025-26519"
ENGINES = Path(__file__).parents[1] / "fixtures" / "engines"
OPENSSL = {"libssl1.1", "libcrypto1.1"}


def redate(hub: Path, when: str) -> None:
    """The Hub recording's dates before the first run (the world writes 2026's)."""
    for page in hub.rglob("*.json"):
        page.write_text(page.read_text().replace("2026-05-30T00:00:00Z", when))


def upgraded_openssl() -> Layer:
    """The real Alpine 3.16 database with OpenSSL at 1.1.1u-r0 (fixes of Feb. and May 2023)."""
    text = (ROOTFS / "alpine/lib/apk/db/installed").read_text()
    stanzas = text.split("\n\n")
    for index, stanza in enumerate(stanzas):
        if any(f"\nP:{name}\n" in f"\n{stanza}\n" for name in OPENSSL):
            stanzas[index] = stanza.replace("V:1.1.1q-r0", "V:1.1.1u-r0")
    assert text.count("V:1.1.1q-r0") == 2 and "\n\n".join(stanzas).count("1.1.1u-r0") == 2
    return Layer.from_files({"lib/apk/db/installed": "\n\n".join(stanzas)})


def trivy_report_about(config_digest: str, path: Path, created: str) -> Path:
    """A real Trivy report (of Debian 10) said to be about the image with this config, made
    at ``created``."""
    report = json.loads((ENGINES / "trivy" / "debian-buster.json").read_text())
    report["CreatedAt"] = created
    report["Metadata"]["ImageID"] = config_digest
    report["Metadata"].pop("RepoDigests", None)
    path.write_text(json.dumps(report))
    return path


def cli(home: Path, now: str, *args: str) -> list[str]:
    return ["--now", now, "--home", str(home), *args]


def diff(
    home: Path, now: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(cli(home, now, "diff", "--format", "json", *args))
    out = capsys.readouterr().out
    return code, json.loads(out)


def stored_findings(digest: str) -> set[tuple[str, str]]:
    url = os.environ["IMAGETRUST_DB_URL"]
    with Store.open(url) as store, store.read() as conn:
        rows = conn.execute(
            select(finding_set_items.c.vuln_id, finding_set_items.c.package)
            .join(finding_sets, finding_sets.c.id == finding_set_items.c.set_id)
            .where(finding_sets.c.digest == digest)
        )
        return {(row.vuln_id, row.package) for row in rows}


def test_diff_names_each_kind_of_change_and_exits_3_on_the_conditions_asked(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)  # SQLite and PostgreSQL
    home = tmp_path / "home"
    redate(world.hub, "2024-05-01T00:00:00Z")
    assert main(cli(home, FIRST, "db", "import", str(VULNDB))) == 0
    assert main(["--now", FIRST, *world.run_args(home, "--jobs", "1")]) == 0
    old_api = world.built["api"].descriptor.digest
    old_api_image = world.platform_digest("api")
    web_image = world.platform_digest("web")
    fixed_by_upgrade = {(i, p) for i, p in stored_findings(old_api_image) if p in OPENSSL}
    assert fixed_by_upgrade  # the first run found OpenSSL flaws in api

    # What happens during the week.
    rebuilt = build_image(ImageSpec(layers=[base_layer(), upgraded_openssl(), own_layer("api")]))
    world.built["api"] = rebuilt
    world.publish("api", rebuilt)
    world.write_hub()
    redate(world.hub, "2024-05-22T00:00:00Z")
    (world.library / world.name("tool")).write_text(
        "Maintainers: Test <test@example.com> (@test)\nGitRepo: https://example.com/test.git\n"
    )
    (world.library / world.name("ghost")).write_text(
        (world.library / world.name("api")).read_text()
    )
    advisory = DEMO_DATA / "vulndb-week2" / "alpine" / f"{MUSL}.json"
    assert main(cli(home, SECOND, "db", "import", str(advisory), "--name", "alpine-osv")) == 0
    capsys.readouterr()
    assert main(["--now", SECOND, *world.run_args(home, "--jobs", "1")]) == 1  # ghost failed
    new_api_image = world.platform_digest("api")
    # another engine's report on web (a real Trivy report, retargeted at web's image): its
    # findings are that engine's, never new or fixed findings of ours
    web_built = world.built["web"]
    [web_config] = [
        i.config.digest
        for i in getattr(web_built, "images", [web_built])
        if i.manifest.digest == web_image
    ]
    report = trivy_report_about(web_config, tmp_path / "trivy.json", SECOND)
    args = ("import", str(report), "--engine", "trivy", "--digest", web_image)
    assert main(cli(home, SECOND, *args)) == 0

    code, doc = diff(home, SECOND, capsys)
    assert code == 0  # no --fail-on: changes are reported, never a failure
    assert doc["kind"] == "diff" and doc["since"]["basis"].startswith("run #")
    with Store.open(store_url) as store, store.read() as conn:
        first_run = min(r.id for r in list_runs(conn, kind="run"))
    assert doc["since"]["run_id"] == first_run
    api, web, tool = (world.name(s) for s in ("api", "web", "tool"))
    # the rebuilt tag moved; nothing else did
    assert [(t["image"], t["tag"], t["before"], t["after"]) for t in doc["tags"]["moved"]] == [
        (api, "latest", old_api, rebuilt.descriptor.digest)
    ]
    # the new advisory is a new finding in musl and musl-utils of each image judged again
    assert {(f["image"], f["digest"], f["id"], f["package"]) for f in doc["findings"]["new"]} == {
        (name, digest, MUSL, package)
        for name, digest in ((api, new_api_image), (web, web_image))
        for package in ("musl", "musl-utils")
    }
    # the upgrade fixed api's OpenSSL findings, in the image the tag named before
    fixed = doc["findings"]["fixed"]
    assert {(f["id"], f["package"]) for f in fixed} == fixed_by_upgrade
    assert {(f["image"], f["digest"]) for f in fixed} == {(api, old_api_image)}
    # Alpine 3.16 ended on 2024-05-23: both images judged again are newly rejected for it
    verdicts = {v["image"]: v for v in doc["verdicts"]}
    assert set(verdicts) == {api, web}  # tool was not judged again (deprecated, not run)
    for name in (api, web):
        change = verdicts[name]
        assert (
            change["before"]["verdict"] != "rejected" and change["after"]["verdict"] == "rejected"
        )
        assert change["newly_rejected"]
        assert any(r.startswith("os-eol: alpine-linux 3.16") for r in change["reasons"])
    # ... and the date passed for tool too, though nothing judged it again
    assert {(e["image"], e["subject"], e["eol_date"]) for e in doc["eol_passed"]} == {
        (api, "os", "2024-05-23"),
        (web, "os", "2024-05-23"),
        (tool, "os", "2024-05-23"),
    }
    assert [(s["image"], s["before"], s["after"]) for s in doc["states"]] == [
        (tool, "active", "deprecated")
    ]
    assert [f["item"] for f in doc["failures"]] == [f"{world.name('ghost')}:latest"]
    assert doc["counts"]["newly_rejected"] == 2

    # --fail-on: exit 3 for each condition that holds, after writing the output
    for condition in ("new-rejected", "new-finding", "any"):
        code, doc = diff(home, SECOND, capsys, "--fail-on", condition)
        assert code == 3 and doc["fails"] is True, condition
    capsys.readouterr()
    assert main(cli(home, SECOND, "diff", "--format", "md", "--fail-on", "new-rejected")) == 3
    markdown = capsys.readouterr().out
    assert markdown.startswith("# imagetrust: what changed")
    assert "## Newly rejected (2)" in markdown and f"**{api}:latest**" in markdown.replace(
        "\\-", "-"
    )
    # since the second run itself, nothing changed: every condition passes
    with Store.open(store_url) as store, store.read() as conn:
        second_run = max(r.id for r in list_runs(conn, kind="run"))
    for condition in ("new-rejected", "new-finding", "any"):
        code, doc = diff(home, SECOND, capsys, "--since", str(second_run), "--fail-on", condition)
        assert code == 0 and not doc["fails"] and not any(doc["counts"].values()), condition
    # a date: the store as it was before that day (the first run's state)
    code, doc = diff(home, SECOND, capsys, "--since", "2024-05-21")
    assert len(doc["tags"]["moved"]) == 1 and doc["counts"]["newly_rejected"] == 2
    # as of the first run's day, with nothing before it: everything is new
    code, doc = diff(home, FIRST, capsys, "--since", "2024-05-01")
    assert doc["tags"]["moved"] == [] and {t["tag"] for t in doc["tags"]["new"]} == {"latest"}
    # the tag's current image is its new digest: the old one is history, judged no more
    capsys.readouterr()
    assert main(cli(home, SECOND, "policy", "check", "--format", "json")) == 3
    items = json.loads(capsys.readouterr().out)["items"]
    assert {i["digest"] for i in items if i["image"] == api} == {new_api_image}


def test_diff_refuses_what_it_cannot_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "diff"]) == 1  # no store: nothing to compare
    assert not home.exists()  # and a read-only command created none
    assert main(["--home", str(home), "store", "migrate"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "diff", "--since", "99"]) == 2
    assert "no run #99" in capsys.readouterr().err
    assert main(["--home", str(home), "diff", "--since", "last tuesday"]) == 2
    assert main(["--home", str(home), "diff", "--fail-on", "everything"]) == 2
    # an empty store: no changes, and no condition holds
    capsys.readouterr()
    assert main(["--home", str(home), "diff", "--fail-on", "any"]) == 0
    assert "no changes" in capsys.readouterr().out
