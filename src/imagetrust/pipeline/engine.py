"""The analysis loop of a run: manifests here, layers in workers, one transaction per image.

The main process reads indexes and manifests (each GET is a pull, counted by the one pull
budget of the run), hands each layer the cache lacks to the workers once (however many
images share it), and keeps a window of images in flight. When all of an image's layers
are in the cache it builds the SBOM from them, matches it against the database in one read
snapshot, and writes the SBOM, the result and the findings in one transaction. A failure
is that image's: it is stored with its reason and the loop goes on. When the pull budget
runs out, the loop finishes the images already in flight and leaves the rest queued.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field
from msgspec.structs import replace

from imagetrust.errors import ImagetrustError
from imagetrust.failpoints import failpoint
from imagetrust.oci.errors import OciError, PullBudgetExhaustedError
from imagetrust.oci.image import (
    PlatformImage,
    PlatformSelection,
    ResolvedImage,
    load_platform_image,
    platform_entries,
    read_top,
)
from imagetrust.oci.models import Descriptor, ImageIndex, Platform
from imagetrust.oci.reference import ImageReference
from imagetrust.pipeline.plan import ImageWork, Uncovered, choose, split_platforms
from imagetrust.pipeline.results import (
    DbKey,
    PlatformRow,
    PostAnalysisStep,
    ResultStatus,
    record_analysed,
    record_failed,
    record_not_covered,
    record_platforms,
)
from imagetrust.pipeline.workers import LayerOutcome, LayerTask, analyse_layer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from imagetrust.oci.sources import ImageSource, OciSession
    from imagetrust.pipeline.context import PipelineContext
    from imagetrust.resolve.models import ResolveRequest
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.store.database import Store
    from imagetrust.vulndb.scan import AdvisoryLookup, ImageScan, SharedAdvisories

log = logging.getLogger(__name__)

# the source of an observation ``run`` recorded from an index (attestation types not read)
RUN_OBSERVATION = "run (attestation manifests listed, not read): "
MATCH_BATCH = 50  # stored SBOMs matched per read snapshot


class Counters(Struct):
    new: int = 0  # analysed for the first time (downloaded, or a stored SBOM used)
    unchanged: int = 0  # nothing to do
    rematched: int = 0  # the database changed: matched again, no download
    failed: int = 0
    queued: int = 0  # left for the next run (the pull budget ran out)
    not_covered: int = 0
    bytes_fetched: int = 0  # blob bytes downloaded (layers and configs)
    layers_fetched: int = 0
    layers_cached: int = 0

    def as_dict(self) -> dict[str, int]:
        from msgspec.structs import asdict

        return asdict(self)


class Failure(Struct, frozen=True):
    item: str
    platform: str
    reason: str


class RunObserver:
    """What a run tells whoever watches it; the command line draws it, tests record it."""

    def stage(self, name: str, done: int, total: int | None) -> None:
        """Progress of one stage (catalog, resolve, match, analyse)."""

    def image(self, label: str, outcome: str, detail: str) -> None:
        """One image finished: new, rematched, failed, not-covered."""

    def note(self, text: str) -> None:
        """Something worth a line: a resumed run, an empty database, a budget stop."""

    def warning(self, text: str) -> None:
        """Something that may make the results wrong: an old vulnerability database."""
        self.note(f"warning: {text}")


class _InFlight(Struct):
    work: ImageWork
    source: ImageSource
    image: PlatformImage
    futures: list[Future[LayerOutcome]] = field(default_factory=list)

    def ready(self) -> bool:
        return all(f.done() for f in self.futures)


class _Opening(Struct):
    """An image whose manifest and config a fetch thread is reading."""

    work: ImageWork
    future: Future[tuple[ImageSource, PlatformImage]]


class _Progress(Struct):
    any: bool = False  # an image started or failed: the loop goes round again at once
    failed: int = 0


def _fetched_ahead(work: ImageWork) -> bool:
    """Whether ``work``'s manifest can be fetched ahead on a thread: a platform manifest
    known by digest, in a registry (an index is read here, as its platforms go to the store;
    a local layout or archive costs no round trip)."""
    return not work.needs_index and isinstance(work.target.reference, ImageReference)


def _platform_image(work: ImageWork, source: ImageSource) -> PlatformImage:
    """``work``'s platform manifest and config, read by digest; a manifest for another
    platform than the one planned is an error on that image."""
    assert work.manifest is not None
    image = load_platform_image(source, work.manifest)
    if not image.platform.matches(Platform.parse(work.platform)):
        raise OciError(f"{work.label}: the manifest is for {image.platform}, not {work.platform}")
    return image


def _done(outcome: LayerOutcome) -> Future[LayerOutcome]:
    future: Future[LayerOutcome] = Future()
    future.set_result(outcome)
    return future


class Engine:
    def __init__(
        self,
        ctx: PipelineContext,
        store: Store,
        session: OciSession,
        *,
        run_id: int,
        request: ResolveRequest,
        jobs: int,
        memory_mb: int | None,
        observer: RunObserver,
        counters: Counters,
        failures: list[Failure],
        post_steps: Sequence[PostAnalysisStep] = (),
    ) -> None:
        from imagetrust.pipeline.analysis import image_analyser
        from imagetrust.sbom.cache import LayerCache
        from imagetrust.sbom.models import LayerLimits

        self.ctx = ctx
        self.store = store
        self.session = session
        self.run_id = run_id
        self.request = request
        self.jobs = max(1, jobs)
        self.memory_mb = memory_mb
        self.observer = observer
        self.post_steps = tuple(post_steps)  # in each image's transaction (evaluate, verdict)
        self.counters = counters
        self.failures = failures
        self.cache = LayerCache(ctx.home.layer_cache)
        self.limits = LayerLimits.from_settings(ctx.settings.sbom)
        self.analyser_version = image_analyser(ctx).version
        self._executor: Executor | None = None
        self._layers: dict[str, Future[LayerOutcome]] = {}
        self.budget_stop: str | None = None
        self.queued: list[ImageWork] = []
        self._advisories: SharedAdvisories | None = None  # lookups and verdicts, all reads

    @property
    def now(self) -> datetime:
        return self.ctx.clock.now()

    # ------------------------------------------------------------------ executors

    def _pool(self) -> Executor:
        if self._executor is None:
            from imagetrust.pipeline.workers import InlineExecutor, process_pool

            if self.jobs == 1:
                self._executor = InlineExecutor(self.session, self.cache, self.limits)
            else:
                self._executor = process_pool(
                    self.jobs, self.ctx.settings, self.cache, self.limits, self.memory_mb
                )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        for future in self._layers.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                outcome = future.result()
                if outcome.fetched:
                    self.counters.layers_fetched += 1
                    self.counters.bytes_fetched += outcome.fetched

    # ------------------------------------------------------------------ stored SBOMs

    def match_stored(self, works: list[ImageWork]) -> list[ImageWork]:
        """Match stored SBOMs again (no download); returns the works whose SBOM is gone."""
        from imagetrust.sbom.stored import load_sbom
        from imagetrust.vulndb.query import live_generations
        from imagetrust.vulndb.scan import scan_sboms

        missing: list[ImageWork] = []
        for start in range(0, len(works), MATCH_BATCH):
            batch = works[start : start + MATCH_BATCH]
            found: list[tuple[ImageWork, ImageSbom]] = []
            with self.store.read() as conn:
                key = live_generations(conn)
                for work in batch:
                    assert work.manifest is not None
                    sbom = load_sbom(conn, work.manifest.digest, self.analyser_version)
                    if sbom is None:
                        missing.append(work)
                    else:
                        found.append((work, sbom))
                scans = (
                    list(scan_sboms(conn, [s for _, s in found], self._shared(conn, key)))
                    if key
                    else []
                )
            matched: list[ImageScan | None] = list(scans) if key else [None for _ in found]
            for (work, sbom), scanned in zip(found, matched, strict=True):
                first = not _analysed(work)
                self._commit(work, sbom, scanned, key, save=False, first=first)
            self.observer.stage("match", min(start + MATCH_BATCH, len(works)), len(works))
        return missing

    # ------------------------------------------------------------------ downloads

    def analyse(self, works: list[ImageWork]) -> None:
        """Download and analyse ``works``, a window of images in flight.

        An image starts with its manifest and config: two registry round trips (three with
        a token) the main thread would otherwise wait through, image after image, while
        SBOMs wait to be built and results to be written and the workers run dry. So the
        manifests of images whose platform manifest is known are fetched ahead on a few
        threads; everything else (an index to read, whose platforms go to the store; the
        layers handed out, each once; the finishing) stays in this thread, in order.
        """
        from concurrent.futures import ThreadPoolExecutor

        pending = deque(works)
        active: list[_InFlight] = []
        opening: list[_Opening] = []
        window = max(2, self.jobs * 2)
        fetcher = ThreadPoolExecutor(max_workers=window, thread_name_prefix="manifest")
        done = 0
        try:
            while pending or active or opening:
                while (
                    pending
                    and self.budget_stop is None
                    and len(opening) < window
                    and _fetched_ahead(pending[0])
                ):
                    work = pending.popleft()
                    opening.append(_Opening(work, fetcher.submit(self._fetch, work)))
                started = self._start_fetched(opening, active, pending, window)
                done += started.failed
                while (
                    len(active) < window
                    and pending
                    and not _fetched_ahead(pending[0])
                    and self.budget_stop is None
                ):
                    work = pending.popleft()  # an index, or a local image: read here
                    try:
                        flight = self._start(work, pending)
                    except PullBudgetExhaustedError as exc:
                        self._budget_stop(exc)
                        pending.appendleft(work)
                        break
                    except Exception as exc:
                        self._start_failed(work, exc)
                        done += 1
                        started.any = True
                        continue
                    if flight is not None:  # None: an index's platforms took its place
                        active.append(flight)
                    started.any = True
                if started.any:
                    left = len(active) + len(opening) + len(pending)
                    self.observer.stage("analyse", done, done + left)
                ready = [item for item in active if item.ready()]
                for item in ready:
                    active.remove(item)
                    self._finish(item)
                    done += 1
                    self.observer.stage(
                        "analyse", done, done + len(active) + len(opening) + len(pending)
                    )
                if ready or started.any:
                    continue
                if self.budget_stop is not None and not active and not opening:
                    break
                waiting: list[Future[Any]] = [o.future for o in opening if not o.future.done()]
                waiting += [f for item in active for f in item.futures if not f.done()]
                if waiting:
                    wait(waiting, return_when=FIRST_COMPLETED)
        finally:
            fetcher.shutdown(wait=False, cancel_futures=True)
            for fetching in opening:  # an interrupted run: sources fetched for nothing
                future = fetching.future
                if future.done() and not future.cancelled() and future.exception() is None:
                    future.result()[0].close()
        self.queued = list(pending)
        self.counters.queued = len(self.queued)

    def _fetch(self, work: ImageWork) -> tuple[ImageSource, PlatformImage]:
        """On a fetch thread: the image's manifest and config, by digest."""
        source = self.session.open(work.target.reference)
        try:
            image = _platform_image(work, source)
        except BaseException:
            source.close()
            raise
        return source, image

    def _start_fetched(
        self,
        opening: list[_Opening],
        active: list[_InFlight],
        pending: deque[ImageWork],
        window: int,
    ) -> _Progress:
        """Start the images whose manifests have arrived, while the window has room.

        One the pull budget stopped goes back to the front of the queue, in its order;
        the others fetched meanwhile (their pulls spent) still run.
        """
        progress = _Progress()
        requeue: list[ImageWork] = []
        for item in [o for o in opening if o.future.done()]:
            if len(active) >= window:
                break
            opening.remove(item)
            progress.any = True
            try:
                source, image = item.future.result()
            except PullBudgetExhaustedError as exc:
                self._budget_stop(exc)
                requeue.append(item.work)
                continue
            except Exception as exc:
                self._start_failed(item.work, exc)
                progress.failed += 1
                continue
            try:
                active.append(self._flight(item.work, source, image))
            except Exception as exc:
                source.close()
                self._start_failed(item.work, exc)
                progress.failed += 1
        pending.extendleft(reversed(requeue))
        return progress

    def _budget_stop(self, exc: PullBudgetExhaustedError) -> None:
        if self.budget_stop is None:
            self.budget_stop = exc.message
            self.observer.note(f"pull budget: {exc.message}")

    def _start_failed(self, work: ImageWork, exc: Exception) -> None:
        if isinstance(exc, ImagetrustError):
            self._fail(work, exc.message)
            return
        log.debug("analysing %s failed", work.label, exc_info=exc)  # one image's bug
        self._fail(work, f"internal error: {type(exc).__name__}: {exc}")

    def _start(self, work: ImageWork, pending: deque[ImageWork]) -> _InFlight | None:
        """Read what the image needs from the registry and send its layers off.

        An index is read first when its platforms are not known: its platforms are stored,
        and the wanted ones join the front of the queue (or are matched from the store).
        """
        source = self.session.open(work.target.reference)
        try:
            return self._open_image(work, source, pending)
        except BaseException:
            source.close()
            raise

    def _open_image(
        self, work: ImageWork, source: ImageSource, pending: deque[ImageWork]
    ) -> _InFlight | None:
        if work.needs_index:
            image = self._read_index(work, source, pending)
            if image is None:
                source.close()
                return None
            work = image.work
            platform_image = image.image
        else:
            platform_image = _platform_image(work, source)
        return self._flight(work, source, platform_image)

    def _flight(self, work: ImageWork, source: ImageSource, image: PlatformImage) -> _InFlight:
        """The image in flight: its layers handed to the workers (each layer once)."""
        self.counters.bytes_fetched += image.manifest.config.size
        flight = _InFlight(work, source, image)
        for descriptor in image.layers:
            flight.futures.append(self._layer(work, source, descriptor))
        return flight

    def _read_index(
        self, work: ImageWork, source: ImageSource, pending: deque[ImageWork]
    ) -> _InFlight | None:
        top, doc = read_top(source)
        target = work.target
        if isinstance(doc, ImageIndex):
            rows = [
                PlatformRow(str(e.platform), e.digest, e.media_type, e.size)
                for e in platform_entries(doc)
                if e.platform is not None
            ]
            single: PlatformImage | None = None
        else:  # one manifest, no index: its platform is in its config
            single = load_platform_image(source, top)
            rows = [PlatformRow(str(single.platform), top.digest, top.media_type, top.size)]
        works, uncovered = split_platforms(target, rows, self.request)
        with self.store.transaction() as conn:
            record_platforms(conn, target.digest, rows, self.now)
            if isinstance(doc, ImageIndex):
                self._record_attestations(conn, work, doc, rows)
        self.not_covered(uncovered)
        if single is not None and works:
            return _InFlight(works[0], source, single)
        self._queue_platforms(works, pending)
        return None

    def _record_attestations(
        self, conn: Any, work: ImageWork, index: ImageIndex, rows: list[PlatformRow]
    ) -> None:
        """What the index says of each platform's attestations, kept for its evidence
        (supply chain) with the platforms, so a resumed run knows it too; the attestation
        manifests themselves are not fetched (each is a pull). An observation ``evaluate``
        made (it reads them) is kept as it is."""
        from imagetrust.evaluate.models import AttestationFact, Observation
        from imagetrust.evaluate.observe import load_observation, save_observation

        facts: dict[str, list[AttestationFact]] = {}
        for entry in index.manifests:
            if entry.is_attestation and entry.attests:
                facts.setdefault(entry.attests, []).append(AttestationFact(entry.digest, ()))
        index_digest = work.target.digest
        for row in rows:
            if load_observation(conn, row.manifest_digest, index_digest) is not None:
                continue
            observation = Observation(
                digest=row.manifest_digest,
                index_digest=index_digest,
                healthcheck=None,  # the config is read with the image; see ``_observe``
                attestations=tuple(facts.get(row.manifest_digest, ())),
                source=f"{RUN_OBSERVATION}{work.label}",
            )
            save_observation(conn, observation, self.now)

    def _queue_platforms(self, works: list[ImageWork], pending: deque[ImageWork]) -> None:
        """Platforms just learnt from an index: matched from the store or downloaded next."""
        from imagetrust.pipeline.plan import Plan, sboms_present
        from imagetrust.pipeline.results import stored_results
        from imagetrust.vulndb.query import live_generations

        plan = Plan()
        with self.store.read() as conn:
            key = live_generations(conn)
            results = stored_results(conn, [w.target.digest for w in works])
            manifests = {w.manifest.digest for w in works if w.manifest is not None}
            have = sboms_present(conn, manifests, self.analyser_version)
        for work in works:
            choose(work, results, have, self.analyser_version, key, plan)
        self.counters.unchanged += len(plan.unchanged)
        for missing in self.match_stored(plan.match):
            plan.analyse.append(missing)
        for work in reversed(plan.analyse):
            pending.appendleft(work)

    def _layer(
        self, work: ImageWork, source: ImageSource, descriptor: Descriptor
    ) -> Future[LayerOutcome]:
        digest = descriptor.digest
        if digest in self._layers:
            return self._layers[digest]
        try:
            cached = self.cache.path_for(digest, self.analyser_version).is_file()
        except ValueError:
            cached = False
        if cached:
            self.counters.layers_cached += 1
            future = _done(LayerOutcome(digest, 0))
        elif isinstance(work.target.reference, ImageReference):
            task = LayerTask(work.target.reference, descriptor)
            future = self._submit(task)
        else:  # a local layout or archive: read here, from the source already open
            future = _done(self._local_layer(source, descriptor))
        self._layers[digest] = future
        return future

    def _submit(self, task: LayerTask) -> Future[LayerOutcome]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool().submit(analyse_layer, task)
        except BrokenProcessPool:  # a worker died (killed for memory?): start new ones
            log.warning("a worker process died; starting new workers")
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            return self._pool().submit(analyse_layer, task)

    def _local_layer(self, source: ImageSource, descriptor: Descriptor) -> LayerOutcome:
        from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions

        analyser = ImageAnalyser(self.cache, SbomOptions(limits=self.limits))
        try:
            _, cached = analyser.layer(source, descriptor)
        except ImagetrustError as exc:
            return LayerOutcome(descriptor.digest, 0, exc.message)
        return LayerOutcome(descriptor.digest, 0 if cached else descriptor.size)

    # ------------------------------------------------------------------ finishing

    def _finish(self, item: _InFlight) -> None:
        work = item.work
        from concurrent.futures.process import BrokenProcessPool

        try:
            try:
                outcomes = [future.result() for future in item.futures]
            except BrokenProcessPool:
                limit = f" (is {self.memory_mb} MiB enough?)" if self.memory_mb else ""
                raise OciError(f"a worker process died analysing a layer{limit}") from None
            errors = [o.error for o in outcomes if o.error]
            if errors:
                raise OciError(errors[0])
            sbom = self._sbom(item)
            scanned, key = self._match(sbom)
            self._commit(
                work,
                sbom,
                scanned,
                key,
                save=True,
                first=True,
                healthcheck=item.image.config.healthcheck,
            )
        except ImagetrustError as exc:
            self._fail(work, exc.message)
        except Exception as exc:
            log.debug("finishing %s failed", work.label, exc_info=True)
            self._fail(work, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            item.source.close()

    def _sbom(self, item: _InFlight) -> ImageSbom:
        """The image's SBOM from the layer cache the workers filled.

        The stored SBOM describes the image: whether this run found a layer in the cache is
        about the run (its summary counts it), so ``from_cache`` is not kept.
        """
        from imagetrust.pipeline.analysis import image_analyser

        target = item.work.target
        manifest = item.image.descriptor
        resolved = ResolvedImage(
            reference=item.source.description,
            descriptor=Descriptor(manifest.media_type, target.digest, 0),
            index=None,
            available=(item.image.platform,),
            images=(item.image,),
            attestations=(),
            selection=PlatformSelection(),
        )
        analyser = image_analyser(self.ctx, layer_workers=1)  # layers: the run's own pool
        sbom = analyser.analyse_platform(item.source, resolved, item.image)
        index = target.digest if target.digest != manifest.digest else None
        layers = tuple(replace(layer, from_cache=False) for layer in sbom.layers)
        return replace(sbom, index_digest=index, layers=layers)

    def _match(self, sbom: ImageSbom) -> tuple[ImageScan | None, DbKey]:
        """The scan from one read snapshot, with the database generations it came from
        (None and no generations while no source is live)."""
        from imagetrust.vulndb.query import live_generations
        from imagetrust.vulndb.scan import scan_sboms

        with self.store.read() as conn:
            key = live_generations(conn)
            if not key:
                return None, key
            [scanned] = list(scan_sboms(conn, [sbom], self._shared(conn, key)))
        return scanned, key

    def _shared(self, conn: Any, key: DbKey) -> AdvisoryLookup:
        """The run's advisory lookup for this read (``vulndb.scan.SharedAdvisories``)."""
        if self._advisories is None:
            from imagetrust.vulndb.scan import SharedAdvisories

            self._advisories = SharedAdvisories()
        return self._advisories.snapshot(conn, key)

    def _commit(
        self,
        work: ImageWork,
        sbom: ImageSbom,
        scanned: ImageScan | None,
        key: DbKey,
        *,
        save: bool,
        first: bool,
        healthcheck: dict[str, Any] | None = None,
    ) -> None:
        """``save``: the SBOM is new (else it is the stored one); ``first``: the image was
        not analysed before (else this is a re-match after a database change)."""
        from imagetrust.sbom.stored import save_sbom

        with self.store.transaction() as conn:
            if save:
                save_sbom(conn, sbom, self.now)
                self._observe(conn, work, sbom, healthcheck)
            failpoint("image.commit")  # a crash half-way through an image's transaction
            record_analysed(
                conn,
                digest=work.target.digest,
                platform=work.platform,
                sbom=sbom,
                scan=scanned,
                db_key=key,
                run_id=self.run_id,
                now=self.now,
                attempted=first,
                steps=self.post_steps,
            )
        failpoint("image.after")
        findings = scanned.findings if scanned is not None else []
        outcome = "new" if first else "rematched"
        if first:
            self.counters.new += 1
        else:
            self.counters.rematched += 1
        fixable = sum(1 for f in findings if f.fixable)
        self.observer.image(
            work.label,
            outcome,
            f"{len(sbom.packages)} packages, {len(findings)} findings ({fixable} fixable)",
        )

    def _observe(
        self, conn: Any, work: ImageWork, sbom: ImageSbom, healthcheck: dict[str, Any] | None
    ) -> None:
        """Add what the image's config says (HEALTHCHECK) to the observation this run's
        reading of the index recorded (none when the Hub's listing spared that read)."""
        from msgspec.structs import replace as with_fields

        from imagetrust.evaluate.observe import (
            declares_healthcheck,
            load_observation,
            save_observation,
        )

        recorded = load_observation(conn, sbom.digest, work.target.digest)
        if recorded is None or not recorded.source.startswith(RUN_OBSERVATION):
            return
        if recorded.healthcheck is None:
            updated = with_fields(recorded, healthcheck=declares_healthcheck(healthcheck))
            save_observation(conn, updated, self.now)

    def _fail(self, work: ImageWork, reason: str) -> None:
        from imagetrust.store.runs import record_item_error

        with self.store.transaction() as conn:
            record_failed(
                conn,
                digest=work.target.digest,
                platform=work.platform,
                manifest_digest=work.manifest.digest if work.manifest else None,
                reason=reason,
                run_id=self.run_id,
                now=self.now,
            )
            record_item_error(
                conn, self.run_id, stage="analyse", item=work.label, message=reason, now=self.now
            )
        self.counters.failed += 1
        self.failures.append(Failure(work.target.label, work.platform, reason))
        self.observer.image(work.label, "failed", reason)

    def not_covered(self, entries: list[Uncovered]) -> None:
        """Images that will not be analysed, with the reason, as results."""
        if not entries:
            return
        with self.store.transaction() as conn:
            for entry in entries:
                record_not_covered(
                    conn,
                    digest=entry.digest,
                    platform=entry.platform,
                    manifest_digest=entry.manifest_digest,
                    reason=entry.reason,
                    run_id=self.run_id,
                    now=self.now,
                )
        self.counters.not_covered += len(entries)


def _analysed(work: ImageWork) -> bool:
    previous = work.previous
    return previous is not None and previous.status == ResultStatus.ANALYSED
