"""The bundle file as untrusted input: every way a zip can lie is refused with a message
that names the file and what is wrong, before the store is touched; and tag history from
two stores merges into what one store that saw every observation holds.

The end-to-end cases (shards merged against an unsharded run, a damaged or forged bundle
after a real run) are in ``tests/pipeline/test_bundles.py``.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.store.repositories import upsert_repository
from imagetrust.store.tags import Observation, observe_digests, tag_observations


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A valid bundle of an empty store (every kind, no records)."""
    home = tmp_path / "source"
    assert main(["--home", str(home), "store", "migrate"]) == 0
    out = tmp_path / "empty.bundle"
    assert main(["--home", str(home), "export", "--out", str(out)]) == 0
    return out


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path: Path, contents: dict[str, bytes], *, fix_manifest: bool = True) -> Path:
    """A zip of ``contents``; the manifest's member list recomputed unless told not to."""
    contents = dict(contents)
    if fix_manifest and "manifest.json" in contents:
        manifest = json.loads(contents["manifest.json"])
        manifest["members"] = [
            {
                "name": name,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "records": data.count(b"\n") if name.startswith("records/") else 0,
            }
            for name, data in contents.items()
            if name != "manifest.json"
        ]
        contents["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return path


def merge_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path, message: str
) -> str:
    target = tmp_path / "target"
    capsys.readouterr()
    assert main(["--home", str(target), "merge", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and str(path) in err, err
    assert not (target / "imagetrust.db").exists()  # checked before the store is opened
    return err


def manifest_with(bundle: Path, **changes: Any) -> dict[str, bytes]:
    contents = members(bundle)
    manifest = json.loads(contents["manifest.json"])
    manifest.update(changes)
    contents["manifest.json"] = json.dumps(manifest).encode()
    return contents


def test_a_valid_bundle_merges(bundle: Path, tmp_path: Path) -> None:
    assert main(["--home", str(tmp_path / "target"), "merge", str(bundle)]) == 0


def test_another_schema_version_is_refused_saying_which_side_to_upgrade(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.store.bundle.format import BUNDLE_SCHEMA_VERSION as VERSION

    newer = write(
        tmp_path / "newer.bundle",
        manifest_with(bundle, schema_version=VERSION + 1),
        fix_manifest=False,
    )
    expected = f"schema version {VERSION + 1}; this imagetrust reads version {VERSION}"
    err = merge_fails(tmp_path, capsys, newer, expected)
    assert "hint: upgrade imagetrust" in err
    older = write(
        tmp_path / "v0.bundle", manifest_with(bundle, schema_version=0), fix_manifest=False
    )
    err = merge_fails(tmp_path, capsys, older, "schema version 0")
    assert "hint: export it again" in err
    other = write(tmp_path / "other.bundle", manifest_with(bundle, format="someone-else"))
    merge_fails(tmp_path, capsys, other, "not an imagetrust bundle")


def test_members_the_format_does_not_allow_are_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = members(bundle)
    merge_fails(
        tmp_path, capsys, write(tmp_path / "a", {**good, "../escape": b"x"}), "unexpected member"
    )
    merge_fails(
        tmp_path, capsys, write(tmp_path / "b", {**good, "sboms/": b""}), "unexpected member"
    )
    without = {k: v for k, v in good.items() if k != "manifest.json"}
    merge_fails(tmp_path, capsys, write(tmp_path / "c", without), "no manifest.json")
    # An SBOM whose name is not the digest of its bytes.
    fake = "sboms/" + "0" * 64 + ".json"
    merge_fails(tmp_path, capsys, write(tmp_path / "d", {**good, fake: b"{}"}), "its address")

    # Two members with one name (zip allows it; whichever a reader took would be a guess).
    twice = tmp_path / "twice.bundle"
    with zipfile.ZipFile(twice, "w") as archive, pytest.warns(UserWarning):
        for name, data in good.items():
            archive.writestr(name, data)
        archive.writestr("records/runs.jsonl", b"")
    merge_fails(tmp_path, capsys, twice, "two members share a name")

    # A symbolic link dressed as a records member.
    link = tmp_path / "link.bundle"
    with zipfile.ZipFile(link, "w") as archive:
        for name, data in good.items():
            info = zipfile.ZipInfo(name)
            if name == "records/runs.jsonl":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    merge_fails(tmp_path, capsys, link, "not a plain file")


def test_a_kind_this_version_does_not_know_is_refused_not_dropped(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = manifest_with(
        bundle, kinds=[*json.loads(members(bundle)["manifest.json"])["kinds"], "ratings"]
    )
    contents["records/ratings.jsonl"] = b'{"digest":"sha256:x"}\n'
    merge_fails(
        tmp_path,
        capsys,
        write(tmp_path / "k.bundle", contents),
        "records of kind 'ratings', which this imagetrust does not know",
    )


def test_a_record_nested_too_deep_is_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = members(bundle)
    nested = b"[" * 100_000 + b"]" * 100_000
    contents["records/runs.jsonl"] = (
        b'{"ref":1,"kind":"run","status":"succeeded","started_at":"2026-06-01T00:00:00Z",'
        b'"finished_at":null,"parameters":{"x":' + nested + b'},"summary":null,'
        b'"imagetrust_version":"0.1.0"}\n'
    )
    deep = write(tmp_path / "deep.bundle", contents)
    target = tmp_path / "target"
    assert main(["--home", str(target), "merge", str(deep)]) == 1
    err = capsys.readouterr().err
    assert "records/runs.jsonl line 1" in err and "recursion" in err, err


def test_the_bounds_apply(
    bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_MEMBERS", "3")
    merge_fails(tmp_path, capsys, bundle, "over [bundle] max_members (3)")
    monkeypatch.delenv("IMAGETRUST_BUNDLE_MAX_MEMBERS")
    big = members(bundle)
    big["records/runs.jsonl"] = b" " * 5000
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_MEMBER_BYTES", "4096")
    merge_fails(tmp_path, capsys, write(tmp_path / "big", big), "over the limit (4096)")
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_MEMBER_BYTES", "100000")
    monkeypatch.setenv("IMAGETRUST_BUNDLE_MAX_TOTAL_BYTES", "4096")
    merge_fails(tmp_path, capsys, write(tmp_path / "big2", big), "max_total_bytes")


# --- tag history --------------------------------------------------------------------------

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def observe(url: str, events: list[tuple[int, str]]) -> None:
    with Store.open(url) as store:
        for when, digest in events:
            with store.transaction() as conn:
                repo = upsert_repository(conn, "python", now=day(when))
                observe_digests(
                    conn, repo, [Observation("3.12", "*", digest)], now=day(when), source="hub"
                )


def spans(url: str) -> list[tuple[str, datetime, datetime]]:
    with Store.open(url) as store, store.read() as conn:
        return [
            (s.digest, s.first_seen, s.last_seen) for s in tag_observations(conn, "python", "3.12")
        ]


def test_tag_history_of_two_stores_merges_into_what_one_store_that_saw_it_all_holds(
    tmp_path: Path,
) -> None:
    """Shard A saw days 0, 1 (digest a) and 5 (b); shard B saw days 2 (a), 3 (b) and 6 (b).
    One store observing all six in time order is the oracle."""
    a_events, b_events = [(0, "a"), (1, "a"), (5, "b")], [(2, "a"), (3, "b"), (6, "b")]
    urls = {name: f"sqlite:///{tmp_path / name / 'imagetrust.db'}" for name in "ABO"}
    for name in urls:
        (tmp_path / name).mkdir()
    observe(urls["A"], a_events)
    observe(urls["B"], b_events)
    observe(urls["O"], sorted(a_events + b_events))
    for name in "AB":
        home = tmp_path / name
        assert main(["--home", str(home), "export", "--out", str(tmp_path / f"{name}.bundle")]) == 0
    merged = tmp_path / "merged"
    for order in (["A", "B"], ["B", "A"]):
        home = merged / "".join(order)
        for name in order:
            assert main(["--home", str(home), "merge", str(tmp_path / f"{name}.bundle")]) == 0
        expected = spans(urls["O"])
        assert expected == [("a", day(0), day(2)), ("b", day(3), day(6))]
        assert spans(f"sqlite:///{home / 'imagetrust.db'}") == expected
