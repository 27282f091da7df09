"""The rpm cataloger against real rpm databases, the real rpm tool and the real syft.

Expected values never come from the code under test: they come from ``rpm -qa`` (recorded
next to the committed fixtures, and re-run live on freshly built databases when rpm is
installed) and from syft's JSON output on the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from imagetrust.sbom.catalogers.base import Want
from imagetrust.sbom.catalogers.rpm import RpmCataloger
from imagetrust.sbom.catalogers.rpm.bdb import read_bdb
from imagetrust.sbom.catalogers.rpm.cataloger import read_header_blobs, read_headers
from imagetrust.sbom.catalogers.rpm.header import RpmHeader, header_files, parse_header
from imagetrust.sbom.catalogers.rpm.ndb import read_ndb
from imagetrust.sbom.catalogers.rpm.sqlite import read_sqlite
from imagetrust.sbom.models import CatalogerError, OsRelease, PackageType
from tests.sbom import rpm_helpers
from tests.services.require import unavailable
from tests.tools import syft_binary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rpm"
RPM_QA: dict[str, list[dict[str, str]]] = json.loads((FIXTURES / "rpm-qa.json").read_text())
DATABASES = ["rpmdb.sqlite", "Packages.db", "Packages.libdb", "Packages.libdb512", "Packages.bdb"]
RHEL = OsRelease(id="rhel", version_id="9.4")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _none(value: str | None) -> str:
    """rpm prints a missing tag as ``(none)``; an empty one as nothing."""
    return "(none)" if value is None else value


def as_rpm_row(header: RpmHeader) -> dict[str, str]:
    return {
        "NAME": header.name,
        "EPOCH": _none(None if header.epoch is None else str(header.epoch)),
        "VERSION": header.version,
        "RELEASE": header.release,
        "ARCH": _none(header.arch),
        "SOURCERPM": _none(header.source_rpm),
        "LICENSE": _none(header.license),
        "VENDOR": _none(header.vendor),
        "MODULARITYLABEL": _none(header.modularity_label),
        "SIZE": _none(None if header.size is None else str(header.size)),
    }


def by_name(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(rows, key=lambda row: (row["NAME"], row["VERSION"]))


# --- committed fixtures, against rpm -qa as recorded when they were made ---------------


@pytest.mark.parametrize("name", DATABASES)
def test_fixture_headers_match_rpm_qa(name: str) -> None:
    headers = read_headers(f"var/lib/rpm/{name}", fixture(name))
    assert by_name([as_rpm_row(h) for h in headers]) == by_name(RPM_QA[name])


def test_fixtures_cover_epoch_vendor_modularity_and_split_source() -> None:
    rows = {row["NAME"]: row for row in RPM_QA["rpmdb.sqlite"]}
    assert rows["beta"]["EPOCH"] == "2"
    assert rows["beta"]["MODULARITYLABEL"] != "(none)"
    assert rows["gamma-libs"]["SOURCERPM"].startswith("gamma-")
    assert "gpg-pubkey" in rows
    assert rows["alpha"]["SIZE"] != "0"


@pytest.mark.parametrize("name", DATABASES)
def test_format_is_detected_by_content_not_name(name: str) -> None:
    right = read_headers(f"var/lib/rpm/{name}", fixture(name))
    for wrong_name in ("var/lib/rpm/Packages", "usr/lib/sysimage/rpm/rpmdb.sqlite"):
        assert read_headers(wrong_name, fixture(name)) == right


def test_cataloger_packages_from_sqlite_fixture() -> None:
    packages = RpmCataloger().parse("var/lib/rpm/rpmdb.sqlite", fixture("rpmdb.sqlite"), RHEL)
    rows = {row["NAME"]: row for row in RPM_QA["rpmdb.sqlite"]}
    assert "gpg-pubkey" not in {p.name for p in packages}
    assert {p.name for p in packages} == set(rows) - {"gpg-pubkey"}
    for package in packages:
        row = rows[package.name]
        evr = f"{row['VERSION']}-{row['RELEASE']}"
        epoch = row["EPOCH"]
        assert package.type is PackageType.RPM
        assert package.version == (evr if epoch == "(none)" else f"{epoch}:{evr}")
        assert package.architecture == row["ARCH"]
        assert package.licenses == (row["LICENSE"],)
        assert package.path == "var/lib/rpm/rpmdb.sqlite"
        source = row["SOURCERPM"]
        assert package.source_name is not None
        assert source.startswith(package.source_name + "-")
        assert package.extra["sourcerpm"] == source
        purl = PackageURL.from_string(package.purl)
        assert (purl.type, purl.namespace, purl.name) == ("rpm", "redhat", row["NAME"])
        assert purl.version == evr
        assert purl.qualifiers.get("upstream") == source
        assert purl.qualifiers.get("distro") == "rhel-9.4"
        assert purl.qualifiers.get("epoch") == (None if epoch == "(none)" else epoch)
    gamma_libs = next(p for p in packages if p.name == "gamma-libs")
    assert (gamma_libs.source_name, gamma_libs.source_version) == ("gamma", "0.9~rc1-2")
    beta = next(p for p in packages if p.name == "beta")
    assert beta.source_version == "2:3.4.5-6.fc39"


def test_purl_without_os_release_and_opensuse_namespace() -> None:
    bare = RpmCataloger().parse("var/lib/rpm/Packages", fixture("Packages.bdb"), None)[0]
    purl = PackageURL.from_string(bare.purl)
    assert purl.namespace is None and "distro" not in purl.qualifiers
    suse = OsRelease(id="opensuse-leap", version_id="15.5")
    leap = RpmCataloger().parse("var/lib/rpm/Packages", fixture("Packages.bdb"), suse)[0]
    purl = PackageURL.from_string(leap.purl)
    assert purl.namespace == "opensuse"
    assert purl.qualifiers["distro"] == "opensuse-leap-15.5"


def test_wants_exactly_the_rpm_databases() -> None:
    cataloger = RpmCataloger()
    assert cataloger.name == "rpm"
    for directory in ("var/lib/rpm", "usr/lib/sysimage/rpm"):
        for name in ("rpmdb.sqlite", "Packages.db", "Packages"):
            assert cataloger.wants(f"{directory}/{name}", 0o644, 100) is Want.FILE
    for path in (
        "var/lib/rpm/Index.db",
        "var/lib/rpm/Name",
        "var/lib/rpm/rpmdb.sqlite-wal",
        "opt/var/lib/rpm/Packages",
        "var/lib/dpkg/status",
        "/var/lib/rpm/Packages",
    ):
        assert cataloger.wants(path, 0o644, 100) is Want.NO


# --- the real syft on the same files ------------------------------------------------


def test_agrees_with_syft(tmp_path: Path) -> None:
    placed = {
        "var/lib/rpm/rpmdb.sqlite": "rpmdb.sqlite",
        "usr/lib/sysimage/rpm/Packages.db": "Packages.db",
        "var/lib/rpm/Packages": "Packages.bdb",
    }
    root = tmp_path / "root"
    for target, name in placed.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / name, root / target)
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text('ID="rhel"\nVERSION_ID="9.4"\nNAME="RHEL"\n')
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    result = subprocess.run(
        [str(syft_binary()), f"dir:{root}", "-o", "json", "-q"],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    theirs: set[tuple[str, ...]] = set()
    for artifact in json.loads(result.stdout)["artifacts"]:
        if artifact["type"] != "rpm" or artifact["name"] == "gpg-pubkey":
            continue  # syft 1.18 lists gpg-pubkey keys; we skip them on purpose
        theirs.add(
            (
                artifact["locations"][0]["path"].lstrip("/"),
                artifact["name"],
                artifact["version"],
                str(artifact["metadata"].get("epoch")),
                artifact["metadata"].get("sourceRpm") or "",
                artifact["metadata"].get("architecture") or "",
                artifact["purl"],
            )
        )
    ours: set[tuple[str, ...]] = set()
    cataloger = RpmCataloger()
    for target in placed:
        for p in cataloger.parse(target, (root / target).read_bytes(), RHEL):
            ours.add(
                (
                    target,
                    p.name,
                    p.version,
                    str(int(p.extra["epoch"])) if "epoch" in p.extra else "None",
                    p.extra.get("sourcerpm", ""),
                    p.architecture or "",
                    p.purl,  # the very string syft writes
                )
            )
    assert len(ours) == 4 + 4 + 1
    assert ours == theirs


# --- live: databases built now with the real rpm / libdb --------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("rpm")
    rpms = rpm_helpers.build_rpms(work)
    key = rpm_helpers.make_gpg_key(work)
    sqlite_db = rpm_helpers.make_sqlite_db(rpms, work / "sqlite", key)
    made = {"sqlite": sqlite_db, "rpms": rpms[0].parent}
    ndb = rpm_helpers.make_ndb_db(rpms, work / "ndb")
    if ndb is not None:
        made["ndb"] = ndb
    return made


def test_live_sqlite_matches_rpm(built: dict[str, Path]) -> None:
    headers = read_headers("rpmdb.sqlite", built["sqlite"].read_bytes())
    expected = rpm_helpers.rpm_query(built["sqlite"].parent)
    assert by_name([as_rpm_row(h) for h in headers]) == by_name(expected)
    assert len(expected) >= 4


@pytest.mark.parametrize(
    ("page_size", "big_endian"), [(4096, False), (512, False), (65536, False), (4096, True)]
)
def test_live_libdb_matches_rpm(
    built: dict[str, Path], tmp_path: Path, page_size: int, big_endian: bool
) -> None:
    """512-byte pages make long overflow chains; 64 KiB pages keep headers inline."""
    blobs = rpm_helpers.sqlite_blobs(built["sqlite"])
    db = rpm_helpers.make_bdb_db(blobs, tmp_path / "Packages", page_size, big_endian)
    headers = read_headers("var/lib/rpm/Packages", db.read_bytes())
    expected = rpm_helpers.rpm_query(tmp_path, "bdb_ro")
    assert by_name([as_rpm_row(h) for h in headers]) == by_name(expected)
    assert len(expected) == len(blobs)


def test_live_ndb_matches_rpm(built: dict[str, Path]) -> None:
    if "ndb" not in built:
        unavailable(
            "an ndb-capable rpm (PyPI rpm-inspector-rpm)", "Debian's rpm has no ndb backend"
        )
    ndb = built["ndb"]
    headers = read_headers("Packages.db", ndb.read_bytes())
    command = rpm_helpers.ndb_rpm()
    assert command is not None
    out = subprocess.run(
        [
            *command,
            "--define",
            "_db_backend ndb",
            "--dbpath",
            str(ndb.parent),
            "-qa",
            "--qf",
            rpm_helpers.QUERY_FORMAT,
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert by_name([as_rpm_row(h) for h in headers]) == by_name(rpm_helpers.parse_query(out))


# --- corruption: CatalogerError naming the path, nothing else, never a hang ----------


def expect_error(path: str, data: bytes) -> CatalogerError:
    with pytest.raises(CatalogerError) as caught:
        RpmCataloger().parse(path, data, RHEL)
    assert caught.value.path == path
    assert path in str(caught.value)
    return caught.value


@pytest.mark.parametrize("name", DATABASES)
def test_truncated_databases(name: str) -> None:
    data = fixture(name)
    for cut in (0, 10, 100, len(data) // 2, len(data) - 1):
        expect_error(f"var/lib/rpm/{name}", data[:cut])


def test_garbage_is_not_a_database() -> None:
    error = expect_error("var/lib/rpm/Packages", os.urandom(8192).replace(b"S", b"s"))
    assert "not an rpm database" in error.reason


def a_real_blob() -> bytes:
    return read_header_blobs("x", fixture("rpmdb.sqlite"))[0]


def test_header_index_pointing_past_the_blob() -> None:
    blob = bytearray(a_real_blob())
    il, dl = struct.unpack_from(">II", blob, 0)
    for i in range(il):
        tag = struct.unpack_from(">I", blob, 8 + 16 * i)[0]
        if tag == 1000:  # NAME: point it past the data
            struct.pack_into(">i", blob, 8 + 16 * i + 8, dl + 5)
    with pytest.raises(CatalogerError, match="points past"):
        parse_header("var/lib/rpm/rpmdb.sqlite", bytes(blob))
    huge = bytearray(a_real_blob())
    struct.pack_into(">I", huge, 4, 0xFFFFFFF0)
    with pytest.raises(CatalogerError, match="past the limit"):
        parse_header("p", bytes(huge))
    unterminated = bytearray(a_real_blob())
    unterminated[-1] = 0x41  # the data's last string loses its NUL
    il, dl = struct.unpack_from(">II", unterminated, 0)
    with pytest.raises(CatalogerError):
        parse_header("p", bytes(unterminated[: 8 + 16 * il + dl]).replace(b"\0", b"A"))


def bdb_overflow_pages(data: bytes) -> list[int]:
    page_size = struct.unpack_from("<I", data, 20)[0]
    return [n for n in range(1, len(data) // page_size) if data[n * page_size + 25] == 7]


def test_bdb_overflow_loop_is_an_error_not_a_hang() -> None:
    data = bytearray(fixture("Packages.libdb512"))
    page_size = struct.unpack_from("<I", data, 20)[0]
    assert page_size == 512
    pages = bdb_overflow_pages(bytes(data))
    assert len(pages) >= 10  # 512-byte pages: every header spans a chain of them
    for page in pages:  # every chain link points back at the first page
        struct.pack_into("<I", data, page * page_size + 16, pages[0])
    started = time.monotonic()
    error = expect_error("var/lib/rpm/Packages", bytes(data))
    assert time.monotonic() - started < 5
    assert "used twice" in error.reason or "overruns" in error.reason


def test_bdb_chain_leaving_the_file() -> None:
    data = bytearray(fixture("Packages.bdb"))
    page_size = struct.unpack_from("<I", data, 20)[0]
    first = bdb_overflow_pages(bytes(data))[0]
    struct.pack_into("<I", data, first * page_size + 16, 10_000)
    assert "missing" in expect_error("var/lib/rpm/Packages", bytes(data)).reason


def test_ndb_checksum_and_slot_damage() -> None:
    data = bytearray(fixture("Packages.db"))
    _magic, _index, block, _blocks = struct.unpack_from("<4sIII", data, 32)
    data[block * 16 + 40] ^= 0xFF  # a byte inside the first header blob
    assert "checksum" in expect_error("usr/lib/sysimage/rpm/Packages.db", bytes(data)).reason
    data = bytearray(fixture("Packages.db"))
    struct.pack_into("<I", data, 32 + 8, 0x7FFFFFF)  # first slot's block offset
    expect_error("usr/lib/sysimage/rpm/Packages.db", bytes(data))


def sqlite_variant(tmp_path: Path, statements: list[str]) -> bytes:
    db = tmp_path / "rpmdb.sqlite"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return db.read_bytes()


def test_sqlite_hostile_schemas(tmp_path: Path) -> None:
    no_table = sqlite_variant(tmp_path, ["CREATE TABLE Other (x)"])
    assert "no Packages" in expect_error("var/lib/rpm/rpmdb.sqlite", no_table).reason
    endless = sqlite_variant(
        tmp_path,
        [
            "CREATE VIEW Packages AS WITH RECURSIVE n(hnum, blob) AS "
            "(SELECT 1, x'00' UNION ALL SELECT hnum + 1, blob FROM n) SELECT * FROM n"
        ],
    )
    started = time.monotonic()
    expect_error("var/lib/rpm/rpmdb.sqlite", endless)
    assert time.monotonic() - started < 5
    text_blob = sqlite_variant(
        tmp_path,
        [
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob)",
            "INSERT INTO Packages VALUES (1, 'not a blob')",
        ],
    )
    assert "not a header blob" in expect_error("var/lib/rpm/rpmdb.sqlite", text_blob).reason


# --- property tests: any bytes, any mutation of a real database --------------------

READERS = {
    "rpmdb.sqlite": read_sqlite,
    "Packages.db": read_ndb,
    "Packages.bdb": read_bdb,
    "Packages.libdb": read_bdb,
    "Packages.libdb512": read_bdb,
}


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "word", "cut"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "word" and at + 4 <= len(data):
            struct.pack_into("<I", data, at, draw(st.sampled_from([0, 1, 7, 0xFFFFFFFF, 4096])))
        elif kind == "cut":
            del data[at:]
    return bytes(data)


def check_reader(name: str, data: bytes) -> None:
    path = f"var/lib/rpm/{name}"
    try:
        for blob in READERS[name](path, data):
            parse_header(path, blob)
        RpmCataloger().parse(path, data, RHEL)
        RpmCataloger().owned_files(path, data, frozenset({"usr/share/alpha/README"}))
    except CatalogerError as error:
        assert error.path == path


@pytest.mark.parametrize("name", list(READERS))
def test_mutated_databases_fail_cleanly(name: str) -> None:
    original = fixture(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(original))
    def run(data: bytes) -> None:
        check_reader(name, data)

    run()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_header_parser_on_arbitrary_bytes(blob: bytes) -> None:
    try:
        parse_header("p", blob)
    except CatalogerError as error:
        assert error.path == "p"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_header_parser_on_mutated_real_headers(data: st.DataObject) -> None:
    blob = data.draw(mutated(a_real_blob()))
    try:
        header = parse_header("p", blob)
    except CatalogerError as error:
        assert error.path == "p"
    else:
        assert header.name and header.version and header.release
    try:
        header_files("p", blob, frozenset({"README", "x"}))
    except CatalogerError as error:
        assert error.path == "p"
