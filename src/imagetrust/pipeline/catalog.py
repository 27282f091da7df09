"""A catalog refresh as a job: sources chosen by options, recorded as a run and a snapshot.

``catalog``, ``run`` and the demo refresh through here. A Hub recording (``--hub-recording``
or the demo's bundled one) is read by the testkit and handed to the catalog stage as data,
so the stage itself never depends on test tooling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.catalog.refresh import RefreshResult
    from imagetrust.catalog.snapshots import SnapshotInfo
    from imagetrust.catalog.sources import Progress, SourceOptions
    from imagetrust.store.database import Store


def source_options(
    ctx: PipelineContext,
    *,
    offline: bool = False,
    library_dir: Any = None,
    docs_dir: Any = None,
    hub_recording: Any = None,
    all_tags: bool = False,
) -> SourceOptions:
    """Options with the download cache in its place under HOME."""
    from imagetrust.catalog.sources import SourceOptions

    return SourceOptions(
        offline=offline,
        library_dir=library_dir,
        docs_dir=docs_dir,
        hub_recording=hub_recording,
        all_tags=all_tags,
        cache_dir=ctx.home.source_cache,
    )


def refresh(
    ctx: PipelineContext,
    store: Store,
    options: SourceOptions,
    *,
    progress: Progress | None = None,
    parameters: dict[str, Any] | None = None,
    on_recorded: Callable[[Connection, SnapshotInfo], None] | None = None,
) -> RefreshResult:
    """Load the sources, assemble and record one snapshot (a ``catalog`` run).

    ``on_recorded`` runs inside the snapshot's transaction, so a job can note which
    snapshot it took in the same commit (a ``run`` resumed after a kill reuses it).
    """
    from imagetrust.catalog.refresh import refresh_catalog
    from imagetrust.catalog.sources import RecordedHub, load_inputs

    def load() -> Any:
        recorded = None
        if options.hub_recording is not None:
            from imagetrust.testkit.hub_recording import load_recording

            recorded = RecordedHub(*load_recording(options.hub_recording))
        if progress is None:
            return load_inputs(options, ctx.settings, recorded_hub=recorded)
        return load_inputs(options, ctx.settings, progress=progress, recorded_hub=recorded)

    return refresh_catalog(
        store,
        load,
        now=ctx.clock.now(),
        parameters=parameters if parameters is not None else options.as_parameters(),
        on_recorded=on_recorded,
    )
