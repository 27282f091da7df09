"""``imagetrust import FILE --engine trivy|grype``: another scanner's report, kept as its set.

The report is read within the ``[vulndb]`` bounds (``max_file_bytes``, ``max_json_nodes``),
checked to be that tool's, and stored as the engine's finding set of the image it is about
(``--digest``, else what the report and the store say: ``pipeline.engines``). Re-importing
the same report replaces its set; entries that cannot be read are skipped and counted (the
set is then marked incomplete), and the rest is kept.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from imagetrust.cli.output import OutputFormat, emit_json, print_key_values, say
from imagetrust.cli.state import CliState


class ImportEngine(StrEnum):
    TRIVY = "trivy"
    GRYPE = "grype"


def import_report(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="A report: trivy image --format json, or grype -o json.",
            show_default=False,
            metavar="FILE",
        ),
    ],
    engine: Annotated[
        ImportEngine,
        typer.Option("--engine", help="Which tool wrote FILE.", case_sensitive=False),
    ],
    digest: Annotated[
        str | None,
        typer.Option(
            "--digest",
            help="The platform manifest digest the report is about (when it does not say).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Import another scanner's findings (Trivy or Grype JSON) as that engine's set."""
    from imagetrust.pipeline.engines import import_report as run_import
    from imagetrust.vulndb.engines import EngineName
    from imagetrust.vulndb.scan import counts

    state: CliState = ctx.obj
    found = run_import(state.context(), file, EngineName(engine.value), digest=digest)
    report, scan = found.report, found.scan
    tally = counts(scan.findings)
    document = {
        "file": str(file),
        "engine": report.detail(),
        "digest": scan.sbom.digest,
        "reference": scan.sbom.reference,
        "findings": len(scan.findings),
        "counts": tally,
        "packages": len(report.packages) if report.packages is not None else None,
        "coverage": scan.coverage.as_dict(),
        "skipped": report.problem_count,
        "problems": list(report.problems),
    }
    if fmt is OutputFormat.JSON:
        emit_json("engine-import", document)
    else:
        order = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
        rows = [
            ("engine", report.analyser_version),
            ("image", f"{scan.sbom.reference} ({scan.sbom.digest})"),
            ("findings", ", ".join(f"{k} {tally['all'][k]}" for k in order)),
            ("packages", "not listed" if report.packages is None else str(len(report.packages))),
        ]
        if scan.coverage.message:
            rows.append(("NOT COVERED", scan.coverage.message))
        print_key_values(rows)
    for problem in report.problems:
        say(f"skipped: {problem}")
    if report.problem_count > len(report.problems):
        say(f"skipped: {report.problem_count - len(report.problems)} more")
