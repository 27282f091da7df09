"""The vulnerability database never loses data: bad imports, crashes and races.

Every test runs on SQLite and on a real PostgreSQL server. The store's state is compared
before and after as a reader sees it (``db_status`` and index lookups) and as the tables
hold it (rows of every vulndb table), so "left exactly as it was" means exactly.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import struct
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from imagetrust.store.database import Store
from imagetrust.store.schema import vuln_affected, vuln_records, vuln_sources
from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.importer import ImportLimits, import_path
from imagetrust.vulndb.query import affected_records, db_status

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vulndb"
OSV_FILES = sorted((FIXTURES / "osv").glob("*.json"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ECOSYSTEM = "Debian:12"
PACKAGES = 20


def generated_records(count: int, label: str, *, start: int = 0) -> list[dict[str, Any]]:
    """OSV records ``GEN-<n>``, each naming its generation ``label`` in its summary."""
    return [
        {
            "id": f"GEN-{n:05d}",
            "modified": "2026-01-01T00:00:00Z",
            "summary": f"{label}: advisory {n}",
            "affected": [
                {
                    "package": {"ecosystem": ECOSYSTEM, "name": f"pkg{n % PACKAGES}"},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"{n}"}]}
                    ],
                }
            ],
        }
        for n in range(start, start + count)
    ]


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def fixture_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fixture in OSV_FILES:
            archive.writestr(fixture.name, fixture.read_bytes())
    return path


def reader_view(store: Store) -> dict[str, Any]:
    """What matching and ``db status`` see (whether an import is pending aside)."""
    state = visible_state(store)
    for source in state["status"]["sources"]:
        source.pop("import_pending")
    return {"status": state["status"], "lookups": state["lookups"]}


def visible_state(store: Store) -> dict[str, Any]:
    """What a reader sees, and every row the tables hold."""
    with store.read() as conn:
        status = db_status(conn)
        lookups = {
            (eco, pkg): sorted(
                (e.record_id, e.summary or "") for e in affected_records(conn, eco, pkg)
            )
            for eco, pkg in [("Debian:7", "nginx"), ("CRAN", "readxl")]
            + [(ECOSYSTEM, f"pkg{i}") for i in range(PACKAGES)]
        }
        rows = {
            table.name: sorted(
                tuple(str(value) for value in row) for row in conn.execute(select(table))
            )
            for table in (vuln_sources, vuln_records, vuln_affected)
        }
    return {"status": status.to_json(), "lookups": lookups, "rows": rows}


@pytest.fixture
def store(store_url: str) -> Any:
    with Store.open(store_url) as opened:
        yield opened


# --- a bad re-import leaves the source exactly as it was ------------------------------


def _truncated(path: Path, tmp: Path) -> None:
    data = fixture_zip(tmp / "whole.zip").read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted download


def _crc_damaged(path: Path, tmp: Path) -> None:
    fixture_zip(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[1]
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x55  # one flipped byte inside the deflate data
    path.write_bytes(bytes(data))


def _stored_crc_damaged(path: Path, tmp: Path) -> None:
    """Stored (not deflated): the bytes inflate fine, only the CRC can tell."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for fixture in OSV_FILES:
            archive.writestr(fixture.name, fixture.read_bytes())
    data = path.read_bytes()
    marker = b'"summary"'
    at = data.index(marker)
    path.write_bytes(data[:at] + b'"sUmmary"' + data[at + len(marker) :])


def _duplicate_members(path: Path, tmp: Path) -> None:
    fixture_zip(path)
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr(OSV_FILES[0].name, b'{"id": "OTHER", "modified": "2026-01-01T00:00:00Z"}')


def _overlapping_members(path: Path, tmp: Path) -> None:
    """Two central-directory entries pointing at the same local header and data."""
    fixture_zip(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        first, second = archive.infolist()[:2]
        start_dir = archive.start_dir  # type: ignore[attr-defined]
    # skip the first central-directory entry; the second one's "relative offset of local
    # header" (at 42 in the entry) is made to point at the first member
    name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, start_dir + 28)
    at = start_dir + 46 + name_length + extra_length + comment_length
    assert data[at : at + 4] == b"PK\x01\x02" and second.header_offset != first.header_offset
    struct.pack_into("<I", data, at + 42, first.header_offset)
    path.write_bytes(bytes(data))


def _no_readable_record(path: Path, tmp: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", b"this export holds nothing")
        archive.writestr("broken.json", b'{"id": "X", "summary": ')


def _empty_file(path: Path, tmp: Path) -> None:
    path.write_bytes(b"")


def _text_file(path: Path, tmp: Path) -> None:
    path.write_text("build-host-17\n")  # what /etc/hostname holds


def _oversized_member(path: Path, tmp: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fixture in OSV_FILES:
            archive.writestr(fixture.name, fixture.read_bytes())
        archive.writestr("big.json", b'{"id": "BIG", "details": "' + b"0" * (2 << 20) + b'"}')


BAD_INPUTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "truncated-zip": (_truncated, "not a readable zip"),
    "crc-damaged-deflate": (_crc_damaged, "unreadable zip member"),
    "crc-damaged-stored": (_stored_crc_damaged, "CRC"),
    "duplicate-members": (_duplicate_members, "appears twice"),
    "overlapping-members": (_overlapping_members, "overlap"),
    "no-readable-record": (_no_readable_record, "no advisories found"),
    "empty-file": (_empty_file, "no advisories found"),
    "hostname": (_text_file, "no advisories found"),
    "oversized-member": (_oversized_member, "big.json: over the"),
}
LIMITS = ImportLimits(max_file_bytes=1 << 20)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_bad_reimport_leaves_the_source_as_it_was(
    store: Store, tmp_path: Path, case: str
) -> None:
    make, message = BAD_INPUTS[case]
    path = tmp_path / "all.zip"
    fixture_zip(path)
    first = import_path(store, path, now=NOW, name="osv", limits=LIMITS)
    assert first.records == len(OSV_FILES)
    before = visible_state(store)
    make(path, tmp_path)  # the same path, now damaged, as after a failed download
    with pytest.raises(VulnDbError, match=message):
        import_path(store, path, now=NOW + timedelta(days=1), name="osv", limits=LIMITS)
    assert visible_state(store) == before


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_bad_first_import_adds_nothing(store: Store, tmp_path: Path, case: str) -> None:
    make, message = BAD_INPUTS[case]
    empty = visible_state(store)
    path = tmp_path / "all.zip"
    make(path, tmp_path)
    with pytest.raises(VulnDbError, match=message):
        import_path(store, path, now=NOW, limits=LIMITS)
    assert visible_state(store) == empty


def test_a_file_in_a_folder_that_cannot_be_read_whole_fails_the_import(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    for fixture in OSV_FILES:
        (folder / fixture.name).write_bytes(fixture.read_bytes())
    import_path(store, folder, now=NOW, name="feed")
    before = visible_state(store)
    (folder / "zz-oversized.json").write_bytes(b"[" + b" " * (2 << 20) + b"]")
    with pytest.raises(VulnDbError, match=r"zz-oversized\.json: over the"):
        import_path(store, folder, now=NOW, name="feed", limits=LIMITS)
    assert visible_state(store) == before


def test_unchanged_data_keeps_the_version_and_changed_data_gets_a_new_one(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    for fixture in OSV_FILES:
        (folder / fixture.name).write_bytes(fixture.read_bytes())
    first = import_path(store, folder, now=NOW, name="feed")
    # the same records in another container and order: still the same data
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for fixture in reversed(OSV_FILES):
            out.writestr(fixture.name, fixture.read_bytes())
    again = import_path(store, archive, now=NOW + timedelta(days=1), name="feed")
    assert again.version == first.version
    assert (again.inserted, again.updated, again.unchanged, again.removed) == (0, 0, 3, 0)
    record = json.loads(OSV_FILES[0].read_text())
    record["summary"] = "changed"
    (folder / OSV_FILES[0].name).write_text(json.dumps(record))
    changed = import_path(store, folder, now=NOW + timedelta(days=2), name="feed")
    assert changed.version != first.version and changed.updated == 1
    with store.read() as conn:
        [source] = db_status(conn).sources
    assert source.version == changed.version


def test_a_changed_reimport_replaces_and_cleans_up_every_old_row(
    store: Store, tmp_path: Path
) -> None:
    old = generated_records(300, "A")
    new = [r | {"summary": f"B{r['summary'][1:]}"} for r in old[:250]] + generated_records(
        40, "B", start=300
    )
    import_path(store, write_zip(tmp_path / "a.zip", old), now=NOW, name="gen")
    result = import_path(
        store,
        write_zip(tmp_path / "b.zip", new),
        now=NOW,
        name="gen",
        limits=ImportLimits(batch_size=7),
    )
    assert (result.inserted, result.updated, result.removed) == (40, 250, 50)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(vuln_records)).scalar_one() == 290
        assert conn.execute(select(func.count()).select_from(vuln_affected)).scalar_one() == 290
        summaries = {
            e.summary[0]
            for i in range(PACKAGES)
            for e in affected_records(conn, ECOSYSTEM, f"pkg{i}")
            if e.summary
        }
    assert summaries == {"B"}


# --- two imports of one source at once ---------------------------------------------


def _import_in_child(url: str, path: str, name: str, barrier: Any) -> tuple[int, str]:
    with Store.open(url) as store:
        barrier.wait()
        result = import_path(
            store,
            Path(path),
            now=NOW,
            name=name,
            limits=ImportLimits(batch_size=50),
            lock_timeout=120,
        )
        return result.records, result.version


@pytest.mark.parametrize("existing", [False, True], ids=["new-source", "re-import"])
def test_two_imports_of_one_source_at_once_lose_nothing(
    store: Store, tmp_path: Path, existing: bool
) -> None:
    if existing:
        import_path(
            store, write_zip(tmp_path / "a.zip", generated_records(3000, "A")), now=NOW, name="same"
        )
    path = write_zip(tmp_path / "all.zip", generated_records(3000, "B"))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.starmap(_import_in_child, [(store.url, str(path), "same", barrier)] * 2)
    assert [r[0] for r in results] == [3000, 3000]
    assert results[0][1] == results[1][1]  # the same data: the same version
    with store.read() as conn:
        status = db_status(conn)
        total = conn.execute(select(func.count()).select_from(vuln_records)).scalar_one()
    assert status.records == 3000 and total == 3000
    lookups = visible_state(store)["lookups"]
    assert sum(len(v) for v in lookups.values()) == 3000
    assert {summary[0] for found in lookups.values() for _, summary in found} == {"B"}


def test_a_second_import_that_cannot_wait_fails_clearly(store: Store, tmp_path: Path) -> None:
    from imagetrust.store.locks import LockTimeout, exclusive

    path = fixture_zip(tmp_path / "all.zip")
    told: list[bool] = []
    with exclusive(store, "vulndb-source:held", timeout=1):
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            outcome = pool.apply(_try_import, (store.url, str(path), "held"))
        with pytest.raises(LockTimeout, match="held by another process"):
            import_path(
                store,
                path,
                now=NOW,
                name="held",
                lock_timeout=0.3,
                on_wait=lambda: told.append(True),
            )
    assert outcome.startswith("LockTimeout") and told == [True]
    assert import_path(store, path, now=NOW, name="held", lock_timeout=0).records == 3


def _try_import(url: str, path: str, name: str) -> str:
    from imagetrust.store.locks import LockTimeout

    with Store.open(url) as store:
        try:
            import_path(store, Path(path), now=NOW, name=name, lock_timeout=0.5)
        except LockTimeout as exc:
            return f"LockTimeout: {exc.message}"
    return "imported"


# --- kill -9 during an import, with a reader beside it -------------------------------

KILL_POINTS = ["after-first-batch", "mid-import", "inside-the-switch", "after-the-switch"]


def _import_and_die(url: str, path: str, point: str, ready: Any) -> None:
    """Import, and SIGKILL this process at ``point``: no handler, no clean-up runs."""
    from imagetrust.vulndb import importer

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    batches = {"n": 0}

    def progress(records: int, files: int) -> None:
        batches["n"] += 1
        if (point == "after-first-batch" and batches["n"] == 1) or (
            point == "mid-import" and batches["n"] == 20
        ):
            die()

    if point == "inside-the-switch":
        real_digest = importer._generation_digest

        def digest_then_die(conn: Any, source_id: int, generation: int) -> str:
            real_digest(conn, source_id, generation)  # the removals are written, not committed
            die()
            raise AssertionError("unreachable")

        importer._generation_digest = digest_then_die  # type: ignore[assignment]
    if point == "after-the-switch":
        importer._collect = lambda store, build: die()  # type: ignore[assignment]
    ready.wait(60)  # the reader is reading
    with Store.open(url) as store:
        importer.import_path(
            store,
            Path(path),
            now=NOW + timedelta(days=1),
            name="gen",
            limits=ImportLimits(batch_size=50),
            progress=progress,
        )


def _reader(url: str, stop: Any, ready: Any, seen: Any) -> None:
    """Scan-like reads in a loop; each snapshot must be one whole generation."""
    with Store.open(url) as store:
        while not stop.is_set():
            with store.read() as conn:
                status = db_status(conn)
                labels: set[str] = set()
                entries = 0
                for i in range(PACKAGES):
                    for entry in affected_records(conn, ECOSYSTEM, f"pkg{i}"):
                        labels.add((entry.summary or "?")[0])
                        entries += 1
            version = status.sources[0].version if status.live_sources else None
            seen.append((version, status.records, entries, "".join(sorted(labels))))
            ready.set()


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_during_a_reimport_never_shows_half_an_import(
    store: Store, tmp_path: Path, point: str
) -> None:
    old = generated_records(2000, "A")
    new = [r | {"summary": f"B{r['summary'][1:]}"} for r in old[:1500]] + generated_records(
        300, "B", start=2000
    )
    first = import_path(store, write_zip(tmp_path / "a.zip", old), now=NOW, name="gen")
    before = reader_view(store)
    b_zip = write_zip(tmp_path / "b.zip", new)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        stop, ready, seen = manager.Event(), manager.Event(), manager.list()
        reader = ctx.Process(target=_reader, args=(store.url, stop, ready, seen))
        reader.start()
        child = ctx.Process(target=_import_and_die, args=(store.url, str(b_zip), point, ready))
        child.start()
        child.join(120)
        time.sleep(0.3)  # the reader reads the state the kill left
        stop.set()
        reader.join(60)
        observed = list(seen)
    assert child.exitcode == -signal.SIGKILL
    assert observed, "the reader never completed a read"
    whole = {(first.version, 2000, 2000, "A")}
    assert {o for o in observed if o[0] == first.version} <= whole
    new_version = {o[0] for o in observed} - {first.version}
    if point != "after-the-switch":
        assert reader_view(store) == before
        assert not new_version  # nothing of the new generation was ever visible
        with store.read() as conn:
            [source] = db_status(conn).sources
        assert source.version == first.version and source.import_pending
    else:  # the switch committed: the new generation, whole
        assert len(new_version) == 1
        assert {o for o in observed if o[0] != first.version} == {(*new_version, 1800, 1800, "B")}
    # the reader saw nothing but whole generations, and the next import cleans up
    again = import_path(store, b_zip, now=NOW + timedelta(days=2), name="gen")
    assert again.records == 1800
    with store.read() as conn:
        rows = conn.execute(select(func.count()).select_from(vuln_records)).scalar_one()
        entries = conn.execute(select(func.count()).select_from(vuln_affected)).scalar_one()
        [source] = db_status(conn).sources
    assert (rows, entries, source.records, source.import_pending) == (1800, 1800, 1800, False)


def test_kill_9_during_a_first_import_leaves_an_unused_source(store: Store, tmp_path: Path) -> None:
    b_zip = write_zip(tmp_path / "b.zip", generated_records(1800, "B"))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        go = manager.Event()
        go.set()
        child = ctx.Process(target=_import_and_die, args=(store.url, str(b_zip), "mid-import", go))
        child.start()
        child.join(120)
    assert child.exitcode == -signal.SIGKILL
    with store.read() as conn:
        status = db_status(conn)
        partial = conn.execute(select(func.count()).select_from(vuln_records)).scalar_one()
        assert affected_records(conn, ECOSYSTEM, "pkg1") == []
    assert partial > 0  # rows were written, and no reader can see them
    [source] = status.sources
    assert (source.state, source.records, status.records, status.live_sources) == (
        "incomplete",
        0,
        0,
        [],
    )
    assert import_path(store, b_zip, now=NOW, name="gen").records == 1800
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(vuln_records)).scalar_one() == 1800
