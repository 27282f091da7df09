"""Other engines' findings into the store: run ``trivy`` / ``grype`` on images, or import a
report they wrote, each as that engine's finding set beside imagetrust's own.

A set is keyed by the platform manifest digest, like ours. Running a tool, the digest is
known first (the image is resolved through the OCI client, then the tool is pointed at that
exact manifest) and the report must agree with it (the config digest it names, the manifest
Grype names). Importing a file, the digest comes from ``--digest``, else from what the
report names and the store knows: Grype's manifest digest, Trivy's repo digests (a platform
manifest, or an index and the report's platform), Trivy's image ID (a stored SBOM's config).
A report nobody can place is refused with a hint; it is never stored under a guess.

Each image's set commits in its own transaction, with known-exploited flags from the
store's KEV catalog, as ``scan`` and ``run`` do for ours.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from imagetrust.pipeline.context import PipelineContext
from imagetrust.vulndb.engines import EngineName
from imagetrust.vulndb.engines.report import EngineError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Connection

    from imagetrust.oci.image import PlatformImage, PlatformSelection
    from imagetrust.oci.reference import Reference
    from imagetrust.pipeline.scan import SbomFile
    from imagetrust.resolve.models import Target
    from imagetrust.store.database import Store
    from imagetrust.vulndb.engines.report import EngineReport
    from imagetrust.vulndb.engines.runner import EngineTarget
    from imagetrust.vulndb.scan import ImageScan


class EngineScan(Struct):
    """One image as another engine saw it: the scan model, the report, the stored set."""

    scan: ImageScan
    report: EngineReport
    set_id: int | None = None  # None: not stored (an SBOM file has no digest to keep it by)


class EngineOutcome(Struct):
    scans: list[EngineScan] = field(default_factory=list)

    def databases(self) -> list[dict[str, Any]]:
        """The databases the findings came from, in ``scan``'s ``databases`` shape."""
        seen: dict[str, dict[str, Any]] = {}
        for item in self.scans:
            report = item.report
            for name, schema in report.db_state:
                seen.setdefault(
                    name,
                    {
                        "name": f"{report.engine} {report.version}",
                        "version": name,
                        "schema": schema,
                        "imported_at": report.created_at,
                    },
                )
        return list(seen.values())


# --------------------------------------------------------------------------- scan --engine


def scan_with_engine(
    ctx: PipelineContext,
    target: Reference | SbomFile,
    selection: PlatformSelection,
    engine: EngineName,
) -> EngineOutcome:
    """Run ``engine`` on each picked platform of ``target`` (or on an SBOM file) and keep
    each image's report as that engine's finding set."""
    from imagetrust.pipeline.scan import SbomFile
    from imagetrust.vulndb.engines.convert import image_scan
    from imagetrust.vulndb.engines.runner import EngineTarget

    if isinstance(target, SbomFile):
        report = _run(ctx, engine, EngineTarget("sbom", str(target.path)))
        scanned = image_scan(report, reference=str(target), digest="")
        return EngineOutcome([EngineScan(scanned, report)])
    from imagetrust.oci.image import load_image
    from imagetrust.oci.sources import OciSession

    with OciSession(ctx.settings) as session, session.open(target) as source:
        resolved = load_image(source, selection, attestation_details=False)
    index = resolved.digest if resolved.index is not None else None
    outcome = EngineOutcome()
    with ctx.open_store() as store:
        for image in resolved.images:
            digest = image.descriptor.digest
            where = _engine_target(ctx, target, digest, str(image.platform))
            report = _run(ctx, engine, where)
            check_report(report, image=image)
            scanned = image_scan(report, reference=resolved.reference, digest=digest)
            scanned = _with_index(scanned, index)
            outcome.scans.append(save_report(store, scanned, report, ctx.clock.now()))
    return outcome


def _with_index(scanned: ImageScan, index: str | None) -> ImageScan:
    from dataclasses import replace

    from msgspec.structs import replace as struct_replace

    return replace(scanned, sbom=struct_replace(scanned.sbom, index_digest=index))


def _engine_target(
    ctx: PipelineContext, reference: Reference, digest: str, platform: str
) -> EngineTarget:
    """The tool's view of one platform image: a registry image pinned by its manifest
    digest, else the layout or archive with the platform."""
    from msgspec.structs import replace as struct_replace

    from imagetrust.oci.client import registry_base_url
    from imagetrust.oci.reference import ImageReference, LayoutReference
    from imagetrust.vulndb.engines.runner import EngineTarget

    if isinstance(reference, ImageReference):
        base = registry_base_url(reference.registry, ctx.settings.registry)
        pinned = str(struct_replace(reference, tag=None, digest=digest))  # the tag may move
        return EngineTarget("image", pinned, insecure=base.startswith("http://"))
    if isinstance(reference, LayoutReference):
        return EngineTarget("oci-layout", str(reference.path), platform=platform)
    return EngineTarget("docker-archive", str(reference.path), platform=platform)


def _run(ctx: PipelineContext, engine: EngineName, target: EngineTarget) -> EngineReport:
    from imagetrust.vulndb.engines.read import read_report
    from imagetrust.vulndb.engines.runner import run_engine

    settings = ctx.settings.vulndb
    data = run_engine(engine, target, max_bytes=settings.max_file_bytes)
    return read_report(data, f"{engine.value} output for {target.location}", engine, settings)


def check_report(report: EngineReport, *, image: PlatformImage) -> None:
    """The report must be about the image the tool was pointed at (a layout with several
    images, a tag that moved): its manifest and config digests, where it names them."""
    digest = image.descriptor.digest
    config = image.manifest.config.digest
    named = report.manifest_digest
    if named is not None and named != digest:
        raise EngineError(f"{report.engine} reported on manifest {named}, not {digest}")
    if report.config_digest is not None and report.config_digest != config:
        raise EngineError(
            f"{report.engine} reported on the image with config {report.config_digest}, "
            f"not {config} ({digest})"
        )


def save_report(
    store: Store, scanned: ImageScan, report: EngineReport, now: datetime
) -> EngineScan:
    """The report as its engine's set for the image, in one transaction."""
    from dataclasses import replace

    from imagetrust.vulndb.findings_store import save_engine_set
    from imagetrust.vulndb.kev import flag_known_exploited

    with store.transaction() as conn:
        flagged = replace(scanned, findings=flag_known_exploited(conn, scanned.findings))
        set_id = save_engine_set(conn, flagged, report, scanned.sbom.digest, now)
    return EngineScan(flagged, report, set_id)


# --------------------------------------------------------------------------- import FILE


def import_report(
    ctx: PipelineContext, path: Path, engine: EngineName, *, digest: str | None = None
) -> EngineScan:
    """A report file as ``engine``'s set of the image it is about (``digest``, else found
    from the report and the store)."""
    from imagetrust.vulndb.engines.convert import image_scan
    from imagetrust.vulndb.engines.read import read_report_file

    report = read_report_file(path, engine, ctx.settings.vulndb)
    with ctx.open_store() as store:
        with store.read() as conn:
            placed = place_report(conn, report, digest)
            config = _stored_config(conn, placed)
            reference = _stored_reference(conn, placed) or report.target or str(path)
        if None not in (config, report.config_digest) and config != report.config_digest:
            raise EngineError(
                f"the report is about the image with config {report.config_digest}, but the "
                f"stored image {placed} has config {config}",
                hint="check --digest: it names the platform manifest the report is about",
            )
        scanned = image_scan(report, reference=reference, digest=placed)
        return save_report(store, scanned, report, ctx.clock.now())


def place_report(conn: Connection, report: EngineReport, digest: str | None) -> str:
    """The platform manifest digest a report is about."""
    from imagetrust.vulndb.engines.report import digest_of

    if digest is not None:
        if digest_of(digest) is None:
            raise EngineError(f"--digest {digest!r} is not a sha256:<64 hex> digest")
        if report.manifest_digest is not None and report.manifest_digest != digest:
            raise EngineError(
                f"the report is about manifest {report.manifest_digest}, not --digest {digest}"
            )
        return digest
    if report.manifest_digest is not None:
        return report.manifest_digest
    for found in _from_repo_digests(conn, report) + _from_config(conn, report):
        return found
    raise EngineError(
        f"cannot tell which image the {report.engine} report is about "
        f"({report.target or 'no target named'})",
        hint="give the platform manifest digest: --digest sha256:... "
        "(`imagetrust inspect REF` shows it)",
    )


def _from_repo_digests(conn: Connection, report: EngineReport) -> list[str]:
    from sqlalchemy import select

    from imagetrust.store.schema import image_platforms, image_sboms

    found: list[str] = []
    for named in report.repo_digests:
        row = conn.execute(
            select(image_sboms.c.digest).where(image_sboms.c.digest == named).limit(1)
        ).first()
        if row is not None:
            found.append(named)
            continue
        rows = conn.execute(
            select(image_platforms.c.platform, image_platforms.c.manifest_digest).where(
                image_platforms.c.digest == named
            )
        ).all()
        picked = [r.manifest_digest for r in rows if r.platform == report.platform]
        if not picked and len(rows) == 1:  # an index of one image: no platform to choose
            picked = [rows[0].manifest_digest]
        found.extend(picked[:1])
    return found


def _from_config(conn: Connection, report: EngineReport) -> list[str]:
    """Stored SBOMs whose image config is the report's image ID (one pass over the stored
    documents: the fallback when nothing else names the image)."""
    from sqlalchemy import select

    from imagetrust.store.schema import image_sboms

    if report.config_digest is None:
        return []
    rows = conn.execute(select(image_sboms.c.digest, image_sboms.c.document))
    return [
        row.digest
        for row in rows
        if isinstance(row.document, dict)
        and row.document.get("config_digest") == report.config_digest
    ][:1]


def _stored_reference(conn: Connection, digest: str) -> str | None:
    from sqlalchemy import select

    from imagetrust.store.schema import image_sboms

    row = conn.execute(
        select(image_sboms.c.reference)
        .where(image_sboms.c.digest == digest)
        .order_by(image_sboms.c.id.desc())
        .limit(1)
    ).first()
    return str(row.reference) if row is not None else None


# --------------------------------------------------------------------------- run --engine


class EngineFailure(Struct, frozen=True):
    item: str
    platform: str
    reason: str


def run_engines(
    ctx: PipelineContext,
    store: Store,
    targets: Sequence[Target],
    engines: Sequence[EngineName],
    *,
    on_image: Callable[[str, str, str], None] | None = None,
) -> tuple[int, list[EngineFailure]]:
    """Each analysed image of ``targets`` that has no set of an engine gets one (the tool
    run on it); returns how many sets were added and what failed (each failure is that
    image's and that engine's: the rest go on)."""
    from imagetrust.oci.errors import OciError
    from imagetrust.pipeline.results import ResultStatus, stored_results

    with store.read() as conn:
        results = stored_results(conn, [t.digest for t in targets])
    by_digest: dict[str, list[tuple[str, str]]] = {}
    for (digest, platform), result in sorted(results.items()):
        if result.status == ResultStatus.ANALYSED and result.manifest_digest is not None:
            by_digest.setdefault(digest, []).append((platform, result.manifest_digest))
    added = 0
    failures: list[EngineFailure] = []
    for target in targets:
        for platform, manifest in by_digest.get(target.digest, []):
            for engine in engines:
                label = f"{target.reference} {platform}"
                with store.read() as conn:
                    if _has_set(conn, manifest, engine):
                        continue
                    config = _stored_config(conn, manifest)
                try:
                    found = _run_one(
                        ctx, store, engine, target.reference, manifest, platform, config
                    )
                except (EngineError, OciError) as exc:
                    reason = f"{engine.value}: {exc.message}"
                    failures.append(EngineFailure(label, platform, reason))
                    if on_image is not None:
                        on_image(label, "failed", reason)
                    continue
                added += 1
                if on_image is not None:
                    on_image(label, engine.value, f"{len(found.scan.findings)} findings")
    return added, failures


def _run_one(
    ctx: PipelineContext,
    store: Store,
    engine: EngineName,
    reference: Reference,
    manifest: str,
    platform: str,
    config: str | None,
) -> EngineScan:
    from imagetrust.vulndb.engines.convert import image_scan

    report = _run(ctx, engine, _engine_target(ctx, reference, manifest, platform))
    if report.manifest_digest not in (None, manifest):
        raise EngineError(f"{engine.value} reported on {report.manifest_digest}, not {manifest}")
    if report.config_digest is not None and config is not None and report.config_digest != config:
        raise EngineError(
            f"{engine.value} reported on the image with config {report.config_digest}, "
            f"not {config} ({manifest})"
        )
    scanned = image_scan(report, reference=str(reference), digest=manifest)
    return save_report(store, scanned, report, ctx.clock.now())


def _has_set(conn: Connection, digest: str, engine: EngineName) -> bool:
    from sqlalchemy import select

    from imagetrust.store.schema import finding_sets

    row = conn.execute(
        select(finding_sets.c.id)
        .where(finding_sets.c.digest == digest, finding_sets.c.engine == engine.value)
        .limit(1)
    ).first()
    return row is not None


def _stored_config(conn: Connection, digest: str) -> str | None:
    from sqlalchemy import select

    from imagetrust.store.schema import image_sboms

    row = conn.execute(
        select(image_sboms.c.document).where(image_sboms.c.digest == digest).limit(1)
    ).first()
    if row is None or not isinstance(row.document, dict):
        return None
    value = row.document.get("config_digest")
    return value if isinstance(value, str) and value else None
