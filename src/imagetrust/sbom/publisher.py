"""The publisher's SBOM: what an image's SBOM attestation says it contains, kept beside ours.

BuildKit (``--sbom=true``, as Docker Official Images are built) attaches to the index one
attestation manifest per image, each layer an in-toto statement; the SBOM one has an SPDX
predicate (``https://spdx.dev/Document``; CycloneDX ``https://cyclonedx.org/bom`` is read
too). It is a package source of its own: the publisher's scanner (syft, in BuildKit) on the
build's view of the image. imagetrust never merges it into its own SBOM; ``crosscheck``
compares the two.

A statement is untrusted input: it is read only within ``max_bytes`` and JSON node bounds,
must be an in-toto statement whose predicate type is the one its layer announced and whose
subject names *this* image's manifest digest (a statement about another image is not this
image's SBOM), and its predicate must be an SPDX (or CycloneDX) document. Anything else is
stored as ``unreadable`` with the reason, so it is neither read again nor taken for an
empty SBOM; an index that attests no SBOM for the image is stored as ``absent``.

Packages are kept as the document lists them (name, version, purl, type from the purl),
every type, not only those imagetrust catalogs: a package the publisher sees and we do not
is exactly what the cross-check is for. The document's own entries for the image and its
OS (SPDX ``primaryPackagePurpose`` ``CONTAINER`` / ``OPERATING-SYSTEM``) are not packages.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from sqlalchemy import Connection, delete, insert, select

from imagetrust.store.schema import publisher_sboms

if TYPE_CHECKING:
    from imagetrust.oci.image import AttestedStatement, PlatformImage
    from imagetrust.oci.sources import ImageSource

SBOM_PREDICATES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")
IN_TOTO_STATEMENT = "https://in-toto.io/Statement/"
MAX_NAME = 512
MAX_VERSION = 1024
_SKIPPED_PURPOSES = frozenset({"CONTAINER", "OPERATING-SYSTEM"})


class PublisherSbom(Struct, frozen=True):
    digest: str  # the platform manifest the statement is about
    index_digest: str | None
    status: str  # present, absent, unreadable
    reason: str | None = None
    attestation_digest: str | None = None
    statement_digest: str | None = None
    predicate_type: str | None = None
    document: dict[str, Any] | None = None  # format, name, creators, created
    packages: list[dict[str, Any]] | None = None

    @property
    def present(self) -> bool:
        return self.status == "present"


def read_publisher_sboms(
    source: ImageSource,
    image: PlatformImage,
    index_digest: str | None,
    *,
    max_bytes: int,
    max_nodes: int,
) -> list[PublisherSbom]:
    """What the attestations of ``image`` (loaded with attestation details) say it holds:
    one record per SBOM statement, or one ``absent`` record."""
    from imagetrust.oci.image import attested_statements

    digest = image.descriptor.digest
    if index_digest is None:
        return [
            PublisherSbom(
                digest, None, "absent", "a single image manifest: no index to carry attestations"
            )
        ]
    statements = attested_statements(source, image, SBOM_PREDICATES, max_bytes=max_bytes)
    if not statements:
        return [PublisherSbom(digest, index_digest, "absent", "the index attests no SBOM for it")]
    return [_record(item, digest, index_digest, max_nodes) for item in statements]


def _record(
    item: AttestedStatement, digest: str, index_digest: str, max_nodes: int
) -> PublisherSbom:
    where: dict[str, Any] = {
        "attestation_digest": item.attestation,
        "statement_digest": item.layer.digest,
        "predicate_type": item.predicate_type[:255],
    }
    if item.data is None:
        return PublisherSbom(digest, index_digest, "unreadable", item.problem, **where)
    try:
        document, packages = parse_statement(item.data, digest, item.predicate_type, max_nodes)
    except ValueError as exc:
        return PublisherSbom(digest, index_digest, "unreadable", str(exc), **where)
    return PublisherSbom(
        digest, index_digest, "present", None, document=document, packages=packages, **where
    )


def parse_statement(
    data: bytes, digest: str, predicate_type: str, max_nodes: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(document summary, packages) of one statement; ``ValueError`` saying what is wrong."""
    nodes = data.count(b"{") + data.count(b"[")
    if nodes > max_nodes:
        raise ValueError(f"too large: {nodes} objects and arrays, limit {max_nodes}")
    try:
        statement = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(statement, dict):
        raise ValueError("not an in-toto statement (not a JSON object)")
    kind = statement.get("_type")
    if not isinstance(kind, str) or not kind.startswith(IN_TOTO_STATEMENT):
        raise ValueError(f"not an in-toto statement (_type {str(kind)[:100]!r})")
    if statement.get("predicateType") != predicate_type:
        raise ValueError(
            f"predicate type {str(statement.get('predicateType'))[:100]!r} is not the "
            f"{predicate_type!r} its layer announced"
        )
    hex_digest = digest.removeprefix("sha256:")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not any(
        isinstance(s, dict)
        and isinstance(s.get("digest"), dict)
        and s["digest"].get("sha256") == hex_digest
        for s in subjects
    ):
        raise ValueError(f"the statement's subject is not this image ({digest})")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise ValueError("the predicate is not a document")
    if predicate_type.startswith("https://spdx.dev/"):
        return _spdx(predicate)
    return _cyclonedx(predicate)


def _spdx(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    version = doc.get("spdxVersion")
    if not isinstance(version, str) or not version.startswith("SPDX-"):
        raise ValueError("the predicate is not an SPDX document (no spdxVersion)")
    info = _object(doc.get("creationInfo"))
    packages: list[dict[str, Any]] = []
    for item in doc.get("packages") or []:
        if not isinstance(item, dict) or item.get("primaryPackagePurpose") in _SKIPPED_PURPOSES:
            continue
        purl = next(
            (
                ref.get("referenceLocator")
                for ref in item.get("externalRefs") or []
                if isinstance(ref, dict) and ref.get("referenceType") == "purl"
            ),
            None,
        )
        entry = _package(item.get("name"), item.get("versionInfo"), purl)
        if entry is not None:
            packages.append(entry)
    creators = [c for c in (info.get("creators") or []) if isinstance(c, str)][:20]
    summary = {
        "format": version[:32],
        "name": _short(doc.get("name")),
        "creators": [c[:200] for c in creators],
        "created": _short(info.get("created")),
    }
    return summary, packages


def _cyclonedx(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if doc.get("bomFormat") != "CycloneDX":
        raise ValueError("the predicate is not a CycloneDX document (no bomFormat)")
    packages: list[dict[str, Any]] = []
    for item in doc.get("components") or []:
        if not isinstance(item, dict) or item.get("type") in ("operating-system", "container"):
            continue
        entry = _package(item.get("name"), item.get("version"), item.get("purl"))
        if entry is not None:
            packages.append(entry)
    metadata = _object(doc.get("metadata"))
    tools = metadata.get("tools")
    names = []
    if isinstance(tools, dict):
        tools = tools.get("components")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            names.append(f"Tool: {tool['name'][:100]}-{str(tool.get('version', ''))[:50]}")
    summary = {
        "format": f"CycloneDX-{str(doc.get('specVersion', ''))[:16]}",
        "name": None,
        "creators": names[:20],
        "created": _short(metadata.get("timestamp")),
    }
    return summary, packages


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _package(name: Any, version: Any, purl: Any) -> dict[str, Any] | None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        return None
    text = version if isinstance(version, str) and len(version) <= MAX_VERSION else ""
    locator = (
        purl if isinstance(purl, str) and purl.startswith("pkg:") and len(purl) <= 2048 else None
    )
    kind = locator[4:].split("/", 1)[0].lower() if locator else "unknown"
    return {"name": name, "version": text, "purl": locator, "type": kind}


# --------------------------------------------------------------------------- the store


def save_publisher_sboms(conn: Connection, records: list[PublisherSbom], now: datetime) -> None:
    """Replace what is stored for each (digest, index digest) the records speak about."""
    for digest, index in {(r.digest, r.index_digest) for r in records}:
        conn.execute(delete(publisher_sboms).where(_key(digest, index)))
    for record in records:
        conn.execute(
            insert(publisher_sboms).values(
                digest=record.digest,
                index_digest=record.index_digest,
                attestation_digest=record.attestation_digest,
                statement_digest=record.statement_digest,
                status=record.status,
                reason=record.reason,
                predicate_type=record.predicate_type,
                document=record.document,
                packages=record.packages,
                read_at=now,
            )
        )


def _key(digest: str, index: str | None) -> Any:
    column = publisher_sboms.c.index_digest
    return (publisher_sboms.c.digest == digest) & (
        column.is_(None) if index is None else column == index
    )


def publisher_sboms_for(conn: Connection, digest: str) -> list[PublisherSbom]:
    """Every record stored for the platform image (any index), oldest first."""
    rows = conn.execute(
        select(publisher_sboms)
        .where(publisher_sboms.c.digest == digest)
        .order_by(publisher_sboms.c.id)
    )
    return [
        PublisherSbom(
            digest=row.digest,
            index_digest=row.index_digest,
            status=row.status,
            reason=row.reason,
            attestation_digest=row.attestation_digest,
            statement_digest=row.statement_digest,
            predicate_type=row.predicate_type,
            document=dict(row.document) if row.document is not None else None,
            packages=list(row.packages) if row.packages is not None else None,
        )
        for row in rows
    ]
