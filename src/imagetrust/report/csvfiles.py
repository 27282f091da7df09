"""``images.csv`` and ``findings.csv``: the report for a spreadsheet.

One row per platform image (as one tag) with its verdict, grade, OS, end of life, counts by
severity and catalog facts; one row per finding of each. Every value goes through
``text.csv_cell``, so a package or tag named ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust.report.model import SEVERITIES
from imagetrust.report.text import csv_cell

if TYPE_CHECKING:
    from imagetrust.report.build import BuiltReport

IMAGES = "images.csv"
FINDINGS = "findings.csv"

IMAGE_COLUMNS = [
    "repository",
    "tag",
    "platform",
    "reference",
    "digest",
    "index_digest",
    "verdict",
    "grade",
    "score",
    "os",
    "os_eol_status",
    "os_eol_date",
    "catalog_state",
    "vulnerabilities_known",
    *[f"fixable_{s.lower()}" for s in SEVERITIES],
    *[f"all_{s.lower()}" for s in SEVERITIES],
    "known_exploited",
    "sbom_complete",
    "packages_not_covered",
    "pull_count",
    "pull_delta",
    "last_pushed",
    "reasons",
]

FINDING_COLUMNS = [
    "repository",
    "tag",
    "platform",
    "digest",
    "id",
    "aliases",
    "severity",
    "package",
    "installed_version",
    "fix_state",
    "fixed_version",
    "known_exploited",
    "kev_date_added",
    "kev_due_date",
    "suppressed",
]


class CsvReport:
    def write(self, built: BuiltReport, folder: Path) -> list[str]:
        report = built.report
        repositories = {row.name: row for row in report.repositories}
        with open(folder / IMAGES, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(IMAGE_COLUMNS)
            for image in report.images:
                repo = repositories.get(image.repository)
                vulns = image.vulns
                eol = image.eol[0] if image.eol else None
                reasons = "; ".join(
                    f"{r.rule}: {r.detail}" for r in image.reasons if r.kind in ("fired", "unknown")
                )
                row = [
                    image.repository,
                    image.tag,
                    image.platform,
                    image.reference,
                    image.digest,
                    image.index_digest,
                    image.verdict,
                    image.grade,
                    image.score,
                    image.os_name,
                    eol.status if eol is not None else None,
                    eol.eol_date if eol is not None else None,
                    image.state,
                    vulns.known,
                    *[vulns.fixable_of(s) if vulns.known else None for s in SEVERITIES],
                    *[vulns.all_of(s) if vulns.known else None for s in SEVERITIES],
                    " ".join(vulns.known_exploited),
                    vulns.complete if vulns.known else None,
                    vulns.not_covered if vulns.known else None,
                    repo.pulls.count if repo is not None else None,
                    repo.pulls.delta if repo is not None else None,
                    image.last_pushed,
                    reasons,
                ]
                writer.writerow([csv_cell(value) for value in row])
        with open(folder / FINDINGS, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(FINDING_COLUMNS)
            for image in report.images:
                for finding in image.findings:
                    row = [
                        image.repository,
                        image.tag,
                        image.platform,
                        image.digest,
                        finding.id,
                        " ".join(finding.aliases),
                        finding.severity,
                        finding.package,
                        finding.version,
                        finding.fix_state,
                        finding.fixed_version,
                        finding.known_exploited,
                        finding.kev_date_added,
                        finding.kev_due_date,
                        finding.suppressed,
                    ]
                    writer.writerow([csv_cell(value) for value in row])
        return [IMAGES, FINDINGS]
