"""Lay an image's layers over each other, as the container runtime would, for what we kept.

Each layer's analysis is independent (that is what makes it cacheable per digest), so the
image view is built here: layer by layer, an opaque directory hides everything below it, a
whiteout deletes a path and everything under it, and a file replaces the one below. For
each surviving file we also keep its *lineage*: the versions of that path in the layers
since it was last deleted, so a package can be attributed to the layer that installed the
version the image ships, not merely to the last layer that rewrote the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msgspec import Struct, field

from imagetrust.sbom.models import KeptFile, LayerAnalysis


class FileVersion(Struct, frozen=True):
    layer_index: int
    layer_digest: str
    file: KeptFile


class MergedImage(Struct):
    """The final filesystem as far as we kept it; ``lineage[path][-1]`` is the visible file."""

    lineage: dict[str, list[FileVersion]] = field(default_factory=dict)
    setuid: dict[str, int] = field(default_factory=dict)
    setgid: dict[str, int] = field(default_factory=dict)
    world_writable: dict[str, int] = field(default_factory=dict)

    def files(self) -> dict[str, KeptFile]:
        return {path: versions[-1].file for path, versions in self.lineage.items()}

    def visible(self, path: str) -> FileVersion | None:
        versions = self.lineage.get(path)
        return versions[-1] if versions else None


def _under(path: str, directory: str) -> bool:
    return directory == "" or path.startswith(directory + "/")


def _delete(paths: dict[str, Any], target: str, *, contents_only: bool) -> None:
    """Remove ``target`` (unless ``contents_only``) and everything below it."""
    doomed = [p for p in paths if _under(p, target) or (not contents_only and p == target)]
    for path in doomed:
        del paths[path]


def merge_layers(layers: Sequence[LayerAnalysis]) -> MergedImage:
    merged = MergedImage()
    fact_maps = (merged.setuid, merged.setgid, merged.world_writable)
    for index, layer in enumerate(layers):
        maps: tuple[dict[str, Any], ...] = (merged.lineage, *fact_maps)
        for mapping in maps:
            for directory in layer.opaque_dirs:
                _delete(mapping, directory.strip("/"), contents_only=True)
            for path in layer.whiteouts:
                _delete(mapping, path.strip("/"), contents_only=False)
        for kept in layer.kept:
            merged.lineage.setdefault(kept.path, []).append(FileVersion(index, layer.digest, kept))
        for target, paths in zip(
            fact_maps, (layer.setuid, layer.setgid, layer.world_writable), strict=True
        ):
            for path in paths:
                target[path] = index
    return merged
