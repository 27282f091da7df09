"""``imagetrust scan REF``: the vulnerabilities of one image, from its SBOM and the local db.

The SBOM comes from the layer cache when the layers were seen before, so a re-scan after a
database import downloads nothing. Severity, fix state and "fixable" are per finding, so
``--ignore-unfixed`` and ``--severity`` only filter what is shown; ``counts`` always carries
both the "all" and the "fixable" views. What could not be judged is shown too (counts in
the table, ``not_covered`` in JSON), and an image whose OS packages were not judged at all
says so first: with ``--exit-code`` that fails the scan unless ``--allow-not-covered``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import ImageRef, PlatformOption
from imagetrust.cli.output import (
    OutputFormat,
    emit_json,
    print_key_values,
    safe_text,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, PolicyViolation

if TYPE_CHECKING:
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.store.database import Store
    from imagetrust.vulndb.query import DbStatus
    from imagetrust.vulndb.scan import ImageScan
    from imagetrust.vulndb.severity import Severity


class FindingsFound(PolicyViolation):
    """``--exit-code N`` and something was shown: exit N, as ``trivy --exit-code`` does."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def scan(
    ctx: typer.Context,
    ref: ImageRef,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
    platform: PlatformOption = None,
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
) -> None:
    """Scan an image (or an SBOM file, sbom:FILE) for vulnerabilities in the local database."""
    from imagetrust.vulndb.severity import parse_severity_filter

    state: CliState = ctx.obj
    wanted = parse_severity_filter(severity) if severity else None
    sboms = _sboms(state, ref, platform)
    with state.open_store() as store:
        scans, status = _match(store, sboms)
        if not ref.startswith("sbom:"):
            _save(state, store, scans, status)
    _report(scans, status, fmt, ignore_unfixed, wanted, exit_code, allow_not_covered)


def _match(store: Store, sboms: list[ImageSbom]) -> tuple[list[ImageScan], DbStatus]:
    from imagetrust.vulndb.query import db_status
    from imagetrust.vulndb.scan import scan_sboms

    with store.read() as conn:
        status = db_status(conn)
        if not status.live_sources:
            raise ImagetrustError(
                "the vulnerability database is empty: nothing to match against",
                hint="import OSV or Alpine secdb data first: imagetrust db import PATH",
            )
        scans = list(scan_sboms(conn, sboms))
    return scans, status


def _save(state: CliState, store: Store, scans: list[ImageScan], status: DbStatus) -> None:
    """Each image's SBOM with what its scan could not judge: one image, one transaction."""
    from imagetrust.sbom.stored import save_sbom
    from imagetrust.vulndb.scan_document import databases
    from imagetrust.vulndb.stored import save_scan_coverage

    dbs = databases(status.live_sources)
    for scan in scans:
        with store.transaction() as conn:
            save_sbom(conn, scan.sbom, state.clock.now())
            save_scan_coverage(conn, scan, dbs, state.clock.now())


def _report(
    scans: list[ImageScan],
    status: DbStatus,
    fmt: OutputFormat,
    ignore_unfixed: bool,
    wanted: set[Severity] | None,
    exit_code: int,
    allow_not_covered: bool,
) -> None:
    from imagetrust.cli.output import say
    from imagetrust.vulndb.coverage import OsCoverage
    from imagetrust.vulndb.scan_document import (
        databases,
        image_document,
        scan_payload,
        shown_findings,
    )

    dbs = databases(status.live_sources)
    shown_total = 0
    images: list[dict[str, Any]] = []
    for scan in scans:
        shown = shown_findings(scan.findings, ignore_unfixed=ignore_unfixed, severities=wanted)
        shown_total += len(shown)
        images.append(image_document(scan, shown, dbs))
    if fmt is OutputFormat.JSON:
        emit_json(*scan_payload(images))
    else:
        for number, image in enumerate(images):
            if number:
                stdout_console().print()
            _print_table(image, several=len(images) > 1)
    uncovered = [s for s in scans if s.coverage.os is OsCoverage.NOT_COVERED]
    if fmt is OutputFormat.JSON:  # the table leads with it; JSON readers get it on stderr
        for scan in uncovered:
            say(f"warning: {scan.sbom.platform or scan.sbom.reference}: {scan.coverage.message}")
    if exit_code and shown_total:
        raise FindingsFound(f"{shown_total} vulnerabilities found", exit_code)
    if exit_code and uncovered and not allow_not_covered:
        raise FindingsFound(
            f"{len(uncovered)} of {len(scans)} images have OS packages that were not checked"
            " (--allow-not-covered accepts that)",
            exit_code,
        )


def _sboms(state: CliState, ref: str, platform: str | None) -> list[ImageSbom]:
    if ref.startswith("sbom:"):
        from imagetrust.sbom.formats.read import read_sbom_file

        return [read_sbom_file(ref[len("sbom:") :])]
    from imagetrust.cli.analysis import analyse_reference

    return analyse_reference(state, ref, platform)


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
    if several or info["platform"]:
        rows.append(("platform", info["platform"] or "unknown"))
    rows += [
        ("digest", info["digest"]),
        ("os", os_doc.get("name") or _joined(os_doc.get("family"), os_doc.get("version"))),
        ("packages", _packages_line(coverage)),
        ("all", ", ".join(f"{k} {totals['all'][k]}" for k in _SEVERITY_ORDER)),
        ("fixable", ", ".join(f"{k} {totals['fixable'][k]}" for k in _SEVERITY_ORDER)),
    ]
    if coverage["reasons"]:
        rows.append(("not covered", _reasons_line(coverage["reasons"])))
    print_key_values(rows)
    table = Table(box=None, pad_edge=False)
    for column in ("package", "installed", "vulnerability", "severity", "fixed in", "state"):
        table.add_column(column, overflow="fold")
    for item in image["vulnerabilities"]:
        table.add_row(
            item["package"],
            item["installed_version"],
            item["id"],
            item["severity"],
            item["fixed_version"] or "-",
            item["fix_state"],
        )
    console.print(table)


def _joined(*parts: str | None) -> str:
    return " ".join(part for part in parts if part) or "unknown"


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
