"""The complete demo: ``imagetrust run`` twice, a week apart, offline, on bundled data.

The week is the bundled data's own (the catalog, the Hub recording and the end-of-life
data are of August 2026): the second run is on 2026-08-31 and the first a week before,
unless the clock says otherwise (``--now`` is the second run's day). What it does:

1. builds its images (``demo/images.py``) and serves them on loopback from the real
   ``docker-registry`` when it is installed, else from their OCI layouts through a
   read-only server (``testkit/registry.py``); it says which;
2. week one: imports the bundled advisories, runs ``run`` over the catalog (the bundled
   library files, docs and Hub recording) for the repositories it built, then observes
   each image's attestations (``evaluate``) and judges them (``policy check``);
3. week two: ``debian:12`` was rebuilt upstream (a new digest on the Hub and in the
   registry), the Alpine source gained an advisory and an AlmaLinux source appeared; the
   same again;
4. ``diff`` between the two runs, the verdict history and pull trends (``history.json``),
   and the report's site (``site/index.html``, as ``imagetrust report --out`` writes it).

The demo records itself as a run in the store like any real run, and writes
``summary.json`` (the same JSON conventions as every command) with commands to paste.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagetrust import __version__
from imagetrust.clock import Clock, parse_instant
from imagetrust.fsutil import atomic_write_text
from imagetrust.store.url import redact_url, resolve_db_url

if TYPE_CHECKING:
    from imagetrust.demo.images import DemoImage
    from imagetrust.evaluate.policy.check import PolicyCheck
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.pipeline.run import RunSummary
    from imagetrust.store.database import Store

SUMMARY_SCHEMA_VERSION = 1
DATA = Path(__file__).parent / "data"
DEMO_DAY = "2026-08-31T08:00:00Z"  # the second run, unless --now names another day
WEEK = timedelta(days=7)
REPOSITORIES = ("alpine", "almalinux", "debian", "node", "openjdk")


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
    runs: list[int] = field(default_factory=list)  # the two ``run``s, oldest first
    served_by: str = ""  # "docker-registry" or "oci-layouts"
    report_index: Path | None = None
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def summary_path(self) -> Path:
        return self.out_dir / "summary.json"


StepFn = Callable[[str, str], None]


def demo_days(clock: Clock) -> tuple[datetime, datetime]:
    """The first and second runs' times: a week apart, the second on the clock's day."""
    second = clock.fixed if clock.fixed is not None else parse_instant(DEMO_DAY)
    return second - WEEK, second


def run_demo(
    *,
    out_dir: Path,
    home: Path,
    db_url: str,
    clock: Clock,
    on_step: Callable[[DemoStep], None] | None = None,
) -> DemoResult:
    """Run the whole product twice on the bundled fixtures; safe to run again on the same
    folders (the second time, nothing is downloaded or analysed again)."""
    from imagetrust.config import Settings
    from imagetrust.paths import HomeLayout
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.store.runs import RunStatus, finish_run, record_item_error, start_run

    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out_dir=out_dir.resolve(), home=home, store_url=redact_url(db_url))
    first, second = demo_days(clock)
    # The demo ignores the user's settings: it is offline and must run the same everywhere.
    ctx = PipelineContext(
        home=HomeLayout(home), settings=Settings(), clock=Clock(first), db_url=db_url
    )
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
            parameters = {"out_dir": str(result.out_dir), "weeks": [str(first), str(second)]}
            result.run_id = start_run(conn, "demo", parameters, first)
        step("run", f"recorded as run #{result.run_id}")
        try:
            _weeks(store, ctx, result, step, (first, second))
            result.seconds = time.monotonic() - started
            _finish(store, result, step, own_store, second)
        except BaseException as exc:
            # The run was committed as running before any step: say how it ended, or it
            # stays "running" in the store for good.
            with store.transaction() as conn:
                message = str(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
                record_item_error(
                    conn, result.run_id, stage="demo", item="*", message=message, now=second
                )
                interrupted = isinstance(exc, KeyboardInterrupt)
                status = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
                finish_run(conn, result.run_id, status=status, now=second)
            raise
    return result


def _weeks(
    store: Store,
    ctx: PipelineContext,
    result: DemoResult,
    step: StepFn,
    days: tuple[datetime, datetime],
) -> None:
    """Build and serve the images, then each week: database, run, evaluation, verdicts."""
    from msgspec.structs import replace

    from imagetrust.config import RegistrySettings, Settings
    from imagetrust.demo.images import build_demo_images, write_layouts

    weeks = {1: build_demo_images(1), 2: build_demo_images(2)}
    _images_step(weeks[1], step)
    layouts = write_layouts(weeks[1], result.out_dir / "images")
    with _serve(weeks[1], layouts, result, step) as (url, publish):
        settings = Settings(registry=RegistrySettings(default=url))
        for week, day in ((1, days[0]), (2, days[1])):
            dated = replace(ctx, settings=settings, clock=Clock(day))
            images = weeks[week]
            if week == 2:
                rebuilt = [i for i in images if i.digest not in {o.digest for o in weeks[1]}]
                write_layouts(rebuilt, result.out_dir / "images")
                publish(rebuilt)
                step(
                    "rebuilt",
                    ", ".join(f"{i.label} -> {i.digest[:19]}…" for i in rebuilt)
                    + " (rebuilt upstream: the Hub lists the new digest, the registry has it)",
                )
            _vulndb_step(store, dated, week, result.out_dir, step)
            summary = _run_step(dated, week, images, result, step)
            result.runs.append(summary.run_id)
            _evaluate_step(store, dated, images, step)
            _policy_step(store, dated, result.out_dir, step)


# --------------------------------------------------------------------------- images


def _images_step(images: Sequence[DemoImage], step: StepFn) -> None:
    from imagetrust.testkit.builder import BuiltIndex

    for image in images:
        built = image.built
        if isinstance(built, BuiltIndex):
            platforms = ", ".join(str(i.platform) for i in built.images)
            extra = f"; {len(built.attestations)} attestations"
        else:
            platforms, extra = str(built.platform), ""
        step(
            "image",
            f"{image.name}:{'/'.join(image.tags)} {image.digest[:19]}… {platforms}{extra} "
            f"({image.description})",
        )


class _Served:
    """A context manager yielding the registry URL and a function that publishes images."""

    def __init__(
        self,
        images: Sequence[DemoImage],
        layouts: dict[str, Path],
        result: DemoResult,
        step: StepFn,
    ) -> None:
        self.images = images
        self.layouts = layouts
        self.result = result
        self.step = step
        self._stack: Any = None

    def __enter__(self) -> tuple[str, Callable[[Sequence[DemoImage]], None]]:
        import contextlib

        from imagetrust.testkit.registry import (
            LayoutRegistry,
            docker_registry,
            find_registry_binary,
        )

        self._stack = contextlib.ExitStack()
        binary = find_registry_binary()
        if binary is not None:
            try:
                url = self._stack.enter_context(docker_registry(binary))
            except RuntimeError as exc:
                self.step("registry", f"{binary} did not start ({exc}); using the OCI layouts")
            else:
                self._push(url, self.images)
                self.result.served_by = "docker-registry"
                self.step(
                    "registry",
                    f"{binary} on {url}: pushed {len(self.images)} images "
                    "(Docker Hub's registry for this demo)",
                )
                return url, lambda images: self._push(url, images)
        server = self._stack.enter_context(LayoutRegistry(self.layouts))
        self.result.served_by = "oci-layouts"
        self.step(
            "registry",
            f"docker-registry is not installed: serving the OCI layouts under "
            f"{self.result.out_dir / 'images'} read-only on {server.url}",
        )
        return server.url, lambda images: None  # the layouts were rewritten: served as is

    def _push(self, url: str, images: Sequence[DemoImage]) -> None:
        from imagetrust.config import Settings
        from imagetrust.oci.sources import OciSession
        from imagetrust.testkit.push import push

        netloc = url.split("://", 1)[1]
        with OciSession(Settings(), mirrors={}) as session:
            client = session.client(netloc)
            for image in images:
                for tag in image.tags:
                    push(image.built, client, f"library/{image.name}", tag=tag)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _serve(
    images: Sequence[DemoImage], layouts: dict[str, Path], result: DemoResult, step: StepFn
) -> _Served:
    return _Served(images, layouts, result, step)


# --------------------------------------------------------------------------- each week


def _vulndb_step(
    store: Store, ctx: PipelineContext, week: int, out_dir: Path, step: StepFn
) -> None:
    """Week one: the bundled sources. Week two: each source with the second week's records
    laid over it (a changed source gets a new generation; a new one appears)."""
    import shutil

    from imagetrust.vulndb.importer import import_path
    from imagetrust.vulndb.query import db_status

    folders = {p.name: p for p in (DATA / "vulndb").iterdir() if p.is_dir()}
    if week == 2:
        assembled = out_dir / "vulndb-week2"
        shutil.rmtree(assembled, ignore_errors=True)
        for change in sorted(p for p in (DATA / "vulndb-week2").iterdir() if p.is_dir()):
            target = assembled / change.name
            if change.name in folders:
                shutil.copytree(folders[change.name], target)
            else:
                target.mkdir(parents=True)
            for record in change.iterdir():
                shutil.copyfile(record, target / record.name)
            folders[change.name] = target
        folders = {name: folders[name] for name in sorted(p.name for p in assembled.iterdir())}
    for name, folder in sorted(folders.items()):
        imported = import_path(store, folder, now=ctx.clock.now(), name=f"demo-{name}")
        parts = [f"{eco} {number}" for eco, number in sorted(imported.per_ecosystem.items())]
        if imported.without_packages:
            parts.append(f"{imported.without_packages} naming no package, for severity")
        step(
            "vulndb",
            f"{imported.name}: imported {imported.records} advisories ({', '.join(parts)}), "
            f"version {imported.version}",
        )
    with store.read() as conn:
        status = db_status(conn)
    total = sum(s.records for s in status.live_sources)
    step("vulndb", f"{total} advisories in {len(status.live_sources)} sources")


def _run_step(
    ctx: PipelineContext,
    week: int,
    images: Sequence[DemoImage],
    result: DemoResult,
    step: StepFn,
) -> RunSummary:
    """``imagetrust run`` over the demo's repositories: every tag the Hub listed, every
    linux platform, the catalog refreshed from the bundled sources."""
    from imagetrust.demo.recording import week_recording
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.pipeline.catalog import source_options
    from imagetrust.pipeline.run import RunOptions, run
    from imagetrust.resolve.models import ResolveRequest, StateFilter, TagPolicy

    hub = week_recording(result.out_dir, week, images)
    options = RunOptions(
        request=ResolveRequest(
            tags=TagPolicy.ALL,
            selection=PlatformSelection.parse("all"),
            repositories=REPOSITORIES,
            state=StateFilter.ALL,
        ),
        catalog=source_options(
            ctx,
            offline=True,
            library_dir=DATA / "official-images",
            docs_dir=DATA / "docs",
            hub_recording=hub,
        ),
        jobs=1,
        worker_memory_mb=None,
    )
    summary = run(ctx, options)
    counts = summary.counts
    path = result.out_dir / f"run-week{week}.json"
    document = {"schema_version": SUMMARY_SCHEMA_VERSION, "kind": "run", **summary.as_dict()}
    atomic_write_text(path, json.dumps(document, indent=2, default=_json_default) + "\n")
    step(
        "run",
        f"week {week} ({ctx.clock.now():%Y-%m-%d}): run #{summary.run_id} {summary.status}: "
        f"{summary.targets} images from {summary.tags} tags; {counts.new} new, "
        f"{counts.rematched} re-matched, {counts.unchanged} unchanged, {counts.failed} failed; "
        f"{counts.layers_fetched} layers fetched ({counts.bytes_fetched} bytes), "
        f"{counts.layers_cached} from the cache; {sum(q['pulls'] for q in summary.pulls)} pulls",
    )
    return summary


def _evaluate_step(
    store: Store, ctx: PipelineContext, images: Sequence[DemoImage], step: StepFn
) -> None:
    """``evaluate`` of this week's images: ``run`` reads no index it does not need, so the
    attestations each index carries are observed here (once per image, then stored)."""
    from imagetrust.evaluate.batch import evaluate_stored
    from imagetrust.evaluate.eol import EolPolicy, load_eol_data
    from imagetrust.evaluate.evidence import EvaluationContext
    from imagetrust.evaluate.observe import observe_reference
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.models import ImageSbom

    context = EvaluationContext(
        now=ctx.clock.now(),
        eol_data=load_eol_data(ctx.home.root),
        eol_policy=EolPolicy.of(ctx.settings.eol.until_eoes),
    )
    with OciSession(ctx.settings) as session:

        def observe(sbom: ImageSbom) -> Any:
            return observe_reference(
                session, sbom.reference, sbom.digest, sbom.index_digest, sbom.platform
            )

        evaluated = evaluate_stored(
            store, context, refs=[i.digest for i in images], observe=observe
        )
    for evidence in evaluated.evidence:
        subject = evidence.subject
        name = f"{subject.repository}:{subject.tag}" if subject is not None else evidence.reference
        chain = evidence.supply_chain
        attested = "attested" if chain.sbom and chain.provenance else "no attestations"
        support = {True: "tag supported", False: "tag unsupported", None: "tag unknown"}[
            evidence.tag_support.supported
        ]
        step(
            "evaluate",
            f"{name} {evidence.platform}: OS {evidence.os.status.value} ({evidence.os.reason}); "
            f"{evidence.deprecation.state}, {support}; "
            f"{'root' if evidence.hygiene.runs_as_root else 'non-root'}"
            + (
                f", secret-looking ENV {', '.join(evidence.hygiene.secret_env_names)}"
                if evidence.hygiene.secret_env_names
                else ""
            )
            + f"; {attested}",
        )
    for problem in evaluated.problems:
        step("evaluate", f"problem: {problem.item}: {problem.message}")


def _policy_step(store: Store, ctx: PipelineContext, out_dir: Path, step: StepFn) -> None:
    """Every current image judged by the default policy and the verdicts stored, as
    ``policy check`` does; policy.json and the allowlist (the newest week's)."""
    from imagetrust.evaluate.policy.allowlist import allowlist, render_kyverno, render_text
    from imagetrust.evaluate.policy.check import check_document, check_store
    from imagetrust.evaluate.policy.loader import load_policy
    from imagetrust.evaluate.policy.model import ReasonKind
    from imagetrust.evaluate.policy.stored import save_decision
    from imagetrust.evaluate.policy.vex import VexSet
    from imagetrust.store.runs import RunStatus, finish_run, start_run

    now = ctx.clock.now()
    policy = load_policy()
    with store.read() as conn:
        checked = check_store(conn, policy, now=now)
    with store.transaction() as conn:
        run_id = start_run(conn, "policy-check", {"policy": policy.source, "demo": True}, now)
        for decision in checked.decisions:
            save_decision(conn, decision)
        finish_run(conn, run_id, status=RunStatus.SUCCEEDED, now=now, summary=checked.counts())
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
        **check_document(checked, policy, VexSet(), now, "rejected"),
    }
    atomic_write_text(
        out_dir / "policy.json", json.dumps(document, indent=2, default=_json_default) + "\n"
    )
    _recommend_step(store, checked, out_dir, step, now)
    entries = allowlist(checked.tags)
    atomic_write_text(out_dir / "allowlist.txt", render_text(entries))
    atomic_write_text(
        out_dir / "allowlist.kyverno.yaml",
        render_kyverno(entries, policy=policy, generated_at=now),
    )


def _recommend_step(
    store: Store, checked: PolicyCheck, out_dir: Path, step: StepFn, now: datetime
) -> None:
    """What to use instead of each tag that is not approved (``imagetrust recommend``):
    debian:10 gets debian:12, judged in the same run; openjdk the replacements its notice
    names; recommendations.json."""
    from imagetrust.evaluate.recommend.build import recommend

    with store.read() as conn:
        found = recommend(conn, checked, now=now)
    for recommendation in found:
        first = [a.line() for a in recommendation.alternatives[:1]]
        first += [n.line() for n in recommendation.not_assessed[:1]]
        step(
            "recommend",
            f"{recommendation.name}: instead "
            + ("; ".join(first) or f"nothing better ({recommendation.reason})"),
        )
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "recommendations",
        "decided_at": now,
        "recommendations": [r.as_dict() for r in found],
    }
    atomic_write_text(
        out_dir / "recommendations.json",
        json.dumps(document, indent=2, default=_json_default) + "\n",
    )


# --------------------------------------------------------------------------- afterwards


def _finish(store: Store, result: DemoResult, step: StepFn, own_store: bool, now: datetime) -> None:
    """The diff, the history, the report, the summary; the run's end."""
    from imagetrust.store.runs import RunStatus, finish_run

    out = result.out_dir
    _diff_step(store, result, step, now)
    _history_step(store, out, step, now)
    _catalog_file(store, out, now)
    _review_file(store, out, now)
    result.outputs = sorted(
        p
        for p in out.iterdir()
        if p.is_file()
        and p.suffix in (".json", ".md", ".txt", ".yaml")
        and p.name != "summary.json"
    )
    result.report_index = _report(store, out, now)
    step("report", f"wrote the site: {result.report_index}")
    step(
        "outputs",
        f"{len(result.outputs)} files in {out}: " + ", ".join(p.name for p in result.outputs),
    )
    result.next_commands = _next_commands(result, own_store)
    # The summary's own step goes in before it is written, so the file lists every step
    # the terminal showed.
    step("summary", f"wrote {result.summary_path}")
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "demo-summary",
        "imagetrust_version": __version__,
        "generated_at": now.isoformat(),
        "run_id": result.run_id,
        "runs": result.runs,
        "served_by": result.served_by,
        "store": result.store_url,
        "seconds": round(result.seconds, 1),
        "report": str(result.report_index) if result.report_index is not None else None,
        "outputs": [str(p) for p in result.outputs],
        "steps": [asdict(s) for s in result.steps],
        "next_commands": result.next_commands,
    }
    atomic_write_text(result.summary_path, json.dumps(summary, indent=2) + "\n")
    with store.transaction() as conn:
        finish_run(
            conn,
            result.run_id,
            status=RunStatus.SUCCEEDED,
            now=now,
            summary={"steps": [s.name for s in result.steps], "runs": result.runs},
        )


def _report(store: Store, out_dir: Path, now: datetime) -> Path:
    """The report's site from the demo's store (as ``imagetrust report --out``): its
    ``index.html``."""
    from imagetrust.report import write_report

    return write_report(store, out_dir / "site", now=now)[0]


def _diff_step(store: Store, result: DemoResult, step: StepFn, now: datetime) -> None:
    """``imagetrust diff`` between the two runs: diff.json and diff.md."""
    from imagetrust.evaluate.diff.baseline import default_baseline
    from imagetrust.evaluate.diff.compute import diff_store
    from imagetrust.evaluate.diff.markdown import diff_markdown

    with store.read() as conn:
        diff = diff_store(conn, default_baseline(conn, now), now)
    document = {"schema_version": SUMMARY_SCHEMA_VERSION, "kind": "diff", **diff.as_dict()}
    out = result.out_dir
    atomic_write_text(
        out / "diff.json", json.dumps(document, indent=2, default=_json_default) + "\n"
    )
    atomic_write_text(out / "diff.md", diff_markdown(diff) + "\n")
    parts = [f"{n} {k.replace('_', ' ')}" for k, n in diff.counts().items() if n]
    moved = ", ".join(f"{t.image}:{t.tag}" for t in diff.tags_moved)
    verdicts = ", ".join(
        f"{v.image}:{v.tag} {v.before.verdict if v.before else 'new'} -> {v.after.verdict}"
        for v in diff.verdicts
    )
    step(
        "diff",
        f"since {diff.baseline.basis}: {', '.join(parts) or 'no changes'}"
        + (f"; moved: {moved}" if moved else "")
        + (f"; verdicts: {verdicts}" if verdicts else ""),
    )


def _history_step(store: Store, out_dir: Path, step: StepFn, now: datetime) -> None:
    """The trend: each judged tag's verdicts and digests over time, and pulls per day per
    repository between the catalog snapshots (history.json)."""
    from imagetrust.catalog.snapshots import latest_snapshot, pull_deltas
    from imagetrust.evaluate.policy.stored import current_evidence, decision_history

    with store.read() as conn:
        subjects = sorted(
            {
                (e.subject.repository, e.subject.tag or "")
                for e in current_evidence(conn)
                if e.subject is not None
            }
        )
        tags: dict[str, list[dict[str, Any]]] = {}
        for repository, tag in subjects:
            for decision in decision_history(conn, repository=repository, tag=tag or None):
                tags.setdefault(f"{repository}:{tag}", []).append(
                    {
                        "decided_at": decision.decided_at,
                        "platform": decision.platform,
                        "digest": decision.digest,
                        "verdict": decision.verdict.value,
                        "grade": decision.grade,
                        "score": decision.score,
                    }
                )
        snapshot = latest_snapshot(conn, at_or_before=now)
        deltas = pull_deltas(conn, snapshot) if snapshot is not None else {}
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "demo-history",
        "tags": tags,
        "pulls": {name: delta.as_dict() for name, delta in sorted(deltas.items())},
    }
    atomic_write_text(
        out_dir / "history.json", json.dumps(document, indent=2, default=_json_default) + "\n"
    )
    trend = ", ".join(
        f"{name} {delta.per_day:,.0f}/day"
        for name, delta in sorted(deltas.items())
        if name in REPOSITORIES and delta.per_day is not None
    )
    changed = [
        f"{name} {history[0]['verdict']} -> {history[-1]['verdict']}"
        for name, history in tags.items()
        if history[0]["verdict"] != history[-1]["verdict"]
    ]
    step(
        "history",
        f"{len(tags)} tags judged twice or more; verdicts changed: {', '.join(changed) or 'none'}"
        f"; pulls: {trend or 'unknown'}",
    )


def _catalog_file(store: Store, out_dir: Path, now: datetime) -> None:
    from imagetrust.catalog.snapshots import latest_snapshot, pull_deltas, snapshot_entries
    from imagetrust.catalog.views import catalog_view

    with store.read() as conn:
        snapshot = latest_snapshot(conn, at_or_before=now)
        if snapshot is None:
            return
        entries = snapshot_entries(conn, snapshot.id)
        deltas = pull_deltas(conn, snapshot)
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kind": "catalog",
        **catalog_view(snapshot, entries, deltas),
    }
    atomic_write_text(
        out_dir / "catalog.json", json.dumps(document, indent=2, default=_json_default) + "\n"
    )


def _review_file(store: Store, out_dir: Path, now: datetime) -> None:
    """The 2020 review's tables over the newest evidence (review.json)."""
    from imagetrust.evaluate.policy.stored import current_evidence
    from imagetrust.evaluate.review import build_review

    with store.read() as conn:
        review = build_review(conn, current_evidence(conn), now=now)
    document = {"schema_version": SUMMARY_SCHEMA_VERSION, "kind": "review", **review.as_dict()}
    atomic_write_text(
        out_dir / "review.json", json.dumps(document, indent=2, default=_json_default) + "\n"
    )


def _next_commands(result: DemoResult, own_store: bool) -> list[str]:
    """Commands to paste against the demo's store (its images by their OCI layouts: the
    demo's registry stops with it).

    Without ``--home`` a command would open the default home, not the demo's store. A
    store given by URL is named by its redacted URL (the password is the user's to add).
    """
    import shlex

    base = f"imagetrust --home {shlex.quote(str(result.home.resolve()))}"
    if not own_store:
        base += f" --db-url {shlex.quote(result.store_url)}"
    layouts = result.out_dir / "images"
    first_run = result.runs[0]
    alpine = shlex.quote(f"oci-layout:{layouts / 'alpine'}:3.16")
    debian = shlex.quote(f"oci-layout:{layouts / 'debian'}:12")
    return [
        f"{base} diff --since {first_run}",
        f"{base} show debian:12",
        f"{base} recommend debian:10",
        f"{base} allowlist",
        f"{base} scan {alpine}",
        f"{base} inspect {debian} --platform all",
        f"{base} catalog --no-refresh --show pulls",
        f"{base} store status",
    ]


def _json_default(value: object) -> object:
    from datetime import date
    from enum import Enum

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
