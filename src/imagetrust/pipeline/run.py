"""``imagetrust run``: catalog -> resolve -> for each image not yet analysed: SBOM -> match
-> evidence -> verdict -> store; then, with ``--report``, the report's site. Incremental,
resumable, within the pull budget.

- **Incremental.** Everything is keyed by digest. A known image costs no download (not
  even a request when the Hub listed its digest); a changed vulnerability database (another
  set of live source generations than an image's findings came from) re-matches its stored
  SBOM, no download; a layer shared between images is fetched and analysed once per run
  (the engine hands each digest to one worker) and once ever (the layer cache).
- **One transaction per image**: its SBOM, result and findings commit together, so a run
  killed at any point (even with SIGKILL) leaves whole images or none. Started again, a run
  killed part-way *resumes*: the same run row goes on, with the catalog snapshot it had
  already taken (noted in the same transaction as the snapshot), so the store ends exactly
  as an uninterrupted run would have left it. One run at a time per store (a lock that the
  operating system releases when its holder dies).
- **Errors stay with their image**: stored with the reason (and in the run's item errors)
  and retried by the next run; the run goes on and ends ``partial``.
- **The pull budget** stops the run cleanly: the images in flight finish, the rest are
  reported as queued, and the next run starts there (new images of the most pulled
  repositories first).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from imagetrust.failpoints import failpoint
from imagetrust.pipeline.context import PipelineContext
from imagetrust.pipeline.engine import Counters, Failure, RunObserver
from imagetrust.pipeline.shards import ShardSpec
from imagetrust.resolve.models import ResolveRequest

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.catalog.sources import SourceOptions
    from imagetrust.oci.sources import OciSession
    from imagetrust.resolve.models import Resolution
    from imagetrust.store.database import Store

RUN_KIND = "run"
RUN_LOCK = "imagetrust run"
RESUME_WITHIN = timedelta(days=1)  # an older interrupted run is closed, not resumed
DEFAULT_WORKER_MEMORY_MB = 4096


class RunOptions(Struct, frozen=True):
    request: ResolveRequest = field(default_factory=ResolveRequest)
    # Refresh the catalog from these sources first; None: read the stored catalog (and
    # with an images file there is no catalog at all).
    catalog: SourceOptions | None = None
    jobs: int = 1
    worker_memory_mb: int | None = DEFAULT_WORKER_MEMORY_MB
    wait: float = 0.0  # seconds to wait for another run on the same store
    report_dir: Path | None = None
    shard: ShardSpec | None = None  # this job's share of the work (``--shard I/N``)
    # Other scanners run on each analysed image that has no set of theirs yet (``trivy``,
    # ``grype``), after imagetrust's own matching, which always runs: verdicts rest on it.
    engines: tuple[str, ...] = ()
    # Refuse to start when a part of the vulnerability database is older (``--max-db-age``)
    max_db_age: float | None = None

    def parameters(self) -> dict[str, Any]:
        """What the run is: a killed run resumes only if asked the same again."""
        catalog = self.catalog.as_parameters() if self.catalog is not None else None
        parameters: dict[str, Any] = {
            "resolve": self.request.as_parameters(),
            "catalog": catalog,
        }
        if self.shard is not None:
            parameters["shard"] = str(self.shard)
        if self.engines:
            parameters["engines"] = list(self.engines)
        return parameters


class RunSummary(Struct):
    run_id: int
    status: str
    resumed: bool
    snapshot_id: int | None
    tags: int
    targets: int
    counts: Counters
    pulls: list[dict[str, Any]]
    seconds: float
    database: list[list[Any]]
    budget_stop: str | None = None
    failures: list[Failure] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    shard: str | None = None  # "I/N" when the run took one shard's share
    elsewhere: int = 0  # targets resolved here but owned by other shards
    report: str | None = None  # the site's index.html, with --report
    engine_sets: dict[str, int] = field(default_factory=dict)  # other engines' sets added

    @property
    def failed(self) -> int:
        return self.counts.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "resumed": self.resumed,
            "snapshot_id": self.snapshot_id,
            "tags": self.tags,
            "targets": self.targets,
            "images": self.counts.as_dict(),
            "pulls": self.pulls,
            "seconds": round(self.seconds, 3),
            "database": self.database,
            "budget_stop": self.budget_stop,
            "failures": [
                {"image": f.item, "platform": f.platform, "reason": f.reason} for f in self.failures
            ],
            "queued": self.queued,
            "shard": self.shard,
            "targets_elsewhere": self.elsewhere,
            "report": self.report,
            "engine_sets": self.engine_sets,
        }


def run(
    ctx: PipelineContext, options: RunOptions, observer: RunObserver | None = None
) -> RunSummary:
    from imagetrust.store.locks import LockTimeout, exclusive

    watcher = observer or RunObserver()
    with ctx.open_store() as store:
        _check_db_age(ctx, store, options, watcher)
        try:
            with exclusive(store, RUN_LOCK, timeout=options.wait):
                return _locked(ctx, store, options, watcher)
        except LockTimeout:
            from imagetrust.errors import StoreError

            raise StoreError(
                "another `imagetrust run` is working on this store",
                hint="wait for it to finish, or give --wait SECONDS",
            ) from None


def _check_db_age(
    ctx: PipelineContext, store: Store, options: RunOptions, observer: RunObserver
) -> None:
    """Warn about an old database; with ``--max-db-age``, refuse before anything is done
    (no run is recorded, nothing fetched): a scheduled job must not judge on old data."""
    from imagetrust.vulndb.freshness import age_warnings, database_ages, refuse_if_older

    with store.read() as conn:
        ages = database_ages(conn, ctx.clock.now())
    for line in age_warnings(ages, ctx.settings.vulndb.max_age_days):
        observer.warning(line)
    refuse_if_older(ages, options.max_db_age)


def _begin(
    store: Store, ctx: PipelineContext, options: RunOptions
) -> tuple[int, dict[str, Any], bool]:
    """This run's id: a killed run asked the same thing recently goes on, else a new one.

    Holding the run lock, any run still marked running is dead (killed): it is resumed or
    closed as interrupted, with the catalog refreshes it started.
    """
    from imagetrust.store.runs import (
        RunStatus,
        finish_run,
        list_runs,
        record_item_error,
        start_run,
    )

    now = ctx.clock.now()
    parameters = options.parameters()
    with store.transaction() as conn:
        dead = list_runs(conn, kind=RUN_KIND, status=RunStatus.RUNNING, limit=100)
        resumed = None
        for record in dead:
            fresh = abs(now - record.started_at) <= RESUME_WITHIN
            if resumed is None and fresh and record.parameters == parameters:
                resumed = record
                continue
            record_item_error(
                conn, record.id, stage="run", item="*", message="killed; not resumed", now=now
            )
            finish_run(conn, record.id, status=RunStatus.INTERRUPTED, now=now)
        for record in list_runs(conn, kind="catalog", status=RunStatus.RUNNING, limit=100):
            if record.parameters.get("run_id") in {r.id for r in dead}:
                finish_run(conn, record.id, status=RunStatus.INTERRUPTED, now=now)
        if resumed is not None:
            checkpoint = dict((resumed.summary or {}).get("checkpoint") or {})
            return resumed.id, checkpoint, True
        return start_run(conn, RUN_KIND, parameters, now), {}, False


def _locked(
    ctx: PipelineContext, store: Store, options: RunOptions, observer: RunObserver
) -> RunSummary:
    from imagetrust.store.runs import RunStatus, finish_run, record_item_error

    started = time.monotonic()
    run_id, checkpoint, resumed = _begin(store, ctx, options)
    if resumed:
        observer.note(f"resuming run #{run_id}, interrupted before it finished")
    try:
        summary = _stages(ctx, store, options, observer, run_id, checkpoint, started)
        summary.resumed = resumed
    except BaseException as exc:
        now = ctx.clock.now()
        message = str(getattr(exc, "message", None) or exc or type(exc).__name__)
        with store.transaction() as conn:
            record_item_error(conn, run_id, stage="run", item="*", message=message, now=now)
            interrupted = isinstance(exc, KeyboardInterrupt)
            status = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
            finish_run(conn, run_id, status=status, now=now)
        raise
    failpoint("run.finish")
    status = RunStatus.PARTIAL if summary.failed else RunStatus.SUCCEEDED
    summary.status = status.value
    with store.transaction() as conn:
        finish_run(conn, run_id, status=status, now=ctx.clock.now(), summary=summary.as_dict())
    if options.report_dir is not None:
        summary.report = str(_report(ctx, store, options.report_dir))
    return summary


def _report(ctx: PipelineContext, store: Store, folder: Path) -> Path:
    """The site, from the store as this run left it (the default policy, the run's clock);
    returns its ``index.html``."""
    from imagetrust.report import write_report

    return write_report(store, folder, now=ctx.clock.now())[0]


def _catalog(
    ctx: PipelineContext,
    store: Store,
    options: RunOptions,
    observer: RunObserver,
    run_id: int,
    checkpoint: dict[str, Any],
) -> int | None:
    """Refresh the catalog, or reuse the snapshot the interrupted run had already taken."""
    from imagetrust.pipeline.catalog import refresh
    from imagetrust.store.runs import update_summary

    if options.request.images_file is not None or options.catalog is None:
        return None
    if checkpoint.get("snapshot_id") is not None:
        observer.note(f"catalog: snapshot #{checkpoint['snapshot_id']} taken before the stop")
        return int(checkpoint["snapshot_id"])
    observer.stage("catalog", 0, None)

    def progress(task: str, done: int, total: int | None) -> None:
        observer.stage(f"catalog: {task}", done, total)

    def note(conn: Any, snapshot: Any) -> None:
        update_summary(conn, run_id, {"checkpoint": {"snapshot_id": snapshot.id}})

    result = refresh(
        ctx,
        store,
        options.catalog,
        progress=progress,
        parameters={**options.catalog.as_parameters(), "run_id": run_id},
        on_recorded=note,
    )
    observer.stage("catalog", 1, 1)
    if result.problems:
        observer.note(f"catalog: {len(result.problems)} source items could not be read")
    return result.snapshot.id


def _resolve(
    ctx: PipelineContext,
    store: Store,
    session: OciSession,
    options: RunOptions,
    observer: RunObserver,
    run_id: int,
    counters: Counters,
    failures: list[Failure],
) -> tuple[Resolution, int]:
    """The targets to work on, and how many others belong to other shards."""
    from imagetrust.resolve.resolver import resolve
    from imagetrust.store.runs import record_item_error

    resolution = resolve(
        store,
        options.request,
        session,
        now=ctx.clock.now(),
        progress=lambda done, total: observer.stage("resolve", done, total),
    )
    elsewhere = 0
    if options.shard is not None:
        from imagetrust.pipeline.shards import take_share

        share = take_share(resolution, options.shard)
        observer.note(
            f"shard {options.shard}: {len(share.resolution.targets)} of "
            f"{len(resolution.targets)} images ({share.units} units) are this shard's"
        )
        elsewhere = share.targets_elsewhere
        resolution = share.resolution
    if resolution.problems:
        now = ctx.clock.now()
        with store.transaction() as conn:
            for problem in resolution.problems:
                record_item_error(
                    conn,
                    run_id,
                    stage="resolve",
                    item=problem.item,
                    message=problem.message,
                    now=now,
                )
        for problem in resolution.problems:
            failures.append(Failure(problem.item, "*", problem.message))
            observer.image(problem.item, "failed", problem.message)
        counters.failed += len(resolution.problems)
    for note in resolution.notes:
        observer.note(note)
    return resolution, elsewhere


def _stages(
    ctx: PipelineContext,
    store: Store,
    options: RunOptions,
    observer: RunObserver,
    run_id: int,
    checkpoint: dict[str, Any],
    started: float,
) -> RunSummary:
    from imagetrust.oci.sources import OciSession
    from imagetrust.pipeline.engine import Engine
    from imagetrust.pipeline.plan import Uncovered, make_plan
    from imagetrust.vulndb.query import live_generations

    counters = Counters()
    failures: list[Failure] = []
    snapshot_id = _catalog(ctx, store, options, observer, run_id, checkpoint)
    with OciSession(ctx.settings) as session:
        resolution, elsewhere = _resolve(
            ctx, store, session, options, observer, run_id, counters, failures
        )
        from imagetrust.pipeline.evaluation import EvaluateStep

        engine = Engine(
            ctx,
            store,
            session,
            run_id=run_id,
            request=options.request,
            jobs=options.jobs,
            memory_mb=options.worker_memory_mb,
            observer=observer,
            counters=counters,
            failures=failures,
            post_steps=[EvaluateStep.for_run(ctx)],
        )
        try:
            with store.read() as conn:
                key = live_generations(conn)
                plan = make_plan(
                    conn,
                    resolution,
                    options.request,
                    analyser_version=engine.analyser_version,
                    db_key=key,
                    candidates=_candidates_if_ordering_matters(conn, resolution, ctx),
                )
            if not key:
                observer.note("the vulnerability database is empty: images get no findings")
            uncovered = [
                Uncovered(n.digest, n.platform, None, n.reason)
                for n in resolution.not_covered
                if n.digest is not None
            ]
            engine.not_covered(uncovered + plan.not_covered)
            counters.not_covered += len([n for n in resolution.not_covered if n.digest is None])
            counters.unchanged += len(plan.unchanged)
            missing = engine.match_stored(plan.match)
            engine.analyse(plan.analyse + missing)
        finally:
            engine.close()
        engine_sets = _other_engines(
            ctx, store, options, observer, run_id, resolution, counters, failures
        )
        pulls = session.budget.snapshot()
    return RunSummary(
        run_id=run_id,
        status="running",
        resumed=False,
        snapshot_id=snapshot_id or resolution.snapshot_id,
        tags=resolution.tags,
        targets=len(resolution.targets),
        counts=counters,
        pulls=pulls,
        seconds=time.monotonic() - started,
        database=[list(item) for item in key],
        budget_stop=engine.budget_stop,
        failures=failures,
        queued=[work.label for work in engine.queued],
        shard=str(options.shard) if options.shard is not None else None,
        elsewhere=elsewhere,
        engine_sets=engine_sets,
    )


def _other_engines(
    ctx: PipelineContext,
    store: Store,
    options: RunOptions,
    observer: RunObserver,
    run_id: int,
    resolution: Resolution,
    counters: Counters,
    failures: list[Failure],
) -> dict[str, int]:
    """``--engine trivy|grype``: each analysed image without that engine's set gets one; a
    tool that fails on an image is that image's failure (recorded, retried next run)."""
    if not options.engines:
        return {}
    from imagetrust.pipeline.engines import run_engines
    from imagetrust.store.runs import record_item_error
    from imagetrust.vulndb.engines import EngineName

    added: dict[str, int] = {}
    for name in options.engines:
        observer.stage(f"engine {name}", 0, None)
        count, problems = run_engines(
            ctx, store, resolution.targets, [EngineName(name)], on_image=observer.image
        )
        added[name] = count
        if problems:
            now = ctx.clock.now()
            with store.transaction() as conn:
                for problem in problems:
                    record_item_error(
                        conn,
                        run_id,
                        stage="engine",
                        item=problem.item,
                        message=problem.reason,
                        now=now,
                    )
            failures.extend(Failure(p.item, p.platform, p.reason) for p in problems)
            counters.failed += len(problems)
        observer.stage(f"engine {name}", 1, 1)
    return added


def _candidates_if_ordering_matters(
    conn: Connection, resolution: Resolution, ctx: PipelineContext
) -> frozenset[tuple[str, str]]:
    """Recommended candidates not yet assessed, when the store has verdicts to recommend
    from and the run has more than one image: judging the store costs a read of every
    evidence row, which a first run (nothing judged) or a one-image run need not pay."""
    from sqlalchemy import select

    from imagetrust.pipeline.plan import recommended_candidates
    from imagetrust.store.schema import image_evidence

    if len(resolution.targets) < 2:
        return frozenset()
    if conn.execute(select(image_evidence.c.id).limit(1)).first() is None:
        return frozenset()
    return recommended_candidates(conn, ctx.clock.now())
