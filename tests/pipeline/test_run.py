"""``imagetrust run`` end to end: a real registry (requests counted at a loopback proxy),
the replayed Hub, the real Alpine package database and the demo's real advisories."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.store.runs import list_runs, run_item_errors
from imagetrust.store.schema import image_findings, image_platforms, image_results
from imagetrust.store.tags import tag_observations
from tests.pipeline.world import World, kev_catalog_listing

ALPINE_FINDING = ("libssl1.1", "ALPINE-CVE-2023-0286")
KEV = Path(__file__).parent.parent / "fixtures" / "vulndb" / "kev"


def run(
    world: World, home: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()  # what came before (a database import) is not the run's
    code = main(world.run_args(home, *extra))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def store(home: Path) -> Store:
    return Store.open(os.environ.get("IMAGETRUST_DB_URL") or f"sqlite:///{home / 'imagetrust.db'}")


def results(home: Path) -> dict[tuple[str, str], Any]:
    with store(home) as opened, opened.read() as conn:
        return {(r.digest, r.platform): r for r in conn.execute(select(image_results))}


def findings(home: Path, digest: str) -> set[tuple[str, str]]:
    with store(home) as opened, opened.read() as conn:
        rows = conn.execute(
            select(image_findings.c.package, image_findings.c.vuln_id)
            .join(image_results, image_results.c.id == image_findings.c.result_id)
            .where(image_results.c.digest == digest, image_results.c.platform == "linux/amd64")
        )
        return {(row.package, row.vuln_id) for row in rows}


def test_a_run_analyses_each_image_once_and_a_rerun_only_asks_heads(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    world.import_db(home)
    code, doc, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert doc["kind"] == "run" and doc["status"] == "succeeded"
    images = doc["images"]
    assert (images["new"], images["unchanged"], images["failed"], images["queued"]) == (3, 0, 0, 0)
    # web's Windows image (from the Hub listing) and tool's (from its index): not covered.
    assert images["not_covered"] == 2
    stored = results(home)
    web, api, tool = (world.built[s].descriptor.digest for s in ("web", "api", "tool"))
    assert {k: r.status for k, r in stored.items()} == {
        (web, "linux/amd64"): "analysed",
        (api, "linux/amd64"): "analysed",
        (tool, "linux/amd64"): "analysed",
        (web, "windows/amd64"): "not-covered",
        (tool, "windows/amd64"): "not-covered",
    }
    assert stored[(web, "linux/amd64")].manifest_digest == world.platform_digest("web")
    for digest in (web, api, tool):
        assert ALPINE_FINDING in findings(home, digest)
    # Pulls: one manifest each for web and api (the Hub listed their platform digests),
    # the index and then the manifest for tool (resolved by HEAD). Nothing else is a pull.
    manifest_gets = world.requests("GET", "manifests")
    assert len(manifest_gets) == 4
    assert sum(q["pulls"] for q in doc["pulls"]) == 4
    # The shared Alpine layer was downloaded once for the three images.
    base = world.built["api"].layers[0].digest  # type: ignore[union-attr]
    assert [r.path.endswith(base) for r in world.requests("GET", "blobs")].count(True) == 1
    assert doc["images"]["bytes_fetched"] > 0
    with store(home) as opened, opened.read() as conn:
        platforms = (
            conn.execute(select(image_platforms.c.platform).where(image_platforms.c.digest == tool))
            .scalars()
            .all()
        )
        spans = tag_observations(conn, world.name("tool"), "latest")
    assert sorted(platforms) == ["linux/amd64", "windows/amd64"]
    assert [(s.digest, s.source) for s in spans] == [(tool, "registry")]

    world.proxy.log.clear()
    code, again, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (again["images"]["new"], again["images"]["unchanged"]) == (0, 3)
    # Nothing new: the only requests are HEADs for the tag the Hub does not list; no pull,
    # no blob byte.
    assert {(r.method, r.path.split("/")[-2]) for r in world.proxy.log} == {("HEAD", "manifests")}
    assert world.blob_bytes() == 0 and again["images"]["bytes_fetched"] == 0


def test_manifests_are_fetched_ahead_side_by_side_not_one_after_the_other(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each manifest GET takes 0.4 s at the registry (a far one): the run asks for web's and
    api's (their digests known from the Hub) at once, on its fetch threads, instead of
    waiting through one round trip per image in the main thread."""
    import threading
    import time

    from tests.services.registry import Fault

    lock = threading.Lock()
    inside = [0, 0]  # requests being answered now, the most at once

    def slow() -> dict[str, str]:
        with lock:
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
        time.sleep(0.4)
        with lock:
            inside[0] -= 1
        return {}

    world.proxy.add(Fault(r"^GET /v2/.*/manifests/sha256:", times=None, add_headers=slow))
    home = tmp_path / "home"
    world.import_db(home)
    code, doc, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (doc["images"]["new"], doc["images"]["failed"]) == (3, 0)
    assert inside[1] >= 2
    web, api, tool = (world.built[s].descriptor.digest for s in ("web", "api", "tool"))
    for digest in (web, api, tool):
        assert ALPINE_FINDING in findings(home, digest)
    assert len(world.requests("GET", "manifests")) == 4  # no pull more than in sequence


def test_a_changed_database_rematches_stored_sboms_without_a_download(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)  # SQLite and PostgreSQL
    home = tmp_path / "home"
    code, _, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert "vulnerability database is empty" in err
    api = world.built["api"].descriptor.digest
    assert findings(home, api) == set()
    world.import_db(home)
    world.proxy.log.clear()
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (second["images"]["rematched"], second["images"]["new"]) == (3, 0)
    assert ALPINE_FINDING in findings(home, api)
    assert world.requests("GET", "manifests") == [] and world.requests("GET", "blobs") == []
    [source] = second["database"]
    assert results(home)[(api, "linux/amd64")].db_versions == [source]
    # and the run after that has nothing to do
    code, third, _ = run(world, home, capsys, "--jobs", "1")
    assert (third["images"]["unchanged"], third["images"]["rematched"]) == (3, 0)


def test_the_pull_budget_stops_the_run_cleanly_and_the_next_run_goes_on(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("IMAGETRUST_REGISTRY_MAX_PULLS", "2")
    code, first, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err  # a budget stop is not a failure
    assert (first["images"]["new"], first["images"]["queued"]) == (2, 1)
    assert first["budget_stop"] and "pull budget" in first["budget_stop"]
    assert len(world.requests("GET", "manifests")) == 2  # stopped after N pulls
    # The most pulled repositories went first; the one the Hub does not list waits.
    analysed = {d for (d, p), r in results(home).items() if r.status == "analysed"}
    assert analysed == {world.built[s].descriptor.digest for s in ("web", "api")}
    assert first["queued"] == [f"{world.name('tool')}:latest"]
    world.proxy.log.clear()
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (second["images"]["new"], second["images"]["unchanged"]) == (1, 2)
    assert second["images"]["queued"] == 0 and second["budget_stop"] is None
    assert len(world.requests("GET", "manifests")) == 2  # tool's index and manifest


def test_a_failing_image_is_stored_with_its_reason_and_retried(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    own = world.built["api"].layers[1].digest  # type: ignore[union-attr]
    blob = world.registry.blob_path(own)
    good = blob.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    blob.write_bytes(bytes(bad))
    try:
        code, first, err = run(world, home, capsys, "--jobs", "1")
    finally:
        blob.write_bytes(good)
    assert code == 1  # an image failed
    assert (first["images"]["new"], first["images"]["failed"]) == (2, 1)
    api = world.built["api"].descriptor.digest
    failed = results(home)[(api, "linux/amd64")]
    assert failed.status == "failed" and own in failed.reason and failed.attempts == 1
    with store(home) as opened, opened.read() as conn:
        [record] = list_runs(conn, kind="run")
        errors = run_item_errors(conn, record.id)
    assert record.status.value == "partial"
    assert [(e.stage, e.item) for e in errors] == [
        ("analyse", f"{world.name('api')}:latest linux/amd64")
    ]
    assert "error:" in err
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (second["images"]["new"], second["images"]["unchanged"]) == (1, 2)
    retried = results(home)[(api, "linux/amd64")]
    assert retried.status == "analysed" and retried.reason is None and retried.attempts == 2


def test_workers_fetch_and_analyse_a_shared_base_layer_once_per_run_and_once_ever(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.paths import HomeLayout
    from imagetrust.testkit.builder import ImageSpec, build_image
    from tests.pipeline.world import base_layer, own_layer
    from tests.services.registry import Fault

    home = tmp_path / "home"
    base = world.built["api"].layers[0].digest  # type: ignore[union-attr]
    # The base layer answers slowly, so the three images that need it are all waiting for
    # it at once: it must still be asked for once.
    world.proxy.add(Fault(f"GET .*/blobs/{base}", times=None, delay=1.0))
    code, doc, err = run(world, home, capsys, "--jobs", "2")
    assert code == 0, err
    assert doc["images"]["new"] == 3
    gets = [r for r in world.requests("GET", "blobs") if r.path.endswith(base)]
    assert len(gets) == 1
    cache = HomeLayout(home).layer_cache
    entries = list(cache.rglob("*.itl"))
    hexes = {entry.parent.name for entry in entries}
    assert base.split(":")[1] in hexes and len(entries) == len(hexes)  # one entry per layer
    # A new image on the same base, later: its own layer is fetched, the base is not.
    extra = build_image(ImageSpec(layers=[base_layer(), own_layer("extra")]))
    world.built["extra"] = extra
    world.publish("extra", extra)
    world.write_library()
    code, doc, err = run(world, home, capsys, "--jobs", "2")
    assert code == 0, err
    assert (doc["images"]["new"], doc["images"]["unchanged"]) == (1, 3)
    fetched = [r.path.rsplit("/", 1)[-1] for r in world.requests("GET", "blobs")]
    assert base not in fetched and extra.layers[1].digest in fetched


def test_a_rate_limited_image_fails_alone_and_the_next_run_gets_it(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.services.registry import Fault

    home = tmp_path / "home"
    monkeypatch.setenv("IMAGETRUST_HTTP_RETRIES", "0")  # 429 after the (no) retries
    web = world.platform_digest("web")
    world.proxy.add(
        Fault(f"GET .*/manifests/{web}", times=None, status=429, headers={"Retry-After": "0"})
    )
    code, first, _ = run(world, home, capsys, "--jobs", "1")
    assert code == 1
    assert (first["images"]["new"], first["images"]["failed"]) == (2, 1)
    [failure] = first["failures"]
    assert failure["image"] == f"{world.name('web')}:latest" and "429" in failure["reason"]
    world.proxy.faults.clear()
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (second["images"]["new"], second["images"]["unchanged"]) == (1, 2)


def test_one_run_at_a_time_per_store(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.pipeline.run import RUN_LOCK
    from imagetrust.store.locks import exclusive

    home = tmp_path / "home"
    with store(home) as opened, exclusive(opened, RUN_LOCK, timeout=0):
        code = main(world.run_args(home, "--jobs", "1"))
    err = capsys.readouterr().err
    assert code == 1 and "another `imagetrust run` is working on this store" in err
    assert world.proxy.log == []  # it asked nothing of anyone


def test_a_worker_over_its_memory_cap_fails_its_images_not_the_run(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 MiB of address space: the worker cannot even finish starting. Every image that
    # needs a layer fails with a reason naming the cap; the run ends and says so.
    home = tmp_path / "home"
    code, doc, _ = run(world, home, capsys, "--jobs", "2", "--worker-memory", "1")
    assert code == 1
    assert doc["images"]["failed"] == 3 and doc["images"]["new"] == 0
    assert all("1 MiB" in failure["reason"] for failure in doc["failures"])
    code, doc, err = run(world, home, capsys, "--jobs", "2")
    assert code == 0, err
    assert doc["images"]["new"] == 3


def test_run_keeps_a_finding_set_per_database_state_and_a_verdict_per_image(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Findings are kept per database state (a change adds a set beside the old one), and
    each image's evidence reads them and gets its verdict in the image's transaction."""
    from imagetrust.evaluate.policy.stored import decision_history
    from imagetrust.evaluate.stored import latest_evidence
    from imagetrust.vulndb.findings_store import finding_items, finding_set_history

    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)
    home = tmp_path / "home"
    world.import_db(home)
    code, _, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    api = world.platform_digest("api")
    with store(home) as opened, opened.read() as conn:
        [first] = finding_set_history(conn, api)
        items = {(i["package"], i["id"]) for i in finding_items(conn, first.id)}
        [evidence] = latest_evidence(conn, api)
        decisions = decision_history(conn, digests=[api])
    assert ALPINE_FINDING in items and first.complete
    assert evidence.vulnerabilities is not None
    vulns = evidence.vulnerabilities
    assert vulns.known and vulns.db_state == first.db_state and vulns.os_covered is True
    assert vulns.counts == first.counts and vulns.total("HIGH") == first.counts["all"]["HIGH"]
    [decision] = decisions
    assert decision.digest == api and decision.verdict in {"approved", "conditional", "rejected"}
    # the run read tool's index (HEAD gave its digest): its evidence knows what the index
    # listed and what the config says, where api's (the Hub listed it) says "not read"
    tool = world.platform_digest("tool")
    with store(home) as opened, opened.read() as conn:
        [tool_evidence] = latest_evidence(conn, tool)
    assert tool_evidence.supply_chain.observed and tool_evidence.hygiene.healthcheck is not None
    assert not evidence.supply_chain.observed
    # another source joins the database: the next run matches again, and keeps both sets
    extra = Path(__file__).parent.parent / "fixtures" / "vulndb" / "osv" / "DSA-3029-1.json"
    assert main(["--home", str(home), "db", "import", str(extra), "--name", "extra"]) == 0
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0 and second["images"]["rematched"] == 3, err
    with store(home) as opened, opened.read() as conn:
        history = finding_set_history(conn, api)
    assert history[0].db_state == first.db_state
    assert len(history) == 2 and ("extra", 1) in history[1].db_state


def test_a_kev_only_update_flags_stored_findings_and_rejects_without_a_download(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The KEV catalog is part of the database: when CISA lists a CVE an analysed image
    has, the next run matches the stored SBOMs again (no pull), flags the finding with
    CISA's dates, and the default policy's known-exploited rule rejects the image."""
    from imagetrust.evaluate.policy.stored import decision_history
    from imagetrust.vulndb.findings_store import finding_items, finding_set_history

    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)
    home = tmp_path / "home"
    world.import_db(home)
    real = KEV / "known_exploited_vulnerabilities.json"
    assert main(["--home", str(home), "db", "import", str(real)]) == 0
    code, _, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    api = world.platform_digest("api")
    with store(home) as opened, opened.read() as conn:
        [before] = finding_set_history(conn, api)
        [decision] = decision_history(conn, digests=[api])
    assert before.known_exploited == ()
    assert not any(r.rule == "known-exploited" and r.kind == "fired" for r in decision.reasons)
    # CISA lists the image's OpenSSL CVE (a copy of the real catalog, one entry more)
    updated = kev_catalog_listing("CVE-2023-0286", tmp_path / "kev.json")
    assert main(["--home", str(home), "db", "import", str(updated)]) == 0
    world.proxy.log.clear()
    code, second, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0, err
    assert (second["images"]["rematched"], second["images"]["new"]) == (3, 0)
    assert world.requests("GET", "manifests") == [] and world.requests("GET", "blobs") == []
    with store(home) as opened, opened.read() as conn:
        history = finding_set_history(conn, api)
        items = finding_items(conn, history[-1].id)
        decisions = decision_history(conn, digests=[api])
    assert len(history) == 2 and history[-1].known_exploited == ("CVE-2023-0286",)
    [flagged] = [i for i in items if (i["package"], i["id"]) == ALPINE_FINDING]
    assert flagged["known_exploited"]["date_added"] == "2026-05-20"
    assert flagged["known_exploited"]["due_date"] == "2026-06-10"
    latest = decisions[-1]
    assert latest.verdict == "rejected"
    assert any(
        r.rule == "known-exploited" and r.kind == "fired" and "CVE-2023-0286" in r.detail
        for r in latest.reasons
    )
    # every output shows CISA's dates: show (JSON and table), the report's CSV and page
    api_name = f"{world.name('api')}:latest"
    capsys.readouterr()
    assert main(["--home", str(home), "show", api_name, "-f", "json"]) == 0
    [platform] = json.loads(capsys.readouterr().out)["tags"][0]["platforms"]
    [shown] = [f for f in platform["findings"] if (f["package"], f["id"]) == ALPINE_FINDING]
    assert shown["known_exploited"]["cve"] == "CVE-2023-0286"
    assert shown["known_exploited"]["due_date"] == "2026-06-10"
    assert main(["--home", str(home), "show", api_name]) == 0
    table = capsys.readouterr().out
    assert "known exploited (CISA)" in table and "added 2026-05-20, due 2026-06-10" in table
    csv_dir, site = tmp_path / "csv", tmp_path / "site"
    assert main(["--home", str(home), "report", "--format", "csv", "--out", str(csv_dir)]) == 0
    with (csv_dir / "findings.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["digest"] == api]
    [row] = [r for r in rows if (r["package"], r["id"]) == ALPINE_FINDING]
    assert (row["known_exploited"], row["kev_date_added"], row["kev_due_date"]) == (
        "true",
        "2026-05-20",
        "2026-06-10",
    )
    assert all(r["kev_due_date"] == "" for r in rows if r["known_exploited"] == "false")
    assert main(["--home", str(home), "report", "--out", str(site)]) == 0
    pages = [p.read_text() for p in (site / "images").glob("*.html") if api[7:19] in p.read_text()]
    assert pages and all("added 2026-05-20, due 2026-06-10" in page for page in pages)
    # the same catalog fetched again is the same state: nothing to match again
    assert main(["--home", str(home), "db", "import", str(updated)]) == 0
    code, third, err = run(world, home, capsys, "--jobs", "1")
    assert code == 0 and (third["images"]["unchanged"], third["images"]["rematched"]) == (3, 0)


def test_run_warns_about_an_old_database_and_refuses_past_max_db_age(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As ``scan``: a database older than ``[vulndb] max_age_days`` (7) is a warning, and
    ``--max-db-age`` refuses before the run starts (exit 1, nothing recorded, nothing
    fetched); the commands that judge stored findings warn too."""
    home = tmp_path / "home"
    code, _, err = run(world, home, capsys, "--jobs", "1", "--max-db-age", "5")
    assert code == 1 and "the vulnerability database is empty" in err and "--max-db-age 5" in err
    world.import_db(home)  # at the world's clock
    monkeypatch.setenv("IMAGETRUST_NOW", "2026-06-11T08:00:00Z")  # ten days later
    world.proxy.log.clear()
    code, doc, err = run(world, home, capsys, "--jobs", "1", "--max-db-age", "5")
    assert code == 1 and doc == {}, err
    assert "is 10.0 days old, over --max-db-age 5" in err and "db update" in err
    assert world.proxy.log == []
    with store(home) as opened, opened.read() as conn:
        assert list_runs(conn, kind="run") == []
    code, doc, err = run(world, home, capsys, "--jobs", "1", "--max-db-age", "30")
    assert code == 0 and doc["images"]["new"] == 3, err
    assert "warning: vulnerability source" in err and "is 10.0 days old" in err
    for command in (
        ["evaluate", "--offline"],
        ["policy", "check"],
        ["report", "--format", "md", "--out", "-"],
    ):
        capsys.readouterr()
        main(["--home", str(home), *command])
        assert "warning: vulnerability source" in capsys.readouterr().err, command
    monkeypatch.setenv("IMAGETRUST_NOW", "2026-06-03T08:00:00Z")  # two days: fresh enough
    code, _, err = run(world, home, capsys, "--jobs", "1", "--max-db-age", "5")
    assert code == 0 and "warning" not in err, err
