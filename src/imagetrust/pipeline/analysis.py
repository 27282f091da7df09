"""An image's SBOMs, the one way every job gets them: settings, limits and layer cache.

``sbom``, ``scan`` and the demo all analyse images through here, so they always read the
same ``[sbom]`` limits, the same layer cache under HOME and the same registry settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.reference import Reference
    from imagetrust.sbom.analyse import ImageAnalyser, LayerProgress
    from imagetrust.sbom.models import ImageSbom


def image_analyser(
    ctx: PipelineContext,
    *,
    reanalyse: bool = False,
    use_cache: bool = True,
    on_layer: LayerProgress | None = None,
    layer_workers: int | None = None,
) -> ImageAnalyser:
    """An analyser with the settings' limits and, unless told otherwise, the layer cache.

    ``layer_workers`` overrides ``[sbom] layer_workers``: ``run`` passes 1, since its own
    worker pool already spreads layers over the cores (``pipeline.workers``)."""
    from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions
    from imagetrust.sbom.cache import LayerCache
    from imagetrust.sbom.models import LayerLimits

    sbom = ctx.settings.sbom
    options = SbomOptions(
        limits=LayerLimits.from_settings(sbom),
        reanalyse=reanalyse,
        workers=layer_workers or sbom.layer_workers or None,
        worker_memory=sbom.worker_memory_mb << 20,
    )
    cache = LayerCache(ctx.home.layer_cache) if use_cache else None
    return ImageAnalyser(cache, options, on_layer=on_layer)


def analyse_image(
    ctx: PipelineContext,
    reference: Reference,
    selection: PlatformSelection,
    *,
    reanalyse: bool = False,
    use_cache: bool = True,
    on_layer: LayerProgress | None = None,
) -> list[ImageSbom]:
    """SBOMs of the platforms of ``reference`` that ``selection`` picks."""
    from imagetrust.oci.sources import OciSession

    analyser = image_analyser(ctx, reanalyse=reanalyse, use_cache=use_cache, on_layer=on_layer)
    with OciSession(ctx.settings) as session, session.open(reference) as source:
        return analyser.analyse(source, selection)
