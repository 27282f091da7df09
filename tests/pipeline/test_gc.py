"""``imagetrust gc`` on a store two real runs filled: it frees what no current tag needs and
keeps every history; a rerun afterwards fetches nothing that is still cached."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from imagetrust.cli.main import main
from imagetrust.paths import HomeLayout
from imagetrust.sbom.cache import LayerCache
from imagetrust.store.database import Store
from imagetrust.store.schema import (
    finding_set_items,
    finding_sets,
    image_evidence,
    image_results,
    image_sboms,
    image_verdicts,
    publisher_sboms,
    run_errors,
    runs,
    tag_history,
)
from imagetrust.testkit.builder import BuiltImage, ImageSpec, build_image
from tests.pipeline.test_diff import trivy_report_about
from tests.pipeline.world import VULNDB, World, base_layer, own_layer

FIRST = "2026-04-01T08:00:00Z"
SECOND = "2026-06-01T08:00:00Z"  # 61 days later: the first api image is a month past 30 days
KEPT_HISTORY = (tag_history, image_verdicts, image_evidence, runs)


def store() -> Store:
    return Store.open(os.environ["IMAGETRUST_DB_URL"])


def counts(*tables: Any) -> dict[str, int]:
    with store() as opened, opened.read() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables
        }


def run(world: World, home: Path, now: str) -> int:
    return main(["--now", now, *world.run_args(home, "--jobs", "1")])


def gc(home: Path, now: str, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["--now", now, "--home", str(home), "gc", "--format", "json", *args]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def consistent() -> None:
    """Every analysed result has its SBOM; every finding belongs to a set; every set's image
    has its SBOM: nothing names what is gone."""
    with store() as opened, opened.read() as conn:
        sboms = {(r.digest, r.analyser_version) for r in conn.execute(select(image_sboms))}
        for row in conn.execute(select(image_results).where(image_results.c.status == "analysed")):
            assert (row.manifest_digest, row.analyser_version) in sboms, row
        sets = set(conn.execute(select(finding_sets.c.id)).scalars())
        assert set(conn.execute(select(finding_set_items.c.set_id)).scalars()) <= sets
        for row in conn.execute(select(finding_sets)):
            assert (row.digest, row.analyser_version) in sboms, row.digest


def layer_entries(home: Path) -> dict[str, int]:
    """Layer digest -> cache entries."""
    found: dict[str, int] = {}
    for path in HomeLayout(home).layer_cache.rglob("*.itl"):
        digest = f"{path.parent.parent.parent.name}:{path.parent.name}"
        found[digest] = found.get(digest, 0) + 1
    return found


def test_gc_frees_what_no_current_tag_needs_and_a_rerun_fetches_nothing_cached(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGETRUST_DB_URL", store_url)  # SQLite and PostgreSQL
    home = tmp_path / "home"
    assert main(["--now", FIRST, "--home", str(home), "db", "import", str(VULNDB)]) == 0
    (world.library / world.name("ghost")).write_text(
        (world.library / world.name("api")).read_text()
    )
    assert run(world, home, FIRST) == 1  # ghost is in no registry: an item error
    old: BuiltImage = world.built["api"]  # type: ignore[assignment]
    old_image = world.platform_digest("api")
    old_own_layer = old.layers[1].digest
    base = old.layers[0].digest
    # what else is kept of the old image: another engine's report, the publisher's SBOM
    report = trivy_report_about(old.config.digest, tmp_path / "trivy.json", FIRST)
    args = ("import", str(report), "--engine", "trivy", "--digest", old_image)
    assert main(["--now", FIRST, "--home", str(home), *args]) == 0
    with store() as opened, opened.transaction() as conn:
        conn.execute(
            publisher_sboms.insert().values(
                digest=old_image, status="absent", read_at=datetime.fromisoformat(FIRST)
            )
        )
    # api is rebuilt (a new layer of its own); ghost is gone; two months pass
    (world.library / world.name("ghost")).unlink()
    rebuilt = build_image(ImageSpec(layers=[base_layer(), own_layer("api-2")]))
    world.built["api"] = rebuilt
    world.publish("api", rebuilt)
    world.write_hub()
    assert run(world, home, SECOND) == 0
    new_image = world.platform_digest("api")
    cache = layer_entries(home)
    assert {base, old_own_layer, rebuilt.layers[1].digest} <= set(cache)
    history = counts(*KEPT_HISTORY)
    before = counts(image_sboms, finding_sets, image_results, run_errors)
    assert before["run_errors"] >= 1

    dry = gc(home, SECOND, capsys, "--keep-days", "30", "--dry-run")
    assert dry["dry_run"] and dry["digests"]["pruned"] == 1
    assert dry["freed"]["sboms"] == 1 and dry["freed"]["cache_entries"] == 1
    assert counts(image_sboms, finding_sets, image_results, run_errors) == before
    assert layer_entries(home) == cache and counts(*KEPT_HISTORY) == history

    freed = gc(home, SECOND, capsys, "--keep-days", "30")
    assert freed["freed"]["sboms"] == 1 and freed["freed"]["results"] == 1
    assert freed["freed"]["finding_sets"] >= 2 and freed["freed"]["findings"] >= 1
    assert freed["freed"]["publisher_sboms"] == 1
    with store() as opened, opened.read() as conn:
        left = conn.execute(select(finding_sets.c.engine).where(finding_sets.c.digest == old_image))
        assert list(left) == []
        kept = conn.execute(select(publisher_sboms).where(publisher_sboms.c.digest == old_image))
        assert list(kept) == []
    assert freed["freed"]["run_errors"] == before["run_errors"]
    assert freed["freed"]["cache_entries"] == 1 and freed["freed"]["cache_bytes"] > 0
    with store() as opened, opened.read() as conn:
        digests = set(conn.execute(select(image_sboms.c.digest)).scalars())
    assert old_image not in digests and new_image in digests
    # the old image's own layer went; the base layer every image shares stayed
    assert set(layer_entries(home)) == set(cache) - {old_own_layer}
    after = counts(image_sboms, finding_sets, image_results, run_errors)
    assert after["image_sboms"] == before["image_sboms"] - 1 and after["run_errors"] == 0
    history_after = counts(*KEPT_HISTORY)
    assert {k: v for k, v in history_after.items() if k != "runs"} == {
        k: v for k, v in history.items() if k != "runs"
    }
    assert history_after["runs"] == history["runs"] + 1  # gc records itself, drops no run
    consistent()
    # gc again: nothing left to free
    again = gc(home, SECOND, capsys, "--keep-days", "30")
    assert again["digests"]["pruned"] == 0 and not any(again["freed"].values())

    # A rerun fetches nothing: every current image is unchanged, its data still there.
    world.proxy.log.clear()
    assert run(world, home, SECOND) == 0
    assert world.requests("GET", "blobs") == [] and world.requests("GET", "manifests") == []
    # A new image on the shared base: only its own layer (and config) is fetched.
    extra = build_image(ImageSpec(layers=[base_layer(), own_layer("extra")]))
    world.built["extra"] = extra
    world.pulls["extra"] = 10
    world.publish("extra", extra)
    world.write_library()
    world.write_hub()
    world.proxy.log.clear()
    assert run(world, home, SECOND) == 0
    fetched = {r.path.rsplit("/", 1)[-1] for r in world.requests("GET", "blobs")}
    assert base not in fetched and extra.layers[1].digest in fetched
    # The tag going back to the pruned image analyses it again (nothing stored says done).
    world.built["api"] = old
    world.publish("api", old)
    world.write_hub()
    world.proxy.log.clear()
    assert run(world, home, SECOND) == 0
    assert old_own_layer in {r.path.rsplit("/", 1)[-1] for r in world.requests("GET", "blobs")}
    consistent()
    assert LayerCache(HomeLayout(home).layer_cache).get(old_own_layer, _analyser(home)) is not None


def _analyser(home: Path) -> str:
    with store() as opened, opened.read() as conn:
        return str(conn.execute(select(image_sboms.c.analyser_version).limit(1)).scalar_one())


def test_gc_waits_for_no_run_and_leaves_no_store_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.pipeline.run import RUN_LOCK
    from imagetrust.store.locks import exclusive

    home = tmp_path / "home"
    assert main(["--home", str(home), "gc"]) == 1  # no store: nothing to prune, none made
    assert not home.exists()
    assert main(["--home", str(home), "store", "migrate"]) == 0
    url = f"sqlite:///{home / 'imagetrust.db'}"
    with Store.open(url) as opened, exclusive(opened, RUN_LOCK, timeout=0):
        capsys.readouterr()
        assert main(["--home", str(home), "gc"]) == 1
    assert "is working on this store" in capsys.readouterr().err
    assert main(["--home", str(home), "gc", "--keep-days", "-1"]) == 2
