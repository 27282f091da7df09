"""Match an image's packages against the local database: findings with fix state and severity.

One query per distinct (ecosystem, package) through the index, so a scan costs in proportion
to the image, not the database. Every finding keeps the record's source and database version,
so a report can say which database a verdict came from; "fixable" is derived from the fix
state, so one scan answers both the "all" and the "ignore unfixed" view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from imagetrust.sbom.models import ImageSbom, OsRelease, Package, PackageType
from imagetrust.vulndb.fixstate import FixState, fix_state
from imagetrust.vulndb.match import EcosystemKey, ecosystem_key, evaluate
from imagetrust.vulndb.severity import (
    UNKNOWN_SEVERITY,
    Severity,
    SeverityInfo,
    record_severity,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.vulndb.kev import KnownExploited
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
    known_exploited: KnownExploited | None = None  # CISA KEV lists the CVE or an alias

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
            "known_exploited": (
                self.known_exploited.to_json() if self.known_exploited is not None else None
            ),
        }


Lookup = Callable[[str, str], "Sequence[AffectedEntry]"]
CompareFor = Callable[[str], Callable[[str, str], int]]


def match_packages(
    packages: Iterable[Package], os_release: OsRelease | None, matcher: Matcher
) -> list[Finding]:
    """Findings for ``packages``; share one ``matcher`` across images, so what it learnt
    about a package version is reused."""
    findings: dict[tuple[str, str, str, str], Finding] = {}
    for package in packages:
        if package.owner:
            # Installed by an OS package (Debian's python3-pip ships pip's dist-info): the
            # distribution patches and advises on it, so it is matched through its owner
            # only, as trivy does; it stays in the SBOM.
            continue
        key = ecosystem_key(package, os_release)
        if key is None:
            continue
        # Distribution advisories are about source packages and their versions.
        installed = package.version
        if package.type in _DISTRO_TYPES and package.source_version:
            installed = package.source_version
        elif package.type is PackageType.GO and package.name == "stdlib":
            installed = installed.removeprefix("go")  # build info says go1.22.1, OSV 1.22.1
        for assessment in matcher.assess(key, installed):
            finding = assessment.finding_for(package, key)
            ident = (finding.id, package.name, package.version, package.architecture or "")
            findings.setdefault(ident, finding)  # the same advisory from two sources: once
    return sorted(
        findings.values(),
        key=lambda f: (-f.severity.level.rank, f.package, f.id),
    )


@dataclass(frozen=True)
class Assessment:
    """One advisory's verdict on one (ecosystem, source package, version): the same for
    every image that ships that version, so it is worked out once."""

    entry: AffectedEntry
    fixed_version: str | None
    fix_state: FixState
    severity: SeverityInfo
    aliases: tuple[str, ...]

    def finding_for(self, package: Package, key: EcosystemKey) -> Finding:
        entry = self.entry
        return Finding(
            id=entry.record_id,
            aliases=self.aliases,
            package=package.name,
            package_type=package.type.value,
            source_name=key.name if key.name != package.name else None,
            installed_version=package.version,
            fixed_version=self.fixed_version,
            fix_state=self.fix_state,
            severity=self.severity,
            ecosystem=key.ecosystem,
            purl=package.purl,
            layer=package.layer,
            summary=entry.summary,
            db_source=entry.source,
            db_version=entry.source_version,
        )


class Matcher:
    """Index lookups and verdicts, memoised per (ecosystem, package[, version]).

    ``by_id`` finds records by id. Some feeds carry no severity at all (Alpine secdb): a
    finding whose own record says nothing takes the severity of the record its alias names
    (``CVE-2023-0286`` from an NVD-derived OSV record), as grype and trivy do with NVD, and
    says so in ``severity.source``.
    """

    def __init__(
        self,
        lookup: Lookup,
        compare_for: CompareFor,
        by_id: Callable[[str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.lookup = lookup
        self.compare_for = compare_for
        self.by_id = by_id
        self._entries: dict[tuple[str, str], Sequence[AffectedEntry]] = {}
        self._assessed: dict[tuple[str, str, str], list[Assessment]] = {}
        self._alias_severity: dict[str, SeverityInfo] = {}

    def assess(self, key: EcosystemKey, installed: str) -> list[Assessment]:
        memo = (key.ecosystem, key.name, installed)
        found = self._assessed.get(memo)
        if found is not None:
            return found
        entries = self._entries.get((key.ecosystem, key.name))
        if entries is None:
            entries = self._entries[(key.ecosystem, key.name)] = self.lookup(
                key.ecosystem, key.name
            )
        found = []
        if entries:
            compare = self.compare_for(key.base)
            for entry in entries:
                assessment = _assess(installed, entry, compare)
                if assessment is not None:
                    found.append(self._with_alias_severity(assessment))
        self._assessed[memo] = found
        return found

    def _with_alias_severity(self, assessment: Assessment) -> Assessment:
        if assessment.severity.level is not Severity.UNKNOWN or self.by_id is None:
            return assessment
        for alias in sorted(assessment.aliases, key=lambda a: not a.startswith("CVE-")):
            info = self._alias_severity.get(alias)
            if info is None:
                info = UNKNOWN_SEVERITY
                for record in self.by_id(alias):
                    candidate = record_severity(record)
                    if candidate.level is not Severity.UNKNOWN:
                        info = replace(candidate, source=f"{candidate.source} of {alias}")
                        break
                self._alias_severity[alias] = info
            if info.level is not Severity.UNKNOWN:
                return replace(assessment, severity=info)
        return assessment


def _assess(
    installed: str, entry: AffectedEntry, compare: Callable[[str, str], int]
) -> Assessment | None:
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
    return Assessment(
        entry=entry,
        fixed_version=verdict.fixed_version,
        fix_state=fix_state(verdict.fixed_version, affected),
        severity=record_severity(record, affected),
        aliases=tuple(sorted(set(entry.aliases) | set(entry.upstream) - {entry.record_id})),
    )


def store_lookup(conn: Connection) -> Lookup:
    from imagetrust.vulndb.query import affected_records

    return lambda ecosystem, name: affected_records(conn, ecosystem, name)


def store_matcher(conn: Connection) -> Matcher:
    """A matcher over the store: the (ecosystem, package) index and records by id."""
    from imagetrust.vulndb.query import records_by_id
    from imagetrust.vulndb.versions import comparator

    return Matcher(store_lookup(conn), comparator, lambda ident: records_by_id(conn, ident))


def match_sboms(
    conn: Connection, sboms: Iterable[ImageSbom]
) -> Iterator[tuple[ImageSbom, list[Finding]]]:
    """Each SBOM with its findings, against the database as it is now.

    Used for a fresh scan and for re-matching stored SBOMs after ``db import`` alike: no
    layer, no registry, no blob is read. Lookups and verdicts are shared across images
    (official images share most of their package versions), so the cost grows with the
    number of distinct package versions, not with images times packages.
    """
    from imagetrust.vulndb.kev import flag_known_exploited

    matcher = store_matcher(conn)
    for sbom in sboms:
        yield sbom, flag_known_exploited(conn, match_packages(sbom.packages, sbom.os, matcher))


def counts(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """``{"all": {...}, "fixable": {...}}``, every severity present (zeros included)."""
    result = {view: {s.value: 0 for s in Severity.ordered()} for view in ("all", "fixable")}
    for finding in findings:
        result["all"][finding.severity.level.value] += 1
        if finding.fixable:
            result["fixable"][finding.severity.level.value] += 1
    return result
