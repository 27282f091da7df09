"""CycloneDX 1.6 JSON for one platform image.

Shape, chosen to match what syft writes for images so that consumers of syft SBOMs (grype,
Dependency-Track) read ours the same way:

- ``metadata.component`` is the image: type ``container``, name the reference, version the
  manifest digest, and for registry images the purl-spec ``oci`` purl (see
  ``native.image_purl``); ``metadata.tools`` names imagetrust and its version;
  ``metadata.timestamp`` is the caller's clock, so a rerun gives the same bytes.
- ``components``: one ``library`` per package, and the distribution as one
  ``operating-system`` component (bom-ref ``os:ID@VERSION``), as syft does; syft puts it in
  ``components`` too, not in metadata.
- bom-refs are the package purl, which is unique in practice; when two packages share one
  (the same package recorded by two databases, or a cataloger that cannot tell them apart)
  each gets a ``package-id`` qualifier hashed from what does tell them apart (layer, path,
  architecture, source) - the qualifier syft uses for the same purpose. A package without a
  usable purl gets ``imagetrust:TYPE/NAME@VERSION`` instead.
- ``serialNumber`` is a uuid5 of the image digest and analyser version: the same analysis
  of the same image is the same document.
- The dependency graph says only "the image holds these": the image depends on the OS and
  every package. Package-to-package dependencies are not recorded by the analysis.

Deliberate differences from syft: no CPEs (guessed CPEs are noise for matching; imagetrust
matches by purl and source package), no per-file location list beyond the one database
path, and the properties below instead of syft's ``syft:`` ones.

How it is written: directly, as plain data, in exactly the form cyclonedx-python-lib
writes (keys in its order, components, properties, licenses and the dependency graph sorted
and de-duplicated as its sorted sets do). The library's model is kept (``build_bom``) as
the reference: a test writes every document both ways and wants the same JSON. The library
costs ~0.5 s for an image of 470 packages (sorted sets of rich objects compared field by
field, purls normalised again and again, a generic serialiser), which made the report's SBOM
downloads ~95 % of ``report`` and over an hour for the official catalog; the direct writer
takes a few milliseconds.

Properties, in the ``imagetrust:`` namespace (as syft uses ``syft:``):

- each package: ``imagetrust:package:type`` (deb, apk, rpm, python, npm, java, go),
  ``package:sourceName`` (dpkg ``Source:``, apk origin, source rpm name),
  ``package:sourceVersion`` (only when it differs from the binary's),
  ``package:architecture``, ``package:owner`` (the purl of the OS package that installed
  this language package's files), ``location:layerDigest`` (the layer that installed this
  version), ``location:path`` (the database file it was read from), ``metadata:KEY``
  (cataloger extras, ``Package.extra``).
- the operating system: ``imagetrust:distro:id``, ``distro:versionID``,
  ``distro:versionCodename``, ``distro:prettyName``, ``distro:idLike`` (one per entry).
- the image (``metadata.component``): ``imagetrust:image:platform``, ``image:indexDigest``,
  ``image:configDigest``, ``image:user``, ``image:created``, ``image:layer:N`` (layer
  digests in order), ``image:runtime:NAME`` (e.g. python from ``PYTHON_VERSION``).
- the document (``metadata.properties``): ``imagetrust:sbom:analyserVersion``,
  ``sbom:error`` (one per file that could not be read).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from packageurl import PackageURL

from imagetrust.sbom.formats.native import (
    document_uuid,
    image_purl,
    indented_json,
    parse_purl,
    spdx_expression,
    utc_seconds,
)
from imagetrust.sbom.models import ImageSbom, OsRelease, Package, SbomError

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
NS = "imagetrust"

# A license as the document holds it: ("expression", text), ("id", spdx_id) or ("name", text).
LicenseEntry = tuple[str, str]
Pairs = Iterable[tuple[str, str | None]]


def _props(pairs: Pairs) -> list[tuple[str, str]]:
    """Properties as the library writes them: a sorted set of (name, value), empty dropped."""
    return sorted({(f"{NS}:{name}", value) for name, value in pairs if value})


def _props_json(props: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in props]


def package_refs(packages: Iterable[Package]) -> list[str]:
    """One unique, stable bom-ref per package, in the packages' order.

    Stable means independent of the order packages come in: a ref depends only on the
    package itself and on whether another package shares its purl.
    """
    items = list(packages)
    bases = [_base_ref(p) for p in items]
    groups: dict[str, list[int]] = defaultdict(list)
    for index, base in enumerate(bases):
        groups[base].append(index)
    refs = list(bases)
    for base, indexes in groups.items():
        if len(indexes) == 1:
            continue
        seen: dict[str, int] = {}
        for index in sorted(indexes, key=lambda i: _identity(items[i])):
            package_id = hashlib.sha256(_identity(items[index]).encode()).hexdigest()[:16]
            count = seen.get(package_id, 0) + 1
            seen[package_id] = count
            if count > 1:  # true duplicates: nothing tells them apart but their number
                package_id = f"{package_id}-{count}"
            refs[index] = _with_package_id(base, package_id)
    return refs


@lru_cache(maxsize=65536)
def canonical_purl(text: str) -> str | None:
    """The purl as packageurl-python writes it back, or None when it is not one.

    Cached: normalising a purl is the slow part of writing a package, and the same purls
    come back in image after image of a report.
    """
    purl = parse_purl(text)
    return None if purl is None else purl.to_string()


def _base_ref(package: Package) -> str:
    canonical = canonical_purl(package.purl)
    if canonical is None:
        return f"{NS}:{package.type}/{package.name}@{package.version}"
    return canonical


def _identity(package: Package) -> str:
    fields = (
        str(package.type),
        package.name,
        package.version,
        package.architecture or "",
        package.source_name or "",
        package.source_version or "",
        package.layer or "",
        package.path or "",
        "\x1f".join(package.licenses),
    )
    return "\x1e".join(fields)


def _with_package_id(ref: str, package_id: str) -> str:
    purl = parse_purl(ref)
    if purl is None:
        return f"{ref}#{package_id}"
    qualifiers = dict(purl.qualifiers) if isinstance(purl.qualifiers, dict) else {}
    qualifiers["package-id"] = package_id
    return PackageURL(
        type=purl.type,
        namespace=purl.namespace,
        name=purl.name,
        version=purl.version,
        qualifiers=qualifiers,
        subpath=purl.subpath,
    ).to_string()


@lru_cache(maxsize=16384)
def license_entries(licenses: tuple[str, ...]) -> tuple[LicenseEntry, ...]:
    """The declared licenses in CycloneDX form, none lost, nothing invalid claimed.

    The schema allows either a list of single licenses or exactly one expression, never a
    mix. So: when every declared license is valid SPDX and one is compound, they become one
    ``AND`` expression; otherwise each is a license of its own, by SPDX ``id`` when it is a
    known id (after fixing case) and by ``name`` when not (``GPLv2+``), as syft writes them.
    Single licenses come as the library orders its license set: by id, then those known
    only by name, by name; duplicates once.
    """
    from cyclonedx.spdx import fixup_id

    declared = list(dict.fromkeys(text.strip() for text in licenses if text.strip()))
    if not declared:
        return ()
    each = [spdx_expression([text]) for text in declared]
    if all(each) and any(" " in str(expr) for expr in each):
        combined = spdx_expression(declared)
        if combined is not None:
            return (("expression", combined),)
    ids: set[str] = set()
    names: set[str] = set()
    for text, expr in zip(declared, each, strict=True):
        known = fixup_id(expr) if expr and " " not in expr else None
        if known:
            ids.add(known)
        else:
            names.add(text)
    return (*(("id", v) for v in sorted(ids)), *(("name", v) for v in sorted(names)))


def _licenses_json(entries: tuple[LicenseEntry, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, value in entries:
        out.append({"expression": value} if kind == "expression" else {"license": {kind: value}})
    return out


def package_properties(package: Package) -> list[tuple[str, str]]:
    source_version = package.source_version
    if source_version == package.version:
        source_version = None
    return _props(
        [
            ("package:type", str(package.type)),
            ("package:sourceName", package.source_name),
            ("package:sourceVersion", source_version),
            ("package:architecture", package.architecture),
            ("package:owner", package.owner),
            ("location:layerDigest", package.layer),
            ("location:path", package.path),
            *((f"metadata:{key}", value) for key, value in package.extra.items()),
        ]
    )


def os_ref(os_release: OsRelease) -> str:
    return f"os:{os_release.id}@{os_release.version_id or ''}".rstrip("@")


def os_properties(os_release: OsRelease) -> list[tuple[str, str]]:
    return _props(
        [
            ("distro:id", os_release.id),
            ("distro:versionID", os_release.version_id),
            ("distro:versionCodename", os_release.version_codename),
            ("distro:prettyName", os_release.pretty_name),
            *(("distro:idLike", like) for like in os_release.id_like),
        ]
    )


def image_ref(sbom: ImageSbom) -> tuple[str, PackageURL | None]:
    purl = image_purl(sbom)
    return (purl.to_string() if purl else f"{NS}:image@{sbom.digest}"), purl


def image_properties(sbom: ImageSbom) -> list[tuple[str, str]]:
    facts = sbom.facts
    return _props(
        [
            ("image:platform", sbom.platform),
            ("image:indexDigest", sbom.index_digest),
            ("image:configDigest", sbom.config_digest),
            ("image:user", facts.user),
            ("image:created", facts.created),
            *((f"image:layer:{i}", layer.digest) for i, layer in enumerate(sbom.layers)),
            *((f"image:runtime:{k}", v) for k, v in facts.runtimes.items()),
        ]
    )


def document_properties(sbom: ImageSbom) -> list[tuple[str, str]]:
    return _props(
        [
            ("sbom:analyserVersion", sbom.analyser_version),
            *(("sbom:error", error) for error in sbom.errors),
            *(("sbom:incomplete", reason) for reason in sbom.incomplete),
        ]
    )


def _component(
    kind: str,
    ref: str | None,
    name: str,
    version: str | None,
    *,
    purl: str | None = None,
    description: str | None = None,
    licenses: tuple[LicenseEntry, ...] = (),
    properties: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """One component, its keys in the library's (alphabetical) order, empty ones left out."""
    out: dict[str, Any] = {}
    if ref is not None:
        out["bom-ref"] = ref
    if description is not None:
        out["description"] = description
    if licenses:
        out["licenses"] = _licenses_json(licenses)
    out["name"] = name
    if properties:
        out["properties"] = _props_json(properties)
    if purl is not None:
        out["purl"] = purl
    out["type"] = kind
    if version is not None:
        out["version"] = version
    return out


def _order(kind: str, name: str, version: str | None, ref: str) -> tuple[Any, ...]:
    """The library's component order: type, name, version (none last), bom-ref."""
    return (kind, name, version is None, version or "", ref)


def cyclonedx_document(sbom: ImageSbom, *, tool_version: str, now: datetime) -> dict[str, Any]:
    """The whole document as plain data, in the order it is written."""
    entries: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    refs = package_refs(sbom.packages)
    for package, ref in zip(sbom.packages, refs, strict=True):
        version = package.version or None
        entries.append(
            (
                _order("library", package.name, version, ref),
                _component(
                    "library",
                    ref,
                    package.name,
                    version,
                    purl=canonical_purl(package.purl),
                    licenses=license_entries(package.licenses),
                    properties=package_properties(package),
                ),
            )
        )
    if sbom.os is not None:
        ref = os_ref(sbom.os)
        refs.append(ref)
        entries.append(
            (
                _order("operating-system", sbom.os.id, sbom.os.version_id, ref),
                _component(
                    "operating-system",
                    ref,
                    sbom.os.id,
                    sbom.os.version_id,
                    description=sbom.os.pretty_name,
                    properties=os_properties(sbom.os),
                ),
            )
        )
    top_ref, top_purl = image_ref(sbom)
    every = [top_ref, *refs]
    if len(set(every)) != len(every):
        raise SbomError(f"cannot write CycloneDX for {sbom.reference}: a bom-ref is not unique")
    entries.sort(key=lambda entry: entry[0])
    metadata: dict[str, Any] = {
        "component": _component(
            "container",
            top_ref,
            sbom.reference,
            sbom.digest or None,
            purl=None if top_purl is None else top_purl.to_string(),
            properties=image_properties(sbom),
        )
    }
    document_props = document_properties(sbom)
    if document_props:
        metadata["properties"] = _props_json(document_props)
    metadata["timestamp"] = utc_seconds(now).isoformat()
    tool = _component("application", None, NS, tool_version)
    metadata["tools"] = {"components": [tool]}
    dependencies: list[dict[str, Any]] = [{"ref": ref} for ref in sorted(refs)]
    # Keys in the library's order: "dependsOn" before "ref".
    image_dependency: dict[str, Any] = {"dependsOn": sorted(refs)} if refs else {}
    image_dependency["ref"] = top_ref
    dependencies.append(image_dependency)
    dependencies.sort(key=lambda dependency: str(dependency["ref"]))
    return {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": document_uuid(sbom, "cyclonedx").urn,
        "version": 1,
        "metadata": metadata,
        "components": [component for _, component in entries],
        "dependencies": dependencies,
    }


def to_cyclonedx_json(sbom: ImageSbom, *, tool_version: str, now: datetime) -> str:
    """The CycloneDX JSON document, indented, ending in a newline."""
    try:
        doc = cyclonedx_document(sbom, tool_version=tool_version, now=now)
    except SbomError:
        raise
    except Exception as exc:  # a value the document cannot be built from: this image's
        raise SbomError(f"cannot write CycloneDX for {sbom.reference}: {exc}") from exc
    return indented_json(doc, "CycloneDX", sbom)
