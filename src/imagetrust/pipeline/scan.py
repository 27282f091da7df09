"""Vulnerabilities of one image (or an SBOM file): SBOMs, stored, then matched in one read.

An image's SBOMs come through the layer cache and are stored (one image, one transaction),
so re-matching later after a database import reads no layer. Matching runs inside one
``Store.read()``, so every finding and the database versions reported with them come from
the same generations even if an import switches meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from imagetrust.errors import ImagetrustError
from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.reference import Reference
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.store.database import Store
    from imagetrust.vulndb.findings_store import DbState
    from imagetrust.vulndb.freshness import SourceAge
    from imagetrust.vulndb.query import DbStatus
    from imagetrust.vulndb.scan import ImageScan

SBOM_PREFIX = "sbom:"


class SbomFile(Struct, frozen=True):
    """``sbom:FILE``: a CycloneDX, SPDX or imagetrust JSON SBOM instead of an image."""

    path: Path

    def __str__(self) -> str:
        return f"{SBOM_PREFIX}{self.path}"


def parse_scan_target(text: str) -> Reference | SbomFile:
    """What ``scan`` accepts: any image reference, or ``sbom:FILE``."""
    if text.startswith(SBOM_PREFIX):
        return SbomFile(Path(text[len(SBOM_PREFIX) :]))
    from imagetrust.oci.reference import parse_reference

    return parse_reference(text)


class ScanOutcome(Struct):
    scans: list[ImageScan]
    status: DbStatus  # the database the findings came from (the same snapshot)
    state: DbState = ()  # its state, KEV catalog included: the key of the finding sets
    ages: list[SourceAge] = []  # how old each part of it is (``vulndb.freshness``)


def scan(
    ctx: PipelineContext, target: Reference | SbomFile, selection: PlatformSelection
) -> ScanOutcome:
    """An image's SBOMs (stored, one image, one transaction, even when the database is
    still empty: ``db update`` reads their ecosystems), matched in one snapshot; the
    findings and what the scan could not judge are stored as the image's finding set for
    that database state. An SBOM file is matched, not stored."""
    if isinstance(target, SbomFile):
        from imagetrust.sbom.formats.read import read_sbom_file

        sboms = [read_sbom_file(str(target.path))]
        with ctx.open_store() as store:
            return match(store, sboms, ctx.clock.now())
    from imagetrust.pipeline.analysis import analyse_image
    from imagetrust.sbom.stored import save_sbom
    from imagetrust.vulndb.findings_store import save_finding_set
    from imagetrust.vulndb.scan_document import databases
    from imagetrust.vulndb.stored import save_scan_coverage

    sboms = analyse_image(ctx, target, selection)
    with ctx.open_store() as store:
        for sbom in sboms:
            with store.transaction() as conn:
                save_sbom(conn, sbom, ctx.clock.now())
        outcome = match(store, sboms, ctx.clock.now())
        dbs = databases(outcome.status.live_sources)
        state = outcome.state
        for scanned in outcome.scans:  # the findings kept, one image, one transaction
            with store.transaction() as conn:
                save_scan_coverage(conn, scanned, dbs, ctx.clock.now())
                save_finding_set(conn, scanned, state, ctx.clock.now())
        return outcome


def match(store: Store, sboms: list[ImageSbom], now: datetime) -> ScanOutcome:
    """Every SBOM matched in one snapshot; an empty database is a failure (exit 1)."""
    from imagetrust.vulndb.findings_store import db_state
    from imagetrust.vulndb.freshness import database_ages
    from imagetrust.vulndb.query import db_status, live_generations
    from imagetrust.vulndb.scan import scan_sboms

    with store.read() as conn:
        status = db_status(conn)
        if not status.live_sources:
            raise ImagetrustError(
                "the vulnerability database is empty: nothing to match against",
                hint="import OSV or Alpine secdb data first: imagetrust db update, or "
                "imagetrust db import PATH",
            )
        scans = list(scan_sboms(conn, sboms))
        state = db_state(live_generations(conn))
        ages = database_ages(conn, now)
    return ScanOutcome(scans, status, state, ages)
