"""Another engine's report in imagetrust's scan model, so every output and the store take it.

The findings become ``Finding``s (the database source is the engine, its severity source
says whose word it is); the packages the tool listed become the SBOM's packages where their
purl is one imagetrust reads (the stored set keeps the whole inventory, every type).

**Coverage as far as the report tells it.** Neither tool says which packages it could not
judge, so imagetrust cannot list them; what a report does say is kept, so "no findings" is
never read as clean when the tool itself had doubts:

- an OS past its end of service life (Trivy's ``EOSL``): its advisories have stopped, so
  the OS packages are *not covered* (``no-advisory-source``), as Trivy itself warns;
- no OS detected, where the tool gave no inventory either (Grype without ``distro``): the OS
  packages are *not covered*, since nothing says they were looked at;
- problems reading the report (a finding skipped as malformed) make it *incomplete*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.vulndb.engines.report import EngineFinding, EngineReport

if TYPE_CHECKING:
    from imagetrust.sbom.models import ImageSbom, Package
    from imagetrust.vulndb.coverage import Coverage, NotCovered
    from imagetrust.vulndb.scan import Finding, ImageScan

_OS_PACKAGE_TYPES = frozenset({"deb", "apk", "rpm"})


def finding_of(item: EngineFinding, report: EngineReport) -> Finding:
    from imagetrust.vulndb.fixstate import FixState
    from imagetrust.vulndb.scan import Finding
    from imagetrust.vulndb.severity import Severity, SeverityInfo

    return Finding(
        id=item.id,
        aliases=item.aliases,
        package=item.package,
        package_type=item.package_type,
        source_name=item.source_name,
        installed_version=item.installed_version,
        fixed_version=item.fixed_version,
        fix_state=FixState(item.fix_state),
        severity=SeverityInfo(
            Severity(item.severity), item.cvss_score, item.cvss_vector, item.severity_source
        ),
        ecosystem=item.ecosystem,
        purl=item.purl,
        layer=item.layer,
        summary=item.summary,
        db_source=report.engine,
        db_version=report.db_state[0][0] if report.db_state else None,
    )


def image_scan(
    report: EngineReport, *, reference: str, digest: str, index_digest: str | None = None
) -> ImageScan:
    """The report as one image's scan (``digest``: the platform manifest it is about)."""
    from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease
    from imagetrust.vulndb.scan import ImageScan

    findings = sorted(
        (finding_of(item, report) for item in report.findings),
        key=lambda f: (-f.severity.level.rank, f.package, f.id),
    )
    os_release = (
        OsRelease(report.os.family.lower(), report.os.name) if report.os is not None else None
    )
    incomplete: tuple[str, ...] = ()
    if report.problem_count:
        first = report.problems[0] if report.problems else "a malformed entry"
        incomplete = (
            f"{report.engine} report: {report.problem_count} entries could not be read "
            f"(first: {first})",
        )
    sbom = ImageSbom(
        reference=reference,
        digest=digest,
        index_digest=index_digest,
        platform=report.platform or "",
        config_digest=report.config_digest or "",
        analyser_version=report.analyser_version,
        os=os_release,
        packages=tuple(_packages(report)),
        layers=(),
        facts=ImageFacts(None, (), (), {}, {}),
        incomplete=incomplete,
    )
    items = _not_covered(report, sbom)
    return ImageScan(sbom, findings, items, _coverage(report, sbom, findings, items))


def _packages(report: EngineReport) -> list[Package]:
    """The listed packages imagetrust's model can hold (a purl of a type it reads)."""
    from imagetrust.sbom.formats.read import package_from_purl

    found: list[Package] = []
    for entry in report.packages or ():
        purl = entry.get("purl")
        if isinstance(purl, str):
            package = package_from_purl(purl, version=entry.get("version"))
            if package is not None:
                found.append(package)
    return found


def _not_covered(report: EngineReport, sbom: ImageSbom) -> list[NotCovered]:
    from imagetrust.vulndb.coverage import NotCovered, os_name
    from imagetrust.vulndb.matchers.base import NotCoveredReason

    items: list[NotCovered] = []
    for reason in sbom.incomplete:
        items.append(NotCovered(NotCoveredReason.CATALOGER_FAILED, reason))
    if sbom.os is not None and report.os is not None and report.os.eosl:
        items.append(
            NotCovered(
                NotCoveredReason.NO_ADVISORY_SOURCE,
                f"{os_name(sbom.os)} is past its end of service life ({report.engine}): "
                "its advisories have stopped, so findings may be missing",
            )
        )
    elif sbom.os is None and report.packages is None:
        items.append(
            NotCovered(
                NotCoveredReason.NO_ADVISORY_SOURCE,
                f"{report.engine} named no OS and listed no packages: whether the OS "
                "packages were checked is not known",
            )
        )
    return items


def _coverage(
    report: EngineReport, sbom: ImageSbom, findings: list[Finding], items: list[NotCovered]
) -> Coverage:
    from collections import Counter

    from imagetrust.vulndb.coverage import Coverage, OsCoverage

    if report.packages is not None:
        listed = len(report.packages)
        os_listed = sum(1 for p in report.packages if p.get("type") in _OS_PACKAGE_TYPES)
    else:  # only the packages with findings are known
        listed = len({(f.package, f.installed_version) for f in findings})
        os_listed = sum(1 for f in findings if f.package_type in _OS_PACKAGE_TYPES)
    from imagetrust.vulndb.matchers.base import NotCoveredReason

    reasons = Counter(item.reason.value for item in items)
    about_os = [item for item in items if item.reason is NotCoveredReason.NO_ADVISORY_SOURCE]
    message = None
    if about_os:
        os_state = OsCoverage.NOT_COVERED
        message = about_os[0].detail
    elif sbom.os is not None or os_listed:
        os_state = OsCoverage.COVERED
    else:
        os_state = OsCoverage.NO_OS_PACKAGES
    return Coverage(
        packages=listed,
        matched=listed,
        through_owner=0,
        not_covered=0,
        os=os_state,
        message=message,
        reasons=dict(sorted(reasons.items())),
    )
