"""The report stage: the store's verdicts, evidence and history as a site, Markdown, JSON
or CSV.

``build`` reads the store (and only the store: never a registry, the Hub or a feed) into
one model (``model.Report``), in one read snapshot; each format renders that model
(``html``, ``markdown``, ``jsondoc``, ``csvfiles``), and ``publish`` puts the result in
place so that a failed report leaves the previous one whole. ``write_report`` joins them;
``pipeline`` (``run --report``) and ``cli`` (``imagetrust report``) call it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust.report.interface import ReportError, ReportFormat

if TYPE_CHECKING:
    from imagetrust.evaluate.policy.model import Policy
    from imagetrust.evaluate.policy.vex import VexSet
    from imagetrust.report.build import BuiltReport
    from imagetrust.store.database import Store

__all__ = ["ReportError", "ReportFormat", "build_model", "render_text", "write_report"]


def build_model(
    store: Store,
    *,
    now: datetime,
    policy: Policy | None = None,
    vex: VexSet | None = None,
    since: datetime | None = None,
) -> BuiltReport:
    """The report model, read in one snapshot of the store (the default policy unless one
    is given)."""
    from imagetrust.evaluate.policy.loader import load_policy
    from imagetrust.report.build import build_report

    with store.read() as conn:
        built = build_report(conn, now=now, policy=policy or load_policy(), vex=vex, since=since)
    built.store = store
    return built


def render_text(built: BuiltReport, fmt: ReportFormat) -> str:
    """The Markdown or JSON document, for ``--out -``."""
    from imagetrust.report.jsondoc import JsonReport
    from imagetrust.report.markdown import MarkdownReport

    if fmt is ReportFormat.MD:
        return MarkdownReport().text(built)
    if fmt is ReportFormat.JSON:
        return JsonReport().text(built)
    raise ReportError(f"the {fmt.value} report is a folder of files, not one document")


def write_built(built: BuiltReport, out: Path, fmt: ReportFormat) -> list[Path]:
    """Write ``built`` in ``fmt`` under ``out``; returns the main files written (the
    site's ``index.html`` first)."""
    from imagetrust.report.interface import renderer_for
    from imagetrust.report.publish import publish_files, publish_site

    renderer = renderer_for(fmt)
    if fmt is ReportFormat.HTML:
        from imagetrust.report.html import HtmlReport
        from imagetrust.report.publish import MARKER

        previous = Path(out)
        renderer = HtmlReport(previous if (previous / MARKER).is_file() else None)
        publish_site(
            out,
            lambda folder: renderer.write(built, folder),
            generated_at=built.report.generated_at,
        )
        return [Path(out).absolute() / "index.html"]
    return publish_files(out, lambda folder: renderer.write(built, folder))


def write_report(
    store: Store,
    out: Path,
    *,
    now: datetime,
    fmt: ReportFormat = ReportFormat.HTML,
    policy: Policy | None = None,
    vex: VexSet | None = None,
    since: datetime | None = None,
) -> list[Path]:
    """Build the report from ``store`` and write it under ``out``."""
    built = build_model(store, now=now, policy=policy, vex=vex, since=since)
    return write_built(built, out, fmt)
