"""One entry point for a report of either tool: bounded, checked for being the tool's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust.vulndb.engines import EngineName
from imagetrust.vulndb.engines.grype import looks_like_grype, read_grype
from imagetrust.vulndb.engines.report import EngineError, EngineReport, load_report_json
from imagetrust.vulndb.engines.trivy import looks_like_trivy, read_trivy

if TYPE_CHECKING:
    from imagetrust.config import VulnDbSettings


def read_report(
    data: bytes, where: str, engine: EngineName, settings: VulnDbSettings
) -> EngineReport:
    """``data`` read as ``engine``'s JSON report; a report of the other tool is refused by
    name (a mix-up, not a format problem)."""
    doc = load_report_json(
        data, where, max_bytes=settings.max_file_bytes, max_nodes=settings.max_json_nodes
    )
    if engine is EngineName.TRIVY:
        if looks_like_grype(doc) and not looks_like_trivy(doc):
            raise EngineError(f"{where}: a Grype report, not Trivy's", hint="use --engine grype")
        return read_trivy(doc, where)
    if engine is EngineName.GRYPE:
        if looks_like_trivy(doc) and not looks_like_grype(doc):
            raise EngineError(f"{where}: a Trivy report, not Grype's", hint="use --engine trivy")
        return read_grype(doc, where)
    raise EngineError(f"{engine}: not an engine whose reports are read")


def read_report_file(path: Path, engine: EngineName, settings: VulnDbSettings) -> EngineReport:
    """A report file, refused unread when it is larger than a report may be."""
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise EngineError(
                f"{path}: {size} bytes is more than a report may be ({settings.max_file_bytes})",
                hint="raise [vulndb] max_file_bytes if the report is genuine",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise EngineError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EngineError(f"{path}: a folder, not a report file") from None
    except OSError as exc:
        raise EngineError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return read_report(data, str(path), engine, settings)
