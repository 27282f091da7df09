"""Hostile advisory feeds are refused with an error naming the file, in bounded memory.

Each input is built here, small on disk (zips of repetitive text), and imported by the
production command in a child process whose peak RSS is measured on its own.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from tests.services.measure import run_measured

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vulndb"
BASELINE_MIB = 100  # measured 53-66 MiB for an import that stops early


def _import(tmp_path: Path, path: Path, *env: tuple[str, str]) -> tuple[int, str, float]:
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path / "home"), "db", "import", str(path)],
        env=dict(env),
        timeout=120,
    )
    return result.returncode, result.stderr, result.peak_rss_mib


def test_yaml_nested_50000_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("distroversion: v3.19\npackages:\n" + "- " * 50_000 + "x\n")
    code, err, rss = _import(tmp_path, path)
    assert code == 1, err  # was SIGSEGV (-11)
    assert "nested deeper than 64 levels" in err and "no advisories found" in err
    assert rss < BASELINE_MIB


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["id: BOMB-1", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    lines.append("affected:\n  - package: {ecosystem: Debian:12, name: x}")
    lines.append("database_specific: {bomb: *a9}")  # opaque JSON, serialised whole
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 1024
    code, err, rss = _import(tmp_path, path)
    assert code == 1 and "YAML aliases are not accepted" in err
    assert rss < BASELINE_MIB  # was 4.3 GB, then an abort


def test_a_record_with_a_million_affected_entries_is_refused(tmp_path: Path) -> None:
    entry = '{"package":{"ecosystem":"Debian:12","name":"p"}}'
    record = '{"id":"HUGE-1","affected":[' + ",".join([entry] * 1_000_000) + "]}"
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("HUGE-1.json", record)
        archive.write(FIXTURES / "osv" / "DSA-3029-1.json", "DSA-3029-1.json")
    assert path.stat().st_size < 1 << 20
    code, err, rss = _import(tmp_path, path)
    assert code == 0, (err, rss)  # the sound record is imported, the huge one reported
    assert "skipped HUGE-1.json: too large: 2000002 objects and arrays" in err
    # the 48 MB member is read (once) before its objects are counted; was 2.9 GB
    assert rss < BASELINE_MIB + 48, (rss, err)


def test_a_record_over_the_entry_limits_is_skipped_with_its_reason(tmp_path: Path) -> None:
    from imagetrust.vulndb.osv import MAX_AFFECTED, OsvRecordError, parse_record

    record = {
        "id": "MANY-1",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}}] * (MAX_AFFECTED + 1),
    }
    try:
        parse_record(record)
    except OsvRecordError as exc:
        assert exc.record_id == "MANY-1" and "over the limit" in exc.message
    else:
        raise AssertionError("a record over the limit was accepted")


def test_a_zip_of_overlapping_members_is_refused_at_once(tmp_path: Path) -> None:
    """2,000 central-directory entries sharing one deflate stream: a 177 KB file that used
    to inflate for hours, member after member."""
    path = tmp_path / "overlap.zip"
    body = b'{"id": "X", "details": "' + b"0" * (8 << 20) + b'"}'
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0.json", body)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
        start_dir = archive.start_dir  # type: ignore[attr-defined]
    entry = data[start_dir : start_dir + 46 + len(info.filename)]
    entries = b""
    for n in range(2000):
        name = f"{n:04d}.json".encode()[: len(info.filename)].ljust(len(info.filename), b"x")
        entries += entry[:46] + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2000, 2000, len(entries), start_dir, 0)
    path.write_bytes(data[:start_dir] + entries + end)
    assert path.stat().st_size < 200_000
    code, err, _ = _import(tmp_path, path)
    assert code == 1 and "overlap" in err


def test_zip_member_count_and_inflated_total_are_settings(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    record = (FIXTURES / "osv" / "DSA-3029-1.json").read_text()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n in range(30):
            archive.writestr(f"{n}.json", json.dumps(json.loads(record) | {"id": f"DSA-{n}"}))
    code, err, _ = _import(tmp_path, path, ("IMAGETRUST_VULNDB_MAX_MEMBERS", "20"))
    assert code == 1 and "30 members, over the limit of 20" in err
    code, err, _ = _import(tmp_path, path, ("IMAGETRUST_VULNDB_MAX_TOTAL_BYTES", "10000"))
    assert code == 1 and "once inflated, over the limit of 10000" in err
    code, err, _ = _import(tmp_path, path)
    assert code == 0, err
