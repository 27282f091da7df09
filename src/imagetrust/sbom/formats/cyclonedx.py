"""CycloneDX 1.6 JSON for one platform image, built with cyclonedx-python-lib.

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
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.spdx import fixup_id
from packageurl import PackageURL

from imagetrust.sbom.formats.native import (
    document_uuid,
    image_purl,
    parse_purl,
    spdx_expression,
    utc_seconds,
)
from imagetrust.sbom.models import ImageSbom, OsRelease, Package, SbomError

SCHEMA_VERSION = SchemaVersion.V1_6
_TOP_ORDER = (
    "$schema",
    "bomFormat",
    "specVersion",
    "serialNumber",
    "version",
    "metadata",
    "components",
    "dependencies",
)
NS = "imagetrust"


def _props(pairs: Iterable[tuple[str, str | None]]) -> list[Property]:
    return [Property(name=f"{NS}:{name}", value=value) for name, value in pairs if value]


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


def _base_ref(package: Package) -> str:
    purl = parse_purl(package.purl)
    if purl is None:
        return f"{NS}:{package.type}/{package.name}@{package.version}"
    return purl.to_string()


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


def _licenses(licenses: tuple[str, ...]) -> list[DisjunctiveLicense] | list[LicenseExpression]:
    """The declared licenses in CycloneDX form, none lost, nothing invalid claimed.

    The schema allows either a list of single licenses or exactly one expression, never a
    mix. So: when every declared license is valid SPDX and one is compound, they become one
    ``AND`` expression; otherwise each is a license of its own, by SPDX ``id`` when it is a
    known id (after fixing case) and by ``name`` when not (``GPLv2+``), as syft writes them.
    """
    declared = list(dict.fromkeys(text.strip() for text in licenses if text.strip()))
    if not declared:
        return []
    each = [spdx_expression([text]) for text in declared]
    if all(each) and any(" " in str(expr) for expr in each):
        combined = spdx_expression(declared)
        if combined is not None:
            return [LicenseExpression(combined)]
    out: list[DisjunctiveLicense] = []
    for text, expr in zip(declared, each, strict=True):
        known = fixup_id(expr) if expr and " " not in expr else None
        out.append(DisjunctiveLicense(id=known) if known else DisjunctiveLicense(name=text))
    return out


def _package_component(package: Package, ref: str) -> Component:
    purl = parse_purl(package.purl)
    source_version = package.source_version
    if source_version == package.version:
        source_version = None
    properties = _props(
        [
            ("package:type", str(package.type)),
            ("package:sourceName", package.source_name),
            ("package:sourceVersion", source_version),
            ("package:architecture", package.architecture),
            ("package:owner", package.owner),
            ("location:layerDigest", package.layer),
            ("location:path", package.path),
            *((f"metadata:{key}", value) for key, value in sorted(package.extra.items())),
        ]
    )
    return Component(
        type=ComponentType.LIBRARY,
        bom_ref=ref,
        name=package.name,
        version=package.version or None,
        purl=purl,
        licenses=_licenses(package.licenses),
        properties=properties,
    )


def os_ref(os_release: OsRelease) -> str:
    return f"os:{os_release.id}@{os_release.version_id or ''}".rstrip("@")


def _os_component(os_release: OsRelease) -> Component:
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        bom_ref=os_ref(os_release),
        name=os_release.id,
        version=os_release.version_id,
        description=os_release.pretty_name,
        properties=_props(
            [
                ("distro:id", os_release.id),
                ("distro:versionID", os_release.version_id),
                ("distro:versionCodename", os_release.version_codename),
                ("distro:prettyName", os_release.pretty_name),
                *(("distro:idLike", like) for like in os_release.id_like),
            ]
        ),
    )


def _image_component(sbom: ImageSbom) -> Component:
    purl = image_purl(sbom)
    facts = sbom.facts
    properties = _props(
        [
            ("image:platform", sbom.platform),
            ("image:indexDigest", sbom.index_digest),
            ("image:configDigest", sbom.config_digest),
            ("image:user", facts.user),
            ("image:created", facts.created),
            *((f"image:layer:{i}", layer.digest) for i, layer in enumerate(sbom.layers)),
            *((f"image:runtime:{k}", v) for k, v in sorted(facts.runtimes.items())),
        ]
    )
    return Component(
        type=ComponentType.CONTAINER,
        bom_ref=purl.to_string() if purl else f"{NS}:image@{sbom.digest}",
        name=sbom.reference,
        version=sbom.digest or None,
        purl=purl,
        properties=properties,
    )


def build_bom(sbom: ImageSbom, *, tool_version: str, now: datetime) -> Bom:
    """The cyclonedx-python-lib model of the document (for callers that want to add to it)."""
    image = _image_component(sbom)
    tool = Component(type=ComponentType.APPLICATION, name=NS, version=tool_version)
    metadata = BomMetaData(
        tools=ToolRepository(components=[tool]),
        component=image,
        timestamp=utc_seconds(now),
        properties=_props(
            [
                ("sbom:analyserVersion", sbom.analyser_version),
                *(("sbom:error", error) for error in sbom.errors),
                *(("sbom:incomplete", reason) for reason in sbom.incomplete),
            ]
        ),
    )
    components = [
        _package_component(package, ref)
        for package, ref in zip(sbom.packages, package_refs(sbom.packages), strict=True)
    ]
    if sbom.os is not None:
        components.append(_os_component(sbom.os))
    bom = Bom(
        serial_number=document_uuid(sbom, "cyclonedx"),
        metadata=metadata,
        components=components,
    )
    # The library looks each target up by a linear scan of the graph, and its outputter
    # registers every component again before writing: quadratic, 3.5 s for 2,400
    # components. The same graph, found through an index (this instance only).
    bom.register_dependency = _indexed_register(bom)  # type: ignore[method-assign]
    bom.register_dependency(image, components)
    return bom


def _indexed_register(bom: Bom) -> Callable[..., None]:
    """``Bom.register_dependency`` with the same effect, through a dict of the graph."""
    index = {dependency.ref: dependency for dependency in bom.dependencies}

    def register(target: Any, depends_on: Iterable[Any] | None = None) -> None:
        wanted = list(depends_on) if depends_on else []
        found = index.get(target.bom_ref)
        if found is not None:
            found.dependencies.update(Dependency(ref=d.bom_ref) for d in wanted)
        else:
            found = Dependency(
                ref=target.bom_ref, dependencies=[Dependency(ref=d.bom_ref) for d in wanted]
            )
            bom.dependencies.add(found)
            index[found.ref] = found
        for dependent in wanted:
            register(dependent)

    return register


def to_cyclonedx_json(sbom: ImageSbom, *, tool_version: str, now: datetime) -> str:
    """The CycloneDX JSON document, indented, ending in a newline."""
    try:
        bom = build_bom(sbom, tool_version=tool_version, now=now)
        text = make_outputter(bom, OutputFormat.JSON, SCHEMA_VERSION).output_as_string()
    except SbomError:
        raise
    except Exception as exc:  # the library rejects some values (e.g. a duplicate bom-ref)
        raise SbomError(f"cannot write CycloneDX for {sbom.reference}: {exc}") from exc
    return json.dumps(_reordered(json.loads(text)), indent=2, ensure_ascii=False) + "\n"


def _reordered(doc: dict[str, Any]) -> dict[str, Any]:
    """The library sorts keys alphabetically; put the header first, as syft and the spec do.

    Only the top level moves; everything inside keeps the library's (sorted) order.
    """
    doc.setdefault("components", [])  # say "none" rather than leave it unsaid
    head = [k for k in _TOP_ORDER if k in doc]
    return {key: doc[key] for key in [*head, *sorted(k for k in doc if k not in _TOP_ORDER)]}
