"""What a Trivy or Grype report says, read once into one shape, and the bounds on reading it.

A report is untrusted input (a file anyone could hand over, or the output of a tool that
read a hostile image): it is bounded in bytes and JSON nodes before it is parsed, every
field is type-checked where it is read, and text is bounded in length. A malformed finding
is skipped with a problem naming it; the rest of the report is read. A document that is not
the tool's report at all is an error naming the file.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct, field

from imagetrust.vulndb.errors import VulnDbError

MAX_ID = 255  # the finding_set_items columns
MAX_PACKAGE = 512
MAX_VERSION = 1024
MAX_TEXT = 2000  # a summary or description is cut here
MAX_PROBLEMS = 50  # problems kept for the output; the count says how many there were


class EngineError(VulnDbError):
    """A report that cannot be read, or a scanner that failed or is not installed."""


class OsInfo(Struct, frozen=True):
    family: str
    name: str | None
    eosl: bool = False  # the tool says the release is past its end of service life

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "name": self.name, "eosl": self.eosl}


class EngineFinding(Struct, frozen=True):
    """One finding as the tool reported it, in imagetrust's words."""

    id: str
    aliases: tuple[str, ...]
    package: str
    package_type: str
    purl: str
    installed_version: str
    fixed_version: str | None
    fix_state: str  # fixed, not-fixed, wont-fix (``vulndb.fixstate``)
    status: str | None  # the tool's own word (trivy ``Status``, grype ``fix.state``)
    severity: str  # CRITICAL ... UNKNOWN
    severity_source: str
    cvss_score: float | None
    cvss_vector: str | None
    source_name: str | None
    layer: str | None
    summary: str | None
    ecosystem: str  # the tool's name for where the advisory came from


class EngineReport(Struct):
    """One report of another engine, about one image (or SBOM)."""

    engine: str
    version: str
    created_at: datetime | None
    db_state: tuple[tuple[str, int], ...]  # what the report says of its database
    target: str | None  # what it scanned, as it says (text from the report)
    manifest_digest: str | None  # the platform manifest it scanned, when it says
    config_digest: str | None  # the image config (image ID), when it says
    repo_digests: tuple[str, ...]  # digests it names for the image (index or manifest)
    platform: str | None
    os: OsInfo | None
    findings: list[EngineFinding]
    packages: list[dict[str, Any]] | None  # every package it listed; None: it lists none
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def analyser_version(self) -> str:
        return f"{self.engine} {self.version}"

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def detail(self) -> dict[str, Any]:
        """What the stored set keeps of the report besides findings and packages."""
        return {
            "name": self.engine,
            "version": self.version,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "database": [list(pair) for pair in self.db_state],
            "target": self.target,
            "manifest_digest": self.manifest_digest,
            "config_digest": self.config_digest,
            "repo_digests": list(self.repo_digests),
            "platform": self.platform,
            "os": self.os.as_dict() if self.os is not None else None,
            "inventory": self.packages is not None,
            "problems": list(self.problems),
            "problem_count": self.problem_count,
        }


def load_report_json(data: bytes, where: str, *, max_bytes: int, max_nodes: int) -> Any:
    """The parsed document, within bounds; an ``EngineError`` naming ``where`` otherwise."""
    if len(data) > max_bytes:
        raise EngineError(
            f"{where}: {len(data)} bytes is more than a report may be ({max_bytes})",
            hint="raise [vulndb] max_file_bytes if the report is genuine",
        )
    nodes = data.count(b"{") + data.count(b"[")  # an upper bound: braces in strings count too
    if nodes > max_nodes:
        raise EngineError(
            f"{where}: too large: {nodes} objects and arrays, limit {max_nodes}",
            hint="raise [vulndb] max_json_nodes if the report is genuine",
        )
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise EngineError(f"{where}: not JSON ({exc})") from None


def text(value: Any, limit: int) -> str | None:
    """A non-empty string of at most ``limit`` characters, else None."""
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value
    return None


def clipped(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A string cut at ``limit`` characters (summaries: a long one is still worth a line)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def digest_of(value: Any) -> str | None:
    """A ``sha256:<64 hex>`` digest, else None (a report's digests are checked, not trusted)."""
    return value if isinstance(value, str) and _DIGEST.match(value) else None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 time (Trivy writes nanoseconds, Python reads microseconds), in UTC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    cleaned = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


PURL_TYPES = {
    "deb": "deb",
    "apk": "apk",
    "rpm": "rpm",
    "pypi": "python",
    "npm": "npm",
    "maven": "java",
    "golang": "go",
}


def package_type_of(purl: str | None, fallback: str) -> str:
    """imagetrust's package type for a purl (``pkg:pypi/...`` is ``python``); any other
    purl type is kept as it is (``gem``, ``cargo``), so nothing is forced into our set."""
    if purl and purl.startswith("pkg:"):
        kind = purl[4:].split("/", 1)[0].lower()
        return PURL_TYPES.get(kind, kind) or fallback
    return fallback
