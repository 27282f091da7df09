"""SPDX 2.3 JSON for one platform image.

Written as plain JSON data (spdx-tools is a test-time validator here, not a run-time
dependency), in the shape syft writes for images:

- One document (``SPDXRef-DOCUMENT``) that ``DESCRIBES`` one package for the image
  (``primaryPackagePurpose`` ``CONTAINER``, version the manifest digest, its sha256 as a
  checksum, the ``oci`` purl for registry images).
- The image ``CONTAINS`` the distribution (``OPERATING-SYSTEM``) and every package
  (``LIBRARY``); each package carries its purl as a ``PACKAGE-MANAGER`` external ref.
- A language package installed by an OS package (``Package.owner``) is the related element
  of an ``OTHER`` relationship from its owner whose comment starts with
  ``ownership-by-file-overlap:``, the encoding syft uses for the same fact, so either
  tool's reader finds it.
- SPDXIDs use only letters, digits, ``.`` and ``-`` (the spec's rule): a readable slug of
  type and name plus a hash of the package's unique bom-ref (the same refs as in the
  CycloneDX output), so ids are unique and do not change with package order.
- ``documentNamespace`` is a URI under ``https://spdx.org/spdxdocs/`` (the spec's own
  example form) ending in a uuid5 of image digest and analyser version: the same analysis
  of the same image is the same document. ``creationInfo.created`` is the caller's clock.
- ``licenseDeclared`` is the package's licenses as one SPDX expression (several joined with
  ``AND``); if any declared license is no SPDX id or expression (``GPLv2+``, ``BSD``) it is
  ``NOASSERTION`` and the declared text goes to ``licenseComments`` instead, so nothing is
  lost and nothing invalid is asserted. ``licenseConcluded`` is always ``NOASSERTION``:
  imagetrust reads what packages declare, it does not conclude.

Source packages, layers and database paths have no SPDX field; they go in ``sourceInfo``
as text, the way syft does.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from imagetrust.sbom.formats.cyclonedx import canonical_purl, os_ref, package_refs
from imagetrust.sbom.formats.native import (
    document_uuid,
    image_purl,
    indented_json,
    spdx_expression,
    utc_seconds,
)
from imagetrust.sbom.formats.read import INCOMPLETE_PREFIX, OWNERSHIP
from imagetrust.sbom.models import ImageSbom, OsRelease, Package

SPDX_VERSION = "SPDX-2.3"
NOASSERTION = "NOASSERTION"
NAMESPACE_BASE = "https://spdx.org/spdxdocs/imagetrust"
IMAGE_ID = "SPDXRef-Image"
OWNERSHIP_COMMENT = (
    f"{OWNERSHIP}: the parent, an OS package, lists in its installed files the file the"
    " child package was read from"
)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9.-]+")
_UNSAFE_URI = re.compile(r"[^A-Za-z0-9._~-]+")


def safe_id(text: str) -> str:
    """``text`` with every run of characters an SPDXID may not hold turned into one ``-``."""
    return _UNSAFE_ID.sub("-", text).strip("-")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def package_id(package: Package, ref: str) -> str:
    slug = safe_id(f"{package.type}-{package.name}")[:80].strip("-")
    return (
        f"SPDXRef-Package-{slug}-{_short_hash(ref)}"
        if slug
        else f"SPDXRef-Package-{_short_hash(ref)}"
    )


def _purl_ref(purl: str) -> dict[str, str]:
    return {
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    }


def _source_info(package: Package) -> str | None:
    parts: list[str] = []
    if package.path:
        parts.append(f"read from {package.path}")
    if package.layer:
        parts.append(f"in layer {package.layer}")
    if package.source_name:
        source = package.source_name
        if package.source_version:
            source += f" {package.source_version}"
        parts.append(f"built from source package {source}")
    return "; ".join(parts) if parts else None


def _package(package: Package, spdx_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": package.name, "SPDXID": spdx_id}
    if package.version:
        doc["versionInfo"] = package.version
    doc["downloadLocation"] = NOASSERTION
    doc["filesAnalyzed"] = False
    source_info = _source_info(package)
    if source_info:
        doc["sourceInfo"] = source_info
    declared = [text.strip() for text in package.licenses if text.strip()]
    expression = spdx_expression(declared)
    doc["licenseConcluded"] = NOASSERTION
    doc["licenseDeclared"] = expression or NOASSERTION
    if declared and expression is None:
        doc["licenseComments"] = "declared by the package: " + "; ".join(declared)
    doc["copyrightText"] = NOASSERTION
    purl = canonical_purl(package.purl)
    if purl is not None:
        doc["externalRefs"] = [_purl_ref(purl)]
    doc["primaryPackagePurpose"] = "LIBRARY"
    return doc


def _os_package(os_release: OsRelease) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": os_release.id,
        "SPDXID": f"SPDXRef-OperatingSystem-{safe_id(os_ref(os_release))}",
    }
    if os_release.version_id:
        doc["versionInfo"] = os_release.version_id
    doc.update(
        {
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
        }
    )
    if os_release.pretty_name:
        doc["description"] = os_release.pretty_name
    doc["primaryPackagePurpose"] = "OPERATING-SYSTEM"
    return doc


def _image_package(sbom: ImageSbom) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": sbom.reference, "SPDXID": IMAGE_ID}
    if sbom.digest:
        doc["versionInfo"] = sbom.digest
    doc["downloadLocation"] = NOASSERTION
    doc["filesAnalyzed"] = False
    algorithm, _, value = sbom.digest.partition(":")
    if algorithm in ("sha256", "sha512") and re.fullmatch(r"[0-9a-f]+", value):
        doc["checksums"] = [{"algorithm": algorithm.upper(), "checksumValue": value}]
    doc.update(
        {
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
        }
    )
    purl = image_purl(sbom)
    if purl is not None:
        doc["externalRefs"] = [_purl_ref(purl.to_string())]
    doc["primaryPackagePurpose"] = "CONTAINER"
    return doc


def _ownership(packages: tuple[Package, ...], ids: list[str]) -> list[dict[str, Any]]:
    """``owner OTHER package`` for every package an OS package installed."""
    by_purl: dict[str, str] = {}
    for package, spdx_id in zip(packages, ids, strict=True):
        by_purl.setdefault(package.purl, spdx_id)
    return [
        {
            "spdxElementId": by_purl[package.owner],
            "relatedSpdxElement": spdx_id,
            "relationshipType": "OTHER",
            "comment": OWNERSHIP_COMMENT,
        }
        for package, spdx_id in zip(packages, ids, strict=True)
        if package.owner and package.owner in by_purl
    ]


def _namespace(sbom: ImageSbom) -> str:
    name = _UNSAFE_URI.sub("-", sbom.reference).strip("-")[:100] or "image"
    return f"{NAMESPACE_BASE}/{name}-{document_uuid(sbom, 'spdx')}"


def build_document(sbom: ImageSbom, *, tool_version: str, now: datetime) -> dict[str, Any]:
    """The SPDX document as JSON data, keys in the order the spec lists them."""
    packages = [_image_package(sbom)]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relatedSpdxElement": IMAGE_ID,
            "relationshipType": "DESCRIBES",
        }
    ]
    contained: list[dict[str, Any]] = []
    if sbom.os is not None:
        contained.append(_os_package(sbom.os))
    refs = package_refs(sbom.packages)
    ids = [package_id(package, ref) for package, ref in zip(sbom.packages, refs, strict=True)]
    contained.extend(
        _package(package, spdx_id) for package, spdx_id in zip(sbom.packages, ids, strict=True)
    )
    packages.extend(contained)
    relationships.extend(
        {
            "spdxElementId": IMAGE_ID,
            "relatedSpdxElement": item["SPDXID"],
            "relationshipType": "CONTAINS",
        }
        for item in contained
    )
    relationships.extend(_ownership(sbom.packages, ids))
    comment = f"imagetrust analyser {sbom.analyser_version}; platform {sbom.platform}"
    if sbom.errors:
        comment += "; problems: " + "; ".join(sbom.errors)
    created = utc_seconds(now).strftime("%Y-%m-%dT%H:%M:%SZ")
    extra: dict[str, Any] = {}
    if sbom.incomplete:  # one annotation per reason, so readers (ours too) can list them
        extra["annotations"] = [
            {
                "annotationDate": created,
                "annotationType": "OTHER",
                "annotator": f"Tool: imagetrust-{tool_version}",
                "comment": INCOMPLETE_PREFIX + reason,
            }
            for reason in sbom.incomplete
        ]
    return {
        "spdxVersion": SPDX_VERSION,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": sbom.reference or sbom.digest or "image",
        "documentNamespace": _namespace(sbom),
        "creationInfo": {
            "creators": [f"Tool: imagetrust-{tool_version}"],
            "created": created,
            "comment": comment,
        },
        "packages": packages,
        "relationships": relationships,
        **extra,
    }


def to_spdx_json(sbom: ImageSbom, *, tool_version: str, now: datetime) -> str:
    """The SPDX 2.3 JSON document, indented, ending in a newline."""
    return indented_json(build_document(sbom, tool_version=tool_version, now=now), "SPDX", sbom)
