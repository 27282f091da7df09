"""``imagetrust resolve`` as a job: the store and a registry session around the stage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from imagetrust.resolve.models import Resolution, ResolveRequest
    from imagetrust.resolve.resolver import Progress


def resolve_images(
    ctx: PipelineContext, request: ResolveRequest, *, progress: Progress | None = None
) -> Resolution:
    """Resolve and record the tag history (so the store is written, and created if new)."""
    from imagetrust.oci.sources import OciSession
    from imagetrust.resolve.resolver import resolve

    with ctx.open_store() as store, OciSession(ctx.settings) as session:
        return resolve(store, request, session, now=ctx.clock.now(), progress=progress)
