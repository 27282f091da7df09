"""The walking skeleton: every stage that exists, run offline on bundled fixtures.

Each stage's issue adds its step here, so ``imagetrust demo`` is always the product's whole
path end to end. The demo records itself as a run in the store like any real run, and
writes ``summary.json`` (the same JSON conventions as every command) to its output folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imagetrust import __version__
from imagetrust.clock import Clock
from imagetrust.fsutil import atomic_write_text
from imagetrust.store.url import redact_url, resolve_db_url

if TYPE_CHECKING:
    from imagetrust.demo.images import DemoImage
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.store.database import Store

SUMMARY_SCHEMA_VERSION = 1
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class DemoStep:
    name: str
    detail: str


@dataclass
class DemoResult:
    out_dir: Path
    home: Path
    store_url: str
    run_id: int = 0
    steps: list[DemoStep] = field(default_factory=list)
    # commands a user can paste to look further, against the demo's own store
    next_commands: list[str] = field(default_factory=list)
    report_index: Path | None = None  # the site's index.html, written by the last stage

    @property
    def summary_path(self) -> Path:
        return self.out_dir / "summary.json"


def run_demo(
    *,
    out_dir: Path,
    home: Path,
    db_url: str,
    clock: Clock,
    on_step: Callable[[DemoStep], None] | None = None,
) -> DemoResult:
    """Run every stage on the bundled fixtures; safe to run again on the same folders."""
    from imagetrust.config import Settings
    from imagetrust.paths import HomeLayout
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.store.runs import RunStatus, finish_run, record_item_error, start_run

    out_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out_dir=out_dir.resolve(), home=home, store_url=redact_url(db_url))
    # The demo ignores the user's settings: it is offline and must run the same everywhere.
    ctx = PipelineContext(home=HomeLayout(home), settings=Settings(), clock=clock, db_url=db_url)
    own_store = db_url == resolve_db_url(home, None)

    def step(name: str, detail: str) -> None:
        item = DemoStep(name, detail)
        result.steps.append(item)
        if on_step is not None:
            on_step(item)

    with ctx.open_store() as store:
        schema = store.schema_state()
        step("store", f"{store.backend} store at schema {schema.current}: {result.store_url}")
        with store.transaction() as conn:
            result.run_id = start_run(conn, "demo", {"out_dir": str(result.out_dir)}, clock.now())
        step("run", f"recorded as run #{result.run_id}")
        try:
            _steps(store, ctx, result, step, own_store)
        except BaseException as exc:
            # The run was committed as running before any step: say how it ended, or it
            # stays "running" in the store for good.
            with store.transaction() as conn:
                message = str(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
                record_item_error(
                    conn, result.run_id, stage="demo", item="*", message=message, now=clock.now()
                )
                interrupted = isinstance(exc, KeyboardInterrupt)
                status = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
                finish_run(conn, result.run_id, status=status, now=clock.now())
            raise
    return result


def _steps(
    store: Store,
    ctx: PipelineContext,
    result: DemoResult,
    step: Callable[[str, str], None],
    own_store: bool,
) -> None:
    """Every stage after the run is recorded, then the summary and the run's success."""
    from imagetrust.store.runs import RunStatus, finish_run

    clock = ctx.clock
    _catalog_step(store, ctx, result.out_dir, step)
    _resolve_step(store, ctx, result.out_dir, step)
    images = _images_step(ctx, result.out_dir, step)
    sboms = _sbom_step(ctx, images, result.out_dir, step)
    _scan_step(store, ctx, sboms, result.out_dir, step)
    _evaluate_step(store, sboms, ctx.home.root, result.out_dir, clock, step)
    _policy_step(store, result.out_dir, clock, step)
    _review_step(store, result.out_dir, clock, step)
    result.report_index = _report_step(store, result.out_dir, clock, step)
    result.next_commands = _next_commands(result, images, own_store)
    # The summary's own step goes in before it is written, so the file lists every step
    # the terminal showed.
    step("summary", f"wrote {result.summary_path}")
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "demo-summary",
        "imagetrust_version": __version__,
        "generated_at": clock.now().isoformat(),
        "run_id": result.run_id,
        "store": result.store_url,
        "steps": [asdict(s) for s in result.steps],
        "next_commands": result.next_commands,
    }
    atomic_write_text(result.summary_path, json.dumps(summary, indent=2) + "\n")
    with store.transaction() as conn:
        finish_run(
            conn,
            result.run_id,
            status=RunStatus.SUCCEEDED,
            now=clock.now(),
            summary={"steps": [s.name for s in result.steps]},
        )


def _next_commands(result: DemoResult, images: list[DemoImage], own_store: bool) -> list[str]:
    """Commands to paste: the demo's images by reference, against the demo's store.

    Without ``--home`` a command would open the default home, not the demo's store. A
    store given by URL is named by its redacted URL (the password is the user's to add).
    """
    import shlex

    base = f"imagetrust --home {shlex.quote(str(result.home.resolve()))}"
    if not own_store:
        base += f" --db-url {shlex.quote(result.store_url)}"
    first = images[0].reference
    archive = next(
        (i.reference for i in images if i.reference.startswith("docker-archive:")), first
    )
    return [
        f"{base} scan {shlex.quote(first)}",
        f"{base} inspect {shlex.quote(first)} --platform all",
        f"{base} sbom {shlex.quote(archive)}",
        f"{base} db status",
        f"{base} catalog --no-refresh",
        f"{base} store status",
    ]


def _catalog_step(
    store: Store, ctx: PipelineContext, out_dir: Path, step: Callable[[str, str], None]
) -> None:
    """Catalog from the bundled library files, docs and Hub recording; writes catalog.json."""
    from imagetrust.catalog.snapshots import pull_deltas, snapshot_entries
    from imagetrust.catalog.views import catalog_view
    from imagetrust.pipeline.catalog import refresh, source_options

    options = source_options(
        ctx,
        offline=True,
        library_dir=DATA / "official-images",
        docs_dir=DATA / "docs",
        hub_recording=DATA / "hub",
    )
    refreshed = refresh(ctx, store, options, parameters={"demo": True, **options.as_parameters()})
    with store.read() as conn:
        entries = snapshot_entries(conn, refreshed.snapshot.id)
        deltas = pull_deltas(conn, refreshed.snapshot)
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "catalog",
        **catalog_view(refreshed.snapshot, entries, deltas),
    }
    path = out_dir / "catalog.json"
    atomic_write_text(path, json.dumps(document, indent=2, default=_json_default) + "\n")
    states: dict[str, list[str]] = {}
    for stored in entries:
        states.setdefault(stored.entry.state.value, []).append(stored.entry.name)
    listing = "; ".join(f"{state}: {', '.join(names)}" for state, names in sorted(states.items()))
    step(
        "catalog",
        f"snapshot #{refreshed.snapshot.id} of {len(entries)} repositories ({listing}), "
        f"recorded as run #{refreshed.run_id}",
    )
    step("catalog.json", f"wrote {path}")


def _resolve_step(
    store: Store, ctx: PipelineContext, out_dir: Path, step: Callable[[str, str], None]
) -> None:
    """The latest tag of each image the Hub recording lists, to digests; writes resolve.json.

    The recording gives every digest, so this asks no registry (the demo stays offline).
    """
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.sources import OciSession
    from imagetrust.resolve.models import ResolveRequest
    from imagetrust.resolve.resolver import resolve

    request = ResolveRequest(
        selection=PlatformSelection.parse("all"),
        repositories=("alpine", "debian", "nginx", "node", "python"),
    )
    with OciSession(ctx.settings) as session:
        resolution = resolve(store, request, session, now=ctx.clock.now())
    platforms = sum(len(target.platforms) for target in resolution.targets)
    step(
        "resolve",
        f"{resolution.tags} latest tags -> {len(resolution.targets)} images, {platforms} "
        f"linux platforms; {len(resolution.not_covered)} not covered (Windows), "
        "digests from the Hub listing: no registry asked",
    )
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "resolution",
        "request": request.as_parameters(),
        **resolution.as_dict(),
    }
    path = out_dir / "resolve.json"
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    step("resolve.json", f"wrote {path}")


def _images_step(
    ctx: PipelineContext, out_dir: Path, step: Callable[[str, str], None]
) -> list[DemoImage]:
    """Build the demo images, then inspect each through the verified OCI sources."""
    from imagetrust.demo.images import build_demo_images
    from imagetrust.oci.image import PlatformSelection, load_image
    from imagetrust.oci.sources import OciSession

    images = build_demo_images(out_dir / "images")
    inspected = []
    with OciSession(ctx.settings) as session:
        for image in images:
            with session.open(image.reference) as source:
                resolved = load_image(source, PlatformSelection.parse("all"))
            inspected.append(resolved.as_dict())
            platforms = ", ".join(str(p.platform) for p in resolved.images)
            layers = sum(len(p.layers) for p in resolved.images)
            step(
                "inspect",
                f"{image.name}:{image.tag} {resolved.digest[:19]}… {platforms}; {layers} layers, "
                f"{len(resolved.attestations)} attestations ({image.description})",
            )
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "image-inspections",
        "images": inspected,
    }
    path = out_dir / "images.json"
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    step("images.json", f"wrote {path}")
    return images


def _sbom_step(
    ctx: PipelineContext,
    images: list[DemoImage],
    out_dir: Path,
    step: Callable[[str, str], None],
) -> list[tuple[DemoImage, ImageSbom]]:
    """SBOM of every demo image through the layer cache; native JSON and CycloneDX files."""
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.reference import parse_reference
    from imagetrust.pipeline.analysis import analyse_image
    from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json
    from imagetrust.sbom.formats.native import to_native

    clock = ctx.clock
    folder = out_dir / "sbom"
    done: list[tuple[DemoImage, ImageSbom]] = []
    for image in images:
        reference = parse_reference(image.reference)
        for sbom in analyse_image(ctx, reference, PlatformSelection()):
            done.append((image, sbom))
            stem = f"{image.name}-{image.tag}"
            document = {
                "schema_version": SUMMARY_SCHEMA_VERSION,
                "kind": "sbom",
                "images": [to_native(sbom)],
            }
            atomic_write_text(folder / f"{stem}.json", json.dumps(document, indent=2) + "\n")
            cyclonedx = to_cyclonedx_json(sbom, tool_version=__version__, now=clock.now())
            atomic_write_text(folder / f"{stem}.cdx.json", cyclonedx.rstrip("\n") + "\n")
            kinds: dict[str, int] = {}
            for package in sbom.packages:
                kinds[package.type.value] = kinds.get(package.type.value, 0) + 1
            listing = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
            os_name = sbom.os.pretty_name if sbom.os else "unknown OS"
            cached = sum(1 for layer in sbom.layers if layer.from_cache)
            step(
                "sbom",
                f"{image.name}:{image.tag} ({os_name}): {len(sbom.packages)} packages "
                f"({listing}); {cached}/{len(sbom.layers)} layers from cache",
            )
    step("sbom files", f"wrote {folder}/*.json and *.cdx.json (CycloneDX)")
    return done


def _scan_step(
    store: Store,
    ctx: PipelineContext,
    sboms: list[tuple[DemoImage, ImageSbom]],
    out_dir: Path,
    step: Callable[[str, str], None],
) -> None:
    """Import the bundled advisories, then scan every demo image: ``scan.json`` has the
    shape ``imagetrust scan --format json`` gives several images (``kind: scans``)."""
    from imagetrust.sbom.stored import save_sbom
    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.query import db_status
    from imagetrust.vulndb.scan import scan_sboms
    from imagetrust.vulndb.scan_document import databases, image_document
    from imagetrust.vulndb.stored import save_scan_coverage

    clock = ctx.clock
    total = 0
    for folder in sorted(p for p in (DATA / "vulndb").iterdir() if p.is_dir()):
        imported = import_path(store, folder, now=clock.now(), name=f"demo-{folder.name}")
        total += imported.records
        parts = [f"{name} {number}" for name, number in sorted(imported.per_ecosystem.items())]
        if imported.without_packages:
            parts.append(f"{imported.without_packages} naming no package, for severity")
        step(
            "vulndb",
            f"{imported.name}: imported {imported.records} advisories ({', '.join(parts)}), "
            f"version {imported.version}",
        )
    with store.read() as conn:
        status = db_status(conn)
        scans = list(scan_sboms(conn, [sbom for _, sbom in sboms]))
    step("vulndb", f"{total} advisories in {len(status.live_sources)} sources")
    dbs = databases(status.live_sources)
    documents = []
    for (image, _), scan in zip(sboms, scans, strict=True):
        with store.transaction() as conn:  # stored, so later runs re-match without a layer
            save_sbom(conn, scan.sbom, clock.now())
            save_scan_coverage(conn, scan, dbs, clock.now())
        document = image_document(scan, scan.findings, dbs)
        documents.append(document)
        totals = document["counts"]
        summary = ", ".join(f"{k} {v}" for k, v in totals["all"].items() if v) or "none"
        fixable = sum(totals["fixable"].values())
        covered = scan.coverage
        uncovered = f", {covered.not_covered} packages not covered" if covered.not_covered else ""
        step(
            "scan",
            f"{image.name}:{image.tag} ({scan.sbom.platform}): {len(scan.findings)} findings "
            f"({summary}), {fixable} fixable{uncovered}",
        )
    path = out_dir / "scan.json"
    document = {"schema_version": SUMMARY_SCHEMA_VERSION, "kind": "scans", "images": documents}
    atomic_write_text(path, json.dumps(document, indent=2, default=_json_default) + "\n")
    step("scan.json", f"wrote {path}")


def _evaluate_step(
    store: Store,
    sboms: list[tuple[DemoImage, ImageSbom]],
    home: Path,
    out_dir: Path,
    clock: Clock,
    step: Callable[[str, str], None],
) -> None:
    """Evidence for every demo image, as the catalog repository and tag it stands for."""
    from imagetrust.config import Settings
    from imagetrust.evaluate.eol import load_eol_data
    from imagetrust.evaluate.evidence import EvaluationContext, evaluate_image
    from imagetrust.evaluate.models import Subject
    from imagetrust.evaluate.observe import observe_reference, save_observation
    from imagetrust.evaluate.stored import evidence_document, save_evidence
    from imagetrust.oci.sources import OciSession

    context = EvaluationContext(now=clock.now(), eol_data=load_eol_data(home))
    documents = []
    with OciSession(Settings()) as session:
        for image, sbom in sboms:
            observation = observe_reference(
                session, sbom.reference, sbom.digest, sbom.index_digest, sbom.platform
            )
            with store.transaction() as conn:  # one image, one transaction
                save_observation(conn, observation, clock.now())
                evidence = evaluate_image(
                    conn,
                    sbom,
                    context,
                    subject=Subject(image.name, image.tag),
                    observation=observation,
                )
                save_evidence(conn, evidence)
            documents.append(evidence_document(evidence))
            chain = evidence.supply_chain
            attested = (
                "attested (SBOM, provenance)"
                if chain.sbom and chain.provenance
                else ("no SBOM/provenance attestation")
            )
            support = evidence.tag_support.supported
            tag = {True: "tag supported", False: "tag unsupported", None: "tag unknown"}[support]
            step(
                "evaluate",
                f"{image.name}:{image.tag}: OS {evidence.os.status.value} "
                f"({evidence.os.reason}); {evidence.deprecation.state}, {tag}; "
                f"{'root' if evidence.hygiene.runs_as_root else 'non-root'}; {attested}",
            )
    path = out_dir / "evaluation.json"
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "evaluation",
        "eol_data": {
            "source": context.eol_data.origin,
            "stated_at": str(context.eol_data.stated_at),
        },
        "images": documents,
    }
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    step("evaluation.json", f"wrote {path}")


def _policy_step(
    store: Store, out_dir: Path, clock: Clock, step: Callable[[str, str], None]
) -> None:
    """Every demo image judged by the default policy: verdicts (stored, as ``policy check``
    stores them), grades and reasons; policy.json, and the allowlist pinned by digest."""
    from imagetrust.evaluate.policy.allowlist import allowlist, render_kyverno, render_text
    from imagetrust.evaluate.policy.check import check_document, check_store
    from imagetrust.evaluate.policy.loader import load_policy
    from imagetrust.evaluate.policy.model import ReasonKind
    from imagetrust.evaluate.policy.stored import save_decision
    from imagetrust.evaluate.policy.vex import VexSet

    policy = load_policy()
    with store.read() as conn:
        checked = check_store(conn, policy, now=clock.now())
    with store.transaction() as conn:
        for decision in checked.decisions:
            save_decision(conn, decision)
    for tag in checked.tags:
        shown = [
            r.text
            for d in tag.decisions
            for r in d.reasons
            if r.kind is ReasonKind.FIRED and (r.points or r.blocking or r.never_approved)
        ]
        step(
            "policy",
            f"{tag.name}: {tag.verdict.value}, grade {tag.grade} ({tag.score})"
            + (f": {'; '.join(dict.fromkeys(shown))}" if shown else ""),
        )
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "policy-check",
        **check_document(checked, policy, VexSet(), clock.now(), "rejected"),
    }
    path = out_dir / "policy.json"
    atomic_write_text(path, json.dumps(document, indent=2, default=_json_default) + "\n")
    step("policy.json", f"wrote {path}")
    entries = allowlist(checked.tags)
    atomic_write_text(out_dir / "allowlist.txt", render_text(entries))
    atomic_write_text(
        out_dir / "allowlist.kyverno.yaml",
        render_kyverno(entries, policy=policy, generated_at=clock.now()),
    )
    step(
        "allowlist",
        f"{len(entries)} approved images pinned by digest: wrote {out_dir / 'allowlist.txt'} "
        f"and allowlist.kyverno.yaml",
    )


def _review_step(
    store: Store, out_dir: Path, clock: Clock, step: Callable[[str, str], None]
) -> None:
    """The 2020 review's tables from the demo's store; review.json."""
    from imagetrust.evaluate.policy.stored import current_evidence
    from imagetrust.evaluate.review import build_review

    with store.read() as conn:
        review = build_review(conn, current_evidence(conn), now=clock.now())
    ended = ", ".join(
        f"{row.image}:{row.tag} ({row.os}, ended {row.eol_date})" for row in review.unsupported_os
    )
    deprecated = ", ".join(row.image for row in review.deprecated_published)
    unknown = len(review.unknown)
    step(
        "review",
        f"unsupported OS: {ended or 'none'}; deprecated and still published: "
        f"{deprecated or 'none'}; vulnerabilities ranked for {len(review.most_vulnerable)} "
        f"repositories ({unknown} unknown)",
    )
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "review",
        **review.as_dict(),
    }
    path = out_dir / "review.json"
    atomic_write_text(path, json.dumps(document, indent=2, default=_json_default) + "\n")
    step("review.json", f"wrote {path}")


def _report_step(
    store: Store, out_dir: Path, clock: Clock, step: Callable[[str, str], None]
) -> Path:
    """The report's site from the demo's store (as ``imagetrust report --out``)."""
    from imagetrust.report import write_report

    index = write_report(store, out_dir / "site", now=clock.now())[0]
    step("report", f"wrote the site: {index}")
    return index


def _json_default(value: object) -> object:
    from datetime import date, datetime
    from enum import Enum

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
