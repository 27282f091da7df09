"""The package records every cataloger produces and every later stage consumes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from msgspec import Struct, field

from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from imagetrust.config import SbomSettings


class SbomError(ImagetrustError):
    """Base error of the sbom stage."""


class CatalogerError(SbomError):
    """A package database that cannot be read; names the file so the user can look."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


class PackageType(StrEnum):
    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    PYTHON = "python"
    NPM = "npm"
    JAVA = "java"
    GO = "go"


class Package(Struct, frozen=True):
    """One installed package.

    ``source_name``/``source_version`` are what distribution advisories name (dpkg
    ``Source:``, apk origin, rpm source RPM); ``layer`` is the digest of the layer that
    installed this version; ``path`` the database file it was read from. ``owner`` is the
    purl of the OS package whose file list holds ``path`` (Debian's ``python3-pip`` owns
    ``pip-23.0.1.dist-info/METADATA``): the distribution builds, patches and advises on
    such a package, so it is matched through its owner only.
    """

    name: str
    version: str
    type: PackageType
    purl: str
    source_name: str | None = None
    source_version: str | None = None
    architecture: str | None = None
    layer: str | None = None
    path: str | None = None
    licenses: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    owner: str | None = None


class OsRelease(Struct, frozen=True):
    """The distribution, from os-release (or alpine-release / debian_version / redhat-release)."""

    id: str  # e.g. debian, alpine, ubuntu, rhel, centos, fedora, amzn
    version_id: str | None
    pretty_name: str | None = None
    version_codename: str | None = None
    id_like: tuple[str, ...] = ()


class LayerError(SbomError):
    """A layer that cannot be analysed (corrupt compression, truncated, a bomb); names it."""


class LayerLimits(Struct, frozen=True):
    """Bounds that keep a hostile layer from exhausting memory, disk or time.

    ``max_ratio`` is checked only once ``ratio_floor`` bytes have come out, so small
    layers of zeros (real images have them) are never taken for bombs.
    """

    max_file_bytes: int = 64 << 20  # a wanted file larger than this is skipped, and counted
    max_layer_bytes: int = 64 << 30  # uncompressed bytes; past this the layer stops
    max_entries: int = 2_000_000
    max_ratio: float = 1000.0
    ratio_floor: int = 256 << 20

    @classmethod
    def from_settings(cls, settings: SbomSettings) -> LayerLimits:
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_layer_bytes=settings.max_layer_bytes,
            max_entries=settings.max_entries,
            max_ratio=settings.max_ratio,
        )


class KeptFile(Struct, frozen=True):
    """A file a cataloger asked for, as kept in the layer cache (after ``reduce``/sniffing)."""

    path: str
    cataloger: str
    data: bytes
    mode: int = 0o644
    size: int = 0  # the file's size in the layer, before any reduction
    # A hard link: the kept file at ``link`` in the same layer holds the bytes (``data`` is
    # empty), so forty links to one 60 MB database cost one copy, and one parse.
    link: str | None = None


class UnreadFile(Struct, frozen=True):
    """A file a cataloger wanted and could not read: what it held is unknown, so the
    image's SBOM is incomplete (never "clean") while the file is in the final image."""

    path: str
    cataloger: str
    reason: str


class LayerAnalysis(Struct):
    """Everything later stages need from one layer; cached per layer digest and analyser.

    ``whiteouts`` are paths this layer deletes from the layers below; ``opaque_dirs`` are
    directories whose lower content it hides. ``setuid``/``setgid`` list files with those
    bits; ``world_writable`` lists directories (without the sticky bit) and files anyone
    may write. ``skipped`` counts entries refused for safety, by reason.
    """

    digest: str
    analyser_version: str
    compression: str
    compressed_size: int = 0
    uncompressed_size: int = 0
    entries: int = 0
    kept: list[KeptFile] = field(default_factory=list)
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    setuid: list[str] = field(default_factory=list)
    setgid: list[str] = field(default_factory=list)
    world_writable: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unread: list[UnreadFile] = field(default_factory=list)


class LayerSummary(Struct, frozen=True):
    digest: str
    media_type: str
    size: int
    from_cache: bool
    entries: int
    packages: int
    skipped: dict[str, int] = field(default_factory=dict)


class ImageFacts(Struct, frozen=True):
    """From the image config: what runs, as whom, with what; env values are not kept."""

    user: str | None
    exposed_ports: tuple[str, ...]
    env_names: tuple[str, ...]
    labels: dict[str, str]
    runtimes: dict[str, str]  # e.g. {"python": "3.12.4"} from PYTHON_VERSION
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    created: str | None = None


class ImageSbom(Struct, frozen=True):
    """One platform image's bill of materials, with where each part came from."""

    reference: str
    digest: str  # the platform manifest's digest
    index_digest: str | None
    platform: str
    config_digest: str
    analyser_version: str
    os: OsRelease | None
    packages: tuple[Package, ...]
    layers: tuple[LayerSummary, ...]
    facts: ImageFacts
    setuid: tuple[str, ...] = ()
    setgid: tuple[str, ...] = ()
    world_writable: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # per-file problems (a corrupt database), named by path
    # Why the package list may be missing packages (a database over a limit, unreadable or
    # corrupt): empty when complete. An incomplete SBOM is never taken for a clean image.
    incomplete: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.incomplete
