"""``imagetrust sbom`` -> file -> ``imagetrust scan sbom:FILE`` keeps what matching needs.

An rpm's epoch lives only in its purl's ``epoch`` qualifier: lost on the way back, an
installed ``1:3.0.7-27.el9`` reads as ``3.0.7-27.el9``, older than the fix
``1:3.0.7-25.el9_3``, and a fixed package is reported vulnerable. The packages are real
rpms built by rpmbuild and installed into a real rpmdb by rpm; the advisory is AlmaLinux's
own ALSA-2024:0310 (tests/fixtures/osv-identity/README.md).

A language package an OS package installed (Debian's ``python3-pip`` ships pip 23.0.1's
dist-info) is matched through that OS package only, as trivy does: Debian backports fixes
without changing the upstream version, so a PyPI advisory says nothing about Debian's copy.
pip 23.2.1, installed into ``/usr/local`` by pip itself, is a PyPI package like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.sbom import rpm_helpers
from tests.sbom.test_owners import materialise_debian

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "osv-identity"
ALMA9 = 'NAME="AlmaLinux"\nID="almalinux"\nVERSION_ID="9.3"\nID_LIKE="rhel centos fedora"\n'
FORMATS = ("json", "cyclonedx-json", "spdx-json")

OPENSSL_SPEC = """Name: openssl
Epoch: 1
Version: 3.0.7
Release: {release}
Summary: test package
License: Apache-2.0
BuildArch: noarch
%description
test
%package libs
Summary: libraries
%description libs
libraries
%files
%files libs
"""

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    store = f"sqlite:///{tmp_path / 'store' / 'imagetrust.db'}"
    base = ["--home", str(tmp_path / "home"), "--db-url", store, "--now", "2026-11-23"]

    def call(*args: str) -> tuple[int, str, str]:
        code = main([*base, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def rpm_image(tmp_path: Path, release: str) -> str:
    """An AlmaLinux 9 image whose rpmdb holds openssl and openssl-libs 1:3.0.7-RELEASE."""
    work = tmp_path / f"rpm-{release}"
    work.mkdir()
    rpms = rpm_helpers.build_specs(work, {"openssl": OPENSSL_SPEC.format(release=release)})
    database = rpm_helpers.make_sqlite_db(rpms, work / "db")
    layer = Layer.from_files(
        {"etc/os-release": ALMA9, "var/lib/rpm/rpmdb.sqlite": database.read_bytes()}
    )
    layout = tmp_path / f"layout-{release}"
    write_oci_layout(build_image(ImageSpec(layers=[layer])), layout, tag="t")
    return f"oci-layout:{layout}:t"


def findings(cli: Cli, ref: str) -> set[tuple[str, str, str]]:
    code, out, err = cli("scan", ref, "--format", "json")
    assert code == 0, err
    return {
        (v["package"], v["id"], v["installed_version"]) for v in json.loads(out)["vulnerabilities"]
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_rpm_epoch_survives_an_sbom_file(cli: Cli, tmp_path: Path, fmt: str) -> None:
    assert cli("db", "import", str(FIXTURES / "ALSA-2024-0310.json"))[0] == 0
    fixed, vulnerable = rpm_image(tmp_path, "27.el9"), rpm_image(tmp_path, "24.el9")
    # the images themselves: 1:3.0.7-24 is before the fix, 1:3.0.7-27 after it
    assert findings(cli, fixed) == set()
    before = findings(cli, vulnerable)
    assert {(p, v) for p, _, v in before} == {
        ("openssl", "1:3.0.7-24.el9"),
        ("openssl-libs", "1:3.0.7-24.el9"),
    }
    for ref, expected in ((fixed, set()), (vulnerable, before)):
        code, out, err = cli("sbom", ref, "--format", fmt)
        assert code == 0, err
        path = tmp_path / f"sbom-{len(out)}.{fmt}"
        path.write_text(out)
        assert findings(cli, f"sbom:{path}") == expected


def test_owned_language_packages_match_only_through_their_owner(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "import", str(FIXTURES / "GHSA-mq26-g339-26xf.json"))[0] == 0
    root = materialise_debian(tmp_path, go=False)
    layout = tmp_path / "layout"
    write_oci_layout(build_image(ImageSpec(layers=[Layer.from_dir(root)])), layout, tag="t")
    ref = f"oci-layout:{layout}:t"
    code, out, err = cli("scan", ref, "--format", "json")
    assert code == 0, err
    flagged = {(v["package"], v["id"], v["purl"]) for v in json.loads(out)["vulnerabilities"]}
    assert flagged == {("pip", "GHSA-mq26-g339-26xf", "pkg:pypi/pip@23.2.1")}
    code, out, err = cli("sbom", ref, "--format", "json")
    assert code == 0, err
    pips = [p for p in json.loads(out)["images"][0]["packages"] if p["name"] == "pip"]
    assert sorted(p["path"].split("/")[1] for p in pips if not p["owner"]) == ["local"]
    for fmt in FORMATS:
        code, out, err = cli("sbom", ref, "--format", fmt)
        assert code == 0, err
        path = tmp_path / f"sbom.{fmt}"
        path.write_text(out)
        assert findings(cli, f"sbom:{path}") == {("pip", "GHSA-mq26-g339-26xf", "23.2.1")}
