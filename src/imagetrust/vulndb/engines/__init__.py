"""Other scanners' results: Trivy and Grype reports read as findings of an engine of their own.

``report`` holds what every reader returns (``EngineReport``) and the bounds on an
untrusted report; ``trivy`` and ``grype`` read one tool's JSON each; ``runner`` runs the
tool when it is installed; ``convert`` turns a report into the scan model (findings, an SBOM
of what the tool listed, its coverage) that every output format and the store take.
"""

from __future__ import annotations

from enum import StrEnum


class EngineName(StrEnum):
    """Who matched: imagetrust itself, or another scanner whose report was read."""

    BUILTIN = "builtin"
    TRIVY = "trivy"
    GRYPE = "grype"


EXTERNAL_ENGINES = (EngineName.TRIVY, EngineName.GRYPE)
