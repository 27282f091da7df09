"""Re-matching stored SBOMs against a full-size database, against analysing images cold.

Issue 7's aim: re-matching 1,000 stored SBOMs against a database holding all records of the
ecosystems involved takes under 1/20 of the time of analysing those images cold. Both sides
are measured in this run, in-process:

- cold analysis: `ImageAnalyser` with an empty layer cache on the Debian 12 minbase benchmark
  image (`bench/images.py`, one 92 MB gzip layer), several runs, median; times 1,000;
- re-match: 1,000 SBOMs stored in a fresh SQLite store, each a different draw of 80 to 400
  packages (with their real versions and source packages) from a real 711-package Debian 12
  dpkg status, matched by `vulndb.scan.scan_sboms` against a database of `--records` generated
  Debian:12 OSV records (default 45,000, the size of the whole Debian OSV feed) spread over
  every source package of that status and about 3,000 more, imported with the production
  importer from a generated zip.

The generated records have the real feed's shape (introduced 0, a fixed version or none, an
urgency); the matching cost depends on the number of records per looked-up package, which
the generator keeps realistic (see `generated_records`).

Run: `.venv/bin/python bench/rematch.py [--sboms 1000] [--records 45000] [--skip-build]`
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATUS = REPO / "tests/fixtures/rootfs/debian12/var/lib/dpkg/status"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def real_packages() -> list[dict[str, str]]:
    """Name, version, source name and source version of each real status entry."""
    packages = []
    for stanza in STATUS.read_text().split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value
        if "Package" not in fields or "Version" not in fields:
            continue
        source = fields.get("Source", fields["Package"])
        name, _, version = source.partition(" ")
        packages.append(
            {
                "name": fields["Package"],
                "version": fields["Version"],
                "arch": fields.get("Architecture", "amd64"),
                "source": name,
                "source_version": version.strip("()") or fields["Version"],
            }
        )
    return packages


def generated_records(count: int, sources: list[str], rng: random.Random) -> bytes:
    """A zip of OSV records shaped like osv.dev's DEBIAN-CVE-* records.

    The real feed's proportions, roughly: the source packages of a base image have tens of
    records each (a few have hundreds: glibc, openssl, systemd), most fixed long ago (the
    fixed version is below the installed one, written `0~N` so that it always is), about
    15 % open with no fix (mostly `unimportant`); the rest of the records belong to the
    thousands of packages images do not ship (here `synthetic-N`).
    """
    per_source = {name: max(1, int(rng.lognormvariate(2.6, 1.0))) for name in sources}
    assigned = [name for name, n in per_source.items() for _ in range(n)][:count]
    synthetic = [f"synthetic-{i}" for i in range(3000)]
    assigned += [rng.choice(synthetic) for _ in range(count - len(assigned))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, package in enumerate(assigned):
            events: list[dict[str, str]] = [{"introduced": "0"}]
            urgency = rng.choice(["low", "medium", "high", "not yet assigned"])
            if rng.random() < 0.85:
                events.append({"fixed": f"0~{number}"})
            else:
                urgency = rng.choice(["unimportant", "unimportant", "low", "medium"])
            record = {
                "id": f"DEBIAN-CVE-2099-{number:06d}",
                "modified": "2026-11-01T00:00:00Z",
                "upstream": [f"CVE-2099-{number:06d}"],
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": package},
                        "ranges": [{"type": "ECOSYSTEM", "events": events}],
                        "ecosystem_specific": {"urgency": urgency},
                    }
                ],
            }
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return buffer.getvalue()


def cold_analysis_seconds(runs: int, skip_build: bool) -> tuple[float, str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from images import build_image, cache_dir, load_image

    from imagetrust.config import Settings
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.analyse import ImageAnalyser
    from imagetrust.sbom.cache import LayerCache

    cache = cache_dir(None)
    image = load_image(cache) if skip_build else build_image(cache)
    if image is None:
        raise SystemExit("no benchmark image built yet: run without --skip-build once")
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home, OciSession(Settings()) as session:
            analyser = ImageAnalyser(LayerCache(Path(home)))
            started = time.perf_counter()
            with session.open(image.oci_reference) as source:
                analyser.analyse(source)
            times.append(time.perf_counter() - started)
    return statistics.median(times), image.description


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sboms", type=int, default=1000)
    parser.add_argument("--records", type=int, default=45_000)
    parser.add_argument("--runs", type=int, default=3, help="cold analyses to take the median of")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()

    from imagetrust.sbom.models import (
        ImageFacts,
        ImageSbom,
        OsRelease,
        Package,
        PackageType,
    )
    from imagetrust.sbom.stored import save_sbom, stored_sboms
    from imagetrust.store.database import Store
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.scan import scan_sboms

    rng = random.Random(7)  # noqa: S311 - reproducible test data, not security
    real = real_packages()
    sources = sorted({p["source"] for p in real})
    cold, description = cold_analysis_seconds(args.runs, args.skip_build)

    with tempfile.TemporaryDirectory() as work:
        store_url = f"sqlite:///{work}/bench.db"
        zip_path = Path(work) / "debian.zip"
        zip_path.write_bytes(generated_records(args.records, sources, rng))
        with Store.open(store_url) as store:
            started = time.perf_counter()
            imported = import_path(store, zip_path, now=NOW, name="generated-debian")
            import_seconds = time.perf_counter() - started
            for number in range(args.sboms):
                chosen = rng.sample(real, rng.randint(80, 400))
                packages = tuple(
                    Package(
                        p["name"],
                        p["version"],
                        PackageType.DEB,
                        purl=f"pkg:deb/debian/{p['name']}@{p['version']}",
                        source_name=p["source"],
                        source_version=p["source_version"],
                        architecture=p["arch"],
                    )
                    for p in chosen
                )
                sbom = ImageSbom(
                    reference=f"bench/image-{number}",
                    digest=f"sha256:{number:064x}",
                    index_digest=None,
                    platform="linux/amd64",
                    config_digest=f"sha256:{number + 1:064x}",
                    analyser_version="bench",
                    os=OsRelease("debian", "12"),
                    packages=packages,
                    layers=(),
                    facts=ImageFacts(None, (), (), {}, {}),
                )
                with store.transaction() as conn:
                    save_sbom(conn, sbom, NOW)
            started = time.perf_counter()
            findings = 0
            packages_matched = 0
            with store.read() as conn:
                for scan in scan_sboms(conn, stored_sboms(conn)):
                    findings += len(scan.findings)
                    packages_matched += len(scan.sbom.packages)
            rematch_seconds = time.perf_counter() - started

    cold_total = cold * args.sboms
    ratio = rematch_seconds / cold_total
    print(f"cold analysis ({description}): median {cold:.3f} s per image, in-process")
    print(
        f"database: {imported.records} generated Debian:12 records imported in "
        f"{import_seconds:.1f} s ({imported.records / import_seconds:.0f} records/s)"
    )
    print(
        f"re-match: {args.sboms} stored SBOMs, {packages_matched} packages, {findings} "
        f"findings in {rematch_seconds:.2f} s ({packages_matched / rematch_seconds:.0f} packages/s)"
    )
    print(f"cold analysis of {args.sboms} such images: {cold_total:.0f} s (median x {args.sboms})")
    verdict = "met" if ratio < 1 / 20 else "MISSED"
    print(f"re-match / cold analysis = {ratio:.4f} (aim < 0.05): {verdict}")


if __name__ == "__main__":
    main()
