"""Match an image's packages against the local database: findings with fix state and severity.

One query per distinct (ecosystem, package) through the index, so a scan costs in proportion
to the image, not the database. Every finding keeps the record's source and database version,
so a report can say which database a verdict came from; "fixable" is derived from the fix
state, so one scan answers both the "all" and the "ignore unfixed" view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.fixstate import FixState, fix_state
from imagetrust.vulndb.match import EcosystemKey, ecosystem_key, evaluate
from imagetrust.vulndb.severity import Severity, SeverityInfo, record_severity

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.vulndb.query import AffectedEntry

_DISTRO_TYPES = {PackageType.DEB, PackageType.APK, PackageType.RPM}


@dataclass(frozen=True)
class Finding:
    id: str
    aliases: tuple[str, ...]
    package: str
    package_type: str
    source_name: str | None
    installed_version: str
    fixed_version: str | None
    fix_state: FixState
    severity: SeverityInfo
    ecosystem: str
    purl: str
    layer: str | None
    summary: str | None
    db_source: str
    db_version: str | None

    @property
    def fixable(self) -> bool:
        return self.fix_state is FixState.FIXED

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "package": self.package,
            "package_type": self.package_type,
            "source_name": self.source_name,
            "installed_version": self.installed_version,
            "fixed_version": self.fixed_version,
            "fix_state": self.fix_state.value,
            "severity": self.severity.level.value,
            "cvss_score": self.severity.score,
            "cvss_vector": self.severity.vector,
            "severity_source": self.severity.source,
            "ecosystem": self.ecosystem,
            "purl": self.purl,
            "layer": self.layer,
            "summary": self.summary,
            "db_source": self.db_source,
            "db_version": self.db_version,
        }


Lookup = Callable[[str, str], "Sequence[AffectedEntry]"]
CompareFor = Callable[[str], Callable[[str, str], int]]


def match_packages(
    packages: Iterable[Package],
    os_release: OsRelease | None,
    lookup: Lookup,
    compare_for: CompareFor,
) -> list[Finding]:
    """Findings for ``packages``; ``lookup(ecosystem, name)`` reads the index,
    ``compare_for(ecosystem_base)`` gives the ecosystem's version order."""
    cache: dict[tuple[str, str], Sequence[AffectedEntry]] = {}
    findings: dict[tuple[str, str, str, str], Finding] = {}
    for package in packages:
        key = ecosystem_key(package, os_release)
        if key is None:
            continue
        entries = cache.get((key.ecosystem, key.name))
        if entries is None:
            entries = cache[(key.ecosystem, key.name)] = lookup(key.ecosystem, key.name)
        if not entries:
            continue
        compare = compare_for(key.base)
        # Distribution advisories are about source packages and their versions.
        installed = package.version
        if package.type in _DISTRO_TYPES and package.source_version:
            installed = package.source_version
        for entry in entries:
            finding = _finding(package, key, installed, entry, compare)
            if finding is None:
                continue
            ident = (finding.id, package.name, package.version, package.architecture or "")
            findings.setdefault(ident, finding)  # the same advisory from two sources: once
    return sorted(
        findings.values(),
        key=lambda f: (-f.severity.level.rank, f.package, f.id),
    )


def _finding(
    package: Package,
    key: EcosystemKey,
    installed: str,
    entry: AffectedEntry,
    compare: Callable[[str, str], int],
) -> Finding | None:
    affected = {
        "ranges": entry.ranges,
        "versions": entry.versions,
        "severity": entry.affected_severity,
        "ecosystem_specific": entry.ecosystem_specific,
        "database_specific": entry.database_specific,
    }
    verdict = evaluate(installed, affected, compare)
    if not verdict.affected:
        return None
    record = {
        "id": entry.record_id,
        "severity": entry.severity,
        "database_specific": entry.record_database_specific,
    }
    return Finding(
        id=entry.record_id,
        aliases=tuple(sorted(set(entry.aliases) | set(entry.upstream) - {entry.record_id})),
        package=package.name,
        package_type=package.type.value,
        source_name=key.name if key.name != package.name else None,
        installed_version=package.version,
        fixed_version=verdict.fixed_version,
        fix_state=fix_state(verdict.fixed_version, affected),
        severity=record_severity(record, affected),
        ecosystem=key.ecosystem,
        purl=package.purl,
        layer=package.layer,
        summary=entry.summary,
        db_source=entry.source,
        db_version=entry.source_version,
    )


def store_lookup(conn: Connection) -> Lookup:
    from imagetrust.vulndb.query import affected_records

    return lambda ecosystem, name: affected_records(conn, ecosystem, name)


def counts(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """``{"all": {...}, "fixable": {...}}``, every severity present (zeros included)."""
    result = {view: {s.value: 0 for s in Severity.ordered()} for view in ("all", "fixable")}
    for finding in findings:
        result["all"][finding.severity.level.value] += 1
        if finding.fixable:
            result["fixable"][finding.severity.level.value] += 1
    return result
