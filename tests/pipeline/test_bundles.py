"""``run --shard``, ``export`` and ``merge`` on the real registry world: N shards, each in a
store of its own, exported and merged into an empty store, hold exactly what one unsharded
run holds; merging again changes nothing; a damaged or foreign bundle fails and changes
nothing (``tests/store/test_bundle_format.py`` has the finer cases of the format).

Stores are compared table by table (``storedump``) without the run log, which rightly
differs (N shard runs and a merge against one run), and without the vulnerability
database, which a bundle does not carry (each store imports its own feeds).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from imagetrust.cli.main import main
from imagetrust.pipeline.shards import shard_of, unit_key
from imagetrust.store.bundle.format import BUNDLE_SCHEMA_VERSION
from imagetrust.store.database import Store
from imagetrust.store.schema import runs
from tests.conftest import create_pg_database
from tests.pipeline.storedump import RUN_LOG, VULNDB, dump
from tests.pipeline.world import World

SKIP = RUN_LOG | VULNDB


def url(home: Path) -> str:
    return f"sqlite:///{home / 'imagetrust.db'}"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def spread_shards(world: World) -> int:
    """The smallest N that splits the world's three images over at least two shards."""
    units = [
        unit_key(world.name("web"), world.built["web"].descriptor.digest, "linux/amd64"),
        unit_key(world.name("api"), world.built["api"].descriptor.digest, "linux/amd64"),
        unit_key(world.name("tool"), world.built["tool"].descriptor.digest, "*"),
    ]
    for count in range(2, 12):
        if len({shard_of(key, count) for key in units}) > 1:
            return count
    raise AssertionError("no N splits the world")


def run_kinds(home: Path) -> dict[str, int]:
    with Store.open(url(home)) as store, store.read() as conn:
        rows = conn.execute(select(runs.c.kind, func.count()).group_by(runs.c.kind))
        return {kind: int(n) for kind, n in rows}


@pytest.fixture
def sharded(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, list[Path], int]:
    """The unsharded reference store, and the bundles of a sharded run: the catalog's, then
    one per shard. As the workflow does it, a catalog job refreshes the catalog once and
    bundles it; each shard merges that bundle, runs ``--no-refresh --shard I/N`` and exports
    what its run wrote. The last shard instead refreshes the catalog itself (a catalog
    snapshot then reaches the merge twice, from two stores: it must count once)."""
    reference = tmp_path / "reference"
    world.import_db(reference)
    code, _, err = cli(capsys, *world.run_args(reference, "--jobs", "1"))
    assert code == 0, err
    count = spread_shards(world)

    catalog_home = tmp_path / "catalog"
    catalog = tmp_path / "catalog.bundle"
    refresh = ["--offline", "--library-dir", str(world.library), "--hub-recording", str(world.hub)]
    assert main(["--home", str(catalog_home), "catalog", *refresh]) == 0
    export = ["export", "--since", "last", "--out", str(catalog)]
    assert main(["--home", str(catalog_home), *export]) == 0
    bundles = [catalog]
    done = 0
    for index in range(1, count + 1):
        home = tmp_path / f"shard-{index}"
        world.import_db(home)
        own_catalog = index == count
        if not own_catalog:
            assert main(["--home", str(home), "merge", str(catalog)]) == 0
        args = world.run_args(home, "--jobs", "1", "--shard", f"{index}/{count}")
        code, doc, err = cli(capsys, *(args if own_catalog else [*args, "--no-refresh"]))
        assert code == 0, err
        assert doc["shard"] == f"{index}/{count}"
        done += doc["images"]["new"]
        bundle = tmp_path / f"shard-{index}.bundle"
        since = "last" if own_catalog else str(doc["run_id"])
        code, exported, err = cli(
            capsys, "--home", str(home), "export", "--since", since, "--out", str(bundle)
        )
        assert code == 0, err
        assert exported["kind"] == "bundle-export" and exported["since_run"] == doc["run_id"]
        bundles.append(bundle)
    assert done == 3  # every image analysed by exactly one shard
    return reference, bundles, count


def test_shards_merged_equal_one_unsharded_run_and_merging_again_changes_nothing(
    sharded: tuple[Path, list[Path], int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    reference, bundles, count = sharded
    merged = tmp_path / "merged"
    code, doc, err = cli(capsys, "--home", str(merged), "merge", *map(str, bundles))
    assert code == 0, err
    assert doc["kind"] == "bundle-merge" and doc["changed"]
    expected = dump(url(reference), skip=SKIP)
    assert dump(url(merged), skip=SKIP) == expected
    kinds = run_kinds(merged)
    assert kinds["run"] == count and kinds["merge"] == 1  # each shard's run came along

    # The same bundles again: nothing changes, not even a run is duplicated.
    code, again, err = cli(capsys, "--home", str(merged), "merge", *map(str, bundles))
    assert code == 0, err
    assert not again["changed"]
    assert all(c["added"] == c["updated"] == 0 for c in again["records"].values())
    assert dump(url(merged), skip=SKIP) == expected
    assert run_kinds(merged) == {**kinds, "merge": 2}  # only the merge itself is recorded

    # Another order, another store: the same facts.
    backwards = tmp_path / "backwards"
    for bundle in reversed(bundles):
        assert main(["--home", str(backwards), "merge", str(bundle)]) == 0
    assert dump(url(backwards), skip=SKIP) == expected

    # A bundle of the whole merged store carries it all to yet another store.
    whole = tmp_path / "whole.bundle"
    assert main(["--home", str(merged), "export", "--out", str(whole)]) == 0
    copy = tmp_path / "copy"
    assert main(["--home", str(copy), "merge", str(whole)]) == 0
    assert dump(url(copy), skip=SKIP) == expected

    # The shared store a team may keep instead: PostgreSQL, merged into the same way.
    postgres = create_pg_database(request.getfixturevalue("postgres_server"))
    home = str(tmp_path / "pg-home")
    assert main(["--db-url", postgres, "--home", home, "merge", *map(str, bundles)]) == 0
    assert main(["--db-url", postgres, "--home", home, "merge", *map(str, bundles)]) == 0
    assert dump(postgres, skip=SKIP) == expected


def rewrite(source: Path, target: Path, change: Any) -> None:
    """A copy of the bundle with ``change(name, data) -> data | None`` applied per member
    (None drops the member); the manifest is left as it was unless changed too."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)


def test_a_damaged_or_foreign_bundle_fails_clearly_and_changes_nothing(
    sharded: tuple[Path, list[Path], int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, bundles, _ = sharded
    good = max(bundles, key=lambda b: b.stat().st_size)  # a shard's, with results in it
    before = dump(url(reference), skip=RUN_LOG)
    runs_before = run_kinds(reference)

    def results_line(name: str, data: bytes, status: bytes = b"analysex") -> bytes:
        if name != "records/results.jsonl":
            return data
        return data.replace(b'"status":"analysed"', b'"status":"' + status + b'"', 1)

    def version(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["schema_version"] = BUNDLE_SCHEMA_VERSION + 1
        return json.dumps(manifest).encode()

    def drop_sbom(name: str, data: bytes) -> bytes | None:
        return None if name.startswith("sboms/") else data

    truncated = tmp_path / "truncated.bundle"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    altered = tmp_path / "altered.bundle"
    rewrite(good, altered, results_line)
    newer = tmp_path / "newer.bundle"
    rewrite(good, newer, version)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("hello.txt", "not a bundle")
    text = tmp_path / "hostname"
    text.write_text("buildhost\n")
    unlisted = tmp_path / "unlisted.bundle"
    rewrite(good, unlisted, drop_sbom)

    cases = {
        truncated: "not a readable zip",
        altered: "content differs from the manifest",
        newer: f"schema version {BUNDLE_SCHEMA_VERSION + 1}; this imagetrust reads version "
        f"{BUNDLE_SCHEMA_VERSION}",
        foreign: "unexpected member 'hello.txt'",
        text: "not a readable zip",
        unlisted: "is missing",
    }
    for bundle, message in cases.items():
        # Alone, and after a good bundle in the same merge: nothing of either is kept.
        for batch in ([bundle], [bundles[-1], bundle]):
            code, _, err = cli(capsys, "--home", str(reference), "merge", *map(str, batch))
            assert code == 1, (bundle.name, err)
            assert message in err and str(bundle) in err, err
            assert "Traceback" not in err
    assert "upgrade imagetrust" in cli(capsys, "--home", str(reference), "merge", str(newer))[2]

    # A record that fails validation inside an otherwise consistent bundle (digests redone
    # as an attacker would): refused by the record types, nothing written.
    forged = tmp_path / "forged.bundle"
    forge(good, forged, lambda name, data: results_line(name, data, b"analysed!"))
    code, _, err = cli(capsys, "--home", str(reference), "merge", str(bundles[-1]), str(forged))
    assert code == 1 and "records/results.jsonl line" in err and "analysed!" in err, err

    # Past a [bundle] bound: refused with the setting's name.
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_RECORD_BYTES", "64")
    code, _, err = cli(capsys, "--home", str(reference), "merge", str(good))
    assert code == 1 and "over 64 bytes" in err, err
    monkeypatch.delenv("IMAGETRUST_BUNDLE_MAX_RECORD_BYTES")
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_BYTES", "1000")
    code, _, err = cli(capsys, "--home", str(reference), "merge", str(good))
    assert code == 1 and "max_bytes" in err, err
    monkeypatch.delenv("IMAGETRUST_BUNDLE_MAX_BYTES")

    assert dump(url(reference), skip=RUN_LOG) == before
    assert run_kinds(reference) == runs_before  # not even a failed merge is recorded


def forge(source: Path, target: Path, change: Any) -> None:
    """``rewrite`` with the manifest's sizes and digests recomputed to match."""
    import hashlib

    with zipfile.ZipFile(source) as old:
        contents = {i.filename: change(i.filename, old.read(i.filename)) for i in old.infolist()}
    manifest = json.loads(contents.pop("manifest.json"))
    for member in manifest["members"]:
        data = contents[member["name"]]
        member["bytes"] = len(data)
        member["sha256"] = hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(target, "w") as new:
        for name, data in contents.items():
            new.writestr(name, data)
        new.writestr("manifest.json", json.dumps(manifest))
