"""The walking skeleton runs offline end to end and records itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagetrust.clock import Clock
from imagetrust.demo import DATA as DEMO_DATA
from imagetrust.demo import run_demo
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, list_runs, run_item_errors


def test_demo_runs_every_stage_and_is_repeatable(tmp_path: Path, store_url: str) -> None:
    clock = Clock.from_text("2026-11-23T08:00:00Z")
    seen: list[str] = []
    first = run_demo(
        out_dir=tmp_path / "out",
        home=tmp_path / "home",
        db_url=store_url,
        clock=clock,
        on_step=lambda s: seen.append(s.name),
    )
    second = run_demo(
        out_dir=tmp_path / "out", home=tmp_path / "home", db_url=store_url, clock=clock
    )
    assert seen == [s.name for s in first.steps]
    assert seen[0] == "store" and seen[-1] == "summary" and "catalog" in seen
    catalog = json.loads((tmp_path / "out" / "catalog.json").read_text())
    states = {repo["name"]: repo["state"] for repo in catalog["repositories"]}
    assert states["python"] == "active" and states["unit"] == "deprecated"
    assert states["openjdk"] == "deprecated" and states["java"] == "removed"
    assert catalog["kind"] == "catalog" and catalog["snapshot"]["sources"]["hub"].startswith(
        "recording:"
    )
    # Resolve: the latest tags from the recording's digests (no registry asked); python's
    # Windows image is listed as not covered.
    resolution = json.loads((tmp_path / "out" / "resolve.json").read_text())
    recorded = json.loads((DEMO_DATA / "hub/tags/python/page-1.json").read_text())["results"]
    latest = next(tag for tag in recorded if tag["name"] == "latest")
    python = next(t for t in resolution["targets"] if t["tags"] == ["python:latest"])
    assert python["digest"] == latest["digest"] and python["source"] == "hub"
    assert {p["platform"] for p in python["platforms"]} == {
        "/".join(filter(None, (i["os"], i["architecture"], i["variant"])))
        for i in latest["images"]
        if i["os"] == "linux"
    }
    assert [n["platform"] for n in resolution["not_covered"]] == ["windows/amd64"]
    assert resolution["problems"] == []
    inspections = json.loads((tmp_path / "out" / "images.json").read_text())
    assert inspections["kind"] == "image-inspections"
    by_ref = {doc["reference"].rsplit(":", 1)[-1]: doc for doc in inspections["images"]}
    debian = by_ref["debian-12"]
    assert debian["is_index"] and debian["platforms_available"] == ["linux/amd64", "linux/arm64/v8"]
    assert len(debian["attestations"]) == 2
    assert [layer["compression"] for layer in by_ref["alpine-3.16-app"]["images"][0]["layers"]] == [
        "gzip",
        "zstd",
    ]
    # Deterministic builds: the second run read exactly the same image digests.
    assert seen.count("inspect") == 3
    assert [s.detail for s in first.steps if s.name == "inspect"] == [
        s.detail for s in second.steps if s.name == "inspect"
    ]
    # SBOMs: the Debian image's packages are its bundled dpkg database, read from its layer
    # (cached on the second run), and each has a CycloneDX document.
    assert seen.count("sbom") == 3
    assert "0/1 layers from cache" in next(s.detail for s in first.steps if s.name == "sbom")
    assert "1/1 layers from cache" in next(s.detail for s in second.steps if s.name == "sbom")
    debian_sbom = json.loads((tmp_path / "out" / "sbom" / "debian-12.json").read_text())
    status = (DEMO_DATA / "rootfs/debian12/var/lib/dpkg/status").read_text()
    assert {p["name"] for p in debian_sbom["images"][0]["packages"]} == {
        line.split(": ", 1)[1] for line in status.splitlines() if line.startswith("Package: ")
    }
    cdx = json.loads((tmp_path / "out" / "sbom" / "alpine-3.16-app.cdx.json").read_text())
    assert cdx["bomFormat"] == "CycloneDX" and len(cdx["components"]) >= 14
    # Scans: the bundled advisories matched by source package and release.
    scans = json.loads((tmp_path / "out" / "scan.json").read_text())
    # ``kind: scans``, each image in exactly the shape ``imagetrust scan -f json`` gives one
    assert scans["kind"] == "scans"
    by_image = {Path(doc["image"]["ref"].rsplit(":", 1)[-1]).name: doc for doc in scans["images"]}
    alpine_ids = {(v["package"], v["id"]) for v in by_image["alpine-3.16.tar"]["vulnerabilities"]}
    assert ("libssl1.1", "ALPINE-CVE-2023-0286") in alpine_ids
    debian_vulns = by_image["debian-12"]["vulnerabilities"]
    assert {v["fix_state"] for v in debian_vulns} == {"wont-fix"}
    assert any(v["package"] == "libc6" and v["source_name"] == "glibc" for v in debian_vulns)
    # Evidence: each image as the catalog repository and tag it stands for.
    assert seen.count("evaluate") == 3
    evaluation = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    evidence = {
        f"{e['subject']['repository']}:{e['subject']['tag']}": e for e in evaluation["images"]
    }
    # alpine-linux.md: 3.16 eol 2024-05-23; debian.md: 12 LTS (eoes) until 2028-06-30
    assert (evidence["alpine:3.16"]["os"]["status"], evidence["alpine:3.16"]["os"]["eol_date"]) == (
        "eol",
        "2024-05-23",
    )
    assert evidence["debian:12"]["os"]["status"] == "supported"
    assert evidence["alpine:3.16"]["tag_support"]["supported"] is False  # not in library/alpine
    assert evidence["debian:12"]["tag_support"]["supported"] is True
    assert evidence["debian:12"]["supply_chain"]["sbom"] is True  # built with attestations
    assert evidence["alpine:3.16-app"]["hygiene"]["runs_as_root"] is False  # USER app
    assert evidence["debian:12"]["popularity"]["pull_count"] == 1947003566  # the recording
    # Verdicts: the default policy; Alpine 3.16's end of life (2024-05-23 above) is a
    # blocking rule, and no demo image is approved while its vulnerabilities are unknown.
    assert seen.count("policy") == 3
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    assert policy["kind"] == "policy-check" and policy["policy"]["name"] == "imagetrust-default"
    items = {f"{i['image']}:{i['tag']}": i for i in policy["items"]}
    alpine = items["alpine:3.16"]
    assert alpine["verdict"] == "rejected"
    assert "os-eol: alpine-linux 3.16, support ended 2024-05-23" in [
        r["text"] for r in alpine["reasons"] if r["blocking"]
    ]
    assert all(i["verdict"] != "approved" for i in policy["items"])
    assert all(i["grade"] in "ABCDF" and 0 <= i["score"] <= 100 for i in policy["items"])
    assert (tmp_path / "out" / "allowlist.txt").read_text() == ""
    review = json.loads((tmp_path / "out" / "review.json").read_text())
    assert review["kind"] == "review"
    assert {(r["image"], r["tag"], r["eol_date"]) for r in review["unsupported_os"]} == {
        ("alpine", "3.16", "2024-05-23"),
        ("alpine", "3.16-app", "2024-05-23"),
    }
    assert (
        [r["image"] for r in review["deprecated_published"]]
        == [
            repo["name"]
            for repo in catalog["repositories"]
            if repo["state"] == "deprecated" and repo["published"]
        ]
        == ["openjdk"]
    )
    assert {r["image"] for r in review["vulnerabilities_unknown"]} == {"alpine", "debian"}
    summary = json.loads(first.summary_path.read_text())
    assert summary["schema_version"] == 1 and summary["kind"] == "demo-summary"
    assert summary["run_id"] == second.run_id > first.run_id
    assert summary["generated_at"] == "2026-11-23T08:00:00+00:00"
    with Store.open(store_url) as store, store.read() as conn:
        runs = list_runs(conn)
    assert [r.kind for r in runs] == ["demo", "catalog", "demo", "catalog"][::-1]
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)


def test_a_failing_demo_step_records_the_run_failed(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's run is committed as running before its steps: a step that fails must not
    # leave it "running" for good.
    import imagetrust.demo as demo

    def broken(*_: object) -> None:
        raise RuntimeError("the image builder broke")

    monkeypatch.setattr(demo, "_images_step", broken)
    clock = Clock.from_text("2026-11-23T08:00:00Z")
    with pytest.raises(RuntimeError, match="builder broke"):
        run_demo(out_dir=tmp_path / "out", home=tmp_path / "home", db_url=store_url, clock=clock)
    with Store.open(store_url) as store, store.read() as conn:
        runs = {r.kind: r for r in list_runs(conn)}
        errors = run_item_errors(conn, runs["demo"].id)
    assert runs["demo"].status is RunStatus.FAILED and runs["demo"].finished_at is not None
    assert runs["catalog"].status is RunStatus.SUCCEEDED  # the step before it had finished
    assert [(e.stage, e.message) for e in errors] == [("demo", "the image builder broke")]


def test_demo_cli_defaults_home_under_out(tmp_path: Path) -> None:
    from imagetrust.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    assert (out / "home" / "imagetrust.db").is_file()
    assert (out / "summary.json").is_file()


def test_the_demo_summary_adds_up_and_ends_with_commands_that_work(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import re
    import shlex

    from imagetrust.cli.main import main

    out = tmp_path / "out"
    home = tmp_path / "home"
    assert main(["--home", str(home), "--db-url", store_url, "demo", "--out", str(out)]) == 0
    terminal = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    # every step the terminal showed is in the file, the summary's own included
    shown = [line[2:] for line in terminal.err.splitlines() if line.startswith("✓ ")]
    in_file = [f"{s['name']}: {s['detail']}" for s in summary["steps"]]
    assert len(shown) == len(in_file) and in_file[-1].startswith("summary: wrote")
    assert f"demo finished: run #{summary['run_id']}, {len(in_file)} steps" in terminal.out
    assert f"recorded as run #{summary['run_id']}" in in_file[1]
    with Store.open(store_url) as store, store.read() as conn:
        runs = {r.id: r.kind for r in list_runs(conn)}
    assert runs[summary["run_id"]] == "demo"
    catalog_run = int(re.search(r"run #(\d+)", in_file[2]).group(1))  # type: ignore[union-attr]
    assert in_file[2].startswith("catalog:") and runs[catalog_run] == "catalog"
    # advisories per source, NVD's severity-only records included, add up to the total
    per_source = {
        m.group(1): int(m.group(2))
        for step in summary["steps"]
        if (m := re.match(r"(demo-\w+): imported (\d+) advisories", step["detail"]))
    }
    nvd_files = len(list((DEMO_DATA / "vulndb" / "nvd").glob("*.json")))
    assert per_source["demo-nvd"] == nvd_files > 0
    total = next(s["detail"] for s in summary["steps"] if "advisories in" in s["detail"])
    assert total == f"{sum(per_source.values())} advisories in {len(per_source)} sources"
    code = main(["--db-url", store_url, "--home", str(home), "db", "status", "-f", "json"])
    status = json.loads(capsys.readouterr().out)
    assert code == 0 and {s["name"]: s["records"] for s in status["sources"]} == per_source
    # the commands it ends with work as printed, against the demo's store
    # it ends with the report's site: its index.html, written by the last stage
    last = terminal.out.rstrip().splitlines()
    index = out / "site" / "index.html"
    assert last[-1] == f"open the report: {index}" and index.is_file()
    assert f"report: wrote the site: {index}" in in_file
    assert summary["next_commands"] and last[-2].endswith(summary["next_commands"][-1])
    refs = " ".join(summary["next_commands"])
    assert "oci-layout:" in refs and "docker-archive:" in refs and f"--home {home}" in refs
    for command in summary["next_commands"]:
        argv = shlex.split(command)
        assert argv[0] == "imagetrust"
        # the store is PostgreSQL in one run of this test: the printed URL hides the
        # password (there is none here), so the command is run as printed
        assert main(argv[1:]) == 0, command
        capsys.readouterr()
