"""No layer can hide packages or exhaust memory: padding, hard links, many layers.

Every image is built here, small on disk (padding compresses a thousandfold), and read by
the production command in a child process whose peak RSS is measured on its own. The
expected packages come from the same database without the hostile part, read by the
catalogers the syft and dpkg oracles check elsewhere.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from tests.sbom import hostile
from tests.services.measure import Measured, run_measured

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"
STATUS = (ROOTFS / "debian12" / "var/lib/dpkg/status").read_bytes()
OS_RELEASE = (ROOTFS / "debian12" / "etc/os-release").read_bytes()
BASELINE_MIB = 64  # measured 25-47 MiB for these images (the interpreter alone: ~10)


def padding(megabytes: int) -> bytes:
    """Continuation lines, as a huge Description would have: no parser needs them."""
    line = b" " + b"x" * 78 + b"\n"
    return line * (megabytes * (1 << 20) // len(line))


def padded_status(megabytes: int) -> bytes:
    first_end = STATUS.index(b"\n\n")
    return STATUS[:first_end] + b"\n" + padding(megabytes) + STATUS[first_end:]


def sbom(tmp_path: Path, ref: str, *args: str, home: str = "home") -> tuple[Measured, Any]:
    result = run_measured(
        ["imagetrust", "--home", str(tmp_path / home), "sbom", ref, "--format", "json", *args],
        timeout=300,
    )
    doc = json.loads(result.stdout) if result.stdout.strip() else None
    return result, doc


def names(doc: Any) -> list[str]:
    return sorted(p["name"] for p in doc["images"][0]["packages"])


def reference_names(tmp_path: Path, files: dict[str, bytes]) -> list[str]:
    layer = hostile.tar_of([hostile.entry(path, data) for path, data in files.items()])
    ref = hostile.oci_layout(tmp_path / "reference", [layer])
    result, doc = sbom(tmp_path, ref, home="reference-home")
    assert result.returncode == 0, result.stderr
    return names(doc)


def test_a_dpkg_status_padded_past_the_file_limit_still_lists_every_package(
    tmp_path: Path,
) -> None:
    """70 MB of padding in one stanza: the file was skipped as too large and the image
    scanned clean; streamed, every package is there, in bounded memory."""
    expected = reference_names(tmp_path, {"var/lib/dpkg/status": STATUS})
    assert len(expected) == 711
    layer = hostile.tar_of(
        [
            hostile.entry("etc/os-release", OS_RELEASE),
            hostile.entry("var/lib/dpkg/status", padded_status(70)),
        ]
    )
    ref = hostile.oci_layout(tmp_path / "padded", [layer])
    assert sum(f.stat().st_size for f in (tmp_path / "padded").rglob("*") if f.is_file()) < 2e6
    result, doc = sbom(tmp_path, ref)
    assert result.returncode == 0, result.stderr
    assert names(doc) == expected and doc["images"][0]["complete"] is True
    assert result.peak_rss_mib < BASELINE_MIB, result.peak_rss_mib


def test_hard_links_cost_one_copy_and_one_parse(tmp_path: Path) -> None:
    """One 60 MB status.d entry and 40 hard links to it: 2.6 GB cold and 5.1 GB warm when
    every link was a copy (and a database of its own); the package is listed once."""
    stanza = STATUS[: STATUS.index(b"\n\n") + 1]  # adduser
    entries = [hostile.entry("var/lib/dpkg/status.d/base", stanza + padding(60))]
    entries += [
        hostile.entry(f"var/lib/dpkg/status.d/link{i}", type=tarfile.LNKTYPE,
                      linkname="var/lib/dpkg/status.d/base")
        for i in range(40)
    ]  # fmt: skip
    ref = hostile.oci_layout(tmp_path / "links", [hostile.tar_of(entries)])
    cold, doc = sbom(tmp_path, ref)
    assert cold.returncode == 0, cold.stderr
    assert names(doc) == ["adduser"]
    warm, again = sbom(tmp_path, ref)
    assert warm.returncode == 0 and "cached" in warm.stderr
    assert names(again) == ["adduser"]
    assert cold.peak_rss_mib < BASELINE_MIB, cold.peak_rss_mib
    assert warm.peak_rss_mib < BASELINE_MIB, warm.peak_rss_mib
    cache = sum(f.stat().st_size for f in (tmp_path / "home").rglob("*.itl"))
    assert cache < 100_000  # the link costs a name in the cache, not the bytes again


def test_many_layers_each_with_a_large_status_stay_bounded(tmp_path: Path) -> None:
    """31 layers, each rewriting a padded status (2.0 GB when each was kept whole)."""
    layers = [
        hostile.tar_of([hostile.entry("var/lib/dpkg/status", padded_status(24))]) for _ in range(31)
    ]
    ref = hostile.oci_layout(tmp_path / "many", layers)
    result, doc = sbom(tmp_path, ref)
    assert result.returncode == 0, result.stderr
    assert len(names(doc)) == 711
    assert result.peak_rss_mib < BASELINE_MIB, result.peak_rss_mib


def test_a_database_that_cannot_be_read_makes_the_sbom_incomplete_in_every_format(
    tmp_path: Path,
) -> None:
    """A Python METADATA over the file limit (1 MiB here, a setting): its package is not
    listed, and every output says the SBOM is incomplete; the command fails."""
    site = "usr/lib/python3/site-packages"
    small = b"Metadata-Version: 2.1\nName: small\nVersion: 1.0\n"
    big = b"Metadata-Version: 2.1\nName: hidden\nVersion: 6.6\n\n" + b"x" * (2 << 20)
    layer = hostile.tar_of(
        [
            hostile.entry(f"{site}/small-1.0.dist-info/METADATA", small),
            hostile.entry(f"{site}/hidden-6.6.dist-info/METADATA", big),
        ]
    )
    ref = hostile.oci_layout(tmp_path / "img", [layer])
    env = {"IMAGETRUST_SBOM_MAX_FILE_BYTES": str(1 << 20)}
    home = ["--home", str(tmp_path / "h")]
    outputs = {}
    for fmt in ("json", "cyclonedx-json", "spdx-json", "table"):
        result = run_measured(["imagetrust", *home, "sbom", ref, "--format", fmt], env=env)
        assert result.returncode == 1, (fmt, result.stderr)
        assert "the SBOM is incomplete" in result.stderr and "hidden-6.6.dist-info" in result.stderr
        outputs[fmt] = result.stdout
    native = json.loads(outputs["json"])["images"][0]
    assert [p["name"] for p in native["packages"]] == ["small"]
    assert native["complete"] is False
    assert any("hidden-6.6.dist-info/METADATA" in reason for reason in native["incomplete"])
    cdx = json.loads(outputs["cyclonedx-json"])
    props = {p["name"]: p["value"] for p in cdx["metadata"]["properties"]}
    assert "hidden-6.6.dist-info" in props["imagetrust:sbom:incomplete"]
    spdx = json.loads(outputs["spdx-json"])
    assert any("hidden-6.6" in note["comment"] for note in spdx["annotations"])
    assert "INCOMPLETE" in outputs["table"]
    # an SBOM file keeps the flag: scanning it later still cannot say "clean"
    (tmp_path / "bom.json").write_text(outputs["cyclonedx-json"])
    from imagetrust.demo import DATA

    imported = run_measured(["imagetrust", *home, "db", "import", str(DATA / "vulndb")])
    assert imported.returncode == 0, imported.stderr
    for target in (ref, f"sbom:{tmp_path / 'bom.json'}"):
        scan = run_measured(
            ["imagetrust", *home, "scan", target, "--format", "json", "--exit-code", "0"], env=env
        )
        assert scan.returncode == 1, scan.stderr  # unknown is never clean, whatever --exit-code
        assert "incomplete, findings may be missing" in scan.stderr
        document = json.loads(scan.stdout)
        assert document["complete"] is False and document["incomplete"]


def test_a_hard_link_to_a_file_that_went_by_unkept_is_not_a_silent_gap(
    tmp_path: Path,
) -> None:
    """The status file arrives as a hard link to a path nobody wanted: its bytes are gone
    by the time its real name shows up, so the SBOM must say it could not read it."""
    layer = hostile.tar_of(
        [
            hostile.entry("tmp/innocent", STATUS),
            hostile.entry("var/lib/dpkg/status", type=tarfile.LNKTYPE, linkname="tmp/innocent"),
        ]
    )
    ref = hostile.oci_layout(tmp_path / "img", [layer])
    result, doc = sbom(tmp_path, ref)
    assert result.returncode == 1
    assert doc["images"][0]["complete"] is False
    assert "var/lib/dpkg/status" in doc["images"][0]["incomplete"][0]


def test_a_10_mb_name_is_left_out_and_said(tmp_path: Path) -> None:
    site = "usr/lib/python3/site-packages"
    metadata = b"Metadata-Version: 2.1\nName: " + b"a" * (10 << 20) + b"\nVersion: 1.0\n"
    layer = hostile.tar_of([hostile.entry(f"{site}/a-1.0.dist-info/METADATA", metadata)])
    ref = hostile.oci_layout(tmp_path / "img", [layer])
    result, doc = sbom(tmp_path, ref)
    assert result.returncode == 1 and len(result.stdout) < 100_000  # was 262,116 characters
    assert doc["images"][0]["packages"] == []
    assert "over 1024 characters" in doc["images"][0]["incomplete"][0]
