"""Language packages installed by an OS package get that package as their ``owner``.

Oracle: the real syft binary's ``ownership-by-file-overlap`` relationships on the same
files (syft reads dpkg's ``md5sums``, rpm headers and apk's ``installed``; imagetrust reads
dpkg's ``.list``, the same headers and the same database, so the answers must agree). The
Debian files are a Debian 12 machine's own (tests/fixtures/owners/README.md); the rpm is
built by rpmbuild and installed by rpm; the apk database is Alpine's real one with two
entries written in its format. Images go through the whole analyser (walker, reduce, layer
cache, merge), cold and then warm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.config import Settings
from imagetrust.oci.sources import OciSession
from imagetrust.sbom.analyse import ImageAnalyser
from imagetrust.sbom.cache import LayerCache
from imagetrust.sbom.catalogers import default_catalogers
from imagetrust.sbom.catalogers.apk import ApkCataloger
from imagetrust.sbom.catalogers.dpkg import DpkgCataloger
from imagetrust.sbom.catalogers.rpm.cataloger import read_header_blobs
from imagetrust.sbom.catalogers.rpm.header import header_files, parse_header
from imagetrust.sbom.formats.read import read_sbom_file
from imagetrust.sbom.models import ImageSbom, Package, PackageType
from imagetrust.sbom.owners import (
    LANGUAGE_TYPES,
    FileOwner,
    assign_owners,
    canonical_path,
    could_be_package_file,
    kept_paths,
    reduce_file_list,
)
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.sbom import rpm_helpers
from tests.sbom.test_language_catalogers import syft_binary
from tests.sbom.test_os_catalogers import syft_scan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEBIAN = FIXTURES / "owners" / "debian12"
PIP_METADATA = DEBIAN / "usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA"
GO_PROGRAM = Path("/usr/bin/docker-registry")  # Debian's build; the OCI tests install it
SYFT_TYPES = {"python": "python", "java-archive": "java", "go-module": "go", "npm": "npm"}

Owned = set[tuple[str, str, str, str | None]]  # (type, name, path, owner's name)


def materialise_debian(dest: Path, *, go: bool = True) -> Path:
    root = dest / "root"
    shutil.copytree(DEBIAN, root)
    for path in sorted(root.rglob("*.egg-info_"), reverse=True):
        path.rename(path.with_name(path.name[: -len("_")]))
    if go and GO_PROGRAM.is_file():
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        shutil.copy(GO_PROGRAM, root / "usr/bin/docker-registry")
    return root


def analyse_root(root: Path, tmp_path: Path) -> ImageSbom:
    """The whole pipeline on an image of ``root``: cold, then warm from the layer cache."""
    layout = tmp_path / "layout"
    write_oci_layout(build_image(ImageSpec(layers=[Layer.from_dir(root)])), layout, tag="t")
    cache = LayerCache(tmp_path / "cache")
    runs = []
    with OciSession(Settings(), mirrors={}) as session:
        for _ in range(2):
            with session.open(f"oci-layout:{layout}:t") as source:
                (sbom,) = ImageAnalyser(cache).analyse(source)
            runs.append(sbom)
    cold, warm = runs
    assert [layer.from_cache for layer in warm.layers] == [True]
    assert warm.packages == cold.packages
    return cold


def ours(sbom: ImageSbom) -> Owned:
    by_purl = {p.purl: p for p in sbom.packages}
    return {
        (p.type.value, p.name, p.path or "", by_purl[p.owner].name if p.owner else None)
        for p in sbom.packages
        if p.type in LANGUAGE_TYPES
    }


def syfts(root: Path) -> Owned:
    doc: dict[str, Any] = syft_scan(root)
    by_id = {a["id"]: a for a in doc["artifacts"]}
    owner_of = {
        r["child"]: by_id[r["parent"]]["name"]
        for r in doc["artifactRelationships"]
        if r["type"] == "ownership-by-file-overlap"
    }
    return {
        (
            SYFT_TYPES[a["type"]],
            a["name"],
            a["locations"][0]["path"].lstrip("/"),
            owner_of.get(a["id"]),
        )
        for a in doc["artifacts"]
        if a["type"] in SYFT_TYPES
    }


def test_debian_owners_agree_with_syft(tmp_path: Path) -> None:
    root = materialise_debian(tmp_path)
    sbom = analyse_root(root, tmp_path)
    found = ours(sbom)
    assert found == syfts(root)
    # what the fixture is for: Debian's pip, PyYAML and six belong to their debs; the pip
    # someone installed in /usr/local belongs to nobody
    assert (
        "python",
        "pip",
        "usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA",
        "python3-pip",
    ) in found
    assert (
        "python",
        "pip",
        "usr/local/lib/python3.11/site-packages/pip-23.2.1.dist-info/METADATA",
        None,
    ) in found
    assert ("java", "commons-cli", "usr/share/java/commons-cli.jar", "libcommons-cli-java") in found
    if GO_PROGRAM.is_file():
        assert ("go", "stdlib", "usr/bin/docker-registry", "docker-registry") in found
    pip = next(p for p in sbom.packages if p.name == "python3-pip")
    assert any(p.owner == pip.purl for p in sbom.packages)


def test_distroless_md5sums_agree_with_syft(tmp_path: Path) -> None:
    """Distroless images have no ``info/``: one stanza file and one ``.md5sums`` per
    package in ``status.d``, named after the package."""
    root = tmp_path / "root"
    status_d = root / "var/lib/dpkg/status.d"
    status_d.mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy(DEBIAN / "etc/os-release", root / "etc/os-release")
    stanzas = (DEBIAN / "var/lib/dpkg/status").read_text().split("\n\n")
    for package in ("python3-pip", "python3-yaml"):
        stanza = next(s for s in stanzas if s.startswith(f"Package: {package}\n"))
        (status_d / package).write_text(stanza.strip("\n") + "\n")
        md5sums = (DEBIAN / f"var/lib/dpkg/info/{package}.md5sums").read_bytes()
        (status_d / f"{package}.md5sums").write_bytes(md5sums)
    for dist_info in ("pip-23.0.1.dist-info", "PyYAML-6.0.dist-info"):
        target = root / "usr/lib/python3/dist-packages" / dist_info
        target.mkdir(parents=True)
        shutil.copy(DEBIAN / "usr/lib/python3/dist-packages" / dist_info / "METADATA", target)
    found = ours(analyse_root(root, tmp_path))
    assert found == syfts(root)
    assert {owner for *_, owner in found} == {"python3-pip", "python3-yaml"}


APK_ENTRIES = """
P:py3-pip
V:23.0.1-r0
A:noarch
o:py3-pip
L:MIT
F:usr
F:usr/lib
F:usr/lib/python3.11
F:usr/lib/python3.11/site-packages
F:usr/lib/python3.11/site-packages/pip-23.0.1.dist-info
R:METADATA
R:RECORD

P:docker-registry
V:2.8.2-r0
A:x86_64
o:docker-registry
L:Apache-2.0
F:usr
F:usr/bin
R:docker-registry
"""


def test_alpine_owners_agree_with_syft(tmp_path: Path) -> None:
    """Alpine's real 3.16 database plus two entries in its format (``F:`` folders, ``R:``
    files): py3-pip owning a dist-info, docker-registry a Go program."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "rootfs/alpine", root)
    installed = root / "lib/apk/db/installed"
    installed.write_text(installed.read_text().rstrip("\n") + "\n" + APK_ENTRIES)
    target = root / "usr/lib/python3.11/site-packages/pip-23.0.1.dist-info"
    target.mkdir(parents=True)
    shutil.copy(PIP_METADATA, target)
    if GO_PROGRAM.is_file():
        (root / "usr/bin").mkdir(parents=True, exist_ok=True)
        shutil.copy(GO_PROGRAM, root / "usr/bin/docker-registry")
    found = ours(analyse_root(root, tmp_path))
    assert found == syfts(root)
    assert ("python", "pip", f"{target.relative_to(root)}/METADATA", "py3-pip") in found


PIP_SPEC = """Name: python3-pip
Version: 23.0.1
Release: 1.el9
Summary: test package
License: MIT
BuildArch: noarch
%description
test
%install
mkdir -p %{{buildroot}}/usr/lib/python3.9/site-packages/pip-23.0.1.dist-info
cp {metadata} %{{buildroot}}/usr/lib/python3.9/site-packages/pip-23.0.1.dist-info/METADATA
%files
/usr/lib/python3.9/site-packages/pip-23.0.1.dist-info
"""


@pytest.fixture(scope="module")
def pip_rpmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("rpm-pip")
    rpms = rpm_helpers.build_specs(work, {"python3-pip": PIP_SPEC.format(metadata=PIP_METADATA)})
    (work / "more").mkdir()
    rpms += rpm_helpers.build_rpms(work / "more")
    return rpm_helpers.make_sqlite_db(rpms, work / "db")


def test_rpm_file_names_agree_with_rpm(pip_rpmdb: Path) -> None:
    """``header_files`` against ``rpm -qa --qf '[%{FILENAMES}\\n]'`` on the same database."""
    rpm = rpm_helpers.need("rpm", "rpm")
    out = subprocess.run(
        [rpm, "--dbpath", str(pip_rpmdb.parent), "-qa", "--qf", "[%{FILENAMES}\\n]"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    expected = sorted(line for line in out.splitlines() if line and line != "(none)")
    names = frozenset(path.rpartition("/")[2] for path in expected)
    data = pip_rpmdb.read_bytes()
    got = sorted(
        f for blob in read_header_blobs("db", data) for f in header_files("db", blob, names)
    )
    assert got == expected
    assert any(path.endswith("dist-info/METADATA") for path in got)
    assert all(parse_header("db", blob) for blob in read_header_blobs("db", data))


def test_rpm_owners_agree_with_syft(pip_rpmdb: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID="rocky"\nVERSION_ID="9.3"\nNAME="Rocky Linux"\n')
    (root / "var/lib/rpm").mkdir(parents=True)
    shutil.copy(pip_rpmdb, root / "var/lib/rpm/rpmdb.sqlite")
    target = root / "usr/lib/python3.9/site-packages/pip-23.0.1.dist-info"
    target.mkdir(parents=True)
    shutil.copy(PIP_METADATA, target)
    found = ours(analyse_root(root, tmp_path))
    assert found == syfts(root)
    assert {owner for *_, owner in found} == {"python3-pip"}


# --- the rules themselves --------------------------------------------------------------


def test_every_language_catalogers_files_survive_the_list_reduction() -> None:
    """The reduction keeps dpkg list lines a language cataloger could read a package from:
    each declared interest, and Go programs (found by mode, so any dot-less file name)."""
    for cataloger in default_catalogers():
        interest = getattr(cataloger, "interest", None)
        if cataloger.name not in {"python", "npm", "java", "go"}:
            continue
        if interest is None:  # Go: every executable
            assert could_be_package_file("usr/bin/docker-registry")
            assert could_be_package_file("usr/lib/go-1.19/pkg/tool/linux_amd64/compile")
            continue
        for suffix in interest.suffixes:
            for where in ("usr/lib/x/y", "usr/share/x/y", "etc/x/y"):  # anywhere at all
                assert could_be_package_file(f"{where}{suffix}"), (cataloger.name, suffix)
                assert could_be_package_file(f"{where}{suffix}".upper()), (cataloger.name, suffix)
        for path in interest.paths:
            assert could_be_package_file(path), (cataloger.name, path)


def test_reduction_of_real_lists_keeps_files_and_drops_directories_and_data() -> None:
    lists = sorted((DEBIAN / "var/lib/dpkg/info").glob("*.list"))
    for path in lists:
        lines = path.read_text().splitlines()
        kept = kept_paths(reduce_file_list(lines))
        files = {canonical_path(line) for line in lines} - {"."}
        directories = {p.rpartition("/")[0] for p in files}
        assert set(kept) <= files - directories
        assert not any(p.startswith("usr/share/doc/") for p in kept)
    pip = kept_paths(
        reduce_file_list((DEBIAN / "var/lib/dpkg/info/python3-pip.list").read_text().splitlines())
    )
    assert "usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA" in pip
    assert len(pip) < 20  # of 685 lines


def test_merged_usr_paths_are_one() -> None:
    """Debian 12 merges /usr (``bin`` links to ``usr/bin``) but dpkg still lists the path the
    package shipped, so ``/bin/x`` in a list is the file a layer stores at ``usr/bin/x``.
    syft 1.18 does not follow that link for owners; this is a documented extra."""
    assert canonical_path("/bin/x") == canonical_path("usr/bin/x") == "usr/bin/x"
    assert canonical_path("/lib/x86_64-linux-gnu/libc.so.6") == "usr/lib/x86_64-linux-gnu/libc.so.6"
    assert canonical_path("./usr/share/java/a.jar") == "usr/share/java/a.jar"
    assert canonical_path("/library/x") == "library/x"
    deb = Package("prog", "1", PackageType.DEB, "pkg:deb/debian/prog@1", path="var/lib/dpkg/status")
    go = Package("stdlib", "go1.19", PackageType.GO, "pkg:golang/stdlib@1.19", path="usr/bin/prog")
    owned = DpkgCataloger().owned_files(
        "var/lib/dpkg/info/prog.list", b"/.\n/bin\n/bin/prog\n", frozenset({"usr/bin/prog"})
    )
    assert owned == [("usr/bin/prog", FileOwner(PackageType.DEB, "prog"))]
    assert assign_owners([deb, go], owned)[1].owner == deb.purl


def test_owners_need_the_owner_in_the_image() -> None:
    """A list whose package is gone from the database (a half-removed package) owns
    nothing: there would be no package to match through."""
    go = Package("stdlib", "go1.19", PackageType.GO, "pkg:golang/stdlib@1.19", path="usr/bin/p")
    owned = [("usr/bin/p", FileOwner(PackageType.DEB, "gone"))]
    assert assign_owners([go], owned)[0].owner is None


def test_multi_arch_lists_pick_their_architecture() -> None:
    debs = [
        Package(
            "libfoo",
            "1",
            PackageType.DEB,
            f"pkg:deb/debian/libfoo@1?arch={arch}",
            architecture=arch,
        )
        for arch in ("amd64", "i386")
    ]
    go = Package(
        "m", "v1", PackageType.GO, "pkg:golang/m@v1", path="usr/lib/i386-linux-gnu/foo/prog"
    )
    owned = DpkgCataloger().owned_files(
        "var/lib/dpkg/info/libfoo:i386.list",
        b"/usr/lib/i386-linux-gnu/foo/prog\n",
        frozenset({go.path or ""}),
    )
    assert assign_owners([*debs, go], owned)[2].owner == debs[1].purl


def test_syft_spdx_owners_read_back(tmp_path: Path) -> None:
    """syft writes the same fact into SPDX as an ``OTHER`` relationship marked
    ``ownership-by-file-overlap``; ``scan sbom:FILE`` on syft's SPDX reads the owners."""
    root = materialise_debian(tmp_path, go=False)
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false", HOME=str(tmp_path))
    done = subprocess.run(
        [str(syft_binary()), "scan", f"dir:{root}", "-o", "spdx-json", "-q"],
        capture_output=True,
        check=True,
        env=env,
        timeout=300,
    )
    path = tmp_path / "syft.spdx.json"
    path.write_bytes(done.stdout)
    sbom = read_sbom_file(path)
    debs = {p.purl: p.name for p in sbom.packages if p.type is PackageType.DEB}
    owned = {(p.name, p.version, debs.get(p.owner or "")) for p in sbom.packages if p.owner}
    assert owned == {
        ("pip", "23.0.1", "python3-pip"),
        ("pyyaml", "6.0", "python3-yaml"),
        ("six", "1.16.0", "python3-six"),
        ("commons-cli", "1.5.0", "libcommons-cli-java"),
    }


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from(["dpkg-list", "dpkg-md5sums", "apk"]))
def test_file_lists_of_any_bytes_never_crash(data: bytes, kind: str) -> None:
    """Hostile lists give some owners or none, never an exception (the walker's reduce
    included)."""
    wanted = frozenset({"usr/bin/x", "a/b"})
    if kind == "apk":
        found = ApkCataloger().owned_files("lib/apk/db/installed", data, wanted)
    else:
        path = "var/lib/dpkg/" + ("info/p.list" if kind == "dpkg-list" else "status.d/p.md5sums")
        cataloger = DpkgCataloger()
        kept = cataloger.reduce(path, data)
        assert kept is not None
        found = cataloger.owned_files(path, kept, wanted) + cataloger.owned_files(
            path, data, wanted
        )
    assert all(path in wanted for path, _ in found)
