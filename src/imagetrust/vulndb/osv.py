"""OSV records: parsed once, at the boundary, into typed models.

Advisory exports are untrusted input of any size, so every field is validated here (wrong
types, a missing id, an event that is not exactly one of the four kinds) and free text is
capped: one runaway ``details`` must not bloat the store. Unknown top-level fields are
ignored, as the OSV schema asks of consumers; ``database_specific`` and
``ecosystem_specific`` are kept as opaque JSON because matching reads Debian urgency and
similar facts from them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from imagetrust.vulndb.errors import VulnDbError

MAX_DETAILS = 16 * 1024  # characters; long enough for every real advisory text we saw
MAX_SUMMARY = 1024
# Entries per record: far above any real advisory (the largest seen list a few hundred
# affected packages or a few thousand versions), low enough that one record cannot fill
# the store or the memory of a scan (a million affected entries took 2.9 GB).
MAX_AFFECTED = 10_000
MAX_RANGES = 1_000
MAX_EVENTS = 10_000
MAX_VERSIONS = 100_000
MAX_LIST = 10_000  # aliases, references, severities and the like
TRUNCATED = "\n[truncated by imagetrust]"

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
_EVENT_KINDS: tuple[str, ...] = ("introduced", "fixed", "last_affected", "limit")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_PYPI_SEPARATORS = re.compile(r"[-_.]+")

ShortText = Annotated[str, Field(max_length=1024)]
Identifier = Annotated[str, Field(min_length=1, max_length=255)]


class OsvRecordError(VulnDbError):
    """One record that is not valid OSV; the import counts it and goes on."""

    def __init__(self, message: str, *, record_id: str | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 as OSV writes it: ``Z`` suffix, and up to nanoseconds (Python takes six)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip()).replace("z", "Z").replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError("a timestamp must be an RFC 3339 string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=False)


class Severity(_Model):
    type: ShortText
    score: ShortText


class Event(_Model):
    """Exactly one of the four OSV event kinds, kept as (kind, value)."""

    kind: EventKind
    value: Annotated[str, Field(max_length=1024)]

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("an event must be an object")
        present = [kind for kind in _EVENT_KINDS if kind in data]
        if len(present) != 1:
            raise ValueError(f"an event needs exactly one of {', '.join(_EVENT_KINDS)}")
        value = data[present[0]]
        if not isinstance(value, str):
            raise ValueError(f"event {present[0]} must be a string")
        return {"kind": present[0], "value": value}

    def to_json(self) -> dict[str, str]:
        return {self.kind: self.value}


class Range(_Model):
    type: Literal["ECOSYSTEM", "SEMVER", "GIT"]
    repo: str | None = None
    events: Annotated[list[Event], Field(max_length=MAX_EVENTS)]
    database_specific: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "events": [e.to_json() for e in self.events]}
        if self.repo is not None:
            out["repo"] = self.repo
        if self.database_specific is not None:
            out["database_specific"] = self.database_specific
        return out


class Package(_Model):
    ecosystem: Annotated[str, Field(min_length=1, max_length=128)]
    name: Annotated[str, Field(min_length=1, max_length=512)]
    purl: str | None = None


class Affected(_Model):
    package: Package | None = None
    severity: list[Severity] = Field(default_factory=list, max_length=MAX_LIST)
    ranges: list[Range] = Field(default_factory=list, max_length=MAX_RANGES)
    versions: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=list, max_length=MAX_VERSIONS
    )
    ecosystem_specific: dict[str, Any] | None = None
    database_specific: dict[str, Any] | None = None


class Reference(_Model):
    type: ShortText = "WEB"
    url: Annotated[str, Field(max_length=4096)]


class OsvRecord(_Model):
    id: Identifier
    modified: datetime | None = None
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: list[Identifier] = Field(default_factory=list, max_length=MAX_LIST)
    upstream: list[Identifier] = Field(default_factory=list, max_length=MAX_LIST)
    related: list[Identifier] = Field(default_factory=list, max_length=MAX_LIST)
    summary: str | None = None
    details: str | None = None
    severity: list[Severity] = Field(default_factory=list, max_length=MAX_LIST)
    affected: list[Affected] = Field(default_factory=list, max_length=MAX_AFFECTED)
    references: list[Reference] = Field(default_factory=list, max_length=MAX_LIST)
    database_specific: dict[str, Any] | None = None

    @field_validator("modified", "published", "withdrawn", mode="before")
    @classmethod
    def _timestamp(cls, value: object) -> datetime | None:
        return parse_timestamp(value)

    @field_validator("summary", mode="after")
    @classmethod
    def _cap_summary(cls, value: str | None) -> str | None:
        return _cap(value, MAX_SUMMARY)

    @field_validator("details", mode="after")
    @classmethod
    def _cap_details(cls, value: str | None) -> str | None:
        return _cap(value, MAX_DETAILS)

    def content_hash(self) -> str:
        """Stable over re-imports of the same content; tells unchanged records apart."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def _cap(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - len(TRUNCATED)] + TRUNCATED


@dataclass(frozen=True)
class DroppedEntry:
    """An ``affected`` entry left out of an otherwise valid record, and why."""

    index: int  # its position in the record's ``affected`` list, as published
    reason: str


def parse_record(data: object) -> OsvRecord:
    """Validate one decoded JSON value as an OSV record, or raise ``OsvRecordError``."""
    return parse_record_keeping(data)[0]


def parse_record_keeping(data: object) -> tuple[OsvRecord, list[DroppedEntry]]:
    """The record and the ``affected`` entries dropped from it, or ``OsvRecordError``.

    One malformed entry says nothing about its siblings: Photon's PHSA-2024-3.0-0715 has
    a ``ranges`` object where a list belongs in one of three entries for the same
    package. Rejecting the record would lose the two valid entries (and the advisory), so
    the malformed entries are dropped and named, and the rest is kept. A record whose
    every entry is malformed, or with any fault outside ``affected``, is rejected whole.
    """
    record_id = None
    if isinstance(data, dict):
        raw_id = data.get("id")
        record_id = raw_id if isinstance(raw_id, str) and raw_id else None
    else:
        raise OsvRecordError("an OSV record must be a JSON object")
    if record_id is None:
        raise OsvRecordError("record has no id")
    affected = data.get("affected")
    if isinstance(affected, list) and len(affected) > MAX_AFFECTED:  # before any validation
        raise OsvRecordError(
            f"affected: {len(affected)} entries, over the limit of {MAX_AFFECTED}",
            record_id=record_id,
        )
    try:
        return OsvRecord.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    except (ValueError, TypeError) as exc:  # a validator's own message
        raise OsvRecordError(str(exc), record_id=record_id) from None
    dropped = _bad_entries(errors, affected)
    if dropped is None or not isinstance(affected, list) or len(dropped) == len(affected):
        raise OsvRecordError(_where(errors[0]), record_id=record_id)
    bad = {entry.index for entry in dropped}
    kept = [entry for index, entry in enumerate(affected) if index not in bad]
    try:
        return OsvRecord.model_validate({**data, "affected": kept}), dropped
    except ValidationError as exc:  # not expected: the other entries validated on their own
        raise OsvRecordError(_where(exc.errors()[0]), record_id=record_id) from None
    except (ValueError, TypeError) as exc:
        raise OsvRecordError(str(exc), record_id=record_id) from None


def _where(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def _bad_entries(errors: list[Any], affected: object) -> list[DroppedEntry] | None:
    """The malformed ``affected`` entries, when every error lies inside one; else None."""
    if not isinstance(affected, list):
        return None
    reasons: dict[int, str] = {}
    for error in errors:
        loc = error["loc"]
        if len(loc) < 2 or loc[0] != "affected" or not isinstance(loc[1], int):
            return None
        inner = ".".join(str(part) for part in loc[2:]) or "entry"
        reasons.setdefault(loc[1], f"{inner}: {error['msg']}")
    return [DroppedEntry(index, reason) for index, reason in sorted(reasons.items())]


def ecosystem_base(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``; ``Ubuntu:Pro:22.04:LTS`` -> ``Ubuntu``."""
    return ecosystem.split(":", 1)[0]


def package_key(ecosystem: str, name: str) -> str:
    """The name the index is keyed on: PyPI names compare in PEP 503 normal form, so
    ``Jinja2`` in an image and ``jinja2`` in an advisory meet; other ecosystems as written."""
    if ecosystem_base(ecosystem) == "PyPI":
        return _PYPI_SEPARATORS.sub("-", name).lower()
    return name
