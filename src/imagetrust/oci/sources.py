"""Where images come from, behind one interface: registries, OCI layouts, docker archives.

Later stages (resolve, sbom) only see ``ImageSource``: resolve the top descriptor, fetch a
manifest by descriptor (verified), read blobs (verified). ``consume_blob`` is the safe way
to read a blob when mirrors are involved: the consumer's result is returned only if the
stream verified; if a mirror served bad bytes the result is discarded and the next source
is read, so nothing unverified is ever handed on as good.

``OciSession`` builds sources from references with one transport, one credential store and
one pull budget for the whole run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from msgspec import Struct

from imagetrust.config import OciSettings
from imagetrust.oci import media
from imagetrust.oci.digest import VerifyingReader, digest_of, verify_bytes
from imagetrust.oci.errors import NotFoundError, OciError
from imagetrust.oci.models import MAX_CONFIG_BYTES, Descriptor, ManifestLimits
from imagetrust.oci.reference import (
    DOCKER_HUB,
    ArchiveReference,
    ImageReference,
    LayoutReference,
    Reference,
    parse_reference,
)

if TYPE_CHECKING:
    import tarfile

    from imagetrust.config import Settings
    from imagetrust.http import RetryPolicy, WaitBudget
    from imagetrust.oci.auth import CredentialStore
    from imagetrust.oci.budget import PullBudget
    from imagetrust.oci.client import RegistryClient
    from imagetrust.oci.mirrors import Mirror
    from imagetrust.oci.transport import Transport

log = logging.getLogger(__name__)
T = TypeVar("T")
# Reads from layout and archive files, and the blob buffer: 256 KiB matches the layer
# walker's reads (64 KiB cost ~40 ms more per 92 MB layer in Python-level calls).
CHUNK_SIZE = 1 << 18


class BlobOpener(Struct, frozen=True):
    """One place a blob can be read from; a mirror's failures skip to the next place."""

    name: str
    open: Callable[[], VerifyingReader]
    is_mirror: bool = False


class ImageSource(ABC):
    """A place to read one image (or index) from, by descriptor, always verified."""

    # Whether several blobs may be read at once, from several threads (the layers of one
    # image analysed side by side): files opened anew and an HTTP pool, yes; one archive
    # read through one file handle, no.
    concurrent_blobs = False
    # Whether a forked process may read blobs through its copy of this source: files opened
    # anew, yes; an HTTP pool (sockets shared with the parent), no.
    blobs_in_fork = False

    def __init__(self, description: str, limits: OciSettings | None = None) -> None:
        self.description = description
        self.limits = limits or OciSettings()
        self.events: list[str] = []  # mirror skips and fallbacks, for the run's record
        self.served_by: dict[str, str] = {}  # digest -> which source delivered it

    @property
    def manifest_limits(self) -> ManifestLimits:
        return ManifestLimits(self.limits.max_layers, self.limits.max_index_entries)

    def _bounded_file(self, path: Path, what: str) -> bytes:
        """A manifest-sized file, refused by its size before a byte is read (a 200 MB
        manifest in a layout once cost 639 MB of memory)."""
        limit = self.limits.max_manifest_bytes
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > limit:
                    raise OciError(
                        f"{self.description}: {what} is {size} bytes, over the {limit}-byte "
                        "limit for manifests",
                        hint="raise [oci] max_manifest_bytes if it is genuine",
                    )
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise NotFoundError(f"{self.description}: {what} missing") from None
        except OSError as exc:
            raise OciError(f"{self.description}: {what} unreadable: {exc}") from None
        if len(data) > limit:  # grew while read
            raise OciError(f"{self.description}: {what} is over the {limit}-byte limit")
        return data

    @abstractmethod
    def resolve(self) -> Descriptor:
        """The top descriptor (an index or a manifest) the reference names."""

    @abstractmethod
    def fetch_manifest(self, descriptor: Descriptor) -> bytes:
        """A manifest's bytes, verified against ``descriptor.digest``."""

    @abstractmethod
    def blob_openers(self, descriptor: Descriptor) -> list[BlobOpener]:
        """Where the blob can be read, in order of preference."""

    def open_blob(self, descriptor: Descriptor) -> VerifyingReader:
        """A verifying stream from the first source that has the blob.

        The stream raises ``DigestMismatchError`` at its end if the content is wrong;
        prefer ``consume_blob``, which then falls back to the next source.
        """
        last: Exception | None = None
        for opener in self.blob_openers(descriptor):
            try:
                reader = opener.open()
            except OciError as exc:
                if not opener.is_mirror:
                    raise
                self._skip(opener.name, descriptor.digest, exc)
                last = exc
                continue
            self.served_by[descriptor.digest] = opener.name
            return reader
        raise NotFoundError(f"{self.description}: blob {descriptor.digest} not found") from last

    def consume_blob(self, descriptor: Descriptor, consume: Callable[[IO[bytes]], T]) -> T:
        """``consume(stream)``'s result, only once the whole stream has verified."""
        openers = self.blob_openers(descriptor)
        for position, opener in enumerate(openers):
            last = position == len(openers) - 1
            try:
                with contextlib.closing(opener.open()) as reader:
                    # Keep the buffer referenced: collecting it would close the reader
                    # before ``drain`` has checked the tail.
                    buffered = io.BufferedReader(reader, CHUNK_SIZE)
                    result = consume(buffered)
                    reader.drain()
                    buffered.detach()
            except OciError as exc:
                if not opener.is_mirror or last:
                    raise
                self._skip(opener.name, descriptor.digest, exc)
                continue
            self.served_by[descriptor.digest] = opener.name
            return result
        raise NotFoundError(f"{self.description}: blob {descriptor.digest} not found")

    def read_blob(self, descriptor: Descriptor) -> bytes:
        return self.consume_blob(descriptor, lambda stream: stream.read())

    def _skip(self, name: str, digest: str, exc: Exception) -> None:
        message = f"{name}: skipped {digest}: {exc}"
        log.warning("%s", message)
        self.events.append(message)

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release files; network clients belong to the session."""

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """A blob file as ``CHUNK_SIZE`` pieces, the shape ``VerifyingReader`` reads."""
    while True:
        chunk = handle.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


# --------------------------------------------------------------------------- registry


class RegistrySource(ImageSource):
    """An image in a registry, with optional mirrors for everything fetched by digest."""

    concurrent_blobs = True

    def __init__(
        self,
        reference: ImageReference,
        origin: RegistryClient,
        *,
        mirrors: Sequence[tuple[Mirror, RegistryClient]] = (),
        known_digest: str | None = None,
        limits: OciSettings | None = None,
    ) -> None:
        super().__init__(str(reference), limits)
        self.reference = reference
        self.origin = origin
        self.mirrors = list(mirrors)
        self.known_digest = known_digest
        self._manifests: dict[str, bytes] = {}

    def resolve(self) -> Descriptor:
        """The digest from the reference, the caller (Hub tags API) or a free ``HEAD``."""
        ref = self.reference
        digest = ref.digest or self.known_digest
        if digest is not None:
            # Fetched by digest later (from a mirror or the origin); the media type and
            # size come from the document itself.
            return Descriptor("", digest, 0)
        head = self.origin.head_manifest(ref.repository, ref.reference)
        if head is not None:
            return head
        # No digest on HEAD (some registries): the GET tells, and costs a pull.
        response = self.origin.get_manifest(ref.repository, ref.reference)
        self._manifests[response.digest] = response.data
        self.served_by[response.digest] = self.origin.base_url
        return response.descriptor

    def fetch_manifest(self, descriptor: Descriptor) -> bytes:
        digest = descriptor.digest
        if digest in self._manifests:
            return self._manifests[digest]
        repository = self.reference.repository
        for mirror, client in self.mirrors:
            try:
                response = client.get_manifest(mirror.repository_for(repository), digest)
            except OciError as exc:
                self._skip(f"mirror {mirror}", digest, exc)
                continue
            self.served_by[digest] = f"mirror {mirror}"
            self._manifests[digest] = response.data
            return response.data
        response = self.origin.get_manifest(repository, digest)
        self.served_by[digest] = self.origin.base_url
        self._manifests[digest] = response.data
        return response.data

    def blob_openers(self, descriptor: Descriptor) -> list[BlobOpener]:
        repository = self.reference.repository
        openers = [
            BlobOpener(
                f"mirror {mirror}",
                lambda m=mirror, c=client: c.open_blob(m.repository_for(repository), descriptor),  # type: ignore[misc]
                is_mirror=True,
            )
            for mirror, client in self.mirrors
        ]
        openers.append(
            BlobOpener(self.origin.base_url, lambda: self.origin.open_blob(repository, descriptor))
        )
        return openers


# --------------------------------------------------------------------------- OCI layout


class OciLayoutSource(ImageSource):
    """An OCI image layout directory (``oci-layout``, ``index.json``, ``blobs/``)."""

    concurrent_blobs = True
    blobs_in_fork = True

    def __init__(self, reference: LayoutReference, limits: OciSettings | None = None) -> None:
        super().__init__(str(reference), limits)
        self.reference = reference
        self.root = reference.path

    def _blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / "blobs" / algorithm / hexdigest

    def resolve(self) -> Descriptor:
        index_path = self.root / "index.json"
        if not (self.root / "oci-layout").is_file() or not index_path.is_file():
            raise NotFoundError(f"{self.description}: not an OCI layout (no oci-layout/index.json)")
        data = self._bounded_file(index_path, "index.json")
        try:
            listed = json.loads(data).get("manifests") or []
            if not isinstance(listed, list):
                raise ValueError("manifests is not a list")
            if len(listed) > self.limits.max_index_entries:
                raise OciError(
                    f"{index_path}: lists {len(listed)} manifests, over the limit of "
                    f"{self.limits.max_index_entries}"
                )
            entries = [Descriptor.from_json(e, where=f"{index_path}") for e in listed]
        except (ValueError, AttributeError, TypeError) as exc:
            raise OciError(f"{index_path}: not a valid index ({exc})") from None
        ref = self.reference
        if ref.digest:
            if not self._blob_path(ref.digest).is_file():
                raise NotFoundError(f"{self.description}: no blob {ref.digest} in the layout")
            for entry in entries:
                if entry.digest == ref.digest:
                    return entry
            raw = self._bounded_file(self._blob_path(ref.digest), f"manifest {ref.digest}")
            try:
                kind = str(json.loads(raw).get("mediaType") or "")
            except (ValueError, AttributeError) as exc:
                raise OciError(
                    f"{self.description}: {ref.digest} is not a manifest ({exc})"
                ) from None
            return Descriptor(kind, ref.digest, len(raw))

        def names(entry: Descriptor) -> set[str]:
            found = {entry.annotations.get(media.ANNOTATION_REF_NAME, "")}
            containerd = entry.annotations.get("io.containerd.image.name", "")
            if containerd:
                found.add(containerd.rpartition(":")[2])
            return found - {""}

        if ref.tag:
            matching = [e for e in entries if ref.tag in names(e)]
            if not matching:
                raise NotFoundError(
                    f"{self.description}: no tag {ref.tag!r} in the layout",
                    hint="tags here: "
                    + (", ".join(sorted(set().union(*map(names, entries)))) or "none"),
                )
            return matching[0]
        if len(entries) == 1:
            return entries[0]
        latest = [e for e in entries if "latest" in names(e)]
        if latest:
            return latest[0]
        raise OciError(
            f"{self.description}: the layout holds {len(entries)} images; name one",
            hint="use oci-layout:DIR:TAG or oci-layout:DIR@DIGEST",
        )

    def fetch_manifest(self, descriptor: Descriptor) -> bytes:
        path = self._blob_path(descriptor.digest)
        data = self._bounded_file(path, f"manifest {descriptor.digest}")
        self.served_by[descriptor.digest] = str(self.root)
        return verify_bytes(
            data, descriptor.digest, source=f"{self.description} {descriptor.digest}"
        )

    def blob_openers(self, descriptor: Descriptor) -> list[BlobOpener]:
        def open_file() -> VerifyingReader:
            try:
                handle = self._blob_path(descriptor.digest).open("rb")
            except FileNotFoundError:
                raise NotFoundError(
                    f"{self.description}: blob {descriptor.digest} missing"
                ) from None
            return VerifyingReader(
                file_chunks(handle),
                digest=descriptor.digest,
                size=descriptor.size,
                source=f"{self.description} {descriptor.digest}",
                on_close=handle.close,
            )

        return [BlobOpener(str(self.root), open_file)]


# --------------------------------------------------------------------------- docker archive


class DockerArchiveSource(ImageSource):
    """A ``docker save`` tar (legacy or Docker 25+); its manifest is synthesised.

    ``docker save`` keeps no distribution manifest, so one is built from ``manifest.json``:
    the config and the layers as stored (uncompressed, as Docker writes them). Its digest
    identifies the archive's content, not any registry manifest; ``synthesized`` says so.
    """

    synthesized = True

    def __init__(self, reference: ArchiveReference, limits: OciSettings | None = None) -> None:
        super().__init__(str(reference), limits)
        self.reference = reference
        self._tar: tarfile.TarFile | None = None
        self._index: dict[str, tarfile.TarInfo] = {}
        self._members: dict[str, str] = {}
        self._manifest: bytes | None = None
        self.repo_tags: list[str] = []

    def _open(self) -> tarfile.TarFile:
        import tarfile  # only docker-archive sources need it (~3 ms of every start-up else)

        if self._tar is None:
            try:
                tar = tarfile.open(self.reference.path, mode="r:*")  # noqa: SIM115 - closed in close()
            except FileNotFoundError:
                raise NotFoundError(f"{self.description}: file not found") from None
            except tarfile.TarError:
                # tarfile's message lists every method it tried, one line each
                raise OciError(
                    f"{self.description}: not a tar archive (plain, gzip, bzip2 or xz)",
                    hint="make one with `docker save IMAGE -o FILE.tar`",
                ) from None
            self._tar = tar
            self._index = self._read_index(tar)
        return self._tar

    def _read_index(self, tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
        """Name -> member, reading headers one by one up to the member limit (tarfile's own
        lookup reads them all first: a million members took 506 MB)."""
        import tarfile

        limit = self.limits.max_archive_members
        index: dict[str, tarfile.TarInfo] = {}
        count = 0
        try:
            while (member := tar.next()) is not None:
                count += 1
                if count > limit:
                    raise OciError(
                        f"{self.description}: more than {limit} members; not a docker save",
                        hint="raise [oci] max_archive_members if the archive is genuine",
                    )
                index[member.name.removeprefix("./")] = member
                tar.members.clear()  # type: ignore[attr-defined]  # it keeps every header read
        except tarfile.TarError as exc:
            raise OciError(f"{self.description}: damaged tar archive ({exc})") from None
        return index

    def _member(self, name: str, *, max_bytes: int | None = None) -> IO[bytes]:
        tar = self._open()
        info = self._index.get(name.removeprefix("./"))
        handle = tar.extractfile(info) if info is not None and info.isfile() else None
        if handle is None or info is None:
            raise NotFoundError(f"{self.description}: no {name} in the archive")
        if max_bytes is not None and info.size > max_bytes:
            raise OciError(
                f"{self.description}: {name} is {info.size} bytes, over the {max_bytes}-byte limit"
            )
        return handle

    def resolve(self) -> Descriptor:
        if self._manifest is None:
            self._manifest = self._synthesize()
        return Descriptor(media.DOCKER_MANIFEST, digest_of(self._manifest), len(self._manifest))

    def _synthesize(self) -> bytes:
        try:
            manifest_file = self._member("manifest.json", max_bytes=self.limits.max_manifest_bytes)
            entries = json.loads(manifest_file.read())
        except ValueError:
            raise OciError(f"{self.description}: manifest.json is not valid JSON") from None
        if not isinstance(entries, list) or not entries:
            raise OciError(f"{self.description}: manifest.json lists no image")
        if len(entries) > 1:
            tags = ", ".join(t for e in entries for t in e.get("RepoTags") or []) or "untagged"
            raise OciError(
                f"{self.description}: holds {len(entries)} images ({tags}); save one per file"
            )
        entry = entries[0]
        self.repo_tags = list(entry.get("RepoTags") or [])
        config_name = str(entry.get("Config") or "")
        config_data = self._member(config_name, max_bytes=MAX_CONFIG_BYTES).read()
        config = Descriptor(media.DOCKER_CONFIG, digest_of(config_data), len(config_data))
        self._members[config.digest] = config_name
        layers = []
        listed = entry.get("Layers") or []
        if len(listed) > self.limits.max_layers:
            raise OciError(
                f"{self.description}: {len(listed)} layers, over the limit of "
                f"{self.limits.max_layers}"
            )
        for name in listed:
            handle = self._member(str(name))
            head = handle.read(4)
            hasher = hashlib.sha256(head)
            size = len(head)
            for chunk in file_chunks(handle):
                hasher.update(chunk)
                size += len(chunk)
            digest = f"sha256:{hasher.hexdigest()}"
            kind = {
                "gzip": media.DOCKER_LAYER_GZIP,
                "zstd": media.OCI_LAYER_ZSTD,
                "none": media.DOCKER_LAYER,
            }[media.sniff_compression(head)]
            layers.append(Descriptor(kind, digest, size))
            self._members[digest] = str(name)
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media.DOCKER_MANIFEST,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
        return json.dumps(doc, indent=2).encode()

    def fetch_manifest(self, descriptor: Descriptor) -> bytes:
        if self._manifest is None:
            self.resolve()
        assert self._manifest is not None
        self.served_by[descriptor.digest] = str(self.reference.path)
        return verify_bytes(self._manifest, descriptor.digest, source=self.description)

    def blob_openers(self, descriptor: Descriptor) -> list[BlobOpener]:
        if self._manifest is None:
            self.resolve()

        def open_member() -> VerifyingReader:
            name = self._members.get(descriptor.digest)
            if name is None:
                raise NotFoundError(f"{self.description}: no blob {descriptor.digest}")
            handle = self._member(name)
            return VerifyingReader(
                file_chunks(handle),
                digest=descriptor.digest,
                size=descriptor.size,
                source=f"{self.description} {name}",
                on_close=handle.close,
            )

        return [BlobOpener(str(self.reference.path), open_member)]

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None


# --------------------------------------------------------------------------- session


class OciSession:
    """Everything a run shares when reading images: HTTP, credentials, budget, mirrors.

    ``mirrors`` maps an origin registry to its mirror URLs; by default Docker Hub gets
    ``[registry] mirrors`` from the settings.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: Transport | None = None,
        credentials: CredentialStore | None = None,
        budget: PullBudget | None = None,
        mirrors: Mapping[str, Sequence[str]] | None = None,
        policy: RetryPolicy | None = None,
        wait_budget: WaitBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from imagetrust.oci.budget import PullBudget
        from imagetrust.oci.mirrors import parse_mirror

        self.settings = settings
        # The HTTP client and the credential store are made on first use: reading an OCI
        # layout or a docker archive never pays for TLS set-up or the HTTP library.
        self._transport = transport
        self._transport_options = {"policy": policy, "wait_budget": wait_budget, "sleep": sleep}
        self._credentials = credentials
        self.budget = budget or PullBudget(
            reserve=settings.registry.pull_reserve, max_pulls=settings.registry.max_pulls
        )
        configured = {DOCKER_HUB: settings.registry.mirrors} if mirrors is None else mirrors
        self.mirrors = {
            registry: [parse_mirror(url) for url in urls] for registry, urls in configured.items()
        }
        self._clients: dict[str, RegistryClient] = {}
        # Images are opened from several threads at once (``run`` fetches manifests ahead):
        # the HTTP client and each registry's client (its tokens) are made once, shared.
        self._lock = threading.RLock()

    @property
    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                from imagetrust.oci.transport import Transport

                self._transport = Transport.from_settings(
                    self.settings.http,
                    **self._transport_options,  # type: ignore[arg-type]
                )
            return self._transport

    @property
    def credentials(self) -> CredentialStore:
        with self._lock:
            if self._credentials is None:
                from imagetrust.oci.auth import CredentialStore

                self._credentials = CredentialStore()
            return self._credentials

    def client(self, registry: str, base_url: str | None = None) -> RegistryClient:
        from imagetrust.oci.client import RegistryClient, registry_base_url

        url = (base_url or registry_base_url(registry, self.settings.registry)).rstrip("/")
        with self._lock:
            if url not in self._clients:
                self._clients[url] = RegistryClient(
                    registry,
                    base_url=url,
                    transport=self.transport,
                    credentials=self.credentials,
                    budget=self.budget,
                    max_manifest_bytes=self.settings.oci.max_manifest_bytes,
                )
            return self._clients[url]

    def open(self, reference: Reference | str, *, known_digest: str | None = None) -> ImageSource:
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        limits = self.settings.oci
        if isinstance(ref, LayoutReference):
            return OciLayoutSource(ref, limits)
        if isinstance(ref, ArchiveReference):
            return DockerArchiveSource(ref, limits)
        mirrors = [
            (mirror, self.client(mirror.registry, mirror.base_url))
            for mirror in self.mirrors.get(ref.registry, [])
        ]
        return RegistrySource(
            ref,
            self.client(ref.registry),
            mirrors=mirrors,
            known_digest=known_digest,
            limits=limits,
        )

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def __enter__(self) -> OciSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
