"""``db import`` / ``db status`` on SQLite and PostgreSQL, with real OSV and secdb data.

Expected values come from the fixture files themselves (read here with plain json / a
line scan of the YAML) or from facts visible in them, never from the importer's output.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from imagetrust.cli import db_cmd
from imagetrust.cli.app import root
from imagetrust.store.database import Store
from imagetrust.store.schema import vuln_affected, vuln_records
from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.importer import ImportLimits, import_path
from imagetrust.vulndb.osv import MAX_DETAILS, TRUNCATED, parse_record
from imagetrust.vulndb.query import affected_records, db_status
from imagetrust.vulndb.secdb import split_entry

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vulndb"
OSV_FILES = sorted((FIXTURES / "osv").glob("*.json"))
SECDB = FIXTURES / "secdb"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _osv(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "osv" / f"{name}.json").read_text())
    return data


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _secdb_cves(path: Path) -> dict[str, set[str]]:
    """package -> advisory ids (CVE, XSA, ...), by a line scan of the YAML, not the parser."""
    found: dict[str, set[str]] = {}
    package = None
    for line in path.read_text().splitlines():
        name = re.match(r"^\s+name: (\S+)$", line)
        if name:
            package = name.group(1)
            continue
        # "CVE-????-?????  XSA-295": a CVE not assigned yet; the next id names it
        cve = re.match(r"^\s+- (?:CVE-\?+-\?+\s+)?(CVE-\d{4}-\d+|[A-Z]+-\d+)", line)
        if cve and package:
            found.setdefault(package, set()).add(cve.group(1))
    return found


@pytest.fixture
def store(store_url: str) -> Any:
    with Store.open(store_url) as opened:
        yield opened


# --- OSV ---------------------------------------------------------------------------


def test_osv_zip_import_indexes_by_ecosystem_and_package(store: Store, tmp_path: Path) -> None:
    archive = _zip(tmp_path / "all.zip", {p.name: p.read_bytes() for p in OSV_FILES})
    result = import_path(store, archive, now=NOW)
    assert result.records == len(OSV_FILES) and result.skipped_count == 0
    assert result.kind == "osv-zip"
    assert dict(result.per_ecosystem) == {"CRAN": 1, "Debian:7": 1, "Maven": 1}
    dsa = _osv("DSA-3029-1")
    with store.read() as conn:
        [entry] = affected_records(conn, "Debian:7", "nginx")
        assert entry.record_id == dsa["id"]
        assert entry.aliases == dsa["aliases"]
        assert entry.ranges == dsa["affected"][0]["ranges"]
        assert entry.modified == datetime(2014, 9, 20, 8, 18, 7, tzinfo=UTC)
        assert entry.source_version == result.version
        # the release is part of the key: another Debian release has nothing
        assert affected_records(conn, "Debian:12", "nginx") == []
        ghsa = _osv("GHSA-mr95-9rr4-668f")
        for affected in ghsa["affected"]:
            [hit] = affected_records(conn, "Maven", affected["package"]["name"])
            assert hit.record_id == ghsa["id"]
            assert hit.database_specific == affected["database_specific"]
        status = db_status(conn)
    assert status.records == 3
    assert status.per_ecosystem == {"CRAN": 1, "Debian:7": 1, "Maven": 1}
    assert status.affected_entries == sum(len(_osv(p.stem)["affected"]) for p in OSV_FILES)


def test_folder_and_single_file_sources(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "feed" / "nested"
    folder.mkdir(parents=True)
    for path in OSV_FILES:
        shutil.copy(path, folder / path.name)
    (folder / "README.txt").write_text("not data")  # ignored in folders: not a data suffix
    folder_result = import_path(store, tmp_path / "feed", now=NOW, name="feed")
    assert (folder_result.kind, folder_result.records) == ("osv-dir", 3)
    single = import_path(store, OSV_FILES[0], now=NOW, name="one")
    assert (single.kind, single.records) == ("osv-file", 1)
    with store.read() as conn:
        entries = affected_records(conn, "CRAN", "readxl")
    assert sorted(e.source for e in entries) == ["feed"]  # RSEC is not OSV_FILES[0]
    assert OSV_FILES[0].stem != "RSEC-2023-2"


def test_pypi_names_are_keyed_in_pep503_form(store: Store, tmp_path: Path) -> None:
    record = {
        "id": "PYSEC-TEST-1",
        "modified": "2024-01-02T03:04:05.123456789Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Zope.Interface"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ],
    }
    (tmp_path / "r.json").write_text(json.dumps(record))
    import_path(store, tmp_path / "r.json", now=NOW)
    with store.read() as conn:
        [entry] = affected_records(conn, "PyPI", "zope-interface")
    assert entry.package == "Zope.Interface"
    assert entry.modified == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_malformed_records_are_reported_and_the_import_goes_on(
    store: Store, tmp_path: Path
) -> None:
    good = {p.name: p.read_bytes() for p in OSV_FILES}
    no_id = _osv("DSA-3029-1")
    del no_id["id"]
    wrong_types = _osv("RSEC-2023-2") | {"id": "RSEC-WRONG", "aliases": "CVE-2021-27836"}
    bad_date = _osv("RSEC-2023-2") | {"id": "RSEC-DATE", "modified": 5}
    two_events = _osv("RSEC-2023-2") | {"id": "RSEC-EVENTS"}
    two_events["affected"] = [
        {
            "package": {"ecosystem": "CRAN", "name": "readxl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}],
        }
    ]
    huge = _osv("DSA-3029-1") | {"id": "DSA-HUGE", "details": "x" * 2_000_000}
    members = {
        **good,
        "broken.json": b'{"id": "DSA-BROKEN", "summary": ',
        "no-id.json": json.dumps(no_id).encode(),
        "wrong-types.json": json.dumps(wrong_types).encode(),
        "bad-date.json": json.dumps(bad_date).encode(),
        "two-events.json": json.dumps(two_events).encode(),
        "notes.txt": b"this member is not JSON",
        "huge.json": json.dumps(huge).encode(),
        "list.json": json.dumps([_osv("DSA-3029-1") | {"id": "DSA-LIST"}, 7]).encode(),
    }
    result = import_path(store, _zip(tmp_path / "all.zip", members), now=NOW)
    problems = {(p.file, p.record_id): p.reason for p in result.skipped}
    assert result.records == 3 + 2  # the good ones, DSA-HUGE, DSA-LIST
    assert result.skipped_count == 7
    assert problems[("broken.json", None)].startswith("invalid JSON")
    assert problems[("no-id.json", None)] == "invalid OSV: record has no id"
    assert problems[("wrong-types.json", "RSEC-WRONG")].startswith("invalid OSV: aliases")
    assert problems[("bad-date.json", "RSEC-DATE")].startswith("invalid OSV: modified")
    assert problems[("two-events.json", "RSEC-EVENTS")].startswith("invalid OSV: affected.0")
    assert problems[("notes.txt", None)].startswith("not JSON")
    assert problems[("list.json", None)].startswith("invalid OSV")
    with store.read() as conn:
        details = conn.execute(
            select(vuln_records.c.details).where(vuln_records.c.record_id == "DSA-HUGE")
        ).scalar_one()
    assert len(details) == MAX_DETAILS and details.endswith(TRUNCATED)


def test_zip_bomb_member_is_cut_off_and_fails_the_import(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.json", "w") as member:
            member.write(b'{"id": "BOMB", "details": "')
            chunk = b"0" * (1 << 20)
            for _ in range(64):
                member.write(chunk)
            member.write(b'"}')
        archive.writestr("DSA-3029-1.json", (FIXTURES / "osv" / "DSA-3029-1.json").read_bytes())
    assert path.stat().st_size < 1 << 20  # 64 MiB of content in well under 1 MiB
    with pytest.raises(VulnDbError, match=r"bomb\.json: over the 1048576-byte limit"):
        import_path(store, path, now=NOW, limits=ImportLimits(max_file_bytes=1 << 20))
    with store.read() as conn:
        assert db_status(conn).sources == []  # a failed first import adds nothing


def test_missing_path_and_broken_zip_are_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(VulnDbError, match="no such file"):
        import_path(store, tmp_path / "nothing", now=NOW)
    good = _zip(tmp_path / "ok.zip", {"a.json": b"{}"}).read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good[:-10])  # central directory cut: a damaged zip, not a JSON file
    with pytest.raises(VulnDbError, match="not a readable zip"):
        import_path(store, broken, now=NOW)


# --- re-import ----------------------------------------------------------------------


def test_reimport_is_idempotent_replaces_and_removes(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    for path in OSV_FILES:
        shutil.copy(path, folder / path.name)
    first = import_path(store, folder, now=NOW, name="feed")
    again = import_path(store, folder, now=NOW + timedelta(days=1), name="feed")
    assert (again.inserted, again.updated, again.unchanged, again.removed) == (0, 0, 3, 0)
    assert again.version == first.version  # the same data keeps its database version

    dsa = _osv("DSA-3029-1")
    dsa["modified"] = "2024-05-01T00:00:00Z"
    dsa["affected"][0]["ranges"][0]["events"][1] = {"fixed": "1.2.1-2.2+wheezy4"}
    (folder / "DSA-3029-1.json").write_text(json.dumps(dsa))
    (folder / "RSEC-2023-2.json").unlink()
    third = import_path(store, folder, now=NOW + timedelta(days=2), name="feed")
    assert (third.inserted, third.updated, third.unchanged, third.removed) == (0, 1, 1, 1)
    with store.read() as conn:
        [entry] = affected_records(conn, "Debian:7", "nginx")
        assert entry.ranges[0]["events"][1] == {"fixed": "1.2.1-2.2+wheezy4"}
        assert entry.modified == datetime(2024, 5, 1, tzinfo=UTC)
        assert affected_records(conn, "CRAN", "readxl") == []
        total = conn.execute(select(func.count()).select_from(vuln_affected)).scalar_one()
    assert total == 1 + len(_osv("GHSA-mr95-9rr4-668f")["affected"])


def test_withdrawn_records_are_left_out_of_matching(store: Store, tmp_path: Path) -> None:
    withdrawn = _osv("DSA-3029-1") | {"withdrawn": "2015-01-01T00:00:00Z"}
    (tmp_path / "w.json").write_text(json.dumps(withdrawn))
    import_path(store, tmp_path / "w.json", now=NOW)
    with store.read() as conn:
        assert affected_records(conn, "Debian:7", "nginx") == []
        [entry] = affected_records(conn, "Debian:7", "nginx", include_withdrawn=True)
    assert entry.withdrawn == datetime(2015, 1, 1, tzinfo=UTC)


# --- Alpine secdb -------------------------------------------------------------------


def test_secdb_yaml_folder_becomes_alpine_records(store: Store) -> None:
    result = import_path(store, SECDB, now=NOW, name="alpine")
    assert result.kind == "secdb-dir"
    v310 = _secdb_cves(SECDB / "v3.10-main.yaml")
    v311 = _secdb_cves(SECDB / "v3.11-main.yaml")
    assert result.per_ecosystem["Alpine:v3.10"] == len(set().union(*v310.values()))
    assert result.per_ecosystem["Alpine:v3.11"] == len(set().union(*v311.values()))
    with store.read() as conn:
        # ansible: "2.8.4-r0: CVE-2019-10206" in both branches (visible in the files)
        hits = affected_records(conn, "Alpine:v3.11", "ansible")
        assert {h.record_id for h in hits} == {f"ALPINE-{c}" for c in v311["ansible"]}
        [cve] = [h for h in hits if h.record_id == "ALPINE-CVE-2019-10206"]
        assert cve.upstream == ["CVE-2019-10206"]
        assert cve.purl == "pkg:apk/alpine/ansible?arch=source"
        assert cve.ranges == [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.8.4-r0"}]}
        ]
        [older] = [
            h
            for h in affected_records(conn, "Alpine:v3.10", "ansible")
            if h.record_id == "ALPINE-CVE-2019-10206"
        ]
        assert older.ranges == cve.ranges
        # "CVE-2019-5060 TALOS-2019-0844" under sdl2_image 2.0.5-r0
        [talos] = [
            h
            for h in affected_records(conn, "Alpine:v3.10", "sdl2_image")
            if h.record_id == "ALPINE-CVE-2019-5060"
        ]
        assert talos.aliases == ["TALOS-2019-0844"]
        # "CVE-2017-17434-1" and "-2" are parts of CVE-2017-17434 (rsync 3.1.2-r7)
        rsync = {h.record_id for h in affected_records(conn, "Alpine:v3.10", "rsync")}
        assert "ALPINE-CVE-2017-17434" in rsync
        # "CVE-????-?????  XSA-295" under xen: the Xen advisory id stands in
        xen = {h.record_id for h in affected_records(conn, "Alpine:v3.10", "xen")}
        assert "ALPINE-XSA-295" in xen and not any("?" in r for r in xen)


def test_secdb_json_gives_the_same_records_as_yaml(store_url: str, tmp_path: Path) -> None:
    import yaml

    document = yaml.load((SECDB / "v3.11-main.yaml").read_text(), Loader=yaml.BaseLoader)
    (tmp_path / "main.json").write_text(json.dumps(document))
    with Store.open(store_url) as store:
        from_yaml = import_path(store, SECDB / "v3.11-main.yaml", now=NOW, name="yaml")
        from_json = import_path(store, tmp_path / "main.json", now=NOW, name="json")
        with store.read() as conn:
            by_source: dict[str, list[tuple[str, str]]] = {}
            for package in _secdb_cves(SECDB / "v3.11-main.yaml"):
                for hit in affected_records(conn, "Alpine:v3.11", package):
                    by_source.setdefault(hit.source, []).append(
                        (hit.record_id, json.dumps(hit.ranges))
                    )
    assert from_yaml.records == from_json.records > 0
    assert from_yaml.version.split("-")[1] == from_json.version.split("-")[1]
    assert sorted(by_source["yaml"]) == sorted(by_source["json"])


def test_secdb_version_zero_means_not_affected(store: Store, tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        "distroversion: v3.19\nreponame: main\npackages:\n"
        "  - pkg:\n      name: busybox\n      secfixes:\n"
        "        0:\n          - CVE-2021-42373\n"
        "        1.36.1-r2:\n          - CVE-2022-48174\n"
        "  - pkg:\n      secfixes: {}\n"
    )
    (tmp_path / "main.yaml").rename(tmp_path / "secdb-without-suffix")
    result = import_path(store, tmp_path / "secdb-without-suffix", now=NOW)
    assert result.not_affected == 1 and result.records == 1
    assert [p.record_id for p in result.skipped] == ["packages[1]"]
    with store.read() as conn:
        [hit] = affected_records(conn, "Alpine:v3.19", "busybox")
    assert hit.record_id == "ALPINE-CVE-2022-48174"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("CVE-2019-5060 TALOS-2019-0844", ("CVE-2019-5060", ["TALOS-2019-0844"])),
        ("CVE-2017-17434-1", ("CVE-2017-17434", [])),
        ("CVE-2017-2616 (+ regression fix)", ("CVE-2017-2616", [])),
        ("XSA-248", ("XSA-248", [])),
        ("(no id here)", None),
    ],
)
def test_secdb_entry_split(entry: str, expected: tuple[str, list[str]] | None) -> None:
    assert split_entry(entry) == expected


def test_parse_record_rejects_non_objects() -> None:
    from imagetrust.vulndb.osv import OsvRecordError

    for value in (None, 3, "x", ["DSA"]):
        with pytest.raises(OsvRecordError):
            parse_record(value)


# --- CLI ----------------------------------------------------------------------------


def _cli() -> typer.Typer:
    cli = typer.Typer()
    cli.callback()(root)
    cli.add_typer(db_cmd.app, name="db")
    return cli


def test_cli_import_and_status_json(tmp_path: Path) -> None:
    runner = CliRunner()
    archive = _zip(tmp_path / "all.zip", {p.name: p.read_bytes() for p in OSV_FILES})
    home = ["--home", str(tmp_path / "home")]
    out = runner.invoke(
        _cli(),
        [*home, "--now", "2026-11-20", "db", "import", str(archive), "--format", "json"],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "vulndb-import"
    assert doc["counts"]["records"] == 3 and doc["source"]["kind"] == "osv-zip"
    status = runner.invoke(
        _cli(), [*home, "--now", "2026-11-23", "db", "status", "--format", "json"]
    )
    assert status.exit_code == 0, status.output
    info = json.loads(status.stdout)
    assert info["kind"] == "vulndb-status"
    [source] = info["sources"]
    assert source["age_seconds"] == 3 * 86400
    assert info["per_ecosystem"] == {"CRAN": 1, "Debian:7": 1, "Maven": 1}
    table = runner.invoke(_cli(), [*home, "--now", "2026-11-23", "db", "status"])
    assert "3d ago" in table.stdout and "Debian:7" in table.stdout


def test_cli_missing_path_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagetrust.cli import app as app_module
    from imagetrust.cli.main import main

    monkeypatch.setattr(app_module, "app", _cli())
    code = main(["--home", str(tmp_path), "db", "import", str(tmp_path / "missing.zip")])
    err = capsys.readouterr().err
    assert code == 1 and "no such file or folder" in err and "Traceback" not in err
