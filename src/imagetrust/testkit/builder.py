"""Write real OCI images from root filesystems: the demo's images and every test's.

The demo must run offline, and the tests must exercise the client on images shaped exactly
like the ones Docker Hub serves; so this builds them for real instead of shipping opaque
tarballs: deterministic layer tars (sorted entries, fixed mtimes and owners, so the same
rootfs always gives the same digests), gzip or zstd compression, whiteouts, an image config
with ``diff_ids`` and history, a manifest, and an index for several platforms with
BuildKit-style attestation manifests (``unknown/unknown``, in-toto SBOM and provenance
layers, pointing at the image they describe). Outputs: an OCI layout directory, a
``docker save`` archive (legacy or Docker 25+ layout), or a registry (see ``oci.push``).

``build_image`` holds the image in memory (test and demo images, kilobytes to a few
megabytes); ``write_image_layout`` streams each layer from its files through the
compressor straight into an OCI layout's blob, so benchmark images of any size can be
built in fixed memory. A layer from ``Layer.from_dir`` or ``add_path`` names its files on
disk and reads them only while its tar is written; both paths give the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal, cast

from msgspec import Struct, field

from imagetrust.fsutil import atomic_write_bytes
from imagetrust.oci import media
from imagetrust.oci.digest import digest_of
from imagetrust.oci.errors import OciError
from imagetrust.oci.models import Descriptor, Platform

Compression = Literal["gzip", "zstd", "none"]
MediaTypes = Literal["oci", "docker"]

FIXED_MTIME = 1_700_000_000  # 2023-11-14: any constant will do, it only has to be constant
DEFAULT_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


def _canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False).encode()


def _clean_path(path: str) -> str:
    parts = [p for p in PurePosixPath("/" + path).parts[1:] if p not in ("", ".")]
    if not parts or ".." in parts:
        raise OciError(f"invalid path in layer: {path!r}")
    return "/".join(parts)


class _Entry(Struct, frozen=True):
    kind: Literal["file", "dir", "symlink"]
    data: bytes = b""
    mode: int = 0o644
    target: str = ""
    source: str | None = None  # a file on disk holding the data, read when the tar is written


class Layer(Struct):
    """The content of one filesystem layer: files, directories, symlinks and whiteouts."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes | str]) -> Layer:
        layer = cls()
        for path, data in files.items():
            layer.add_file(path, data)
        return layer

    @classmethod
    def from_dir(cls, root: Path) -> Layer:
        """Every file, directory and symlink under ``root``, with its permission bits.

        Files are named, not read: their bytes stream into the tar when it is written, so
        a rootfs of any size costs a path per file here. Devices, fifos and sockets are left
        out (``debootstrap`` makes ``/dev/null``; layers Docker builds never carry them).
        """
        if not root.is_dir():
            raise OciError(f"rootfs folder not found: {root}")
        layer = cls()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            base = Path(dirpath)
            for name in sorted(dirnames + filenames):
                full = base / name
                rel = full.relative_to(root).as_posix()
                info = full.lstat()
                if stat.S_ISLNK(info.st_mode):
                    layer.add_symlink(rel, os.readlink(full))
                elif stat.S_ISDIR(info.st_mode):
                    layer.add_dir(rel, stat.S_IMODE(info.st_mode))
                elif stat.S_ISREG(info.st_mode):
                    layer.add_path(rel, full, stat.S_IMODE(info.st_mode))
        return layer

    def add_file(self, path: str, data: bytes | str, mode: int = 0o644) -> Layer:
        raw = data.encode() if isinstance(data, str) else data
        self.entries[_clean_path(path)] = _Entry("file", raw, mode)
        return self

    def add_path(self, path: str, source: Path, mode: int = 0o644) -> Layer:
        """A file whose bytes are read from ``source`` when the tar is written."""
        self.entries[_clean_path(path)] = _Entry("file", mode=mode, source=str(source))
        return self

    def add_dir(self, path: str, mode: int = 0o755) -> Layer:
        self.entries[_clean_path(path)] = _Entry("dir", mode=mode)
        return self

    def add_symlink(self, path: str, target: str) -> Layer:
        self.entries[_clean_path(path)] = _Entry("symlink", mode=0o777, target=target)
        return self

    def whiteout(self, path: str) -> Layer:
        """Delete ``path`` from the layers below (an empty ``.wh.NAME`` file)."""
        clean = PurePosixPath(_clean_path(path))
        return self.add_file(str(clean.parent / f"{WHITEOUT_PREFIX}{clean.name}"), b"", 0o644)

    def opaque(self, directory: str) -> Layer:
        """Hide everything the layers below have in ``directory``."""
        return self.add_file(f"{_clean_path(directory)}/{OPAQUE_WHITEOUT}", b"", 0o644)

    def tar_bytes(self, mtime: int = FIXED_MTIME) -> bytes:
        """A deterministic tar: sorted names, parents first, root-owned, fixed mtime."""
        buffer = io.BytesIO()
        self.write_tar(buffer, mtime)
        return buffer.getvalue()

    def write_tar(self, out: IO[bytes], mtime: int = FIXED_MTIME) -> None:
        """``tar_bytes``, written to ``out`` as it goes: one file's bytes at a time."""
        entries = dict(self.entries)
        for path in list(entries):
            parent = PurePosixPath(path).parent
            while str(parent) not in (".", ""):
                entries.setdefault(str(parent), _Entry("dir", mode=0o755))
                parent = parent.parent
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(entries):
                entry = entries[path]
                info = tarfile.TarInfo(path)
                info.mtime = mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = entry.mode
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif entry.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = entry.target
                    tar.addfile(info)
                elif entry.source is not None:
                    with open(entry.source, "rb") as handle:
                        info.size = os.fstat(handle.fileno()).st_size
                        tar.addfile(info, handle)
                else:
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))


def compress(data: bytes, compression: Compression) -> bytes:
    """Deterministic compression: no name or time in the gzip header, fixed zstd level."""
    if compression == "none":
        return data
    if compression == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
            gz.write(data)
        return out.getvalue()
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:  # pragma: no cover - depends on the install
            raise OciError(
                "zstd layers need the `zstandard` package", hint="pip install zstandard"
            ) from None
        return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(data)
    raise OciError(f"unknown compression {compression!r}")


_LAYER_TYPES: dict[tuple[MediaTypes, Compression], str] = {
    ("oci", "gzip"): media.OCI_LAYER_GZIP,
    ("oci", "zstd"): media.OCI_LAYER_ZSTD,
    ("oci", "none"): media.OCI_LAYER,
    ("docker", "gzip"): media.DOCKER_LAYER_GZIP,
    ("docker", "none"): media.DOCKER_LAYER,
}


class Blob(Struct, frozen=True):
    descriptor: Descriptor
    data: bytes

    @classmethod
    def of(cls, media_type: str, data: bytes, **kwargs: Any) -> Blob:
        return cls(Descriptor(media_type, digest_of(data), len(data), **kwargs), data)

    @property
    def digest(self) -> str:
        return self.descriptor.digest


class ImageSpec(Struct, frozen=True):
    """What goes into one single-platform image; every field has a reproducible default."""

    layers: Sequence[Layer]
    platform: Platform = AMD64
    compression: Compression | Sequence[Compression] = "gzip"
    media_types: MediaTypes = "oci"
    env: Sequence[str] = DEFAULT_ENV
    user: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    entrypoint: Sequence[str] | None = None
    cmd: Sequence[str] | None = ("/bin/sh",)
    working_dir: str | None = None
    exposed_ports: Sequence[str] = ()
    created: str = DEFAULT_CREATED
    created_by: Sequence[str] | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    healthcheck: Mapping[str, Any] | None = None  # the config's Healthcheck, as Docker writes it


class BuiltImage(Struct, frozen=True):
    """A single-platform image: manifest, config and layers, plus the uncompressed tars."""

    manifest: Blob
    config: Blob
    layers: tuple[Blob, ...]
    layer_tars: tuple[bytes, ...]
    platform: Platform

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(
            self.manifest.descriptor.media_type,
            self.manifest.digest,
            self.manifest.descriptor.size,
            platform=self.platform,
        )

    @property
    def diff_ids(self) -> tuple[str, ...]:
        return tuple(digest_of(tar) for tar in self.layer_tars)

    def blobs(self) -> Iterator[Blob]:
        """Config and layers, then the manifest: the order a registry push needs."""
        yield self.config
        yield from self.layers
        yield self.manifest


class BuiltIndex(Struct, frozen=True):
    """A multi-platform image: the index, its images and their attestation manifests."""

    index: Blob
    images: tuple[BuiltImage, ...]
    attestations: tuple[BuiltImage, ...]

    @property
    def descriptor(self) -> Descriptor:
        return self.index.descriptor

    def blobs(self) -> Iterator[Blob]:
        for image in (*self.images, *self.attestations):
            yield from image.blobs()
        yield self.index


Built = BuiltImage | BuiltIndex


def _compressions(spec: ImageSpec) -> list[Compression]:
    if isinstance(spec.compression, str):
        return [spec.compression] * len(spec.layers)
    chosen = list(spec.compression)
    if len(chosen) != len(spec.layers):
        raise OciError("one compression per layer, or one for all")
    return chosen


def _layer_type(spec: ImageSpec, compression: Compression) -> str:
    media_type = _LAYER_TYPES.get((spec.media_types, compression))
    if media_type is None:
        raise OciError(f"{spec.media_types} manifests have no {compression} layer type")
    return media_type


def build_image(spec: ImageSpec) -> BuiltImage:
    """Layers, config and manifest for one platform."""
    tars: list[bytes] = []
    layers: list[Blob] = []
    for layer, compression in zip(spec.layers, _compressions(spec), strict=True):
        media_type = _layer_type(spec, compression)
        tar = layer.tar_bytes()
        tars.append(tar)
        layers.append(Blob.of(media_type, compress(tar, compression)))
    config, manifest = _image_documents(
        spec, [blob.descriptor for blob in layers], [digest_of(t) for t in tars]
    )
    return BuiltImage(manifest, config, tuple(layers), tuple(tars), spec.platform)


def _image_documents(
    spec: ImageSpec, layers: Sequence[Descriptor], diff_ids: Sequence[str]
) -> tuple[Blob, Blob]:
    """The config and the manifest over layers already made (in memory or on disk)."""
    created_by = list(
        spec.created_by or [f"imagetrust-builder layer {i + 1}" for i in range(len(layers))]
    )
    if len(created_by) != len(layers):
        raise OciError("one created_by per layer")
    run_config: dict[str, Any] = {"Env": list(spec.env)}
    if spec.user:
        run_config["User"] = spec.user
    if spec.entrypoint is not None:
        run_config["Entrypoint"] = list(spec.entrypoint)
    if spec.cmd is not None:
        run_config["Cmd"] = list(spec.cmd)
    if spec.working_dir:
        run_config["WorkingDir"] = spec.working_dir
    if spec.exposed_ports:
        run_config["ExposedPorts"] = {port: {} for port in spec.exposed_ports}
    if spec.labels:
        run_config["Labels"] = dict(spec.labels)
    if spec.healthcheck is not None:
        run_config["Healthcheck"] = dict(spec.healthcheck)
    config_doc: dict[str, Any] = {
        "architecture": spec.platform.architecture,
        "os": spec.platform.os,
    }
    if spec.platform.variant:
        config_doc["variant"] = spec.platform.variant
    config_doc.update(
        {
            "created": spec.created,
            "config": run_config,
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
            "history": [
                {"created": spec.created, "created_by": line, "comment": "imagetrust-builder"}
                for line in created_by
            ],
        }
    )
    is_docker = spec.media_types == "docker"
    config = Blob.of(
        media.DOCKER_CONFIG if is_docker else media.OCI_CONFIG, _canonical_json(config_doc)
    )
    manifest_type = media.DOCKER_MANIFEST if is_docker else media.OCI_MANIFEST
    manifest_doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": config.descriptor.to_json(),
        "layers": [descriptor.to_json() for descriptor in layers],
    }
    if spec.annotations:
        manifest_doc["annotations"] = dict(spec.annotations)
    return config, Blob.of(manifest_type, _canonical_json(manifest_doc))


# --------------------------------------------------------------------------- streamed


class _HashingWriter:
    """A write-only file that hashes and counts what passes on to ``out``."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self._out.write(data)
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    @property
    def digest(self) -> str:
        return f"sha256:{self.hash.hexdigest()}"


class LayerFile(Struct, frozen=True):
    """A layer blob written to disk: its descriptor, its ``diff_id`` and its tar's size."""

    descriptor: Descriptor
    diff_id: str
    tar_size: int
    path: Path


def write_layer_blob(
    layer: Layer, blobs_dir: Path, media_type: str, compression: Compression
) -> LayerFile:
    """Stream ``layer``'s tar through the compressor into ``blobs_dir/<hex digest>``.

    The bytes are hashed on both sides of the compressor as they pass: the tar's hash is
    the ``diff_id``, the blob's the digest. gzip is written exactly as ``compress`` writes
    it, so a layer gets the same digest either way; a streamed zstd frame does not record
    the content size, so its digest differs from ``compress``'s (both are reproducible).
    """
    blobs_dir.mkdir(parents=True, exist_ok=True)
    partial = blobs_dir / f".partial-{os.getpid()}-{id(layer)}"
    try:
        with partial.open("wb") as handle:
            blob = _HashingWriter(handle)
            if compression == "gzip":
                with gzip.GzipFile(
                    filename="", mode="wb", fileobj=cast(IO[bytes], blob), mtime=0, compresslevel=6
                ) as gz:
                    tar = _HashingWriter(cast(IO[bytes], gz))
                    layer.write_tar(cast(IO[bytes], tar))
            elif compression == "zstd":
                import zstandard

                compressor = zstandard.ZstdCompressor(level=3)
                with compressor.stream_writer(cast(IO[bytes], blob), closefd=False) as writer:
                    tar = _HashingWriter(cast(IO[bytes], writer))
                    layer.write_tar(cast(IO[bytes], tar))
            elif compression == "none":
                tar = blob
                layer.write_tar(cast(IO[bytes], blob))
            else:
                raise OciError(f"unknown compression {compression!r}")
        final = blobs_dir / blob.digest.split(":", 1)[1]
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    return LayerFile(Descriptor(media_type, blob.digest, blob.size), tar.digest, tar.size, final)


class StreamedImage(Struct, frozen=True):
    """A single-platform image written into an OCI layout by ``write_image_layout``."""

    manifest: Blob
    config: Blob
    layers: tuple[LayerFile, ...]
    platform: Platform

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(
            self.manifest.descriptor.media_type,
            self.manifest.digest,
            self.manifest.descriptor.size,
            platform=self.platform,
        )


def write_image_layout(
    spec: ImageSpec, directory: Path, *, tag: str | None = "latest"
) -> StreamedImage:
    """``build_image`` + ``write_oci_layout`` in fixed memory: each layer is streamed from
    its files through the compressor into the layout's blob directory, one at a time."""
    blobs_dir = directory / "blobs" / "sha256"
    files = [
        write_layer_blob(layer, blobs_dir, _layer_type(spec, compression), compression)
        for layer, compression in zip(spec.layers, _compressions(spec), strict=True)
    ]
    return assemble_image_layout(spec, files, directory, tag=tag)


def assemble_image_layout(
    spec: ImageSpec, files: Sequence[LayerFile], directory: Path, *, tag: str | None = "latest"
) -> StreamedImage:
    """Config, manifest and index entry of an image over layer blobs already in
    ``directory`` (``write_layer_blob``): a base layer written once serves many images, as
    the official images share theirs. ``spec.layers`` is not read; ``files`` are the layers."""
    blobs_dir = directory / "blobs" / "sha256"
    config, manifest = _image_documents(
        spec, [f.descriptor for f in files], [f.diff_id for f in files]
    )
    image = StreamedImage(manifest, config, tuple(files), spec.platform)
    directory.mkdir(parents=True, exist_ok=True)
    for blob in (config, manifest):
        path = blobs_dir / blob.digest.split(":", 1)[1]
        if not path.exists():
            atomic_write_bytes(path, blob.data)
    _add_to_index(directory, image.descriptor, tag, platform=spec.platform)
    return image


def _statement(subject: str, image: BuiltImage, predicate_type: str, predicate: Any) -> bytes:
    doc = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [
            {
                "name": subject,
                "digest": {"sha256": image.manifest.digest.split(":", 1)[1]},
            }
        ],
        "predicate": predicate,
    }
    return json.dumps(doc, sort_keys=True).encode()


SPDX_PREDICATE = "https://spdx.dev/Document"
SLSA_PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v0.2"


def build_attestation(
    image: BuiltImage, subject: str, created: str = DEFAULT_CREATED
) -> BuiltImage:
    """A BuildKit-style attestation manifest: an SPDX SBOM and a SLSA provenance statement."""
    sbom = _statement(
        subject,
        image,
        SPDX_PREDICATE,
        {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": subject,
            "documentNamespace": f"https://imagetrust.invalid/spdx/{image.manifest.digest}",
            "creationInfo": {"created": created, "creators": ["Tool: imagetrust-builder"]},
            "packages": [],
        },
    )
    provenance = _statement(
        subject,
        image,
        SLSA_PROVENANCE_PREDICATE,
        {
            "builder": {"id": "https://imagetrust.invalid/builder"},
            "buildType": "https://mobyproject.org/buildkit@v1",
            "metadata": {"buildFinishedOn": created, "reproducible": True},
        },
    )
    return build_attestation_of([(SPDX_PREDICATE, sbom), (SLSA_PROVENANCE_PREDICATE, provenance)])


def build_attestation_of(statements: Sequence[tuple[str, bytes]]) -> BuiltImage:
    """A BuildKit-style attestation manifest holding exactly these in-toto statements
    (predicate type, statement bytes), each a layer annotated with its predicate type."""
    layers = tuple(
        Blob.of(media.IN_TOTO, data, annotations={media.ANNOTATION_PREDICATE_TYPE: predicate})
        for predicate, data in statements
    )
    config = Blob.of(
        media.OCI_CONFIG,
        _canonical_json(
            {
                "architecture": "unknown",
                "os": "unknown",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [blob.digest for blob in layers]},
            }
        ),
    )
    manifest = Blob.of(
        media.OCI_MANIFEST,
        _canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": media.OCI_MANIFEST,
                "config": config.descriptor.to_json(),
                "layers": [blob.descriptor.to_json() for blob in layers],
            }
        ),
    )
    data = tuple(data for _, data in statements)
    return BuiltImage(manifest, config, layers, data, Platform("unknown", "unknown"))


def intoto_statement(subject: str, digest: str, predicate_type: str, predicate: Any) -> bytes:
    """An in-toto statement about the manifest ``digest`` (``sha256:...``), as BuildKit
    writes them into attestation manifests."""
    doc = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": subject, "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicate": predicate,
    }
    return json.dumps(doc, sort_keys=True).encode()


def build_index(
    images: Sequence[BuiltImage],
    *,
    subject: str = "pkg:docker/imagetrust/test@latest",
    attestations: bool = True,
    annotations: Mapping[str, str] | None = None,
    statements: Mapping[str, Sequence[tuple[str, bytes]]] | None = None,
) -> BuiltIndex:
    """An index over ``images``, each followed by its attestation manifest, as BuildKit does.

    ``statements`` replaces the default SBOM and provenance statements of an image (by its
    manifest digest) with these (predicate type, statement bytes).
    Images with Docker media types get a Docker manifest list (which cannot carry
    annotations, hence no attestations there either, as with the classic builder).
    """
    if not images:
        raise OciError("an index needs at least one image")
    docker = all(image.manifest.descriptor.media_type == media.DOCKER_MANIFEST for image in images)
    entries: list[Descriptor] = []
    attests: list[BuiltImage] = []
    for image in images:
        entries.append(image.descriptor)
        if attestations and not docker:
            platform = str(image.platform).replace("/", "%2F")
            own = (statements or {}).get(image.manifest.digest)
            attestation = (
                build_attestation_of(own)
                if own is not None
                else build_attestation(image, f"{subject}?platform={platform}")
            )
            attests.append(attestation)
            entries.append(
                Descriptor(
                    media.OCI_MANIFEST,
                    attestation.manifest.digest,
                    attestation.manifest.descriptor.size,
                    annotations={
                        media.ANNOTATION_REFERENCE_DIGEST: image.manifest.digest,
                        media.ANNOTATION_REFERENCE_TYPE: media.ATTESTATION_MANIFEST,
                    },
                    platform=Platform("unknown", "unknown"),
                )
            )
    kind = media.DOCKER_LIST if docker else media.OCI_INDEX
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": kind,
        "manifests": [entry.to_json() for entry in entries],
    }
    if annotations and not docker:
        doc["annotations"] = dict(annotations)
    return BuiltIndex(Blob.of(kind, _canonical_json(doc)), tuple(images), tuple(attests))


def build_multiplatform(
    layers: Sequence[Layer],
    platforms: Sequence[Platform] = (AMD64, ARM64),
    *,
    subject: str = "pkg:docker/imagetrust/test@latest",
    attestations: bool = True,
    **spec: Any,
) -> BuiltIndex:
    """The same layers built once per platform, under one index with attestations."""
    images = [build_image(ImageSpec(layers=layers, platform=p, **spec)) for p in platforms]
    return build_index(images, subject=subject, attestations=attestations)


# --------------------------------------------------------------------------- outputs


def write_blobs(built: Built, directory: Path) -> None:
    blobs_dir = directory / "blobs"
    for blob in built.blobs():
        algorithm, hexdigest = blob.digest.split(":", 1)
        path = blobs_dir / algorithm / hexdigest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, blob.data)


def write_oci_layout(built: Built, directory: Path, *, tag: str | None = "latest") -> Path:
    """Add ``built`` to the OCI layout in ``directory`` (created if new), named ``tag``.

    An existing entry with the same tag is replaced, as ``buildx --output type=oci`` and
    ``skopeo copy`` do, so one layout can hold several tagged images.
    """
    directory.mkdir(parents=True, exist_ok=True)
    write_blobs(built, directory)
    top = built.descriptor
    _add_to_index(
        directory, top, tag, platform=top.platform if isinstance(built, BuiltImage) else None
    )
    return directory


def _add_to_index(
    directory: Path, top: Descriptor, tag: str | None, *, platform: Platform | None
) -> None:
    """Name ``top`` in the layout's ``index.json``, replacing an entry with the same tag."""
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index_path = directory / "index.json"
    manifests: list[dict[str, Any]] = []
    if index_path.exists():
        manifests = list(json.loads(index_path.read_text()).get("manifests") or [])
    entry = Descriptor(
        top.media_type,
        top.digest,
        top.size,
        annotations={media.ANNOTATION_REF_NAME: tag} if tag else {},
        platform=platform,
    ).to_json()
    if tag:
        manifests = [
            m
            for m in manifests
            if (m.get("annotations") or {}).get(media.ANNOTATION_REF_NAME) != tag
        ]
    manifests.append(entry)
    doc = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": manifests}
    atomic_write_bytes(index_path, _canonical_json(doc))


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = FIXED_MTIME
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_docker_archive(
    image: BuiltImage,
    path: Path,
    *,
    repo_tags: Sequence[str] = (),
    layout: Literal["legacy", "oci"] = "legacy",
) -> Path:
    """A ``docker save`` tar: uncompressed layers and ``manifest.json``.

    ``legacy`` is the format Docker wrote until 24 (``<id>/layer.tar``, ``<config>.json``,
    ``repositories``); ``oci`` is Docker 25+'s, which is also an OCI layout.
    """
    config_hex = image.config.digest.split(":", 1)[1]
    members: list[tuple[str, bytes]] = []
    layer_paths: list[str] = []
    if layout == "legacy":
        config_name = f"{config_hex}.json"
        members.append((config_name, image.config.data))
        parent = ""
        layer_ids: list[str] = []
        for layer_tar, diff_id in zip(image.layer_tars, image.diff_ids, strict=True):
            # Docker's v1 layer IDs chain each layer to its parent; any stable chain will do.
            layer_id = digest_of(f"{parent}\n{diff_id}".encode()).split(":", 1)[1]
            layer_doc = {"id": layer_id, **({"parent": parent} if parent else {})}
            members += [
                (f"{layer_id}/VERSION", b"1.0"),
                (f"{layer_id}/json", json.dumps(layer_doc).encode()),
                (f"{layer_id}/layer.tar", layer_tar),
            ]
            layer_paths.append(f"{layer_id}/layer.tar")
            layer_ids.append(layer_id)
            parent = layer_id
        repositories: dict[str, dict[str, str]] = {}
        for repo_tag in repo_tags:
            name, _, tag = repo_tag.rpartition(":")
            repositories.setdefault(name, {})[tag] = layer_ids[-1] if layer_ids else ""
        if repositories:
            members.append(("repositories", json.dumps(repositories).encode()))
    else:
        config_name = f"blobs/sha256/{config_hex}"
        members.append((config_name, image.config.data))
        layer_blobs = [Blob.of(media.OCI_LAYER, tar) for tar in image.layer_tars]
        for blob in layer_blobs:
            name = f"blobs/sha256/{blob.digest.split(':', 1)[1]}"
            members.append((name, blob.data))
            layer_paths.append(name)
        manifest = Blob.of(
            media.OCI_MANIFEST,
            _canonical_json(
                {
                    "schemaVersion": 2,
                    "mediaType": media.OCI_MANIFEST,
                    "config": Descriptor(
                        media.OCI_CONFIG, image.config.digest, image.config.descriptor.size
                    ).to_json(),
                    "layers": [b.descriptor.to_json() for b in layer_blobs],
                }
            ),
        )
        members.append((f"blobs/sha256/{manifest.digest.split(':', 1)[1]}", manifest.data))
        index_entries = [
            Descriptor(
                media.OCI_MANIFEST,
                manifest.digest,
                manifest.descriptor.size,
                annotations={
                    "io.containerd.image.name": tag,
                    media.ANNOTATION_REF_NAME: tag.rpartition(":")[2],
                },
            ).to_json()
            for tag in repo_tags
        ] or [manifest.descriptor.to_json()]
        members.append(("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()))
        members.append(
            (
                "index.json",
                _canonical_json(
                    {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": index_entries}
                ),
            )
        )
    manifest_json = [{"Config": config_name, "RepoTags": list(repo_tags), "Layers": layer_paths}]
    members.append(("manifest.json", json.dumps(manifest_json).encode()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        seen: set[str] = set()
        for name, data in members:
            if name not in seen:
                seen.add(name)
                _tar_add(tar, name, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return path
