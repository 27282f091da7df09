"""Where the sources disagree about one image: our analysis, Trivy, Grype, the publisher's SBOM.

Each *source* is what the store keeps of one view of the image: imagetrust's own SBOM and
finding set (``builtin``), another engine's newest finding set (``trivy``, ``grype``, with
the package inventory it listed, if any) and the publisher's SBOM attestation
(``publisher-sbom``: packages, no findings). Every pair of sources that both know
something is compared:

- **packages** (when both list an inventory; Grype lists matches only, so it takes no
  part): those only one side sees, those whose versions differ, and the agreement rate,
  the share of all packages either side lists that both list at the same version;
- **findings** (when both matched): those only one side reports, different fixed
  versions, different severities, and the agreement rate, the share of all findings either
  side reports that both report.

**Identity.** A package is its purl's type and name (with the namespace where it is part of
the name: npm scopes, Maven groups, Go module paths; not for distribution packages, whose
namespace is a vendor each tool spells its own way, ``rhel`` or ``redhat``); without a purl,
its type and name. Versions compare as written, but an explicit ``0:`` epoch is the same as
none. A finding is a vulnerability on a package, and a vulnerability is named by its CVE
ids where the finding has any (its id or aliases: ``DLA-3008-1`` covering two CVEs counts
under both, ``GHSA-...`` with a CVE alias under the CVE), else by its own id: the tools
name the same flaw after different databases, and the CVE is the name they share. Fixed
versions compare as sets (Trivy and Grype join several with ", ").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

if TYPE_CHECKING:
    from sqlalchemy import Connection

PackageKey = tuple[str, str]  # (purl type, name as identity)
Unit = tuple[str, PackageKey]  # (vulnerability name, package)

BUILTIN = "builtin"
PUBLISHER = "publisher-sbom"
SOURCE_ORDER = (BUILTIN, "trivy", "grype", PUBLISHER)
_OS_TYPES = frozenset({"deb", "apk", "rpm", "alpm", "alpine", "debian"})
_OUR_TYPES = {"python": "pypi", "java": "maven", "go": "golang"}  # ours -> purl types
_PEP503 = re.compile(r"[-_.]+")
_SEVERITY_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0}


class PackageSeen(Struct):
    name: str
    purl: str | None
    versions: set[str] = field(default_factory=set)


class FindingSeen(Struct):
    vulnerability: str
    package: str
    installed: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    fixed: set[str] = field(default_factory=set)
    severity: str = "UNKNOWN"


class Source(Struct):
    """One view of the image; ``packages`` / ``findings`` None: this source has none."""

    name: str
    known: bool
    reason: str
    version: str | None = None
    when: datetime | None = None
    packages: dict[PackageKey, PackageSeen] | None = None
    findings: dict[Unit, FindingSeen] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "known": self.known,
            "reason": self.reason,
            "version": self.version,
            "when": self.when,
            "packages": len(self.packages) if self.packages is not None else None,
            "findings": len(self.findings) if self.findings is not None else None,
        }


# --------------------------------------------------------------------------- identity


@functools.lru_cache(maxsize=1 << 16)
def package_key(purl: str | None, name: str, kind: str) -> PackageKey:
    """The identity every source agrees on (see the module docstring). Cached: parsing a
    purl is the slow part of comparing, and the same packages recur in image after image
    (a report compares every image that another engine matched)."""
    if purl:
        from packageurl import PackageURL

        try:
            parsed = PackageURL.from_string(purl)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.name:
            return _key(parsed.type.lower(), parsed.namespace, parsed.name)
    kind = _OUR_TYPES.get(kind, kind) or "unknown"
    return _key(kind.lower(), None, name)


def _key(kind: str, namespace: str | None, name: str) -> PackageKey:
    if kind in _OS_TYPES:
        return kind, name
    if kind == "pypi":
        return kind, _PEP503.sub("-", name).lower()
    if kind == "maven":
        return kind, f"{namespace}:{name}" if namespace else name
    if kind in ("npm", "golang"):
        return kind, f"{namespace}/{name}" if namespace else name
    return kind, f"{namespace}/{name}" if namespace else name


def same_version(version: str) -> str:
    text = version.strip()
    return text[2:] if text.startswith("0:") else text


def vulnerability_names(ident: str, aliases: Iterable[str]) -> list[str]:
    cves = sorted({name for name in (ident, *aliases) if name.startswith("CVE-")})
    return cves or [ident]


def _fixed_set(value: Any) -> set[str]:
    if not isinstance(value, str) or not value.strip():
        return set()
    return {same_version(part) for part in value.split(",") if part.strip()}


# --------------------------------------------------------------------------- sources


def packages_of(entries: Iterable[Mapping[str, Any]]) -> dict[PackageKey, PackageSeen]:
    seen: dict[PackageKey, PackageSeen] = {}
    for entry in entries:
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            continue
        purl = entry.get("purl") if isinstance(entry.get("purl"), str) else None
        key = package_key(purl, name, str(entry.get("type") or ""))
        item = seen.setdefault(key, PackageSeen(name, purl))
        version = entry.get("version")
        if isinstance(version, str) and version:
            item.versions.add(same_version(version))
    return seen


def findings_of(details: Iterable[Mapping[str, Any]]) -> dict[Unit, FindingSeen]:
    """Findings (``Finding.as_dict``) by vulnerability name and package."""
    seen: dict[Unit, FindingSeen] = {}
    for detail in details:
        ident, package = detail.get("id"), detail.get("package")
        if not isinstance(ident, str) or not isinstance(package, str):
            continue
        aliases = [a for a in detail.get("aliases") or () if isinstance(a, str)]
        purl = detail.get("purl") if isinstance(detail.get("purl"), str) else None
        pkey = package_key(purl, package, str(detail.get("package_type") or ""))
        severity = str(detail.get("severity") or "UNKNOWN")
        for name in vulnerability_names(ident, aliases):
            item = seen.setdefault((name, pkey), FindingSeen(name, package))
            item.ids.add(ident)
            if isinstance(detail.get("installed_version"), str):
                item.installed.add(detail["installed_version"])
            item.fixed |= _fixed_set(detail.get("fixed_version"))
            if _SEVERITY_RANK.get(severity, 0) > _SEVERITY_RANK.get(item.severity, 0):
                item.severity = severity
    return seen


def image_sources(conn: Connection, digest: str) -> list[Source]:
    """Every source the store holds for the platform image, in ``SOURCE_ORDER``."""
    from imagetrust.sbom.publisher import publisher_sboms_for
    from imagetrust.sbom.stored import newest_sbom
    from imagetrust.vulndb.findings_store import (
        db_state,
        finding_items,
        finding_set_for,
        newest_sets,
    )
    from imagetrust.vulndb.query import live_generations

    sources: list[Source] = []
    builtin = Source(BUILTIN, False, "not analysed by imagetrust")
    sbom = newest_sbom(conn, digest)
    if sbom is not None:
        builtin.known = True
        builtin.version = sbom.analyser_version
        builtin.packages = packages_of(
            {"name": p.name, "version": p.version, "purl": p.purl, "type": p.type.value}
            for p in sbom.packages
        )
        builtin.reason = "SBOM stored, not matched yet"
        if not sbom.complete:
            builtin.reason = f"SBOM incomplete: {sbom.incomplete[0]}"
    ours = finding_set_for(conn, digest, state=db_state(live_generations(conn)))
    if ours is not None:
        builtin.known = True
        builtin.when = ours.matched_at
        builtin.findings = findings_of(finding_items(conn, ours.id))
        builtin.reason = "matched" + ("" if ours.complete else " (SBOM incomplete)")
    sources.append(builtin)
    others = newest_sets(conn, digest)
    for name in ("trivy", "grype"):
        found = others.get(name)
        if found is None:
            continue
        source = Source(name, True, "imported report", found.analyser_version, found.matched_at)
        source.findings = findings_of(finding_items(conn, found.id))
        if found.packages is not None:
            source.packages = packages_of(found.packages)
        else:
            source.reason = "imported report; lists matches only, no package inventory"
        sources.append(source)
    records = publisher_sboms_for(conn, digest)
    if records:
        present = [r for r in records if r.present]
        if present:
            creators = sorted({c for r in present for c in (r.document or {}).get("creators", [])})
            source = Source(PUBLISHER, True, "SBOM attestation in the index")
            source.version = ", ".join(creators) or None
            source.packages = packages_of(p for r in present for p in r.packages or [])
        else:
            source = Source(PUBLISHER, False, records[0].reason or records[0].status)
        sources.append(source)
    return sources


# --------------------------------------------------------------------------- comparing


def compare(a: Source, b: Source) -> dict[str, Any]:
    """One pair's disagreements (None where one side has nothing of that kind)."""
    return {
        "a": a.name,
        "b": b.name,
        "packages": _packages(a.packages, b.packages),
        "findings": _findings(a.findings, b.findings),
    }


def _rate(agree: int, union: int) -> float | None:
    return round(agree / union, 4) if union else None


def _packages(
    a: dict[PackageKey, PackageSeen] | None, b: dict[PackageKey, PackageSeen] | None
) -> dict[str, Any] | None:
    if a is None or b is None:
        return None
    union = set(a) | set(b)
    both = set(a) & set(b)
    differ = sorted(
        k for k in both if a[k].versions and b[k].versions and not a[k].versions & b[k].versions
    )
    return {
        "agreement": _rate(len(both) - len(differ), len(union)),
        "total": len(union),
        "both": len(both),
        "only_a": [_package_item(a[k]) for k in sorted(set(a) - set(b))],
        "only_b": [_package_item(b[k]) for k in sorted(set(b) - set(a))],
        "version_differs": [
            {
                "package": a[k].name,
                "purl_type": k[0],
                "a": sorted(a[k].versions),
                "b": sorted(b[k].versions),
            }
            for k in differ
        ],
    }


def _package_item(seen: PackageSeen) -> dict[str, Any]:
    return {"name": seen.name, "versions": sorted(seen.versions), "purl": seen.purl}


def _findings(
    a: dict[Unit, FindingSeen] | None, b: dict[Unit, FindingSeen] | None
) -> dict[str, Any] | None:
    if a is None or b is None:
        return None
    union = set(a) | set(b)
    both = sorted(set(a) & set(b))
    fixed = [k for k in both if a[k].fixed != b[k].fixed]
    severity = [k for k in both if a[k].severity != b[k].severity]
    return {
        "agreement": _rate(len(both), len(union)),
        "total": len(union),
        "both": len(both),
        "only_a": [_finding_item(a[k]) for k in sorted(set(a) - set(b))],
        "only_b": [_finding_item(b[k]) for k in sorted(set(b) - set(a))],
        "fixed_differs": [
            {
                "vulnerability": k[0],
                "package": a[k].package,
                "a": sorted(a[k].fixed) or None,
                "b": sorted(b[k].fixed) or None,
            }
            for k in fixed
        ],
        "severity_differs": [
            {"vulnerability": k[0], "package": a[k].package, "a": a[k].severity, "b": b[k].severity}
            for k in severity
        ],
    }


def _finding_item(seen: FindingSeen) -> dict[str, Any]:
    return {
        "vulnerability": seen.vulnerability,
        "ids": sorted(seen.ids),
        "package": seen.package,
        "installed": sorted(seen.installed),
        "severity": seen.severity,
        "fixed": sorted(seen.fixed) or None,
    }


def crosscheck_image(conn: Connection, digest: str) -> dict[str, Any]:
    """The cross-check of one platform image: its sources, and every pair compared."""
    sources = image_sources(conn, digest)
    known = [s for s in sources if s.known]
    pairs = [compare(a, b) for i, a in enumerate(known) for b in known[i + 1 :]]
    return {
        "digest": digest,
        "sources": {s.name: s.summary() for s in sources},
        "pairs": [p for p in pairs if p["packages"] is not None or p["findings"] is not None],
    }
