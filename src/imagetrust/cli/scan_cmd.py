"""``imagetrust scan REF``: the vulnerabilities of one image, from its SBOM and the local db.

The SBOM comes from the layer cache when the layers were seen before, so a re-scan after a
database import downloads nothing. Severity, fix state and "fixable" are per finding, so
``--ignore-unfixed`` and ``--severity`` only filter what is shown; ``counts`` always carries
both the "all" and the "fixable" views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import ImageRef, PlatformOption
from imagetrust.cli.output import (
    OutputFormat,
    emit_json,
    print_key_values,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, PolicyViolation

if TYPE_CHECKING:
    from imagetrust.evaluate.models import EolEvidence
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.vulndb.query import DbStatus
    from imagetrust.vulndb.scan import Finding
    from imagetrust.vulndb.severity import Severity


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
    max_db_age: Annotated[
        float | None,
        typer.Option(
            "--max-db-age",
            help="Refuse (exit 1) when a vulnerability source is older than this many days.",
            min=0,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Scan an image (or an SBOM file, sbom:FILE) for vulnerabilities in the local database."""
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.pipeline.scan import parse_scan_target
    from imagetrust.pipeline.scan import scan as scan_target
    from imagetrust.vulndb.severity import parse_severity_filter

    state: CliState = ctx.obj
    wanted = parse_severity_filter(severity) if severity else None
    target = parse_scan_target(ref)
    outcome = scan_target(state.context(), target, PlatformSelection.parse(platform))
    _check_age(state, outcome.status, max_db_age)
    sboms = [sbom for sbom, _ in outcome.results]
    eol = _os_eol(state, sboms)
    _report(outcome.results, outcome.status, fmt, ignore_unfixed, wanted, exit_code, eol)


def _check_age(state: CliState, status: DbStatus, max_days: float | None) -> None:
    """Warn about sources older than ``[vulndb] max_age_days``; refuse past ``--max-db-age``."""
    from imagetrust.cli.output import say
    from imagetrust.vulndb.query import stale_sources

    now = state.clock.now()
    warn_days = state.settings.vulndb.max_age_days
    for source, days in stale_sources(status, now, warn_days):
        say(f"warning: vulnerability source {source} is {days:.1f} days old (imagetrust db update)")
    if max_days is not None:
        too_old = stale_sources(status, now, max_days)
        if too_old:
            source, days = too_old[0]
            raise ImagetrustError(
                f"vulnerability source {source} is {days:.1f} days old, over --max-db-age "
                f"{max_days:g}",
                hint="refresh it: imagetrust db update (or db import PATH)",
            )


def _os_eol(state: CliState, sboms: list[ImageSbom]) -> dict[str, EolEvidence]:
    """End of life of each image's OS, by the evaluation's rule and data, on the one clock."""
    from imagetrust.evaluate.eol import EolPolicy, load_eol_data, os_eol

    data = load_eol_data(state.home)
    policy = EolPolicy.of(state.settings.eol.until_eoes)
    today = state.clock.today()
    return {sbom.digest: os_eol(sbom, data, today, policy) for sbom in sboms}


def _report(
    results: list[tuple[ImageSbom, list[Finding]]],
    status: DbStatus,
    fmt: OutputFormat,
    ignore_unfixed: bool,
    wanted: set[Severity] | None,
    exit_code: int,
    eol: dict[str, EolEvidence],
) -> None:
    from imagetrust.vulndb.scan import counts

    shown_total = 0
    images: list[dict[str, Any]] = []
    for sbom, findings in results:
        shown = [
            f
            for f in findings
            if (not ignore_unfixed or f.fixable) and (wanted is None or f.severity.level in wanted)
        ]
        shown_total += len(shown)
        images.append(_image_doc(sbom, findings, shown, counts(findings), eol.get(sbom.digest)))
    databases = [
        {"name": s.name, "version": s.version, "imported_at": s.imported_at}
        for s in status.live_sources
    ]
    if fmt is OutputFormat.JSON:
        if len(images) == 1:
            emit_json("scan", {**images[0], "databases": databases})
        else:
            emit_json("scan", {"images": images, "databases": databases})
    else:
        for number, image in enumerate(images):
            if number:
                stdout_console().print()
            _print_table(image)
    incomplete = [
        f"{sbom.platform or sbom.reference}: {reason}"
        for sbom, _ in results
        for reason in sbom.incomplete
    ]
    if incomplete:  # unknown is never clean: whatever was found, the count may be short
        from imagetrust.cli.output import say

        for reason in incomplete[:-1]:
            say(f"incomplete: {reason}")
        raise IncompleteScan(
            f"the SBOM is incomplete, findings may be missing: {incomplete[-1]}",
            hint="the image cannot be assessed until every package database can be read",
        )
    if exit_code and shown_total:
        raise FindingsFound(f"{shown_total} vulnerabilities found", exit_code)


def _image_doc(
    sbom: ImageSbom,
    findings: list[Finding],
    shown: list[Finding],
    totals: dict[str, dict[str, int]],
    eol: EolEvidence | None = None,
) -> dict[str, Any]:
    os_doc = None
    if sbom.os is not None:
        os_doc = {
            "family": sbom.os.id,
            "version": sbom.os.version_id,
            "name": sbom.os.pretty_name,
            "eol_date": eol.eol_date if eol is not None else None,
            "eol_status": eol.status.value if eol is not None else "unknown",
        }
    return {
        "image": {
            "ref": sbom.reference,
            "digest": sbom.digest,
            "platform": sbom.platform,
            "os": os_doc,
        },
        "packages": [
            {"name": p.name, "version": p.version, "type": p.type.value, "purl": p.purl}
            for p in sbom.packages
        ],
        "vulnerabilities": [f.as_dict() for f in shown],
        "counts": totals,
        "errors": list(sbom.errors),
        "complete": sbom.complete,
        "incomplete": list(sbom.incomplete),
        "findings_total": len(findings),
    }


def _os_line(os_doc: dict[str, Any]) -> str:
    if not os_doc:
        return "none (no OS release)"
    date = os_doc.get("eol_date")
    until = f", end of support {date:%Y-%m-%d}" if date is not None else ""
    return f"{os_doc.get('name') or 'unknown'} ({os_doc.get('eol_status')}{until})"


def _print_table(image: dict[str, Any]) -> None:
    from rich.table import Table

    info = image["image"]
    os_doc = info["os"] or {}
    totals = image["counts"]
    order = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
    print_key_values(
        [
            ("image", info["ref"]),
            ("digest", info["digest"]),
            ("os", _os_line(os_doc)),
            ("packages", str(len(image["packages"]))),
            ("all", ", ".join(f"{k} {totals['all'][k]}" for k in order)),
            ("fixable", ", ".join(f"{k} {totals['fixable'][k]}" for k in order)),
            *(("INCOMPLETE", reason) for reason in image["incomplete"]),
        ]
    )
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
    stdout_console().print(table)
