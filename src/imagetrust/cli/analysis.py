"""One way for commands to turn an image reference into SBOMs: settings, limits, layer cache.

``sbom`` and ``scan`` both analyse images; keeping the set-up here means they always read
the same ``[sbom]`` limits, the same cache under HOME and the same registry settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.cli.state import CliState

if TYPE_CHECKING:
    from imagetrust.sbom.analyse import LayerProgress
    from imagetrust.sbom.models import ImageSbom


def analyse_reference(
    state: CliState,
    ref: str,
    platform: str | None,
    *,
    reanalyse: bool = False,
    use_cache: bool = True,
    on_layer: LayerProgress | None = None,
) -> list[ImageSbom]:
    """SBOMs of the platforms of ``ref`` that ``platform`` selects (linux/amd64 by default)."""
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.sources import OciSession
    from imagetrust.sbom.analyse import ImageAnalyser, SbomOptions
    from imagetrust.sbom.cache import LayerCache
    from imagetrust.sbom.models import LayerLimits

    selection = PlatformSelection.parse(platform)
    settings = state.settings
    options = SbomOptions(limits=LayerLimits.from_settings(settings.sbom), reanalyse=reanalyse)
    cache = LayerCache.in_home(state.home) if use_cache else None
    analyser = ImageAnalyser(cache, options, on_layer=on_layer)
    with OciSession(settings) as session, session.open(ref) as source:
        return analyser.analyse(source, selection)
