"""Read an SBOM file back into an ``ImageSbom``: ours (native JSON), CycloneDX or SPDX JSON.

``imagetrust scan sbom:FILE`` takes SBOMs made by imagetrust, syft or trivy. What matching
needs is in every package URL: the ecosystem (purl type), name, version (with the epoch
from the ``epoch=`` qualifier), the distribution release (``distro=debian-12`` qualifier)
and, for distribution packages, the source package (``upstream=`` as syft writes it, or
the ``imagetrust:package:sourceName`` / ``sourceVersion`` and trivy's
``aquasecurity:trivy:SrcName`` / ``SrcEpoch``, ``SrcVersion``, ``SrcRelease`` properties).
Everything else is optional. The file is untrusted input: anything malformed is an
``SbomError`` naming the file.
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


def _package(purl_text: str, source_name: str | None, source_version: str | None) -> Package | None:
    from packageurl import PackageURL

    try:
        purl = PackageURL.from_string(purl_text)
    except ValueError:
        return None
    kind = _TYPES.get(purl.type)
    if kind is None or not purl.name or not purl.version:
        return None
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    version = purl.version
    epoch = qualifiers.get("epoch")
    if kind in _DISTRO and epoch and epoch.isdigit() and ":" not in version:
        # syft and trivy put an rpm epoch (trivy a dpkg one too) in this qualifier, as the
        # purl spec says; without it 1:3.0.7-27 reads as 3.0.7-27, below every fix with an
        # epoch. The source package shares it.
        version = f"{epoch}:{version}"
    upstream = qualifiers.get("upstream")
    if upstream and not source_name:
        if kind is PackageType.RPM and upstream.endswith(".src.rpm"):
            source_name = upstream[: -len(".src.rpm")].rsplit("-", 2)[0]
        else:
            source_name, _, upstream_version = upstream.partition("@")
            source_version = source_version or upstream_version or None
    name = purl.name
    if kind is PackageType.JAVA and purl.namespace:
        return Package(name, version, kind, purl_text, extra={"group_id": purl.namespace})
    if kind in (PackageType.NPM, PackageType.GO) and purl.namespace:
        name = f"{purl.namespace}/{purl.name}"
    return Package(
        name,
        version,
        kind,
        purl_text,
        source_name=source_name or (name if kind in _DISTRO else None),
        source_version=source_version or (version if kind in _DISTRO else None),
        architecture=qualifiers.get("arch"),
    )


_DISTRO = {PackageType.DEB, PackageType.APK, PackageType.RPM}


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
    reference: str, digest: str, os_release: OsRelease | None, packages: list[Package]
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
        source_name = next((props[k] for k in _SOURCE_NAME_PROPS if k in props), None)
        source_version = props.get(_SOURCE_VERSION_PROP) or _trivy_source_version(props)
        package = _package(purl, source_name, source_version)
        if package is not None:
            packages.append(package)
            purls.append(purl)
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    image = metadata.get("component")
    image = image if isinstance(image, dict) else {}
    reference = str(image.get("name") or where)
    digest = str(image.get("version") or "")
    return _sbom(reference, digest, os_release or _os_from_purls(purls), packages)


def _from_spdx(doc: dict[str, Any], where: str) -> ImageSbom:
    packages: list[Package] = []
    purls: list[str] = []
    for item in doc.get("packages") or []:
        if not isinstance(item, dict):
            continue
        for ref in item.get("externalRefs") or []:
            if not isinstance(ref, dict) or ref.get("referenceType") != "purl":
                continue
            locator = ref.get("referenceLocator")
            if isinstance(locator, str):
                package = _package(locator, None, None)
                if package is not None:
                    packages.append(package)
                    purls.append(locator)
    return _sbom(str(doc.get("name") or where), "", _os_from_purls(purls), packages)
