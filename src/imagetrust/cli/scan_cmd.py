"""``imagetrust scan REF``: the vulnerabilities of one image, from its SBOM and the local db.

The SBOM comes from the layer cache when the layers were seen before, so a re-scan after a
database import downloads nothing. Severity, fix state and "fixable" are per finding, so
``--ignore-unfixed`` and ``--severity`` only filter what is shown; ``counts`` always carries
both the "all" and the "fixable" views. What could not be judged is shown too (counts in
the table, ``not_covered`` in JSON), and an image whose OS packages were not judged at all
says so first: with ``--exit-code`` that fails the scan unless ``--allow-not-covered``.

``--format sarif`` renders the same documents as SARIF 2.1.0 (``vulndb.sarif``).
``--engine trivy|grype`` runs that scanner instead of imagetrust's matching (when it is
installed) and shows its findings the same way; they are kept as that engine's finding
set, beside ours, for ``crosscheck``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import ImageRef, MaxDbAgeOption, PlatformOption
from imagetrust.cli.output import (
    emit_json,
    print_key_values,
    safe_text,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, PolicyViolation

if TYPE_CHECKING:
    from imagetrust.evaluate.models import EolEvidence
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.vulndb.scan import ImageScan
    from imagetrust.vulndb.severity import Severity


class ScanFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"


class EngineChoice(StrEnum):
    BUILTIN = "builtin"
    TRIVY = "trivy"
    GRYPE = "grype"


class IncompleteScan(ImagetrustError):
    """The scan was shown, but some package database could not be read (exit 1)."""


class FindingsFound(PolicyViolation):
    """``--exit-code N`` and something was shown: exit N, as ``trivy --exit-code`` does."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def scan(
    ctx: typer.Context,
    ref: ImageRef,
    fmt: Annotated[
        ScanFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = ScanFormat.TABLE,
    platform: PlatformOption = None,
    engine: Annotated[
        EngineChoice,
        typer.Option(
            "--engine",
            help="Who matches: imagetrust (builtin), or the trivy or grype binary on PATH.",
            case_sensitive=False,
        ),
    ] = EngineChoice.BUILTIN,
    ignore_unfixed: Annotated[
        bool, typer.Option("--ignore-unfixed", help="Show only findings with a fixed version.")
    ] = False,
    severity: Annotated[
        str | None,
        typer.Option(
            help="Only these severities, e.g. HIGH,CRITICAL (default: all).", show_default=False
        ),
    ] = None,
    exit_code: Annotated[
        int,
        typer.Option(
            "--exit-code",
            help="Exit with this code when any finding is shown (default 0: never).",
            min=0,
            max=255,
        ),
    ] = 0,
    allow_not_covered: Annotated[
        bool,
        typer.Option(
            "--allow-not-covered",
            help="With --exit-code: do not fail an image whose OS packages were not checked.",
        ),
    ] = False,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Scan an image (or an SBOM file, sbom:FILE) for vulnerabilities in the local database."""
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.pipeline.scan import parse_scan_target
    from imagetrust.pipeline.scan import scan as scan_target
    from imagetrust.vulndb.severity import parse_severity_filter

    state: CliState = ctx.obj
    wanted = parse_severity_filter(severity) if severity else None
    target = parse_scan_target(ref)
    selection = PlatformSelection.parse(platform)
    if engine is not EngineChoice.BUILTIN:
        from imagetrust.pipeline.engines import scan_with_engine
        from imagetrust.vulndb.engines import EngineName

        found = scan_with_engine(state.context(), target, selection, EngineName(engine.value))
        scans = [item.scan for item in found.scans]
        engines = {item.scan.sbom.digest: item.report.detail() for item in found.scans}
        dbs = found.databases()
    else:
        from imagetrust.cli.db_age import check_db_age
        from imagetrust.vulndb.scan_document import databases

        outcome = scan_target(state.context(), target, selection)
        check_db_age(state, outcome.ages, max_db_age)
        scans, engines, dbs = outcome.scans, {}, databases(outcome.status.live_sources)
    eol = _os_eol(state, [s.sbom for s in scans])
    _report(scans, dbs, fmt, ignore_unfixed, wanted, exit_code, allow_not_covered, eol, engines)


def _os_eol(state: CliState, sboms: list[ImageSbom]) -> dict[str, EolEvidence]:
    """End of life of each image's OS, by the evaluation's rule and data, on the one clock."""
    from imagetrust.evaluate.eol import EolPolicy, load_eol_data, os_eol

    data = load_eol_data(state.home)
    policy = EolPolicy.of(state.settings.eol.until_eoes)
    today = state.clock.today()
    return {sbom.digest: os_eol(sbom, data, today, policy) for sbom in sboms}


def _report(
    scans: list[ImageScan],
    dbs: list[dict[str, Any]],
    fmt: ScanFormat,
    ignore_unfixed: bool,
    wanted: set[Severity] | None,
    exit_code: int,
    allow_not_covered: bool,
    eol: dict[str, EolEvidence],
    engines: dict[str, dict[str, Any]],
) -> None:
    from imagetrust.cli.output import say
    from imagetrust.vulndb.coverage import OsCoverage
    from imagetrust.vulndb.scan_document import image_document, scan_payload, shown_findings

    shown_total = 0
    images: list[dict[str, Any]] = []
    for scan in scans:
        shown = shown_findings(scan.findings, ignore_unfixed=ignore_unfixed, severities=wanted)
        shown_total += len(shown)
        os_eol = eol.get(scan.sbom.digest)
        engine = engines.get(scan.sbom.digest)
        images.append(image_document(scan, shown, dbs, os_eol, engine))
    if fmt is ScanFormat.JSON:
        emit_json(*scan_payload(images))
    elif fmt is ScanFormat.SARIF:
        from imagetrust import __version__
        from imagetrust.cli.output import emit_foreign_json
        from imagetrust.vulndb.sarif import sarif_log

        emit_foreign_json(sarif_log(images, version=__version__))
    else:
        for number, image in enumerate(images):
            if number:
                stdout_console().print()
            _print_table(image, several=len(images) > 1)
    uncovered = [s for s in scans if s.coverage.os is OsCoverage.NOT_COVERED]
    if fmt is not ScanFormat.TABLE:  # the table leads with it; other readers get it on stderr
        for scan in uncovered:
            say(f"warning: {scan.sbom.platform or scan.sbom.reference}: {scan.coverage.message}")
    incomplete = [
        f"{scan.sbom.platform or scan.sbom.reference}: {reason}"
        for scan in scans
        for reason in scan.sbom.incomplete
    ]
    if incomplete:  # unknown is never clean: whatever was found, the count may be short
        for reason in incomplete[:-1]:
            say(f"incomplete: {reason}")
        raise IncompleteScan(
            f"the SBOM is incomplete, findings may be missing: {incomplete[-1]}",
            hint="the image cannot be assessed until every package database can be read",
        )
    if exit_code and shown_total:
        raise FindingsFound(f"{shown_total} vulnerabilities found", exit_code)
    if exit_code and uncovered and not allow_not_covered:
        raise FindingsFound(
            f"{len(uncovered)} of {len(scans)} images have OS packages that were not checked"
            " (--allow-not-covered accepts that)",
            exit_code,
        )


_SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def _print_table(image: dict[str, Any], *, several: bool) -> None:
    from rich.table import Table

    info = image["image"]
    os_doc = info["os"] or {}
    totals = image["counts"]
    coverage = image["coverage"]
    console = stdout_console()
    if coverage["message"]:
        console.print(safe_text(f"NOT COVERED: {coverage['message']}", style="bold red"))
    rows = [("image", info["ref"])]
    engine = image.get("engine") or {}
    if engine.get("name", "builtin") != "builtin":
        rows.append(("engine", f"{engine['name']} {engine.get('version') or ''}".rstrip()))
    if several or info["platform"]:
        rows.append(("platform", info["platform"] or "unknown"))
    rows += [
        ("digest", info["digest"]),
        ("os", _os_line(os_doc)),
        ("packages", _packages_line(coverage)),
        ("all", ", ".join(f"{k} {totals['all'][k]}" for k in _SEVERITY_ORDER)),
        ("fixable", ", ".join(f"{k} {totals['fixable'][k]}" for k in _SEVERITY_ORDER)),
    ]
    if coverage["reasons"]:
        rows.append(("not covered", _reasons_line(coverage["reasons"])))
    rows.extend(("INCOMPLETE", reason) for reason in image["incomplete"])
    print_key_values(rows)
    table = Table(box=None, pad_edge=False)
    exploited = any(item["known_exploited"] for item in image["vulnerabilities"])
    columns = ["package", "installed", "vulnerability", "severity", "fixed in", "state"]
    for column in [*columns, "known exploited (CISA)"] if exploited else columns:
        table.add_column(column, overflow="fold")
    for item in image["vulnerabilities"]:
        cells = [
            item["package"],
            item["installed_version"],
            item["id"],
            item["severity"],
            item["fixed_version"] or "-",
            item["fix_state"],
        ]
        if exploited:
            cells.append(_kev_cell(item["known_exploited"]))
        table.add_row(*cells)
    console.print(table)


def _kev_cell(value: object) -> str:
    """``KEV CVE-2021-4034: added 2022-06-27, due 2022-07-18``, or ``-``."""
    from imagetrust.vulndb.kev import KnownExploited

    entry = KnownExploited.from_json(value)
    return f"KEV {entry.cve}: {entry.dates}" if entry is not None else "-"


def _joined(*parts: str | None) -> str:
    return " ".join(part for part in parts if part) or "unknown"


def _os_line(os_doc: dict[str, Any]) -> str:
    if not os_doc:
        return "none (no OS release)"
    name = os_doc.get("name") or _joined(os_doc.get("family"), os_doc.get("version"))
    date = os_doc.get("eol_date")
    until = f", end of support {date:%Y-%m-%d}" if date is not None else ""
    return f"{name} ({os_doc.get('eol_status')}{until})"


def _packages_line(coverage: dict[str, Any]) -> str:
    parts = [f"{coverage['matched']} matched"]
    if coverage["through_owner"]:
        parts.append(f"{coverage['through_owner']} through their OS package")
    if coverage["not_covered"]:
        parts.append(f"{coverage['not_covered']} not covered")
    return f"{coverage['packages']} ({', '.join(parts)})"


def _reasons_line(reasons: dict[str, int]) -> str:
    """``no-advisory-source 212, cataloger-failed 1``: items per reason, largest first."""
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{reason} {number}" for reason, number in ordered)
