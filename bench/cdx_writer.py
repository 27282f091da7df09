"""Writing CycloneDX: imagetrust's direct writer against cyclonedx-python-lib.

The report writes a CycloneDX and an SPDX file for every image; through the library's
model (sorted sets of rich objects, purls normalised again and again, a generic
serialiser) that was ~95 % of ``report``. The product now writes the document directly in
the library's exact form and keeps the library as the reference (``sbom.formats.
cyclonedx_model``); this times both on the same real package lists and checks that they
write the same JSON.

The SBOMs: the real Debian 12 ``dpkg`` status of ``tests/fixtures/rootfs/debian12`` (711
packages, with their licenses unknown, as dpkg records none) and the Alpine ``installed``
database (licenses declared), each as one image, written N times with a different digest
so no cache of the writer carries a document over.

    .venv/bin/python bench/cdx_writer.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from imagetrust.sbom.catalogers.apk import parse_apk_installed  # noqa: E402
from imagetrust.sbom.catalogers.dpkg import parse_dpkg_status  # noqa: E402
from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json  # noqa: E402
from imagetrust.sbom.formats.cyclonedx_model import library_cyclonedx_json  # noqa: E402
from imagetrust.sbom.formats.spdx import to_spdx_json  # noqa: E402
from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease, Package  # noqa: E402

ROOTFS = REPO / "tests" / "fixtures" / "rootfs"
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _images() -> dict[str, tuple[OsRelease, list[Package]]]:
    debian = OsRelease("debian", "12", "Debian GNU/Linux 12 (bookworm)", "bookworm")
    alpine = OsRelease("alpine", "3.16.2")
    status = (ROOTFS / "debian12/var/lib/dpkg/status").read_bytes()
    installed = (ROOTFS / "alpine/lib/apk/db/installed").read_bytes()
    return {
        "debian 12": (debian, parse_dpkg_status("var/lib/dpkg/status", status, debian)),
        "alpine": (alpine, parse_apk_installed("lib/apk/db/installed", installed, alpine)),
    }


def _sbom(os_release: OsRelease, packages: list[Package], number: int) -> ImageSbom:
    return ImageSbom(
        reference=f"docker.io/library/bench:{number}",
        digest="sha256:" + f"{number:064x}",
        index_digest=None,
        platform="linux/amd64",
        config_digest="sha256:" + "cd" * 32,
        analyser_version="bench",
        os=os_release,
        packages=tuple(packages),
        layers=(),
        facts=ImageFacts(None, (), (), {}, {}),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"Command: `{' '.join([sys.executable, *sys.argv])}`, {time.strftime('%Y-%m-%d %H:%M')}")
    print()
    print("| image | packages | library ms | direct ms | library ÷ direct | SPDX ms | same JSON |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, (os_release, packages) in _images().items():
        library, direct, spdx, same = [], [], [], True
        for run in range(args.runs):
            sbom = _sbom(os_release, packages, run)
            began = time.perf_counter()
            theirs = library_cyclonedx_json(sbom, tool_version="bench", now=NOW)
            library.append(time.perf_counter() - began)
            began = time.perf_counter()
            ours = to_cyclonedx_json(sbom, tool_version="bench", now=NOW)
            direct.append(time.perf_counter() - began)
            began = time.perf_counter()
            to_spdx_json(sbom, tool_version="bench", now=NOW)
            spdx.append(time.perf_counter() - began)
            same = same and json.dumps(json.loads(ours)) == json.dumps(json.loads(theirs))
        lib_ms, own_ms = statistics.median(library) * 1e3, statistics.median(direct) * 1e3
        print(
            f"| {name} | {len(packages)} | {lib_ms:.1f} | {own_ms:.1f} | x{lib_ms / own_ms:.0f}"
            f" | {statistics.median(spdx) * 1e3:.1f} | {'yes' if same else 'NO'} |"
        )
        if not same:
            print("error: the direct writer and the library disagree", file=sys.stderr)
            return 1
    print(
        f"\nMedians of {args.runs} runs, in-process; the first run of each pays the caches'"
        " filling (purls, license expressions), as a report's first image does."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
