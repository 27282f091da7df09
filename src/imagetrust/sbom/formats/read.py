"""Read an SBOM file back into an ``ImageSbom``: ours (native JSON), CycloneDX or SPDX JSON.

``imagetrust scan sbom:FILE`` takes SBOMs made by imagetrust, syft or trivy. What matching
needs is in every package URL: the ecosystem (purl type), name, version, the distribution
release (``distro=debian-12`` qualifier) and, for distribution packages, the source package
(``upstream=`` as syft writes it, or the ``imagetrust:package:sourceName`` and trivy's
``aquasecurity:trivy:SrcName`` properties). Everything else is optional; a purl without a
version gives a package with version "" (scan reports it, "no version"). The file is
untrusted input: anything malformed is an ``SbomError`` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagetrust.sbom.models import (
    ImageFacts,
    ImageSbom,
    OsRelease,
    Package,
    PackageType,
    SbomError,
)
from imagetrust.sbom.purl import golang_module, split_source_rpm, with_epoch

INCOMPLETE_PROP = "imagetrust:sbom:incomplete"  # CycloneDX: one metadata property a reason
INCOMPLETE_PREFIX = f"{INCOMPLETE_PROP}: "  # SPDX: one document annotation a reason
OWNERSHIP = "ownership-by-file-overlap"  # the SPDX relationship comment syft and we write

MAX_SBOM_BYTES = 512 << 20

_TYPES = {
    "deb": PackageType.DEB,
    "apk": PackageType.APK,
    "rpm": PackageType.RPM,
    "pypi": PackageType.PYTHON,
    "npm": PackageType.NPM,
    "maven": PackageType.JAVA,
    "golang": PackageType.GO,
}
_SOURCE_NAME_PROPS = ("imagetrust:package:sourceName", "aquasecurity:trivy:SrcName")
_SOURCE_VERSION_PROP = "imagetrust:package:sourceVersion"


def read_sbom_file(path: str | Path) -> ImageSbom:
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if size > MAX_SBOM_BYTES:
            raise SbomError(f"{file}: {size} bytes is more than an SBOM may be ({MAX_SBOM_BYTES})")
        doc = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise SbomError(f"{file}: no such file") from None
    except (OSError, ValueError) as exc:
        raise SbomError(f"{file}: not a JSON SBOM ({exc})") from None
    if not isinstance(doc, dict):
        raise SbomError(f"{file}: not a JSON object")
    try:
        if doc.get("bomFormat") == "CycloneDX":
            return _from_cyclonedx(doc, str(file))
        if isinstance(doc.get("spdxVersion"), str):
            return _from_spdx(doc, str(file))
        if doc.get("kind") == "sbom" and isinstance(doc.get("images"), list) and doc["images"]:
            from imagetrust.sbom.formats.native import from_native

            return from_native(doc["images"][0])
    except SbomError as exc:
        raise SbomError(f"{file}: {exc.message}") from None
    except (TypeError, AttributeError, KeyError) as exc:
        raise SbomError(f"{file}: malformed SBOM ({exc})") from None
    raise SbomError(
        f"{file}: not an SBOM imagetrust reads",
        hint="CycloneDX JSON, SPDX 2.x JSON, or `imagetrust sbom --format json` output",
    )


def _package(
    purl_text: str,
    *,
    version: object = None,
    source_name: str | None = None,
    source_version: str | None = None,
    architecture: str | None = None,
    owner: str | None = None,
) -> Package | None:
    """A package from its purl and what the document says beside it (``version``: the
    CycloneDX component's or SPDX package's own version, which keeps an rpm's epoch).

    The purl gives the identity (type, name, namespace: every tool agrees on those); the
    version is the document's when given, else the purl's, with the purl's ``epoch``
    qualifier put back in front (rpm purls carry the epoch only there, so without it
    ``1:2.0.0-1.cm2`` would read as ``2.0.0-1.cm2`` and look older than a fix it has).
    """
    from packageurl import PackageURL

    try:
        purl = PackageURL.from_string(purl_text)
    except ValueError:
        return None
    kind = _TYPES.get(purl.type)
    if kind is None or not purl.name:
        return None
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    # A package without a version stays, with version "" as the catalogers give it, so
    # ``scan`` lists it as not covered ("no version") instead of never seeing it.
    text = version if isinstance(version, str) and version.strip() else purl.version or ""
    text = with_epoch(text, qualifiers.get("epoch")) if text else text
    name = purl.name
    if kind is PackageType.JAVA and purl.namespace:
        return Package(name, text, kind, purl_text, extra={"group_id": purl.namespace}, owner=owner)
    if kind is PackageType.GO:
        name = golang_module(purl.namespace, purl.name, purl.subpath)
    elif kind is PackageType.NPM and purl.namespace:
        name = f"{purl.namespace}/{purl.name}"
    if kind in _DISTRO:
        upstream = qualifiers.get("upstream")
        if upstream and not source_name:
            split = split_source_rpm(upstream) if kind is PackageType.RPM else None
            if split is not None:
                # a source rpm's file name has no epoch; its binaries share the spec's
                source_name = split[0]
                source_version = with_epoch(split[1], qualifiers.get("epoch"))
            else:
                source_name, _, upstream_version = upstream.partition("@")
                source_version = source_version or upstream_version or None
        source_name = source_name or name
        source_version = source_version or text
    else:
        source_name = source_version = None
    return Package(
        name,
        text,
        kind,
        purl_text,
        source_name=source_name,
        source_version=source_version,
        architecture=architecture or qualifiers.get("arch"),
        owner=owner,
    )


_DISTRO = {PackageType.DEB, PackageType.APK, PackageType.RPM}


def package_from_purl(purl_text: str, *, version: object = None) -> Package | None:
    """A package from a purl another tool wrote (and its own version field, if any); None
    for a purl of a type imagetrust does not read."""
    return _package(purl_text, version=version)


def _os_from_purls(purls: list[str]) -> OsRelease | None:
    from packageurl import PackageURL

    for text in purls:
        try:
            qualifiers = PackageURL.from_string(text).qualifiers
        except ValueError:
            continue
        distro = qualifiers.get("distro") if isinstance(qualifiers, dict) else None
        if distro and "-" in distro:
            os_id, _, version = distro.partition("-")
            return OsRelease(os_id, version)
    return None


def _props(item: dict[str, Any]) -> dict[str, str]:
    return {
        str(p.get("name")): str(p.get("value"))
        for p in item.get("properties") or []
        if isinstance(p, dict)
    }


def _first(props: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((props[name] for name in names if props.get(name)), None)


def _trivy_source_version(props: dict[str, str]) -> str | None:
    """trivy splits a source version into SrcEpoch, SrcVersion and SrcRelease (``1``,
    ``1.0.2k``, ``16.el7``); matching needs it whole, as ``1:1.0.2k-16.el7``."""
    version = props.get("aquasecurity:trivy:SrcVersion")
    if not version:
        return None
    release = props.get("aquasecurity:trivy:SrcRelease")
    epoch = props.get("aquasecurity:trivy:SrcEpoch")
    whole = f"{version}-{release}" if release else version
    return f"{epoch}:{whole}" if epoch and epoch.isdigit() else whole


def _sbom(
    reference: str,
    digest: str,
    os_release: OsRelease | None,
    packages: list[Package],
    incomplete: tuple[str, ...] = (),
) -> ImageSbom:
    return ImageSbom(
        reference=reference,
        digest=digest,
        index_digest=None,
        platform="",
        config_digest="",
        analyser_version="file",
        os=os_release,
        packages=tuple(packages),
        layers=(),
        facts=ImageFacts(None, (), (), {}, {}),
        incomplete=incomplete,
    )


def _from_cyclonedx(doc: dict[str, Any], where: str) -> ImageSbom:
    packages: list[Package] = []
    purls: list[str] = []
    os_release = None
    for component in doc.get("components") or []:
        if not isinstance(component, dict):
            continue
        if component.get("type") == "operating-system":
            name, version = component.get("name"), component.get("version")
            if isinstance(name, str) and isinstance(version, str):
                os_release = OsRelease(name.lower(), version)
            continue
        purl = component.get("purl")
        if not isinstance(purl, str):
            continue
        props = _props(component)
        package = _package(
            purl,
            version=component.get("version"),
            source_name=_first(props, _SOURCE_NAME_PROPS),
            source_version=props.get(_SOURCE_VERSION_PROP) or _trivy_source_version(props),
            architecture=props.get("imagetrust:package:architecture"),
            owner=props.get("imagetrust:package:owner"),
        )
        if package is not None:
            packages.append(package)
            purls.append(purl)
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    image = metadata.get("component")
    image = image if isinstance(image, dict) else {}
    reference = str(image.get("name") or where)
    digest = str(image.get("version") or "")
    incomplete = tuple(
        str(p.get("value"))
        for p in metadata.get("properties") or []
        if isinstance(p, dict) and p.get("name") == INCOMPLETE_PROP
    )
    return _sbom(reference, digest, os_release or _os_from_purls(purls), packages, incomplete)


def _from_spdx(doc: dict[str, Any], where: str) -> ImageSbom:
    """Packages from their purl external refs and ``versionInfo``; owners from the
    ``OTHER`` relationships marked ``ownership-by-file-overlap`` (ours and syft's)."""
    items = [item for item in doc.get("packages") or [] if isinstance(item, dict)]
    purl_of: dict[str, str] = {}
    for item in items:
        for ref in item.get("externalRefs") or []:
            if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                locator = ref.get("referenceLocator")
                if isinstance(locator, str) and isinstance(item.get("SPDXID"), str):
                    purl_of.setdefault(item["SPDXID"], locator)
    owners: dict[str, str] = {}
    for rel in doc.get("relationships") or []:
        if not isinstance(rel, dict) or rel.get("relationshipType") != "OTHER":
            continue
        comment = rel.get("comment")
        parent, child = rel.get("spdxElementId"), rel.get("relatedSpdxElement")
        if (
            isinstance(comment, str)
            and comment.startswith(OWNERSHIP)
            and isinstance(parent, str)
            and isinstance(child, str)
            and parent in purl_of
        ):
            owners.setdefault(child, purl_of[parent])
    packages: list[Package] = []
    purls: list[str] = []
    os_release = None
    for item in items:
        spdx_id = item.get("SPDXID")
        if item.get("primaryPackagePurpose") == "OPERATING-SYSTEM":
            name, version = item.get("name"), item.get("versionInfo")
            if isinstance(name, str) and name and isinstance(version, str):
                os_release = OsRelease(name.lower(), version)
            continue
        for ref in item.get("externalRefs") or []:
            if not isinstance(ref, dict) or ref.get("referenceType") != "purl":
                continue
            locator = ref.get("referenceLocator")
            if isinstance(locator, str):
                package = _package(
                    locator,
                    version=item.get("versionInfo"),
                    owner=owners.get(spdx_id) if isinstance(spdx_id, str) else None,
                )
                if package is not None:
                    packages.append(package)
                    purls.append(locator)
    incomplete = tuple(
        comment[len(INCOMPLETE_PREFIX) :]
        for note in doc.get("annotations") or []
        if isinstance(note, dict)
        and isinstance(comment := note.get("comment"), str)
        and comment.startswith(INCOMPLETE_PREFIX)
    )
    name = str(doc.get("name") or where)
    return _sbom(name, "", os_release or _os_from_purls(purls), packages, incomplete)
