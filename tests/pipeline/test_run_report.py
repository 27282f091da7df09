"""``run --report DIR``: the site from what the run stored, and time to fix across runs.

Two real runs against the loopback registry: the first finds Alpine's libssl1.1 finding
(fixed in the demo's real secdb) in every image; then ``api`` is rebuilt on a base without
libssl1.1 and the Hub lists the new digest; the second run, five days later, analyses it.
Time to fix of that finding on ``api:latest`` is then exactly those five days, and ``web``
(not rebuilt) still has it, open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.testkit.builder import ImageSpec, Layer, build_image
from tests.pipeline.world import ROOTFS, World, own_layer

FIRST = "2026-06-01T08:00:00Z"
SECOND = "2026-06-06T08:00:00Z"
FINDING = ("ALPINE-CVE-2023-0286", "libssl1.1")


def base_without_libssl() -> Layer:
    """The real Alpine 3.16 package database less its libssl1.1 entry (an upgrade that
    dropped the package), with the rest of the real root filesystem."""
    installed = (ROOTFS / "alpine" / "lib" / "apk" / "db" / "installed").read_text()
    kept = [p for p in installed.split("\n\n") if "\nP:libssl1.1\n" not in f"\n{p}\n"]
    assert len(kept) < len(installed.split("\n\n"))
    files = {
        str(p.relative_to(ROOTFS / "alpine")): p.read_bytes()
        for p in (ROOTFS / "alpine").rglob("*")
        if p.is_file()
    }
    files["lib/apk/db/installed"] = "\n\n".join(kept).encode()
    return Layer.from_files(files)


def test_run_report_writes_the_site_and_follows_a_fix(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    site = tmp_path / "site"
    world.import_db(home)
    monkeypatch.setenv("IMAGETRUST_NOW", FIRST)
    capsys.readouterr()
    assert main(world.run_args(home, "--jobs", "1", "--report", str(site))) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["report"] == str(site / "index.html") and (site / "index.html").is_file()
    # the rebuild, listed by the Hub
    world.built["api"] = build_image(ImageSpec(layers=[base_without_libssl(), own_layer("api")]))
    world.publish("api", world.built["api"])
    world.write_hub()
    monkeypatch.setenv("IMAGETRUST_NOW", SECOND)
    assert main(world.run_args(home, "--jobs", "1", "--report", str(site))) == 0
    capsys.readouterr()
    # the site agrees with policy check on the same store
    assert main(["--home", str(home), "policy", "check", "--format", "json"]) in (0, 3)
    checked = json.loads(capsys.readouterr().out)
    html = (site / "index.html").read_text()
    for repository in checked["repositories"]:
        assert f'data-name="{repository["image"]}"\ndata-verdict="{repository["verdict"]}"' in html
    # time to fix, from the JSON rendering of the same model
    assert main(["--home", str(home), "report", "--format", "json", "--out", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    fixes = {(t["image"], t["id"], t["package"]): t for t in report["trends"]["fix_times"]}
    api = fixes[(f"{world.name('api')}:latest", *FINDING)]
    assert (api["fix_shown"], api["fixed"], api["days"]) == (
        "2026-06-01T08:00:00Z",
        "2026-06-06T08:00:00Z",
        5.0,
    )
    web = fixes[(f"{world.name('web')}:latest", *FINDING)]
    assert web["fixed"] is None and web["days"] == 5.0
