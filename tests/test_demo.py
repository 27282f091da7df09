"""The complete demo: ``run`` twice a week apart, offline, on bundled data, within two minutes.

Expectations come from the bundled data itself (the package databases, the advisories, the
end-of-life data, the recording, the images as built), not from earlier demo output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import imagetrust.evaluate as _evaluate
from imagetrust.clock import Clock
from imagetrust.demo import DATA as DEMO_DATA
from imagetrust.demo import run_demo
from imagetrust.demo.images import build_demo_images
from imagetrust.store.database import Store
from imagetrust.store.runs import RunStatus, list_runs, run_item_errors
from imagetrust.testkit.registry import find_registry_binary
from tests.services.require import unavailable

FIRST, SECOND = "2026-08-24T08:00:00+00:00", "2026-08-31T08:00:00+00:00"
TIME_BUDGET = 120.0  # seconds: the "under two minutes"


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def eol(product: str, cycle: str, field: str) -> str:
    data = read(Path(_evaluate.__file__).parent / "data" / "endoflife.json")
    release = next(r for r in data["products"][product]["releases"] if r["cycle"] == cycle)
    return str(release[field])


def status_packages(path: Path) -> set[str]:
    return {
        line.split(": ", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith("Package: ")
    }


def test_the_demo_runs_the_product_twice_a_week_apart(tmp_path: Path, store_url: str) -> None:
    out = tmp_path / "out"
    seen: list[str] = []
    result = run_demo(
        out_dir=out,
        home=tmp_path / "home",
        db_url=store_url,
        clock=Clock(),  # no --now: the bundled data's own week
        on_step=lambda s: seen.append(s.name),
    )
    assert result.seconds < TIME_BUDGET
    assert seen == [s.name for s in result.steps] and seen[0] == "store" and seen[-1] == "summary"
    assert result.served_by == ("docker-registry" if find_registry_binary() else "oci-layouts")
    week1, week2 = build_demo_images(1), build_demo_images(2)

    # Two real runs, a week apart, each with its catalog refresh; everything succeeded.
    with Store.open(store_url) as store, store.read() as conn:
        runs = list_runs(conn, limit=50)
    by_kind = {kind: [r for r in runs if r.kind == kind] for kind in {r.kind for r in runs}}
    assert sorted(r.started_at.isoformat() for r in by_kind["run"]) == [FIRST, SECOND]
    assert sorted(r.id for r in by_kind["run"]) == result.runs
    assert len(by_kind["catalog"]) == 2 and len(by_kind["demo"]) == 1
    assert all(r.status is RunStatus.SUCCEEDED and r.error_count == 0 for r in runs)
    platforms = sum(len(getattr(i.built, "images", [i.built])) for i in week1)
    first, second = (read(out / f"run-week{n}.json") for n in (1, 2))
    assert first["targets"] == len(week1) and first["images"]["new"] == platforms
    assert first["tags"] == sum(len(i.tags) for i in week1)
    # The second week: the rebuilt image is new (its one layer already cached: only its
    # config changed), every other image is matched again against the changed database.
    rebuilt = [i for i in week2 if i.digest not in {o.digest for o in week1}]
    assert [i.label for i in rebuilt] == ["debian:12"]
    assert second["images"]["new"] == len(rebuilt[0].built.images)  # type: ignore[union-attr]
    assert second["images"]["rematched"] == platforms - second["images"]["new"]
    assert second["images"]["layers_fetched"] == 0

    catalog = read(out / "catalog.json")
    states = {repo["name"]: repo["state"] for repo in catalog["repositories"]}
    assert states["python"] == "active" and states["unit"] == "deprecated"
    assert states["openjdk"] == "deprecated" and states["java"] == "removed"
    assert states["almalinux"] == "active"

    # What to use instead: debian:10 (ended) gets debian:12, judged in the same run
    recommended = {
        (r["image"], r["tag"]): r for r in read(out / "recommendations.json")["recommendations"]
    }
    (instead, *_) = recommended[("debian", "10")]["alternatives"]
    assert (instead["tag"], instead["verdict"], instead["kind"]) == (
        "12",
        "approved",
        "same-variant",
    )
    assert instead["gains"][0]["eol"]["current"]["status"] == "eol"

    # Evidence, from the data: end-of-life dates, deprecation, attestations, hygiene.
    policy = read(out / "policy.json")
    items = {(i["image"], i["tag"], i["platform"]): i for i in policy["items"]}
    judged = {(image, tag) for image, tag, _ in items}
    # each image judged once, as one of the tags naming it (tags sharing a digest are one)
    assert len(judged) == len(week1)
    assert all(any(n == i.name and t in i.tags for n, t in judged) for i in week1)

    def as_judged(image: str, tag: str) -> tuple[str, str]:
        demo = next(i for i in week1 if i.name == image and tag in i.tags)
        return next((n, t) for n, t in judged if n == image and t in demo.tags)

    assert {p for image, tag, p in items if (image, tag) == as_judged("debian", "12")} == {
        "linux/amd64",
        "linux/arm64/v8",
    }
    debian12 = items[(*as_judged("debian", "12"), "linux/amd64")]
    assert debian12["index_digest"] == rebuilt[0].digest  # judged as rebuilt, not as before
    reasons = {key: [r["text"] for r in item["reasons"]] for key, item in items.items()}

    def fired(image: str, tag: str, prefix: str) -> bool:
        texts = reasons[(*as_judged(image, tag), "linux/amd64")]
        return any(text.startswith(prefix) for text in texts)

    assert fired("debian", "10", f"os-eol: debian 10, LTS ended {eol('debian', '10', 'eoes')}")
    assert fired(
        "alpine",
        "3.16",
        f"os-eol: alpine-linux 3.16, support ended {eol('alpine-linux', '3.16', 'eol')}",
    )
    assert fired("openjdk", "27-rc-jdk-slim-bookworm", "deprecated: ")
    assert fired("node", "22-bookworm", "secret-env: NPM_TOKEN")
    assert fired("node", "22-bookworm", "runs-as-root")
    assert not fired("debian", "12", "no-attestations")  # the index carries them
    assert fired("almalinux", "9", "no-attestations")
    for key in (("debian", "10"), ("alpine", "3.16"), ("openjdk", "27-rc-jdk-slim-bookworm")):
        assert items[(*as_judged(*key), "linux/amd64")]["verdict"] == "rejected"  # blocking
    # Debian 10's packages: no advisory in the bundled database names Debian 10
    assert fired("debian", "10", "not-covered")

    # The diff between the two runs: the facts of the second week, and nothing else.
    diff = read(out / "diff.json")
    assert diff["since"]["run_id"] == result.runs[0] and diff["until"] == SECOND
    debian_before = next(i.digest for i in week1 if i.label == "debian:12")
    assert [(t["image"], t["tag"], t["before"], t["after"]) for t in diff["tags"]["moved"]] == [
        ("debian", tag, debian_before, rebuilt[0].digest) for tag in ("12", "bookworm")
    ]
    new = {(f["image"], f["id"], f["package"]) for f in diff["findings"]["new"]}
    musl = read(DEMO_DATA / "vulndb-week2/alpine/ALPINE-CVE-2025-26519.json")["id"]
    alsa = read(DEMO_DATA / "vulndb-week2/almalinux/ALSA-2024-0310.json")["id"]
    assert new == {
        ("alpine", musl, "musl"),  # musl 1.2.3-r0 < 1.2.3-r4
        ("alpine", musl, "musl-utils"),
        ("almalinux", alsa, "openssl"),  # 1:3.0.7-24.el9 < 1:3.0.7-25.el9_3
        ("almalinux", alsa, "openssl-libs"),
    }
    assert diff["findings"]["fixed"] == [] and diff["counts"]["newly_rejected"] == 0
    # each --fail-on condition on its own: new findings, yet no tag newly rejected
    from imagetrust.cli.main import main

    home = ["--home", str(tmp_path / "home"), "--db-url", store_url, "--now", SECOND]
    for condition, code in (("new-rejected", 0), ("new-finding", 3), ("any", 3)):
        argv = [*home, "diff", "--format", "json", "--fail-on", condition]
        assert main(argv) == code, condition
    # AlmaLinux's advisories arrived: its packages are covered now, where they were not
    [alma] = diff["verdicts"]
    assert (alma["image"], alma["tag"]) == as_judged("almalinux", "9")
    assert alma["before"]["verdict"] == "rejected" and alma["after"]["verdict"] != "rejected"
    assert (out / "diff.md").read_text().startswith("# imagetrust: what changed")
    history = read(out / "history.json")
    assert {len({e["decided_at"] for e in v}) for v in history["tags"].values()} == {2}
    assert history["pulls"]["debian"]["since"] == FIRST

    # the report's site, and the outputs beside it
    summary = read(result.summary_path)
    index = out / "site" / "index.html"
    assert summary["kind"] == "demo-summary" and summary["report"] == str(index)
    assert index.is_file() and "debian" in index.read_text()
    assert {Path(p).name for p in summary["outputs"]} >= {
        "catalog.json",
        "policy.json",
        "diff.json",
        "diff.md",
        "history.json",
        "allowlist.txt",
    }
    assert summary["generated_at"] == SECOND and summary["runs"] == result.runs
    allowed = (out / "allowlist.txt").read_text()
    assert debian_before not in allowed  # an old digest is never admitted


def test_the_demo_summary_adds_up_and_ends_with_commands_that_work(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    from imagetrust.cli.main import main

    out = tmp_path / "out"
    home = tmp_path / "home"
    # SQLite: the CLI's defaults (the store in out/home); PostgreSQL: a store by URL.
    if store_url.startswith("sqlite"):
        assert main(["demo", "--out", str(out)]) == 0
        home = out / "home"
        assert (home / "imagetrust.db").is_file()
    else:
        assert main(["--home", str(home), "--db-url", store_url, "demo", "--out", str(out)]) == 0
    terminal = capsys.readouterr()
    summary = read(out / "summary.json")
    shown = [line[2:] for line in terminal.err.splitlines() if line.startswith("✓ ")]
    in_file = [f"{s['name']}: {s['detail']}" for s in summary["steps"]]
    assert len(shown) == len(in_file) and in_file[-1].startswith("summary: wrote")
    assert f"demo finished: run #{summary['run_id']}" in terminal.out
    # it ends with the report's site: its index.html, written by the last stage
    last = terminal.out.rstrip().splitlines()
    index = out / "site" / "index.html"
    assert last[-1] == f"open the report: {index}" and index.is_file()
    assert f"report: wrote the site: {index}" in in_file
    # the commands before it work as printed, against the demo's store
    assert summary["next_commands"] and last[-2].endswith(summary["next_commands"][-1])
    refs = " ".join(summary["next_commands"])
    assert "oci-layout:" in refs and f"--home {home}" in refs and " diff " in refs
    for command in summary["next_commands"]:
        argv = shlex.split(command)
        assert argv[0] == "imagetrust"
        # the store is PostgreSQL in one run of this test: the printed URL hides the
        # password (there is none here), so the command is run as printed
        assert main(argv[1:]) == 0, command
        capsys.readouterr()


def test_without_docker_registry_the_demo_serves_its_layouts_and_reruns_fetch_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imagetrust.testkit.registry as registry

    monkeypatch.setattr(registry, "find_registry_binary", lambda: None)
    kwargs: dict[str, Any] = {
        "out_dir": tmp_path / "out",
        "home": tmp_path / "home",
        "db_url": f"sqlite:///{tmp_path / 'home' / 'imagetrust.db'}",
        "clock": Clock(),
    }
    first = run_demo(**kwargs)
    assert first.served_by == "oci-layouts"
    assert any("docker-registry is not installed" in s.detail for s in first.steps)
    week = read(tmp_path / "out" / "run-week1.json")
    assert week["images"]["new"] > 0 and week["images"]["failed"] == 0
    # The same folders again: every image is known, every layer cached.
    second = run_demo(**kwargs)
    assert second.run_id > first.run_id
    for number in (1, 2):
        images = read(tmp_path / "out" / f"run-week{number}.json")["images"]
        assert images["layers_fetched"] == 0 and images["new"] == 0 and images["failed"] == 0


def test_the_fallback_registry_sends_each_response_without_waiting_for_an_ack() -> None:
    """Headers and body are two writes: with Nagle's algorithm on, a kept-alive connection
    waits ~40 ms for the client's delayed ACK before each body (measured: 44.7 ms against
    0.5 ms a request), which would make the demo without docker-registry look slow."""
    import socket

    from imagetrust.testkit.registry import LayoutRegistry

    with LayoutRegistry({}) as registry:
        handler = registry._server.RequestHandlerClass
        assert getattr(handler, "disable_nagle_algorithm", False) is True
        with socket.create_connection(("127.0.0.1", registry.port)) as client:
            client.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")


def test_a_failing_demo_step_records_the_run_failed(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's run is committed as running before its steps: a step that fails must not
    # leave it "running" for good.
    import imagetrust.demo as demo

    def broken(*_: object) -> None:
        raise RuntimeError("the image builder broke")

    monkeypatch.setattr(demo, "_images_step", broken)
    with pytest.raises(RuntimeError, match="builder broke"):
        run_demo(out_dir=tmp_path / "out", home=tmp_path / "home", db_url=store_url, clock=Clock())
    with Store.open(store_url) as store, store.read() as conn:
        runs = {r.kind: r for r in list_runs(conn)}
        errors = run_item_errors(conn, runs["demo"].id)
    assert runs["demo"].status is RunStatus.FAILED and runs["demo"].finished_at is not None
    assert [(e.stage, e.message) for e in errors] == [("demo", "the image builder broke")]


def test_the_bundled_recording_names_the_images_the_demo_builds(tmp_path: Path) -> None:
    from imagetrust.demo.recording import WEEK_ONE, WEEK_TWO_CHANGES, stamp, week_recording
    from imagetrust.testkit.hub_recording import load_recording

    for folder, week in ((WEEK_ONE, 1), (WEEK_TWO_CHANGES, 2)):
        copy = tmp_path / f"week{week}"
        shutil.copytree(folder, copy)
        assert stamp(copy, build_demo_images(week)) == []  # already the images' digests
    # the second week's Hub, read through the live parsers: a week's pulls more everywhere
    repos, _ = load_recording(WEEK_ONE)
    later, tags = load_recording(week_recording(tmp_path, 2, build_demo_images(2)))
    before = {r.name: r.pull_count or 0 for r in repos}
    assert all((r.pull_count or 0) > before[r.name] for r in later)
    debian = {t.name: t.digest for t in tags["debian"]}
    assert debian["12"] == debian["bookworm"] != debian["10"] == debian["buster"]


def test_the_demo_rpm_image_holds_what_rpm_reads_from_its_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.cli.main import main
    from imagetrust.demo.images import write_layouts

    rpm = shutil.which("rpm")
    if rpm is None:
        unavailable("rpm", "the rpm binary (Debian package rpm) is not installed")
        return
    database = DEMO_DATA / "rootfs/almalinux9/var/lib/rpm"
    listed = subprocess.run(
        [
            rpm,
            "--dbpath",
            str(database),
            "-qa",
            "--qf",
            "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    expected = {tuple(line.split(" ")) for line in listed.splitlines()}
    layouts = write_layouts(build_demo_images(1), tmp_path / "images")
    ref = f"oci-layout:{layouts['almalinux']}:9"
    assert main(["--home", str(tmp_path / "home"), "sbom", ref, "--format", "json"]) == 0
    packages = read_json(capsys.readouterr().out)["images"][0]["packages"]
    found = {
        (p["name"], p["version"] if ":" in p["version"] else f"0:{p['version']}") for p in packages
    }
    assert found == expected
    # and the Debian 12 image holds every package of its bundled status file
    ref = f"oci-layout:{layouts['debian']}:12"
    assert main(["--home", str(tmp_path / "home"), "sbom", ref, "--format", "json"]) == 0
    packages = read_json(capsys.readouterr().out)["images"][0]["packages"]
    assert {p["name"] for p in packages} == status_packages(
        DEMO_DATA / "rootfs/debian12/var/lib/dpkg/status"
    )


def read_json(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    return document
