"""From an image source to one SBOM per platform: layers (cached), merge, catalogers.

The flow for one platform image: for each layer, the cached analysis or, on a miss, the
blob streamed once through the layer walker (verified against its digest while it is read)
and then cached; the layers merged in order with whiteouts; the OS detected from the merged
files; each kept file parsed by the cataloger that asked for it; each package attributed to
the layer that installed the version the image ships; each language package that an OS
package's file list names given that owner (``owners``). A corrupt package database becomes
an error on this image naming the file, and the other packages are still reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct, field

from imagetrust.sbom.catalogers import default_cataloger, default_cataloger_names
from imagetrust.sbom.catalogers.base import Cataloger
from imagetrust.sbom.catalogers.osrelease import detect_os
from imagetrust.sbom.layers import ANALYSER_VERSION as WALKER_VERSION
from imagetrust.sbom.layers import analyse_layer
from imagetrust.sbom.merge import UNREAD, FileVersion, MergedImage, merge_layers
from imagetrust.sbom.models import (
    CatalogerError,
    ImageSbom,
    LayerAnalysis,
    LayerError,
    LayerLimits,
    LayerSummary,
    OsRelease,
    Package,
)
from imagetrust.sbom.owners import LANGUAGE_TYPES, FileOwner, assign_owners, canonical_path
from imagetrust.sbom.runtime import image_facts

if TYPE_CHECKING:
    from imagetrust.oci.image import PlatformImage, PlatformSelection, ResolvedImage
    from imagetrust.oci.models import Descriptor
    from imagetrust.oci.sources import ImageSource
    from imagetrust.sbom.cache import LayerCache

log = logging.getLogger(__name__)

# Bump when what catalogers keep or how packages are derived changes; part of the cache key.
# 2: Go build info searched at the ELF writable segment only; 3: unzipped Python eggs
# (``*.egg/EGG-INFO/PKG-INFO``) wanted, as syft's globs want them; 4: dpkg's file lists
# (``info/*.list``, distroless ``status.d/*.md5sums``) kept, for owners; 5: dpkg and apk
# databases streamed and reduced to the lines their parsers read
CATALOGERS_VERSION = "5"


_DEFAULT_MAX_FILE_BYTES = LayerLimits().max_file_bytes


def analyser_version(
    cataloger_names: Sequence[str], max_file_bytes: int = _DEFAULT_MAX_FILE_BYTES
) -> str:
    """The layer cache key's version part: everything that changes what a layer yields.

    That is the walker, the catalogers, which catalogers ran and the largest file kept: a
    layer walked under a smaller ``max_file_bytes`` lacks the files it skipped, so it must
    not answer for a larger limit (nor the reverse). The limit is named only when it is
    not the default, so the usual key, and the caches built with it, stay as they were.
    The other limits need no place here: a layer past them fails and is never cached.
    """
    names = "-".join(sorted(cataloger_names))
    version = f"{WALKER_VERSION}.catalogers-{CATALOGERS_VERSION}.{names}"
    if max_file_bytes != _DEFAULT_MAX_FILE_BYTES:
        version += f".maxfile-{max_file_bytes}"
    return version


class SbomOptions(Struct):
    """``catalogers`` None means the defaults, each imported only once a layer needs it.

    ``workers``: how many layers of one image may be analysed at once, each in a worker
    process (``parallel``); None: one per layer, up to four, given two cores or more; 1: one
    after the other in this process. ``worker_memory`` bounds each worker's added address space.
    """

    limits: LayerLimits = field(default_factory=LayerLimits)
    reanalyse: bool = False
    catalogers: Sequence[Cataloger] | None = None
    workers: int | None = None
    worker_memory: int | None = 2 << 30


LayerProgress = Callable[["Descriptor", bool], None]


class ImageAnalyser:
    """Analyses images from any source, sharing one layer cache across images and runs."""

    def __init__(
        self,
        cache: LayerCache | None,
        options: SbomOptions | None = None,
        *,
        on_layer: LayerProgress | None = None,
    ) -> None:
        self.cache = cache
        self.options = options or SbomOptions()
        given = self.options.catalogers
        self._catalogers = {c.name: c for c in given} if given is not None else {}
        self._names = list(self._catalogers) if given is not None else default_cataloger_names()
        self.version = analyser_version(self._names, self.options.limits.max_file_bytes)
        self.on_layer = on_layer
        self._memo: dict[str, LayerAnalysis] = {}
        self._from_cache: set[str] = set()  # remembered from the cache, not yet reported
        self._pending: dict[str, LayerAnalysis | LayerError] = {}  # analysed by workers
        self._missed: set[str] = set()  # looked up in the cache in vain just now

    def analyse(
        self, source: ImageSource, selection: PlatformSelection | None = None
    ) -> list[ImageSbom]:
        from imagetrust.oci.image import load_image

        resolved = load_image(source, selection, attestation_details=False)
        return [self.analyse_platform(source, resolved, image) for image in resolved.images]

    def analyse_platform(
        self, source: ImageSource, resolved: ResolvedImage, image: PlatformImage
    ) -> ImageSbom:
        if image.platform.os != "linux":
            return self._not_analysed(resolved, image)
        self._analyse_missing(source, image.layers)
        layers: list[LayerAnalysis] = []
        summaries: list[tuple[Descriptor, bool]] = []
        for descriptor in image.layers:
            analysis, from_cache = self._layer(source, descriptor)
            layers.append(analysis)
            summaries.append((descriptor, from_cache))
        merged = merge_layers(layers)
        files = merged.files()
        os_release = detect_os({path: kept.data for path, kept in files.items()})
        packages, errors, incomplete = self._packages(merged, os_release)
        counts: dict[str, int] = {}
        for package in packages:
            if package.layer:
                counts[package.layer] = counts.get(package.layer, 0) + 1
        warnings = [w for layer in layers for w in layer.warnings]
        return ImageSbom(
            reference=resolved.reference,
            digest=image.descriptor.digest,
            index_digest=resolved.digest if resolved.index is not None else None,
            platform=str(image.platform),
            config_digest=image.manifest.config.digest,
            analyser_version=self.version,
            os=os_release,
            packages=tuple(packages),
            layers=tuple(
                LayerSummary(
                    digest=descriptor.digest,
                    media_type=descriptor.media_type,
                    size=descriptor.size,
                    from_cache=from_cache,
                    entries=analysis.entries,
                    packages=counts.get(descriptor.digest, 0),
                    skipped=dict(analysis.skipped),
                )
                for (descriptor, from_cache), analysis in zip(summaries, layers, strict=True)
            ),
            facts=image_facts(image.config),
            setuid=tuple(sorted(merged.setuid)),
            setgid=tuple(sorted(merged.setgid)),
            world_writable=tuple(sorted(merged.world_writable)),
            errors=tuple(errors + warnings),
            incomplete=tuple(incomplete),
        )

    def layer(self, source: ImageSource, descriptor: Descriptor) -> tuple[LayerAnalysis, bool]:
        """One layer's analysis (cached or done now and cached), and whether it was cached:
        for a job that analyses layers apart from the images they belong to."""
        return self._layer(source, descriptor)

    def _not_analysed(self, resolved: ResolvedImage, image: PlatformImage) -> ImageSbom:
        """A Windows (or other non-Linux) image: its layers are not walked at all.

        The catalogers read Linux package databases only, so walking gigabytes of Windows
        layers would yield an empty SBOM that looks like an image with no packages; the
        error says it was not analysed instead, and ``scan`` reports it not covered.
        """
        return ImageSbom(
            reference=resolved.reference,
            digest=image.descriptor.digest,
            index_digest=resolved.digest if resolved.index is not None else None,
            platform=str(image.platform),
            config_digest=image.manifest.config.digest,
            analyser_version=self.version,
            os=None,
            packages=(),
            layers=tuple(
                LayerSummary(
                    digest=d.digest,
                    media_type=d.media_type,
                    size=d.size,
                    from_cache=False,
                    entries=0,
                    packages=0,
                )
                for d in image.layers
            ),
            facts=image_facts(image.config),
            errors=(f"{image.platform}: not analysed: imagetrust reads Linux images only",),
        )

    def _analyse_missing(self, source: ImageSource, descriptors: Sequence[Descriptor]) -> None:
        """Analyse the layers neither remembered nor cached side by side, in worker
        processes, when there are several and the cores for it (``parallel``); ``_layer``
        then finds them remembered, in order, exactly as if it had analysed them itself."""
        self._pending, self._missed = {}, set()  # nothing left from an image that failed
        if not source.concurrent_blobs or self.options.workers == 1:
            return
        missing: dict[str, Descriptor] = {}
        for descriptor in descriptors:
            digest = descriptor.digest
            if digest in missing or not self._missing(descriptor):
                continue
            missing[digest] = descriptor
        if len(missing) < 2:  # one layer (or none) to analyse: in this process, as ever
            return
        from imagetrust.sbom.parallel import LayerWorkers, worker_count

        count = worker_count(self.options.workers, len(missing))
        if count < 2:
            return
        todo = list(missing.values())
        with LayerWorkers(
            count,
            source,
            self._all_catalogers(),
            self.options.limits,
            memory_bytes=self.options.worker_memory,
        ) as workers:
            results = workers.analyse_all(source, todo)
        self._pending = dict(zip((d.digest for d in todo), results, strict=True))

    def _lookup(self, descriptor: Descriptor) -> LayerAnalysis | None:
        """The remembered or cached analysis of a layer (remembered from then on)."""
        digest = descriptor.digest
        if digest in self._memo:
            return self._memo[digest]
        cached = None
        if self.cache is not None and not self.options.reanalyse:
            cached = self.cache.get(digest, self.version)
        if cached is not None:
            self._memo[digest] = cached
            self._from_cache.add(digest)
        return cached

    def _missing(self, descriptor: Descriptor) -> bool:
        """Neither remembered nor cached (and noted, so ``_layer`` does not look again)."""
        if self._lookup(descriptor) is not None:
            return False
        self._missed.add(descriptor.digest)
        return True

    def _layer(self, source: ImageSource, descriptor: Descriptor) -> tuple[LayerAnalysis, bool]:
        digest = descriptor.digest
        if digest in self._memo:
            if digest in self._from_cache:
                self._from_cache.discard(digest)
                if self.on_layer:
                    self.on_layer(descriptor, True)
            return self._memo[digest], True
        if digest in self._missed:  # looked up already by ``_analyse_missing``
            self._missed.discard(digest)
        elif self._lookup(descriptor) is not None:
            return self._layer(source, descriptor)
        pending = self._pending.pop(digest, None)
        if pending is not None:
            from imagetrust.sbom.parallel import unwrap

            return self._keep(descriptor, unwrap(pending)), False
        analysis = source.consume_blob(
            descriptor,
            lambda stream: analyse_layer(
                stream,
                digest=digest,
                media_type=descriptor.media_type or None,
                catalogers=self._all_catalogers(),
                limits=self.options.limits,
                compressed_size=descriptor.size,
            ),
        )
        return self._keep(descriptor, analysis), False

    def _keep(self, descriptor: Descriptor, analysis: LayerAnalysis) -> LayerAnalysis:
        """A layer analysed now: cached, remembered, reported."""
        analysis.analyser_version = self.version
        if self.cache is not None:
            try:
                self.cache.put(analysis)
            except OSError as exc:
                log.warning("could not write the layer cache: %s", exc)
        self._memo[descriptor.digest] = analysis
        if self.on_layer:
            self.on_layer(descriptor, False)
        return analysis

    def _all_catalogers(self) -> list[Cataloger]:
        """Every cataloger, in order: a layer to walk needs them all."""
        if self.options.catalogers is not None:
            return list(self.options.catalogers)
        return [c for name in self._names if (c := self._cataloger(name)) is not None]

    def _cataloger(self, name: str) -> Cataloger | None:
        """The cataloger that kept a file: a warm run imports only the ones its files name.

        Given catalogers are all in ``_catalogers`` from the start; defaults load on demand.
        """
        if name not in self._catalogers and name in self._names:
            found = default_cataloger(name)
            if found is not None:
                self._catalogers[name] = found
        return self._catalogers.get(name)

    def _packages(
        self, merged: MergedImage, os_release: OsRelease | None
    ) -> tuple[list[Package], list[str], list[str]]:
        """Packages of the final filesystem; errors; and why the list may be short (a
        wanted file unread, a database that failed to parse): the SBOM's ``incomplete``."""
        packages: list[Package] = []
        errors: list[str] = []
        incomplete = [
            f"{path}: not read ({version.file.data.decode(errors='replace')}; "
            f"layer {version.layer_digest})"
            for path, version in sorted(merged.unread().items())
        ]
        for path in sorted(merged.lineage):
            versions = merged.lineage[path]
            top = versions[-1]
            if top.file.link is not None:
                target = merged.lineage.get(top.file.link)
                if target and target[-1].layer_index == top.layer_index:
                    continue  # a hard link to a file parsed under its own name: once
            cataloger = self._cataloger(top.file.cataloger)
            if cataloger is None:
                continue
            try:
                found = cataloger.parse(path, top.file.data, os_release)
            except CatalogerError as exc:
                errors.append(exc.message)
                incomplete.append(f"{exc.message} (its packages may be missing)")
                continue
            except Exception as exc:
                log.debug("cataloger %s failed on %s", cataloger.name, path, exc_info=True)
                errors.append(f"{path}: {cataloger.name} cataloger failed: {exc}")
                incomplete.append(f"{path}: {cataloger.name} cataloger failed")
                continue
            implausible = [p for p in found if not _plausible(p)]
            if implausible:
                reason = f"{path}: {len(implausible)} package(s) with a name or version over "
                reason += f"{MAX_IDENTITY} characters, left out"
                errors.append(reason)
                incomplete.append(reason)
                found = [p for p in found if _plausible(p)]
            layers = _attribute(cataloger, path, versions, found, os_release)
            packages.extend(
                _with_layer(package, layer) for package, layer in zip(found, layers, strict=True)
            )
        packages = self._with_owners(merged, packages)
        packages.sort(key=lambda p: (p.type.value, p.name, p.version, p.architecture or ""))
        return packages, errors, incomplete

    def _with_owners(self, merged: MergedImage, packages: list[Package]) -> list[Package]:
        """Owners from the OS catalogers' file lists, read only when there is a language
        package to find one for (most base images have none: their lists cost nothing)."""
        wanted = frozenset(
            canonical_path(p.path) for p in packages if p.type in LANGUAGE_TYPES and p.path
        )
        if not wanted:
            return packages
        owned: list[tuple[str, FileOwner]] = []
        for path, versions in merged.lineage.items():
            cataloger = self._cataloger(versions[-1].file.cataloger)
            owned_files = getattr(cataloger, "owned_files", None)
            if owned_files is None:
                continue
            try:
                owned.extend(owned_files(path, versions[-1].file.data, wanted))
            except CatalogerError:
                continue  # the database's own parse already reported it
            except Exception:
                log.debug("file list %s unreadable", path, exc_info=True)
        return assign_owners(packages, owned)


MAX_IDENTITY = 1024  # characters of a name or version: no real package comes near


def _plausible(package: Package) -> bool:
    """A 262,116-character name (a METADATA header line of 10 MB) is no package."""
    return len(package.name) <= MAX_IDENTITY and len(package.version) <= MAX_IDENTITY


def _identity(package: Package) -> tuple[str, str, str | None]:
    return (package.name, package.version, package.architecture)


def _attribute(
    cataloger: Cataloger,
    path: str,
    versions: list[FileVersion],
    found: list[Package],
    os_release: OsRelease | None,
) -> list[str]:
    """For each package, the earliest layer from which that exact version is always there.

    A package database rewritten by a later layer (``apt-get install`` rewrites all of
    ``status``) must not move every package to that layer: walk the older versions of the
    file downwards while the package is still in them.
    """
    layer_of = {_identity(p): versions[-1].layer_digest for p in found}
    if len(versions) == 1:
        return [layer_of[_identity(p)] for p in found]
    remaining = set(layer_of)
    for older in reversed(versions[:-1]):
        if not remaining or older.file.cataloger == UNREAD:
            break
        try:
            present = {_identity(p) for p in cataloger.parse(path, older.file.data, os_release)}
        except Exception:
            break
        still = remaining & present
        for key in still:
            layer_of[key] = older.layer_digest
        remaining = still
    return [layer_of[_identity(p)] for p in found]


def _with_layer(package: Package, layer: str) -> Package:
    from msgspec.structs import replace

    return replace(package, layer=layer)
