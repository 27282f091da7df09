"""imagetrust's own SBOM shape, and the identity facts every output format shares.

The native shape is the model written out field for field, so nothing the analysis found is
lost (CycloneDX and SPDX have no place for everything: layer summaries, skipped-entry
counts, setuid files, per-file errors) and so ``from_native`` can read it back, e.g. for
``imagetrust scan sbom:FILE``. Keys follow the model's field order and every mapping is
sorted, so the same SBOM always serialises to the same bytes.

The shared helpers live here rather than in one of the two standard formats so that
CycloneDX and SPDX name the image (its purl) and read licenses the same way.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from packageurl import PackageURL

from imagetrust.oci.models import Platform
from imagetrust.oci.reference import ImageReference, parse_reference
from imagetrust.sbom.models import (
    ImageFacts,
    ImageSbom,
    LayerSummary,
    OsRelease,
    Package,
    PackageType,
    SbomError,
)

# Fixed namespace for every uuid5 imagetrust derives, so a document's identity depends only
# on what it describes (uuid5 of the URL namespace and this project's name).
IMAGETRUST_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://imagetrust/sbom")


@functools.cache
def _licensing() -> Any:
    """The SPDX license index: loading it costs ~0.2 s, so only when a license is checked."""
    from license_expression import get_spdx_licensing  # type: ignore[import-untyped]

    return get_spdx_licensing()


def document_uuid(sbom: ImageSbom, kind: str) -> uuid.UUID:
    """The same image analysed by the same analyser gets the same id in the same format.

    Different formats get different ids (``kind``), since they are different documents.
    """
    return uuid.uuid5(IMAGETRUST_UUID_NAMESPACE, f"{kind}:{sbom.digest}:{sbom.analyser_version}")


def utc_seconds(now: datetime) -> datetime:
    """``now`` in UTC to the second: both standards want ``YYYY-MM-DDThh:mm:ssZ``.

    A naive datetime is taken to be UTC already (the project's clock is UTC).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(microsecond=0)


def image_purl(sbom: ImageSbom) -> PackageURL | None:
    """``pkg:oci/NAME@DIGEST?arch=..&repository_url=REGISTRY/REPO&tag=..`` for a registry image.

    This is the purl-spec ``oci`` type as Trivy writes it for images (syft writes the same
    type, sometimes without ``repository_url``). Local sources (``oci-layout:``,
    ``docker-archive:``) have no registry identity, so they get no purl rather than a
    made-up one; an unparsable reference likewise.
    """
    try:
        ref = parse_reference(sbom.reference)
    except Exception:  # InvalidReferenceError and whatever odd text provokes
        return None
    if not isinstance(ref, ImageReference) or not sbom.digest:
        return None
    qualifiers = {"repository_url": ref.name}
    arch = platform_arch(sbom.platform)
    if arch:
        qualifiers["arch"] = arch
    if ref.tag:
        qualifiers["tag"] = ref.tag
    name = ref.repository.rsplit("/", 1)[-1]
    try:
        return PackageURL(type="oci", name=name, version=sbom.digest, qualifiers=qualifiers)
    except ValueError:
        return None


def platform_arch(platform: str) -> str | None:
    """``amd64`` from ``linux/amd64``; ``arm64`` from ``linux/arm64/v8``; None if unparsable."""
    try:
        return Platform.parse(platform).architecture
    except ValueError:
        return None


def parse_purl(purl: str) -> PackageURL | None:
    """A package's purl as an object, or None when a cataloger produced something invalid."""
    if not purl:
        return None
    try:
        return PackageURL.from_string(purl)
    except ValueError:
        return None


def spdx_expression(licenses: Sequence[str]) -> str | None:
    """The package's licenses as one valid SPDX expression, or None when that is not possible.

    Each declared license must be a known SPDX id or a valid SPDX expression (checked with
    ``license-expression``, the library cyclonedx-python-lib itself uses); several are
    joined with ``AND`` (a package's files are under all of them, which is how syft joins
    them too). One unknown name (``GPLv2+``, ``BSD``) makes the whole answer None: a
    partial expression would claim less than the package says. Ids are normalised to their
    canonical case (``mit`` -> ``MIT``).
    """
    return _spdx_expression(tuple(licenses))


@functools.lru_cache(maxsize=16384)
def _spdx_expression(licenses: tuple[str, ...]) -> str | None:
    """Cached: validating an expression is slow, and packages repeat from image to image."""
    parts: list[str] = []
    for raw in licenses:
        text = raw.strip()
        if not text:
            continue
        try:
            info = _licensing().validate(text, strict=False)
        except Exception:  # the parser raises on some odd input instead of reporting it
            return None
        if info.errors or not isinstance(info.normalized_expression, str):
            return None
        normalized = info.normalized_expression
        if "LicenseRef-" in normalized or "DocumentRef-" in normalized:
            return None  # would need an extracted-licensing section we do not write
        parts.append(normalized)
    unique = list(dict.fromkeys(parts))
    if len(unique) <= 1:
        return unique[0] if unique else None
    return " AND ".join(f"({part})" if " " in part else part for part in unique)


def _sorted_map(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: mapping[key] for key in sorted(mapping)}


def _os_to_native(os_release: OsRelease | None) -> dict[str, Any] | None:
    if os_release is None:
        return None
    return {
        "id": os_release.id,
        "version_id": os_release.version_id,
        "pretty_name": os_release.pretty_name,
        "version_codename": os_release.version_codename,
        "id_like": list(os_release.id_like),
    }


def _package_to_native(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "type": str(package.type),
        "purl": package.purl,
        "source_name": package.source_name,
        "source_version": package.source_version,
        "architecture": package.architecture,
        "layer": package.layer,
        "path": package.path,
        "licenses": list(package.licenses),
        "extra": _sorted_map(package.extra),
        "owner": package.owner,
    }


def _layer_to_native(layer: LayerSummary) -> dict[str, Any]:
    return {
        "digest": layer.digest,
        "media_type": layer.media_type,
        "size": layer.size,
        "from_cache": layer.from_cache,
        "entries": layer.entries,
        "packages": layer.packages,
        "skipped": _sorted_map(layer.skipped),
    }


def _facts_to_native(facts: ImageFacts) -> dict[str, Any]:
    return {
        "user": facts.user,
        "exposed_ports": list(facts.exposed_ports),
        "env_names": list(facts.env_names),
        "labels": _sorted_map(facts.labels),
        "runtimes": _sorted_map(facts.runtimes),
        "entrypoint": None if facts.entrypoint is None else list(facts.entrypoint),
        "cmd": None if facts.cmd is None else list(facts.cmd),
        "created": facts.created,
    }


def indented_json(doc: dict[str, Any], what: str, sbom: ImageSbom) -> str:
    """``doc`` as indented JSON ending in a newline (msgspec: the standard library's
    ``json`` was a large part of writing a report's SBOM files); a value JSON cannot hold
    (a lone surrogate in a name cannot be UTF-8) is an ``SbomError`` naming the image."""
    import msgspec.json

    try:
        encoded = msgspec.json.encode(doc)
    except Exception as exc:
        raise SbomError(f"cannot write {what} for {sbom.reference}: {exc}") from exc
    return msgspec.json.format(encoded, indent=2).decode("utf-8") + "\n"


def to_native(sbom: ImageSbom) -> dict[str, Any]:
    """The SBOM as plain JSON data; the caller adds ``schema_version`` and ``kind``."""
    purl = image_purl(sbom)
    return {
        "reference": sbom.reference,
        "digest": sbom.digest,
        "index_digest": sbom.index_digest,
        "platform": sbom.platform,
        "config_digest": sbom.config_digest,
        "analyser_version": sbom.analyser_version,
        "purl": None if purl is None else purl.to_string(),
        "os": _os_to_native(sbom.os),
        "packages": [_package_to_native(p) for p in sbom.packages],
        "layers": [_layer_to_native(layer) for layer in sbom.layers],
        "facts": _facts_to_native(sbom.facts),
        "setuid": list(sbom.setuid),
        "setgid": list(sbom.setgid),
        "world_writable": list(sbom.world_writable),
        "errors": list(sbom.errors),
        "complete": sbom.complete,
        "incomplete": list(sbom.incomplete),
    }


# --- reading it back -------------------------------------------------------------------


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise SbomError(f"native SBOM: {key!r} must be a string, got {type(value).__name__}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SbomError(f"native SBOM: {key!r} must be a string or null")
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SbomError(f"native SBOM: {key!r} must be an integer")
    return value


def _strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SbomError(f"native SBOM: {key!r} must be a list of strings")
    return tuple(value)


def _opt_strs(data: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    return None if data.get(key) is None else _strs(data, key)


def _str_map(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SbomError(f"native SBOM: {key!r} must map strings to strings")
    return dict(value)


def _obj(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise SbomError(f"native SBOM: {what} must be an object")
    return data


def _objs(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise SbomError(f"native SBOM: {key!r} must be a list")
    return [_obj(item, f"each of {key!r}") for item in value]


def _package_from_native(data: Mapping[str, Any]) -> Package:
    try:
        package_type = PackageType(_str(data, "type"))
    except ValueError as exc:
        raise SbomError(f"native SBOM: unknown package type {data.get('type')!r}") from exc
    return Package(
        name=_str(data, "name"),
        version=_str(data, "version"),
        type=package_type,
        purl=_str(data, "purl"),
        source_name=_opt_str(data, "source_name"),
        source_version=_opt_str(data, "source_version"),
        architecture=_opt_str(data, "architecture"),
        layer=_opt_str(data, "layer"),
        path=_opt_str(data, "path"),
        licenses=_strs(data, "licenses"),
        extra=_str_map(data, "extra"),
        owner=_opt_str(data, "owner"),
    )


def _layer_from_native(data: Mapping[str, Any]) -> LayerSummary:
    skipped = data.get("skipped") or {}
    if not isinstance(skipped, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in skipped.items()
    ):
        raise SbomError("native SBOM: layer 'skipped' must map reasons to counts")
    return LayerSummary(
        digest=_str(data, "digest"),
        media_type=_str(data, "media_type"),
        size=_int(data, "size"),
        from_cache=bool(data.get("from_cache", False)),
        entries=_int(data, "entries"),
        packages=_int(data, "packages"),
        skipped=dict(skipped),
    )


def from_native(data: Any) -> ImageSbom:
    """An ``ImageSbom`` back from ``to_native``'s shape (e.g. a saved ``--format json``).

    The input is untrusted (a file the user hands in), so every field is checked and any
    problem is an ``SbomError`` naming the field. Extra keys (``schema_version``, ``kind``,
    ``purl``) are ignored.
    """
    doc = _obj(data, "the document")
    os_data = doc.get("os")
    os_release = None
    if os_data is not None:
        os_obj = _obj(os_data, "'os'")
        os_release = OsRelease(
            id=_str(os_obj, "id"),
            version_id=_opt_str(os_obj, "version_id"),
            pretty_name=_opt_str(os_obj, "pretty_name"),
            version_codename=_opt_str(os_obj, "version_codename"),
            id_like=_strs(os_obj, "id_like"),
        )
    facts = _obj(doc.get("facts") or {}, "'facts'")
    return ImageSbom(
        reference=_str(doc, "reference"),
        digest=_str(doc, "digest"),
        index_digest=_opt_str(doc, "index_digest"),
        platform=_str(doc, "platform"),
        config_digest=_str(doc, "config_digest"),
        analyser_version=_str(doc, "analyser_version"),
        os=os_release,
        packages=tuple(_package_from_native(p) for p in _objs(doc, "packages")),
        layers=tuple(_layer_from_native(layer) for layer in _objs(doc, "layers")),
        facts=ImageFacts(
            user=_opt_str(facts, "user"),
            exposed_ports=_strs(facts, "exposed_ports"),
            env_names=_strs(facts, "env_names"),
            labels=_str_map(facts, "labels"),
            runtimes=_str_map(facts, "runtimes"),
            entrypoint=_opt_strs(facts, "entrypoint"),
            cmd=_opt_strs(facts, "cmd"),
            created=_opt_str(facts, "created"),
        ),
        setuid=_strs(doc, "setuid"),
        setgid=_strs(doc, "setgid"),
        world_writable=_strs(doc, "world_writable"),
        errors=_strs(doc, "errors"),
        incomplete=_strs(doc, "incomplete") if "incomplete" in doc else (),
    )
