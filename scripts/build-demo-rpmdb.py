#!/usr/bin/env python3
"""Write the demo's AlmaLinux 9.3 rpm database with the real rpm tools.

No AlmaLinux rpm database ships in the project's data, and the demo must not download one.
So this builds one the way rpm itself would hold it: ``rpmbuild`` makes empty x86_64
packages carrying the names, epochs, versions, releases and source rpms of packages of
AlmaLinux 9.3 (openssl-libs 1:3.0.7-24.el9 is the version ALSA-2024:0310 fixes), and
``rpm --initdb`` / ``rpm -i --justdb`` installs them into an sqlite ``rpmdb.sqlite``, rpm
4.18's default backend and the one AlmaLinux 9 uses. The headers are ours, not
AlmaLinux's (no files, no signatures); the database format is rpm's own.

    python3 scripts/build-demo-rpmdb.py src/imagetrust/demo/data/rootfs/almalinux9/var/lib/rpm

Needs Debian's ``rpm`` package (``rpmbuild``, ``rpm``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# (name, epoch, version, release, subpackages, license, arch)
PACKAGES = [
    ("almalinux-release", None, "9.3", "1.el9", (), "GPL-2.0-only", "x86_64"),
    ("bash", None, "5.1.8", "6.el9_1", (), "GPL-3.0-or-later", "x86_64"),
    ("ca-certificates", None, "2023.2.60_v7.0.306", "90.1.el9_2", (), "MIT", "noarch"),
    ("openssl", 1, "3.0.7", "24.el9", ("libs",), "Apache-2.0", "x86_64"),
    ("zlib", None, "1.2.11", "40.el9", (), "Zlib", "x86_64"),
]


def spec(
    name: str,
    epoch: int | None,
    version: str,
    release: str,
    subs: tuple[str, ...],
    license_: str,
    arch: str,
) -> str:
    lines = [
        f"Name: {name}",
        *([f"Epoch: {epoch}"] if epoch is not None else []),
        f"Version: {version}",
        f"Release: {release}",
        f"Summary: {name} (AlmaLinux 9.3 name and version, for the imagetrust demo)",
        f"License: {license_}",
        "Vendor: AlmaLinux",
        f"BuildArch: {arch}",
        "%description",
        "An empty package: only its header matters.",
        "%files",
    ]
    for sub in subs:
        lines += [
            f"%package {sub}",
            f"Summary: {name}-{sub}",
            f"%description {sub}",
            "An empty package: only its header matters.",
            f"%files {sub}",
        ]
    return "\n".join(lines) + "\n"


def main(target: Path) -> None:
    target = target.resolve()
    rpmbuild = shutil.which("rpmbuild")
    rpm = shutil.which("rpm")
    if rpmbuild is None or rpm is None:
        sys.exit("needs rpmbuild and rpm (Debian package rpm)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        top = work / "rpmbuild"
        for name, *fields in PACKAGES:
            path = work / f"{name}.spec"
            path.write_text(spec(name, *fields))  # type: ignore[arg-type]
            subprocess.run(
                [rpmbuild, "-bb", "--quiet", "--define", f"_topdir {top}", str(path)],
                check=True,
                capture_output=True,
            )
        rpms = sorted((top / "RPMS").glob("*/*.rpm"))
        dbdir = work / "db"
        subprocess.run([rpm, "--initdb", "--dbpath", str(dbdir)], check=True, capture_output=True)
        subprocess.run(
            [
                *(rpm, "--dbpath", str(dbdir), "-i", "--justdb", "--nodeps"),
                *("--ignorearch", "--ignoreos", *map(str, rpms)),
            ],
            check=True,
            capture_output=True,
        )
        # One file, no write-ahead log beside it: what an image's layer carries.
        subprocess.run(
            ["sqlite3", str(dbdir / "rpmdb.sqlite"), "PRAGMA journal_mode=DELETE; VACUUM;"],
            check=False,
            capture_output=True,
        )
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dbdir / "rpmdb.sqlite", target / "rpmdb.sqlite")
        listed = subprocess.run(
            [rpm, "--dbpath", str(target), "-qa", "--qf", "%{NEVRA} %{SOURCERPM}\\n"],
            check=True,
            capture_output=True,
            text=True,
        )
        print(listed.stdout, end="")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
