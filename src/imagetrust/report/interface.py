"""What every report format shares: its error type, the formats, and the renderer shape.

A renderer turns the one report model (``model.Report``, built by ``build``) into files;
it never reads the store, so every format shows the same verdicts, counts and dates.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from imagetrust.errors import ImagetrustError, UsageError

if TYPE_CHECKING:
    from imagetrust.report.build import BuiltReport


class ReportError(ImagetrustError):
    """The report could not be written (its folder, a file); the previous one is kept."""


class ReportUsageError(UsageError):
    """A report asked for in a way that cannot work (``--out -`` for the site, ...)."""


class ReportFormat(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"

    @property
    def streams(self) -> bool:
        """Whether the format is one document that ``--out -`` can print."""
        return self in (ReportFormat.MD, ReportFormat.JSON)


class Renderer(Protocol):
    def write(self, built: BuiltReport, folder: Path) -> list[str]:
        """Write this format's files into ``folder`` (new and empty, or the caller's
        staging folder); returns their paths relative to it."""
        ...


class DocumentRenderer(Renderer, Protocol):
    def text(self, built: BuiltReport) -> str:
        """The one document, for ``--out -``."""
        ...


def renderer_for(fmt: ReportFormat) -> Renderer:
    if fmt is ReportFormat.HTML:
        from imagetrust.report.html import HtmlReport

        return HtmlReport()
    if fmt is ReportFormat.MD:
        from imagetrust.report.markdown import MarkdownReport

        return MarkdownReport()
    if fmt is ReportFormat.JSON:
        from imagetrust.report.jsondoc import JsonReport

        return JsonReport()
    from imagetrust.report.csvfiles import CsvReport

    return CsvReport()


def out_path(value: str) -> Path | None:
    """``--out``: a folder, or None for ``-`` (stdout)."""
    return None if value == "-" else Path(value)
