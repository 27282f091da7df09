"""Match an image's packages against the local database: findings, and what was not judged.

One query per distinct (ecosystem, package) through the index, so a scan costs in proportion
to the image, not the database. Every finding keeps the record's source and database version,
so a report can say which database a verdict came from; "fixable" is derived from the fix
state, so one scan answers both the "all" and the "ignore unfixed" view.

Every package ends somewhere: a finding (or none) from its matcher's advisory source, its
OS package (``owner``), or a "not covered" item with the reason (``vulndb.coverage``). A
package whose matching raises becomes such an item too; the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from imagetrust.sbom.models import ImageSbom, OsRelease, Package
from imagetrust.vulndb.coverage import (
    Coverage,
    NotCovered,
    os_name,
    platform_supported,
    sbom_items,
    summarise,
)
from imagetrust.vulndb.fixstate import FixState, fix_state
from imagetrust.vulndb.match import evaluate
from imagetrust.vulndb.matchers import (
    DEFAULT_REGISTRY,
    OS_PACKAGE_TYPES,
    MatcherRegistry,
    MatchTarget,
    NotCoveredReason,
    Uncovered,
)
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
    published: datetime | None = None  # when the advisory was first published, if it says

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
            "published": self.published.isoformat() if self.published is not None else None,
        }


Lookup = Callable[[str, str], "Sequence[AffectedEntry]"]
LookupMany = Callable[["Sequence[str]", str], "Sequence[AffectedEntry]"]
CompareFor = Callable[[str], Callable[[str, str], int]]


@dataclass
class PackageMatches:
    """The outcome for a list of packages: ``matched + through_owner`` plus the packages
    among ``not_covered`` (those without ``advisory``) is every package."""

    findings: list[Finding] = field(default_factory=list)
    not_covered: list[NotCovered] = field(default_factory=list)
    matched: int = 0
    os_matched: int = 0
    through_owner: int = 0


def match_packages(
    packages: Iterable[Package],
    os_release: OsRelease | None,
    advisories: AdvisoryLookup,
    registry: MatcherRegistry = DEFAULT_REGISTRY,
) -> PackageMatches:
    """Findings and not-covered items for ``packages``; share one ``advisories`` across
    images, so what it learnt about a package version is reused."""
    from sqlalchemy.exc import SQLAlchemyError

    result = PackageMatches()
    findings: dict[tuple[str, str, str, str], Finding] = {}
    for package in packages:
        if package.owner:
            # Installed by an OS package (Debian's python3-pip ships pip's dist-info): the
            # distribution patches and advises on it, so it is matched through its owner
            # only, as trivy does; it stays in the SBOM.
            result.through_owner += 1
            continue
        try:
            found, items = _match_one(package, os_release, advisories, registry)
        except SQLAlchemyError:
            raise  # the store itself failed: no later package would fare better
        except Exception as exc:  # one bad package never stops a scan
            reason = NotCoveredReason.MATCH_FAILED
            detail = f"matching failed: {type(exc).__name__}: {exc}"
            result.not_covered.append(NotCovered.for_package(package, reason, detail))
            continue
        result.not_covered.extend(items)
        if found is None:
            continue
        result.matched += 1
        if package.type in OS_PACKAGE_TYPES:
            result.os_matched += 1
        for finding in found:
            ident = (finding.id, package.name, package.version, package.architecture or "")
            findings.setdefault(ident, finding)  # the same advisory from two sources: once
    result.findings = sorted(
        findings.values(),
        key=lambda f: (-f.severity.level.rank, f.package, f.id),
    )
    return result


def _match_one(
    package: Package,
    os_release: OsRelease | None,
    advisories: AdvisoryLookup,
    registry: MatcherRegistry,
) -> tuple[list[Finding] | None, list[NotCovered]]:
    """(findings, items) for one package; findings None when it was not matched at all."""
    target = registry.target(package, os_release)
    if isinstance(target, Uncovered):
        item = NotCovered.for_package(
            package, target.reason, target.detail, ecosystem=target.ecosystem
        )
        return None, [item]
    if not advisories.covers(target):
        detail = f"no advisories for {target.ecosystem} in the vulnerability database"
        reason = NotCoveredReason.NO_ADVISORY_SOURCE
        return None, [NotCovered.for_package(package, reason, detail, ecosystem=target.ecosystem)]
    problem = advisories.version_problem(target)
    if problem is not None:
        reason = NotCoveredReason.VERSION_NOT_COMPARABLE
        item = NotCovered.for_package(package, reason, problem, ecosystem=target.ecosystem)
        return None, [item]
    assessed, unreadable = advisories.assess(target)
    findings = [assessment.finding_for(package, target) for assessment in assessed]
    items = [
        NotCovered.for_package(
            package,
            NotCoveredReason.VERSION_NOT_COMPARABLE,
            f"{record_id}: a range the {target.base} order cannot read ({why})",
            ecosystem=target.ecosystem,
            advisory=record_id,
        )
        for record_id, why in unreadable
    ]
    return findings, items


@dataclass(frozen=True)
class Assessment:
    """One advisory's verdict on one (ecosystem, source package, version): the same for
    every image that ships that version, so it is worked out once."""

    entry: AffectedEntry
    fixed_version: str | None
    fix_state: FixState
    severity: SeverityInfo
    aliases: tuple[str, ...]

    def finding_for(self, package: Package, target: MatchTarget) -> Finding:
        entry = self.entry
        return Finding(
            id=entry.record_id,
            aliases=self.aliases,
            package=package.name,
            package_type=package.type.value,
            source_name=target.name if target.name != package.name else None,
            installed_version=package.version,
            fixed_version=self.fixed_version,
            fix_state=self.fix_state,
            severity=self.severity,
            ecosystem=target.ecosystem,
            purl=package.purl,
            layer=package.layer,
            summary=entry.summary,
            db_source=entry.source,
            db_version=entry.source_version,
            published=entry.published,
        )


Unreadable = tuple[str, str]  # (advisory id, why its ranges could not be read)


class AdvisoryLookup:
    """Index lookups and verdicts, memoised per (ecosystem, package[, version]).

    ``by_id`` finds records by id. Some feeds carry no severity at all (Alpine secdb): a
    finding whose own record says nothing takes the severity of the record its alias names
    (``CVE-2023-0286`` from an NVD-derived OSV record), as grype and trivy do with NVD, and
    says so in ``severity.source``. ``has_ecosystem`` tells whether the database holds any
    record of an ecosystem at all: without one, an empty answer would look clean (None:
    every ecosystem counts as present, for lookups that are not a database).
    ``catalogue`` lists the ecosystems the database holds, for targets with ``streams``
    (None: such a target is asked under its own ``ecosystem`` only); ``lookup_many`` asks
    several ecosystems in one query. ``flag_exploited`` flags an image's findings from the
    KEV catalog, remembering what it asked (``kev.ExploitedLookup``; None: ``scan_sboms``
    asks the catalog afresh for each image).
    """

    def __init__(
        self,
        lookup: Lookup,
        compare_for: CompareFor,
        by_id: Callable[[str], list[dict[str, Any]]] | None = None,
        has_ecosystem: Callable[[str], bool] | None = None,
        catalogue: Callable[[], Iterable[str]] | None = None,
        lookup_many: LookupMany | None = None,
        flag_exploited: Callable[[list[Finding]], list[Finding]] | None = None,
    ) -> None:
        self.lookup = lookup
        self.compare_for = compare_for
        self.by_id = by_id
        self.has_ecosystem = has_ecosystem
        self.catalogue = catalogue
        self.lookup_many = lookup_many
        self.flag_exploited = flag_exploited
        self._entries: dict[tuple[tuple[str, ...], str], Sequence[AffectedEntry]] = {}
        self._assessed: dict[
            tuple[tuple[str, ...], str, str], tuple[list[Assessment], list[Unreadable]]
        ] = {}
        self._alias_severity: dict[str, SeverityInfo] = {}
        self._ecosystems: dict[str, bool] = {}
        self._versions: dict[tuple[str, str], str | None] = {}
        self._known: frozenset[str] | None = None
        self._streams: dict[tuple[str, str], tuple[str, ...]] = {}

    def ecosystems(self, target: MatchTarget) -> tuple[str, ...]:
        """The ecosystems to ask for ``target``: its own, or those ``streams`` matches."""
        if target.streams is None or self.catalogue is None:
            return (target.ecosystem,)
        memo = (target.ecosystem, target.streams.pattern)
        found = self._streams.get(memo)
        if found is None:
            if self._known is None:
                self._known = frozenset(self.catalogue())
            pattern = target.streams
            found = tuple(sorted(e for e in self._known if pattern.fullmatch(e)))
            self._streams[memo] = found
        return found

    def covers(self, target: MatchTarget) -> bool:
        if target.streams is not None and self.catalogue is not None:
            return bool(self.ecosystems(target))  # the catalogue lists live ecosystems only
        if self.has_ecosystem is None:
            return True
        ecosystem = target.ecosystem
        known = self._ecosystems.get(ecosystem)
        if known is None:
            known = self._ecosystems[ecosystem] = self.has_ecosystem(ecosystem)
        return known

    def _lookup(self, ecosystems: tuple[str, ...], name: str) -> Sequence[AffectedEntry]:
        if len(ecosystems) == 1:
            return self.lookup(ecosystems[0], name)
        if self.lookup_many is not None:
            return self.lookup_many(ecosystems, name)
        return [entry for ecosystem in ecosystems for entry in self.lookup(ecosystem, name)]

    def version_problem(self, target: MatchTarget) -> str | None:
        """Why ``target.version`` has no place in its ecosystem's order, or None."""
        memo = (target.base, target.version)
        if memo not in self._versions:
            compare = self.compare_for(target.base)
            try:
                compare(target.version, target.version)
                self._versions[memo] = None
            except Exception as exc:  # the order's own words: VersionError and kin
                message = str(exc) or type(exc).__name__
                self._versions[memo] = f"not a {target.base} version: {message}"
        return self._versions[memo]

    def assess(self, target: MatchTarget) -> tuple[list[Assessment], list[Unreadable]]:
        ecosystems = self.ecosystems(target)
        memo = (ecosystems, target.name, target.version)
        found = self._assessed.get(memo)
        if found is not None:
            return found
        if "\x00" in target.name:  # no database stores it, and PostgreSQL refuses to look
            raise ValueError("the package name holds a NUL character")
        entries = self._entries.get((ecosystems, target.name))
        if entries is None:
            entries = self._entries[(ecosystems, target.name)] = self._lookup(
                ecosystems, target.name
            )
        assessments: list[Assessment] = []
        unreadable: list[Unreadable] = []
        if entries:
            compare = self.compare_for(target.base)
            for entry in entries:
                assessment, why = _assess(target.version, entry, compare)
                if assessment is not None:
                    assessments.append(self._with_alias_severity(assessment))
                elif why:
                    unreadable.append((entry.record_id, why))
        # an advisory that another of its entries found affecting the package is answered
        # (and one item per advisory, however many of its entries could not be read)
        affecting = {a.entry.record_id for a in assessments}
        once: dict[str, str] = {}
        for ident, why in unreadable:
            once.setdefault(ident, why)
        unreadable = [(ident, why) for ident, why in once.items() if ident not in affecting]
        found = self._assessed[memo] = (assessments, unreadable)
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
) -> tuple[Assessment | None, str | None]:
    """The assessment when affected; else None and why the ranges could not be read, if so."""
    affected = {
        "ranges": entry.ranges,
        "versions": entry.versions,
        "severity": entry.affected_severity,
        "ecosystem_specific": entry.ecosystem_specific,
        "database_specific": entry.database_specific,
    }
    verdict = evaluate(installed, affected, compare)
    if not verdict.affected:
        return None, "; ".join(verdict.unreadable) or None
    record = {
        "id": entry.record_id,
        "severity": entry.severity,
        "database_specific": entry.record_database_specific,
    }
    assessment = Assessment(
        entry=entry,
        fixed_version=verdict.fixed_version,
        fix_state=fix_state(verdict.fixed_version, affected),
        severity=record_severity(record, affected),
        aliases=tuple(sorted(set(entry.aliases) | set(entry.upstream) - {entry.record_id})),
    )
    return assessment, None


def store_advisories(conn: Connection | Callable[[], Connection]) -> AdvisoryLookup:
    """Advisories in the store: the (ecosystem, package) index, records by id, and which
    ecosystems the live sources hold. ``conn`` may be a function giving the connection to
    ask, for a lookup that outlives one read (``SharedAdvisories``)."""
    from sqlalchemy import Connection

    from imagetrust.vulndb.kev import ExploitedLookup
    from imagetrust.vulndb.query import (
        affected_records,
        ecosystem_has_records,
        live_ecosystems,
        records_by_id,
    )
    from imagetrust.vulndb.versions import comparator

    def current() -> Connection:
        return conn if isinstance(conn, Connection) else conn()

    return AdvisoryLookup(
        lambda ecosystem, name: affected_records(current(), ecosystem, name),
        comparator,
        lambda ident: records_by_id(current(), ident),
        lambda ecosystem: ecosystem_has_records(current(), ecosystem),
        catalogue=lambda: live_ecosystems(current()),
        lookup_many=lambda ecosystems, name: affected_records(current(), ecosystems, name),
        flag_exploited=ExploitedLookup(current).flag,
    )


class SharedAdvisories:
    """One ``AdvisoryLookup`` for the many reads of a run, while the database stays the same.

    ``run`` matches stored SBOMs in batches, each in its own read snapshot, and each new
    image in its own: a lookup made per read would ask the index and work the verdicts
    out again for every batch, which at the size of OSV's distribution feeds was most of a
    re-match (each batch of 50 images asked again for the ~1,000 source packages they
    share). Every answer depends only on the live generations of the sources and the KEV
    catalog (``query.live_generations``, read in the same snapshot), so the memo carries
    over while that key is the same; a different key (an import switched meanwhile)
    starts a fresh one.
    """

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._key: object = None
        self._advisories: AdvisoryLookup | None = None

    def snapshot(self, conn: Connection, key: object) -> AdvisoryLookup:
        """The lookup to use inside ``conn``'s read, whose database state is ``key``."""
        self._conn = conn
        if self._advisories is None or key != self._key:
            self._key = key
            self._advisories = store_advisories(self._current)
        return self._advisories

    def _current(self) -> Connection:
        assert self._conn is not None
        return self._conn


@dataclass(frozen=True)
class ImageScan:
    """One image's scan: findings, what could not be judged, and how it all adds up."""

    sbom: ImageSbom
    findings: list[Finding]
    not_covered: list[NotCovered]
    coverage: Coverage


def scan_sbom(
    sbom: ImageSbom, advisories: AdvisoryLookup, registry: MatcherRegistry = DEFAULT_REGISTRY
) -> ImageScan:
    """Match one SBOM; the platform and unreadable files become not-covered items too."""
    items = sbom_items(sbom)
    supported = platform_supported(sbom)
    matches = (
        match_packages(sbom.packages, sbom.os, advisories, registry)
        if supported
        else PackageMatches()
    )
    os_packages = sum(1 for p in sbom.packages if p.type in OS_PACKAGE_TYPES and not p.owner)
    if supported and sbom.os is not None and not os_packages and not items:
        named = os_name(sbom.os)
        items.append(
            NotCovered(
                NotCoveredReason.NO_PACKAGE_DATABASE,
                f"{named} found, but no OS package database: its packages are unknown",
            )
        )
    items.extend(
        sorted(
            matches.not_covered,
            key=lambda i: (i.package or "", i.version or "", i.advisory or ""),
        )
    )
    coverage = summarise(
        sbom,
        matched=matches.matched,
        os_matched=matches.os_matched,
        through_owner=matches.through_owner,
        items=items,
        os_packages=os_packages if supported else 0,
    )
    return ImageScan(sbom, matches.findings, items, coverage)


def scan_sboms(
    conn: Connection, sboms: Iterable[ImageSbom], advisories: AdvisoryLookup | None = None
) -> Iterator[ImageScan]:
    """Each SBOM's scan, against the database as it is now (run it inside one read).

    Used for a fresh scan and for re-matching stored SBOMs after ``db import`` alike: no
    layer, no registry, no blob is read. Lookups and verdicts are shared across images
    (official images share most of their package versions), so the cost grows with the
    number of distinct package versions, not with images times packages; ``advisories``
    shares them with earlier reads too (``SharedAdvisories.snapshot`` of this read).
    """
    from dataclasses import replace

    from imagetrust.vulndb.kev import flag_known_exploited

    if advisories is None:
        advisories = store_advisories(conn)
    flag = advisories.flag_exploited or (lambda findings: flag_known_exploited(conn, findings))
    for sbom in sboms:
        scanned = scan_sbom(sbom, advisories)
        yield replace(scanned, findings=flag(scanned.findings))


def counts(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """``{"all": {...}, "fixable": {...}}``, every severity present (zeros included)."""
    result = {view: {s.value: 0 for s in Severity.ordered()} for view in ("all", "fixable")}
    for finding in findings:
        result["all"][finding.severity.level.value] += 1
        if finding.fixable:
            result["fixable"][finding.severity.level.value] += 1
    return result
