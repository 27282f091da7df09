"""What ``run`` does for images whose SBOMs are already stored: plan, then
``Engine.match_stored``. Shared by ``test_rematch_shared.py`` and ``bench/rematch.py``, so
the test and the benchmark drive the same path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from imagetrust.oci.models import Platform
from imagetrust.oci.reference import parse_reference
from imagetrust.oci.sources import OciSession
from imagetrust.pipeline.context import PipelineContext
from imagetrust.pipeline.engine import Counters, Engine, RunObserver
from imagetrust.pipeline.evaluation import EvaluateStep
from imagetrust.pipeline.plan import ImageWork, make_plan
from imagetrust.resolve.models import PlatformEntry, Resolution, ResolveRequest, TagRef, Target
from imagetrust.store.database import Store
from imagetrust.store.runs import start_run
from imagetrust.vulndb.query import live_generations


def stored_target(reference: str, digest: str) -> Target:
    """``reference`` (``docker.io/library/NAME:TAG``) at ``digest``, one linux/amd64
    platform whose manifest is the image itself, tagged ``NAME:latest``."""
    repository = reference.rsplit(":", 1)[0].removeprefix("docker.io/library/")
    return Target(
        reference=parse_reference(f"{reference}@{digest}"),
        digest=digest,
        tags=(TagRef(repository, "latest"),),
        platforms=(PlatformEntry(Platform("linux", "amd64"), digest),),
        platforms_known=True,
    )


class StoredPass:
    """One pass: how many images the plan sent to re-matching, the run's counters, and the
    works whose stored SBOM was not found."""

    def __init__(self, planned: int, counters: Counters, missing: list[ImageWork]) -> None:
        self.planned = planned
        self.counters = counters
        self.missing = missing


def run_stored_pass(
    ctx: PipelineContext,
    store: Store,
    images: Sequence[tuple[str, str]],
    *,
    now: datetime,
    observer: RunObserver | None = None,
    params: dict[str, Any] | None = None,
) -> StoredPass:
    """A run over ``images`` ((reference, digest) pairs whose SBOMs are stored)."""
    request = ResolveRequest()
    targets = [stored_target(reference, digest) for reference, digest in images]
    counters = Counters()
    with store.transaction() as conn:
        run_id = start_run(conn, "run", params or {}, now)
    with OciSession(ctx.settings) as session:
        engine = Engine(
            ctx,
            store,
            session,
            run_id=run_id,
            request=request,
            jobs=1,
            memory_mb=None,
            observer=observer or RunObserver(),
            counters=counters,
            failures=[],
            post_steps=[EvaluateStep.for_run(ctx)],
        )
        try:
            with store.read() as conn:
                plan = make_plan(
                    conn,
                    Resolution(targets=targets),
                    request,
                    analyser_version=engine.analyser_version,
                    db_key=live_generations(conn),
                )
            missing = engine.match_stored(plan.match)
        finally:
            engine.close()
    return StoredPass(len(plan.match), counters, missing)
