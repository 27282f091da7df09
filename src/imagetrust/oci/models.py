"""Manifests, indexes, descriptors, platforms and image configs, Docker's and OCI's alike.

Docker schema 2 and OCI share one shape, so one set of types reads both; the media type
is kept so nothing is lost. Parsing is strict about what we rely on (digests, sizes,
media types) and lenient about the rest, as registries in the wild are.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import Struct, field

from imagetrust.oci import media
from imagetrust.oci.digest import is_digest
from imagetrust.oci.errors import OciError

# What an image built for an arm64 or arm machine means when it names no variant.
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}
_ARCH_ALIASES = {"aarch64": "arm64", "x86_64": "amd64", "x86-64": "amd64", "armhf": "arm"}


class Platform(Struct, frozen=True):
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64``, ``linux/arm64/v8``, ``unknown/unknown``."""
        parts = [p.strip() for p in text.strip().split("/")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT]")
        os_name, arch = parts[0].lower(), parts[1].lower()
        arch = _ARCH_ALIASES.get(arch, arch)
        return cls(os_name, arch, parts[2].lower() if len(parts) == 3 else None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(
            str(data.get("os", "")),
            str(data.get("architecture", "")),
            data.get("variant") or None,
            data.get("os.version") or None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        return out

    @property
    def is_unknown(self) -> bool:
        return self.os == "unknown" or self.architecture == "unknown"

    def normalized(self) -> Platform:
        variant = self.variant or _DEFAULT_VARIANTS.get(self.architecture)
        return Platform(self.os, self.architecture, variant, None)

    def matches(self, wanted: Platform) -> bool:
        """Same OS and architecture; variants compare with arm's defaults filled in."""
        mine, theirs = self.normalized(), wanted.normalized()
        if (mine.os, mine.architecture) != (theirs.os, theirs.architecture):
            return False
        return wanted.variant is None or mine.variant == theirs.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


class Descriptor(Struct, frozen=True):
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> Descriptor:
        if not isinstance(data, dict):
            raise OciError(f"{where}: descriptor is not an object")
        digest, size = data.get("digest"), data.get("size")
        if not isinstance(digest, str) or not is_digest(digest):
            raise OciError(f"{where}: descriptor has an invalid digest {digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OciError(f"{where}: descriptor {digest} has an invalid size {size!r}")
        platform = data.get("platform")
        return cls(
            media_type=str(data.get("mediaType") or ""),
            digest=digest,
            size=size,
            annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()},
            platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
            urls=tuple(str(u) for u in data.get("urls") or ()),
            artifact_type=data.get("artifactType"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @property
    def is_attestation(self) -> bool:
        return self.annotations.get(media.ANNOTATION_REFERENCE_TYPE) == media.ATTESTATION_MANIFEST

    @property
    def attests(self) -> str | None:
        """The image manifest digest an attestation manifest speaks about."""
        return self.annotations.get(media.ANNOTATION_REFERENCE_DIGEST)


class ImageManifest(Struct, frozen=True):
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str | None = None


class ImageIndex(Struct, frozen=True):
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)


def _load_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OciError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise OciError(f"{where}: not a JSON object")
    return doc


MAX_CONFIG_BYTES = 8 * 1024 * 1024  # an image config; real ones are a few KB


class ManifestLimits(Struct, frozen=True):
    """How many entries one document may list: 1.66 million layers in a manifest once took
    minutes and printed 413 MB; no real image comes near these."""

    max_layers: int = 1000
    max_index_entries: int = 1000


def parse_manifest(
    data: bytes,
    media_type: str | None = None,
    *,
    where: str = "manifest",
    limits: ManifestLimits | None = None,
) -> ImageManifest | ImageIndex:
    """An image manifest or an index from its bytes; the document's own mediaType wins.

    Registry content is untrusted: a field of the wrong JSON type anywhere is an
    ``OciError`` naming the document, never a ``TypeError`` from deep inside.
    """
    doc = _load_json(data, where)
    try:
        return _manifest_from(doc, media_type, where, limits or ManifestLimits())
    except (TypeError, AttributeError, ValueError) as exc:
        raise OciError(f"{where}: malformed manifest ({exc})") from None


def _manifest_from(
    doc: dict[str, Any], media_type: str | None, where: str, limits: ManifestLimits
) -> ImageManifest | ImageIndex:
    kind = doc.get("mediaType") or media_type or ""
    if not kind:
        # OCI allows the field to be absent; the shape tells which one it is.
        kind = media.OCI_INDEX if "manifests" in doc else media.OCI_MANIFEST
    if kind in media.LEGACY_TYPES or doc.get("schemaVersion") == 1:
        raise OciError(
            f"{where}: Docker schema 1 manifest; deprecated and unsupported",
            hint="the registry down-converted or the image predates 2017; pull it by digest",
        )
    annotations = {str(k): str(v) for k, v in (doc.get("annotations") or {}).items()}
    if media.is_index(kind):
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise OciError(f"{where}: index without a manifests list")
        if len(entries) > limits.max_index_entries:
            raise OciError(
                f"{where}: index lists {len(entries)} manifests, over the limit of "
                f"{limits.max_index_entries}",
                hint="raise [oci] max_index_entries if this index is genuine",
            )
        return ImageIndex(
            kind,
            tuple(
                Descriptor.from_json(e, where=f"{where} manifests[{i}]")
                for i, e in enumerate(entries)
            ),
            annotations,
        )
    if media.is_manifest(kind):
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise OciError(f"{where}: manifest without a layers list")
        if len(layers) > limits.max_layers:
            raise OciError(
                f"{where}: manifest lists {len(layers)} layers, over the limit of "
                f"{limits.max_layers}",
                hint="raise [oci] max_layers if this image is genuine",
            )
        subject = doc.get("subject")
        return ImageManifest(
            kind,
            Descriptor.from_json(doc.get("config"), where=f"{where} config"),
            tuple(
                Descriptor.from_json(layer, where=f"{where} layers[{i}]")
                for i, layer in enumerate(layers)
            ),
            annotations,
            Descriptor.from_json(subject, where=f"{where} subject") if subject else None,
            doc.get("artifactType"),
        )
    raise OciError(f"{where}: unsupported manifest media type {kind!r}")


class HistoryEntry(Struct, frozen=True):
    created: str | None
    created_by: str | None
    empty_layer: bool
    comment: str | None = None


class ImageConfig(Struct, frozen=True):
    """The parts of an image config a trust review reads; env values are kept for callers
    but shown by name only, since images do bake secrets into ``ENV``."""

    os: str
    architecture: str
    variant: str | None
    os_version: str | None
    created: str | None
    author: str | None
    user: str | None
    env: tuple[str, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    working_dir: str | None
    labels: dict[str, str]
    exposed_ports: tuple[str, ...]
    volumes: tuple[str, ...]
    stop_signal: str | None
    healthcheck: dict[str, Any] | None
    diff_ids: tuple[str, ...]
    history: tuple[HistoryEntry, ...]

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version)

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(item.split("=", 1)[0] for item in self.env)

    @classmethod
    def parse(cls, data: bytes, *, where: str = "image config") -> ImageConfig:
        doc = _load_json(data, where)
        try:
            return cls._from(doc)
        except (TypeError, AttributeError, ValueError) as exc:
            raise OciError(f"{where}: malformed image config ({exc})") from None

    @classmethod
    def _from(cls, doc: dict[str, Any]) -> ImageConfig:
        run = doc.get("config") or {}
        if not isinstance(run, dict):
            run = {}
        rootfs = doc.get("rootfs") or {}

        def strings(value: Any) -> tuple[str, ...] | None:
            if value is None:
                return None
            if isinstance(value, str):
                return (value,)
            return tuple(str(v) for v in value)

        return cls(
            os=str(doc.get("os", "")),
            architecture=str(doc.get("architecture", "")),
            variant=doc.get("variant") or None,
            os_version=doc.get("os.version") or None,
            created=doc.get("created"),
            author=doc.get("author"),
            user=run.get("User") or None,
            env=strings(run.get("Env")) or (),
            entrypoint=strings(run.get("Entrypoint")),
            cmd=strings(run.get("Cmd")),
            working_dir=run.get("WorkingDir") or None,
            labels={str(k): str(v) for k, v in (run.get("Labels") or {}).items()},
            exposed_ports=tuple(sorted(run.get("ExposedPorts") or {})),
            volumes=tuple(sorted(run.get("Volumes") or {})),
            stop_signal=run.get("StopSignal") or None,
            healthcheck=run.get("Healthcheck") or None,
            diff_ids=tuple(str(d) for d in rootfs.get("diff_ids") or ()),
            history=tuple(
                HistoryEntry(
                    h.get("created"),
                    h.get("created_by"),
                    bool(h.get("empty_layer", False)),
                    h.get("comment"),
                )
                for h in doc.get("history") or ()
                if isinstance(h, dict)
            ),
        )
