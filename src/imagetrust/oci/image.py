"""From a reference to the images a review looks at: platforms picked, attestations recorded.

An official image tag is an index: one manifest per platform, plus (since BuildKit) one
attestation manifest per platform marked ``unknown/unknown`` and pointing at its image with
``vnd.docker.reference.digest``. Those are never a platform to scan; they are evidence
(SBOM, provenance) attached to the image they reference.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from imagetrust.oci import media
from imagetrust.oci.errors import OciError, PlatformNotFoundError
from imagetrust.oci.models import (
    MAX_CONFIG_BYTES,
    Descriptor,
    ImageConfig,
    ImageIndex,
    ImageManifest,
    Platform,
    parse_manifest,
)
from imagetrust.oci.sources import ImageSource

DEFAULT_PLATFORM = Platform("linux", "amd64")


class PlatformSelection(Struct, frozen=True):
    """``linux/amd64``, ``linux/amd64,linux/arm64/v8`` or ``all``."""

    platforms: tuple[Platform, ...] = (DEFAULT_PLATFORM,)
    all: bool = False
    explicit: bool = False

    @classmethod
    def parse(cls, text: str | None) -> PlatformSelection:
        if text is None or not text.strip():
            return cls()
        if text.strip().lower() == "all":
            return cls((), all=True, explicit=True)
        try:
            platforms = tuple(Platform.parse(p) for p in text.split(",") if p.strip())
        except ValueError as exc:
            raise PlatformNotFoundError(str(exc)) from None
        if not platforms:
            raise PlatformNotFoundError(f"invalid platform list {text!r}")
        return cls(platforms, explicit=True)

    def __str__(self) -> str:
        return "all" if self.all else ",".join(str(p) for p in self.platforms)


class Attestation(Struct, frozen=True):
    digest: str
    size: int
    media_type: str
    refers_to: str | None
    predicate_types: tuple[str, ...] = ()
    layers: tuple[Descriptor, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "size": self.size,
            "media_type": self.media_type,
            "refers_to": self.refers_to,
            "predicate_types": list(self.predicate_types),
        }


class PlatformImage(Struct, frozen=True):
    platform: Platform
    descriptor: Descriptor
    manifest: ImageManifest
    config: ImageConfig
    attestations: tuple[Attestation, ...] = ()

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers

    def as_dict(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "platform": str(self.platform),
            "digest": self.descriptor.digest,
            "media_type": self.descriptor.media_type,
            "size": self.descriptor.size,
            "config": {
                "digest": self.manifest.config.digest,
                "os": cfg.os,
                "architecture": cfg.architecture,
                "variant": cfg.variant,
                "created": cfg.created,
                "user": cfg.user,
                "env": list(cfg.env_names),
                "labels": dict(cfg.labels),
                "exposed_ports": list(cfg.exposed_ports),
                "entrypoint": list(cfg.entrypoint) if cfg.entrypoint is not None else None,
                "cmd": list(cfg.cmd) if cfg.cmd is not None else None,
                "working_dir": cfg.working_dir,
                "history_entries": len(cfg.history),
            },
            "layers": [
                {
                    "digest": layer.digest,
                    "size": layer.size,
                    "media_type": layer.media_type,
                    "compression": media.layer_compression(layer.media_type),
                }
                for layer in self.layers
            ],
            "attestations": [a.as_dict() for a in self.attestations],
        }


class ResolvedImage(Struct, frozen=True):
    reference: str
    descriptor: Descriptor
    index: ImageIndex | None
    available: tuple[Platform, ...]
    images: tuple[PlatformImage, ...]
    attestations: tuple[Attestation, ...]
    selection: PlatformSelection
    synthesized: bool = False
    served_by: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "media_type": self.descriptor.media_type,
            "size": self.descriptor.size,
            "is_index": self.index is not None,
            "synthesized_manifest": self.synthesized,
            "platforms_available": [str(p) for p in self.available],
            "platform_selection": str(self.selection),
            "images": [image.as_dict() for image in self.images],
            "attestations": [a.as_dict() for a in self.attestations],
            "events": list(self.events),
        }


def _pick(entries: list[Descriptor], selection: PlatformSelection, where: str) -> list[Descriptor]:
    if selection.all:
        return entries
    picked: list[Descriptor] = []
    for wanted in selection.platforms:
        matches = [e for e in entries if e.platform is not None and e.platform.matches(wanted)]
        # An exact variant beats one filled in from the arm defaults.
        exact = [
            m for m in matches if m.platform is not None and m.platform.variant == wanted.variant
        ]
        chosen = (exact or matches)[:1]
        if not chosen:
            available = ", ".join(str(e.platform) for e in entries if e.platform) or "none"
            raise PlatformNotFoundError(
                f"{where}: no image for platform {wanted} (available: {available})",
                hint="use --platform with one of those, a comma-separated list, or all",
            )
        if chosen[0] not in picked:
            picked.append(chosen[0])
    return picked


def _image_manifest(
    source: ImageSource, data: bytes, descriptor: Descriptor, where: str
) -> ImageManifest:
    doc = parse_manifest(data, descriptor.media_type, where=where, limits=source.manifest_limits)
    if not isinstance(doc, ImageManifest):
        raise OciError(
            f"{where}: expected an image manifest, found an index (nested indexes are unsupported)"
        )
    return doc


def _attestation(source: ImageSource, entry: Descriptor, details: bool) -> Attestation:
    if not details:
        return Attestation(entry.digest, entry.size, entry.media_type, entry.attests)
    where = f"{source.description} attestation {entry.digest}"
    manifest = _image_manifest(source, source.fetch_manifest(entry), entry, where)
    predicates = tuple(
        layer.annotations.get(media.ANNOTATION_PREDICATE_TYPE, "")
        for layer in manifest.layers
        if layer.annotations.get(media.ANNOTATION_PREDICATE_TYPE)
    )
    return Attestation(
        entry.digest, entry.size, entry.media_type, entry.attests, predicates, manifest.layers
    )


def _platform_image(
    source: ImageSource,
    descriptor: Descriptor,
    manifest: ImageManifest,
    attestations: list[Attestation],
) -> PlatformImage:
    if manifest.config.size > MAX_CONFIG_BYTES:
        raise OciError(
            f"{source.description}: image config of {manifest.config.size} bytes is too large"
        )
    config = ImageConfig.parse(
        source.read_blob(manifest.config),
        where=f"{source.description} config {manifest.config.digest}",
    )
    platform = descriptor.platform or config.platform
    mine = tuple(a for a in attestations if a.refers_to == descriptor.digest)
    full = Descriptor(
        descriptor.media_type or manifest.media_type,
        descriptor.digest,
        descriptor.size,
        platform=platform,
    )
    return PlatformImage(platform, full, manifest, config, mine)


def load_image(
    source: ImageSource,
    selection: PlatformSelection | None = None,
    *,
    attestation_details: bool = True,
) -> ResolvedImage:
    """Resolve, pick platforms, read configs; every byte verified on the way in.

    ``attestation_details`` fetches the attestation manifests of the picked images to list
    their predicate types; each is one more manifest pull, so bulk runs may turn it off.
    """
    chosen = selection or PlatformSelection()
    top = source.resolve()
    data = source.fetch_manifest(top)
    where = source.description
    doc = parse_manifest(data, top.media_type or None, where=where, limits=source.manifest_limits)
    descriptor = Descriptor(doc.media_type, top.digest, len(data))
    synthesized = bool(getattr(source, "synthesized", False))
    if isinstance(doc, ImageManifest):
        image = _platform_image(source, descriptor, doc, [])
        wanted = chosen.explicit and not chosen.all
        if wanted and not any(image.platform.matches(p) for p in chosen.platforms):
            raise PlatformNotFoundError(
                f"{where}: single-platform image for {image.platform}, not {chosen}",
            )
        return ResolvedImage(
            str(where),
            descriptor,
            None,
            (image.platform,),
            (image,),
            (),
            chosen,
            synthesized,
            dict(source.served_by),
            tuple(source.events),
        )
    attestation_entries = [
        e
        for e in doc.manifests
        if e.is_attestation or (e.platform is not None and e.platform.is_unknown)
    ]
    platform_entries = [e for e in doc.manifests if e not in attestation_entries]
    picked = _pick(platform_entries, chosen, where)
    picked_digests = {e.digest for e in picked}
    attestations = [
        _attestation(source, e, attestation_details and e.attests in picked_digests)
        for e in attestation_entries
    ]
    images = []
    for entry in picked:
        manifest = _image_manifest(
            source, source.fetch_manifest(entry), entry, f"{where} {entry.digest}"
        )
        images.append(_platform_image(source, entry, manifest, attestations))
    return ResolvedImage(
        str(where),
        descriptor,
        doc,
        tuple(e.platform for e in platform_entries if e.platform is not None),
        tuple(images),
        tuple(attestations),
        chosen,
        synthesized,
        dict(source.served_by),
        tuple(source.events),
    )


def read_top(source: ImageSource) -> tuple[Descriptor, ImageIndex | ImageManifest]:
    """The manifest the reference names (an index or an image manifest), verified."""
    top = source.resolve()
    data = source.fetch_manifest(top)
    doc = parse_manifest(
        data, top.media_type or None, where=source.description, limits=source.manifest_limits
    )
    return Descriptor(doc.media_type, top.digest, len(data)), doc


def platform_entries(index: ImageIndex) -> list[Descriptor]:
    """An index's image manifests, attestation manifests left out."""
    return [
        e
        for e in index.manifests
        if not e.is_attestation and not (e.platform is not None and e.platform.is_unknown)
    ]


def load_platform_image(source: ImageSource, descriptor: Descriptor) -> PlatformImage:
    """One platform's manifest (by digest) and config, without reading its index again."""
    where = f"{source.description} {descriptor.digest}"
    manifest = _image_manifest(source, source.fetch_manifest(descriptor), descriptor, where)
    return _platform_image(source, descriptor, manifest, [])


class AttestedStatement(Struct, frozen=True):
    """One in-toto statement an attestation manifest carries for an image: its bytes
    (verified against the layer digest), or why they were not read."""

    attestation: str  # the attestation manifest's digest
    layer: Descriptor
    predicate_type: str
    data: bytes | None = None
    problem: str | None = None


def attested_statements(
    source: ImageSource,
    image: PlatformImage,
    predicate_types: tuple[str, ...],
    *,
    max_bytes: int,
) -> list[AttestedStatement]:
    """The statements whose predicate type starts with one of ``predicate_types``, among
    the attestations of ``image`` (loaded with attestation details). A layer over
    ``max_bytes`` (its size as the attestation manifest declares it) is not read."""
    found: list[AttestedStatement] = []
    for attestation in image.attestations:
        for layer in attestation.layers:
            predicate = layer.annotations.get(media.ANNOTATION_PREDICATE_TYPE, "")
            if not predicate.startswith(predicate_types):
                continue
            if layer.size > max_bytes:
                problem = f"{layer.size} bytes, over the {max_bytes} a statement may be"
                found.append(AttestedStatement(attestation.digest, layer, predicate, None, problem))
                continue
            data = source.read_blob(layer)
            found.append(AttestedStatement(attestation.digest, layer, predicate, data))
    return found
