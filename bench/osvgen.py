"""Generated OSV exports the size and shape of osv.dev's Debian, Ubuntu, Alpine and PyPI ones.

The real exports cannot be downloaded here, and a benchmark needs the real thing's size
and shape more than its content: how many records there are per export, how many
``affected`` entries (releases) each carries, how many records a looked-up package has,
and how big the stored rows are. What is generated:

**Sizes.** ``OSV_RECORDS``: the record counts osv.dev lists per ecosystem (its vulnerability
browser's ecosystem menu, the newest snapshot the search tool had, 2026): Debian 52,627,
Ubuntu 50,807, Alpine 3,971, PyPI 17,956. How each splits into record kinds is an estimate
(``kinds``): Debian's advisories about 7,800 (DLAs were numbered up to about 4,500 and DSAs
up to about 6,160 in March 2026; the older DSAs are not all converted), the rest
``DEBIAN-CVE-*``; Ubuntu's USNs about 7,000 (USN-7604 was June 2025), the rest ``UBUNTU-CVE-*``;
PyPI's PyPA records 3,300 (the PyPA database held 3,230 in April 2026), GitHub's reviewed
pip advisories about 4,400, the rest malicious-package reports (``MAL-*``), which name
packages no image ships.

**Shapes.** Each kind writes the fields its real records carry, copied from real records
(``tests/fixtures/severity/osv/DEBIAN-CVE-2016-1585.json``, ``tests/fixtures/vulndb/feeds/
DLA-3008-1.json``, ``tests/fixtures/vulndb/ecosystems/UBUNTU-CVE-2025-32463.json``, the
shared data's ``USN-5614-1.json``, ``ALPINE-CVE-2025-26519.json``, ``PYSEC-2023-74.json``,
``GHSA-93q8-gq69-wqmw.json``). No ``MAL-*`` record is stored anywhere here: those follow
the OSV schema's fields (an ``introduced: 0`` range and the listed versions). Releases per
record: a Debian CVE names Debian 11, 12 and 13 (and 10 for a third), a DSA one or two of
9-13, a DLA one of 9-11; an Ubuntu CVE a run of two to six of the eight releases OSV
carries (``Ubuntu:Pro:14.04:LTS`` ... ``Ubuntu:25.10``), most often ending at the newest,
a USN one to four; an Alpine CVE a run of three to nine branches (v3.12-v3.24).

**Which packages, and how often affected.** The packages the images ship get records in a
long-tailed number (``lognormvariate``: tens for most, hundreds for a few, as glibc, openssl
or systemd have), the rest go to thousands of packages no image ships. Fixes are written
below every installed version (``0~N``, ``0.0.N-r0``, ``0.0.0.postN``) or above it (epoch
99, ``9999.N``), so that a set share of entries affects an image: 15 % of CVE entries are
open (no fix yet) and 5-10 % of advisories' fixes are newer than the image. The ids are of
the year 2099, never a real advisory's.
"""

from __future__ import annotations

import json
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# osv.dev's record count per ecosystem (see the docstring)
OSV_RECORDS = {"Debian": 52_627, "Ubuntu": 50_807, "Alpine": 3_971, "PyPI": 17_956}

DEBIAN_RELEASES = ("Debian:10", "Debian:11", "Debian:12", "Debian:13")
UBUNTU_RELEASES = (
    ("Ubuntu:Pro:14.04:LTS", "trusty"),
    ("Ubuntu:Pro:16.04:LTS", "xenial"),
    ("Ubuntu:Pro:18.04:LTS", "bionic"),
    ("Ubuntu:20.04:LTS", "focal"),
    ("Ubuntu:22.04:LTS", "jammy"),
    ("Ubuntu:24.04:LTS", "noble"),
    ("Ubuntu:25.04", "plucky"),
    ("Ubuntu:25.10", "questing"),
)
ALPINE_BRANCHES = tuple(f"Alpine:v3.{minor}" for minor in range(12, 25))
MODIFIED = "2026-11-01T00:00:00Z"
PUBLISHED = "2099-01-01T00:00:00Z"
VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:L",
)
DETAILS = (
    "A flaw was found in {package}. A crafted input could cause an out-of-bounds read when"
    " parsing malformed data, leading to a crash (denial of service) or possibly the"
    " disclosure of memory contents. The issue affects releases before the fixed version."
)

Record = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """One kind of record of an export: how many, and how one is written."""

    prefix: str
    count: int
    build: Callable[[int, str, random.Random], Record]
    image_mu: float  # log-mean of records per image package (lognormvariate)
    synthetic: int  # how many packages no image ships share the rest


@dataclass(frozen=True)
class Export:
    """What one generated export holds, for the benchmark to print."""

    ecosystem: str
    path: Path
    records: int
    entries: int
    size: int  # bytes of the zip


def _cve(number: int) -> str:
    return f"CVE-2099-{number:06d}"


def _details(package: str) -> str:
    return DETAILS.format(package=package)


def _versions(rng: random.Random, low: int, high: int, form: str) -> list[str]:
    """An advisory's enumerated affected versions (generated, never an installed one)."""
    return [form.format(i) for i in range(rng.randint(low, high))]


# --- Debian: DEBIAN-CVE-* (security tracker), DSA-*/DLA-* (advisories) ---------------------


def debian_cve(number: int, package: str, rng: random.Random) -> Record:
    releases = DEBIAN_RELEASES if rng.random() < 0.33 else DEBIAN_RELEASES[1:]
    affected = []
    for release in releases:
        events: list[dict[str, str]] = [{"introduced": "0"}]
        urgency = rng.choice(["low", "medium", "high", "not yet assigned"])
        if rng.random() < 0.85:
            events.append({"fixed": f"0~{number}"})
        else:
            urgency = rng.choice(["unimportant", "unimportant", "low", "medium"])
        affected.append(
            {
                "package": {"ecosystem": release, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "ecosystem_specific": {"urgency": urgency},
            }
        )
    record: Record = {
        "id": f"DEBIAN-{_cve(number)}",
        "upstream": [_cve(number)],
        "details": _details(package),
        "modified": MODIFIED,
        "published": PUBLISHED,
        "affected": affected,
        "references": [
            {
                "type": "ADVISORY",
                "url": f"https://security-tracker.debian.org/tracker/{_cve(number)}",
            }
        ],
    }
    if rng.random() < 0.7:
        record["severity"] = [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}]
    return record


def debian_advisory(number: int, package: str, rng: random.Random) -> Record:
    dla = rng.random() < 0.58  # about 4,500 DLAs beside about 3,300 DSAs
    if dla:
        ident, releases = f"DLA-{number}-1", [rng.choice((*DEBIAN_RELEASES[:2], "Debian:9"))]
    else:
        ident = f"DSA-{number}-1"
        releases = rng.sample(("Debian:9", *DEBIAN_RELEASES), rng.randint(1, 2))
    cves = [_cve(number * 3 + i) for i in range(rng.randint(1, 4))]
    fixed = f"99:{number}" if rng.random() < 0.05 else f"0~{number}"
    return {
        "schema_version": "1.7.3",
        "id": ident,
        "published": PUBLISHED,
        "modified": MODIFIED,
        "upstream": cves + [f"DEBIAN-{c}" for c in cves],
        "summary": f"{package} - security update",
        "affected": [
            {
                "package": {
                    "name": package,
                    "ecosystem": release,
                    "purl": f"pkg:deb/debian/{package}?arch=source",
                },
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "versions": _versions(rng, 3, 20, "0~{}"),
                "database_specific": {
                    "source": f"https://storage.googleapis.com/debian-osv/dla-osv/{ident}.json"
                },
            }
            for release in releases
        ],
    }


# --- Ubuntu: UBUNTU-CVE-* and USN-* -----------------------------------------------------------


def _ubuntu_run(rng: random.Random, low: int, high: int) -> list[tuple[str, str]]:
    """A run of consecutive releases, most often ending at one of the newest three."""
    end = rng.choices(range(len(UBUNTU_RELEASES)), weights=(1, 1, 1, 2, 3, 6, 4, 4))[0]
    length = rng.randint(low, high)
    return list(UBUNTU_RELEASES[max(0, end - length + 1) : end + 1])


def _ubuntu_entry(
    package: str, release: tuple[str, str], fixed: str | None, rng: random.Random
) -> Record:
    ecosystem, codename = release
    events: list[dict[str, str]] = [{"introduced": "0"}]
    if fixed is not None:
        events.append({"fixed": fixed})
    binary = fixed or "0~1"
    return {
        "package": {
            "ecosystem": ecosystem,
            "name": package,
            "purl": f"pkg:deb/ubuntu/{package}@{binary}?arch=source&distro={codename}",
        },
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "versions": _versions(rng, 2, 8, "0~{}build1"),
        "ecosystem_specific": {
            "binaries": [
                {"binary_name": f"{package}{suffix}", "binary_version": binary}
                for suffix in ("", "-bin", "-dev", "-doc")[: rng.randint(1, 4)]
            ],
            "availability": "No subscription required",
        },
    }


def ubuntu_cve(number: int, package: str, rng: random.Random) -> Record:
    priority = rng.choice(["negligible", "low", "medium", "medium", "high"])
    affected = [
        _ubuntu_entry(package, release, f"0~{number}" if rng.random() < 0.85 else None, rng)
        for release in _ubuntu_run(rng, 2, 6)
    ]
    return {
        "schema_version": "1.7.0",
        "id": f"UBUNTU-{_cve(number)}",
        "details": _details(package),
        "aliases": [],
        "upstream": [_cve(number)],
        "related": [f"USN-{number % 9000}-1"],
        "severity": [
            {"type": "CVSS_V3", "score": rng.choice(VECTORS)},
            {"type": "Ubuntu", "score": priority},
        ],
        "published": PUBLISHED,
        "modified": MODIFIED,
        "affected": affected,
        "references": [
            {"type": "REPORT", "url": f"https://ubuntu.com/security/{_cve(number)}"},
        ],
    }


def usn(number: int, package: str, rng: random.Random) -> Record:
    fixed = f"99:{number}" if rng.random() < 0.05 else f"0~{number}"
    cves = [f"UBUNTU-{_cve(number * 3 + i)}" for i in range(rng.randint(1, 4))]
    affected = []
    for release in _ubuntu_run(rng, 1, 4):
        entry = _ubuntu_entry(package, release, fixed, rng)
        entry["database_specific"] = {
            "cves_map": {
                "ecosystem": release[0],
                "cves": [
                    {
                        "id": cve.removeprefix("UBUNTU-"),
                        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
                    }
                    for cve in cves
                ],
            }
        }
        affected.append(entry)
    return {
        "schema_version": "1.7.0",
        "id": f"USN-{number}-1",
        "summary": f"{package} vulnerabilities",
        "details": _details(package),
        "aliases": [],
        "upstream": cves,
        "related": [],
        "published": PUBLISHED,
        "modified": MODIFIED,
        "affected": affected,
    }


# --- Alpine: ALPINE-CVE-* ---------------------------------------------------------------------


def alpine_cve(number: int, package: str, rng: random.Random) -> Record:
    end = rng.randint(len(ALPINE_BRANCHES) - 4, len(ALPINE_BRANCHES) - 1)
    branches = ALPINE_BRANCHES[max(0, end - rng.randint(3, 9) + 1) : end + 1]
    fixed = f"9999.{number}-r0" if rng.random() < 0.1 else f"0.0.{number}-r0"
    return {
        "schema_version": "1.7.5",
        "id": f"ALPINE-{_cve(number)}",
        "published": PUBLISHED,
        "modified": MODIFIED,
        "upstream": [_cve(number)],
        "details": _details(package),
        "affected": [
            {
                "package": {
                    "name": package,
                    "ecosystem": branch,
                    "purl": f"pkg:apk/alpine/{package}?arch=source",
                },
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "ecosystem_specific": {},
                "database_specific": {
                    "source": "https://storage.googleapis.com/cve-osv-conversion/alpine/"
                    f"ALPINE-{_cve(number)}.json"
                },
            }
            for branch in branches
        ],
        "references": [
            {"type": "ADVISORY", "url": f"https://security.alpinelinux.org/vuln/{_cve(number)}"}
        ],
        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
    }


# --- PyPI: PYSEC-*, GHSA-*, MAL-* -------------------------------------------------------------

_GHSA_ALPHABET = "23456789cfghjmpqrvwx"


def _ghsa(number: int) -> str:
    digits = []
    for _ in range(12):
        number, rest = divmod(number, len(_GHSA_ALPHABET))
        digits.append(_GHSA_ALPHABET[rest])
    text = "".join(digits)
    return f"GHSA-{text[:4]}-{text[4:8]}-{text[8:]}"


def _pypi_fixed(number: int, rng: random.Random) -> str:
    return f"9999.{number}" if rng.random() < 0.05 else f"0.0.0.post{number}"


def pysec(number: int, package: str, rng: random.Random) -> Record:
    ranges: list[Record] = []
    if rng.random() < 0.5:
        ranges.append(
            {
                "type": "GIT",
                "repo": f"https://github.com/example/{package}",
                "events": [{"introduced": "0"}, {"fixed": f"{number:040x}"}],
            }
        )
    ranges.append(
        {
            "type": "ECOSYSTEM",
            "events": [{"introduced": "0"}, {"fixed": _pypi_fixed(number, rng)}],
        }
    )
    return {
        "schema_version": "1.7.3",
        "id": f"PYSEC-2099-{number}",
        "published": PUBLISHED,
        "modified": MODIFIED,
        "aliases": [_cve(number), _ghsa(number)],
        "details": _details(package),
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI", "purl": f"pkg:pypi/{package}"},
                "ranges": ranges,
                "versions": _versions(rng, 5, 60, "0.0.0.dev{}"),
                "database_specific": {
                    "source": "https://github.com/pypa/advisory-database/blob/main/vulns/"
                    f"{package}/PYSEC-2099-{number}.yaml"
                },
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.org/{package}/security"}],
    }


def ghsa(number: int, package: str, rng: random.Random) -> Record:
    return {
        "schema_version": "1.2.0",
        "id": _ghsa(number),
        "modified": MODIFIED,
        "published": PUBLISHED,
        "aliases": [_cve(number)],
        "summary": f"{package} is vulnerable to a denial of service",
        "details": _details(package),
        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": _pypi_fixed(number, rng)}],
                    }
                ],
            }
            for _ in range(rng.choice((1, 1, 1, 2, 3)))
        ],
        "references": [
            {"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/{_cve(number)}"}
        ],
        "database_specific": {
            "cwe_ids": ["CWE-400"],
            "severity": rng.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"]),
            "github_reviewed": True,
        },
    }


def malicious(number: int, package: str, rng: random.Random) -> Record:
    return {
        "schema_version": "1.5.0",
        "id": f"MAL-2099-{number}",
        "summary": f"Malicious code in {package} (PyPI)",
        "details": "This package contains code that exfiltrates credentials on install.",
        "published": PUBLISHED,
        "modified": MODIFIED,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                "versions": _versions(rng, 1, 3, "0.{}.1"),
                "database_specific": {"malicious-packages-origins": [{"source": "bench"}]},
            }
        ],
    }


def kinds(ecosystem: str, scale: float) -> list[Kind]:
    """The record kinds of one export, in its real proportions (see the docstring)."""
    total = round(OSV_RECORDS[ecosystem] * scale)

    def share(part: int) -> int:
        return round(part * scale)

    if ecosystem == "Debian":
        advisories = share(7_800)
        return [
            Kind("DEBIAN-CVE", total - advisories, debian_cve, 2.6, 3000),
            Kind("DSA/DLA", advisories, debian_advisory, 1.0, 400),
        ]
    if ecosystem == "Ubuntu":
        notices = share(7_000)
        return [
            Kind("UBUNTU-CVE", total - notices, ubuntu_cve, 2.6, 3000),
            Kind("USN", notices, usn, 1.0, 500),
        ]
    if ecosystem == "Alpine":
        return [Kind("ALPINE-CVE", total, alpine_cve, 2.0, 900)]
    if ecosystem == "PyPI":
        pypa, github = share(3_300), share(4_400)
        return [
            Kind("PYSEC", pypa, pysec, 0.8, 1500),
            Kind("GHSA", github, ghsa, 0.8, 2500),
            Kind("MAL", total - pypa - github, malicious, -99.0, 0),  # one new name each
        ]
    raise ValueError(f"no generator for {ecosystem}")


def _assign(kind: Kind, image_packages: list[str], rng: random.Random) -> list[str]:
    """The package each record of ``kind`` names: a long-tailed share for the image
    packages, the rest over packages no image ships."""
    names: list[str] = []
    if kind.image_mu > -10:
        for name in image_packages:
            names += [name] * max(0, int(rng.lognormvariate(kind.image_mu, 1.0)))
    names = names[: kind.count]
    rng.shuffle(names)
    prefix = kind.prefix.split("/")[0].lower()
    while len(names) < kind.count:
        if kind.synthetic:
            names.append(f"{prefix}-other-{rng.randrange(kind.synthetic)}")
        else:
            names.append(f"{prefix}-only-{len(names)}")
    return names


def records(
    ecosystem: str, image_packages: list[str], scale: float, rng: random.Random
) -> Iterator[Record]:
    """Every record of one generated export."""
    number = 0
    for kind in kinds(ecosystem, scale):
        for package in _assign(kind, image_packages, rng):
            number += 1
            yield kind.build(number, package, rng)


def write_export(
    folder: Path, ecosystem: str, image_packages: list[str], scale: float, seed: int
) -> Export:
    """``<folder>/<ecosystem>.zip``, one JSON file per record, as OSV's ``all.zip`` is."""
    rng = random.Random(f"{seed}/{ecosystem}")  # noqa: S311 - reproducible data, not security
    path = folder / f"{ecosystem}.zip"
    count = entries = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for record in records(ecosystem, image_packages, scale, rng):
            count += 1
            entries += len(record["affected"])
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return Export(ecosystem, path, count, entries, path.stat().st_size)
