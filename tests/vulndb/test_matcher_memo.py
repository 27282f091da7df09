"""The matcher's memo is shared across images, so its key must hold all a verdict depends on.

``scan_sboms`` works a verdict out once per (ecosystem, package, version) and reuses it
for every later image. The same source package and version can be affected in one
release and fixed in the next, so the release (the ecosystem) must be part of that key.
The record is real (ALPINE-CVE-2025-26519, one ``affected`` entry per Alpine branch).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagetrust.sbom.formats.read import read_sbom_file
from imagetrust.sbom.models import ImageSbom
from imagetrust.store.database import Store
from imagetrust.vulndb.importer import import_path
from imagetrust.vulndb.scan import scan_sboms

RECORD = Path(__file__).parent.parent / "fixtures/vulndb/boundaries/ALPINE-CVE-2025-26519.json"


def alpine_sbom(tmp_path: Path, release: str, musl: str) -> ImageSbom:
    purl = f"pkg:apk/alpine/musl@{musl}?arch=x86_64&distro=alpine-{release}"
    doc = {"bomFormat": "CycloneDX", "components": [{"type": "library", "purl": purl}]}
    path = tmp_path / f"alpine-{release}.cdx.json"
    path.write_text(json.dumps(doc))
    return read_sbom_file(path)


@pytest.mark.parametrize("order", ["3.16 first", "3.17 first"])
def test_one_version_in_two_releases_gets_each_release_verdict(
    store_url: str, tmp_path: Path, order: str
) -> None:
    record = json.loads(RECORD.read_text())
    fixed = {
        a["package"]["ecosystem"]: next(
            e["fixed"] for e in a["ranges"][0]["events"] if "fixed" in e
        )
        for a in record["affected"]
    }
    # 1.2.3-r5 is past the Alpine 3.16 fix and before the Alpine 3.17 one.
    assert (fixed["Alpine:v3.16"], fixed["Alpine:v3.17"]) == ("1.2.3-r4", "1.2.3-r6")
    sboms = [
        alpine_sbom(tmp_path, "3.16.9", "1.2.3-r5"),
        alpine_sbom(tmp_path, "3.17.10", "1.2.3-r5"),
    ]
    if order == "3.17 first":
        sboms.reverse()
    with Store.open(store_url) as store:
        import_path(store, RECORD, now=datetime(2026, 11, 23, tzinfo=UTC))
        with store.read() as conn:
            results = list(scan_sboms(conn, sboms))
    verdicts = {
        scan.sbom.os.version_id if scan.sbom.os else None: [
            (f.id, f.fixed_version) for f in scan.findings
        ]
        for scan in results
    }
    assert verdicts == {
        "3.16.9": [],
        "3.17.10": [("ALPINE-CVE-2025-26519", "1.2.3-r6")],
    }
