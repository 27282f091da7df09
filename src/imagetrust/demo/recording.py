"""The demo's Docker Hub recording for each of its two weeks, with the images' own digests.

``data/hub`` is what the Hub API answered in the first week (every repository the catalog
knows, pull counts, tags and their dates); ``data/hub-week2`` holds only the pages that
were different a week later (pull counts up, ``debian:12`` pushed again), laid over the
first week's. For the repositories the demo builds, each listed tag names the digests of
the image the demo built for it (its index, each platform's manifest, the attestation
manifests): building is deterministic, so the bundled pages carry those digests already,
and ``stamp`` rewrites them only if a change to the image builder moved them, so the
registry always holds what the recording says.

``python -m imagetrust.demo.recording`` rewrites the bundled pages' digests after such a
change.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from imagetrust.demo.images import DATA, DemoImage

WEEK_ONE = DATA / "hub"
WEEK_TWO_CHANGES = DATA / "hub-week2"


def _platform(entry: dict[str, Any]) -> str:
    parts = (entry.get("os"), entry.get("architecture"), entry.get("variant"))
    return "/".join(str(p) for p in parts if p)


def _stamp_tag(tag: dict[str, Any], image: DemoImage) -> None:
    """The digests of ``image`` into one tag result, by platform (attestations in order)."""
    from imagetrust.testkit.builder import BuiltImage

    built = image.built
    tag["digest"] = built.descriptor.digest
    tag["media_type"] = built.descriptor.media_type
    if isinstance(built, BuiltImage):
        platforms = {str(built.platform): built}
        attestations: list[Any] = []
    else:
        platforms = {str(i.platform): i for i in built.images}
        attestations = list(built.attestations)
    for entry in tag.get("images") or []:
        key = _platform(entry)
        made = platforms.get(key) if key != "unknown/unknown" else None
        if made is None and key == "unknown/unknown" and attestations:
            made = attestations.pop(0)
        if made is None:
            continue
        entry["digest"] = made.manifest.digest
        entry["size"] = sum(layer.descriptor.size for layer in made.layers)
    sizes = [e["size"] for e in tag.get("images") or [] if _platform(e) != "unknown/unknown"]
    if sizes:
        tag["full_size"] = sizes[0]


def stamp(recording: Path, images: Iterable[DemoImage]) -> list[Path]:
    """Write each demo image's digests into the tags pages of ``recording``; returns the
    pages that changed."""
    by_tag = {(image.name, tag): image for image in images for tag in image.tags}
    changed: list[Path] = []
    for page in sorted((recording / "tags").glob("*/page-*.json")):
        document = json.loads(page.read_text(encoding="utf-8"))
        before = json.dumps(document, sort_keys=True)
        for tag in document.get("results") or []:
            image = by_tag.get((page.parent.name, tag.get("name")))
            if image is not None:
                _stamp_tag(tag, image)
        if json.dumps(document, sort_keys=True) != before:
            page.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            changed.append(page)
    return changed


def week_recording(folder: Path, week: int, images: Sequence[DemoImage]) -> Path:
    """The Hub as it answered in ``week`` (1 or 2), written under ``folder``."""
    target = folder / f"hub-week{week}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(WEEK_ONE, target)
    if week == 2:
        for page in WEEK_TWO_CHANGES.rglob("*.json"):
            destination = target / page.relative_to(WEEK_TWO_CHANGES)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, destination)
    stamp(target, images)
    return target


def main() -> None:  # pragma: no cover - a maintenance command
    from imagetrust.demo.images import build_demo_images

    for folder, week in ((WEEK_ONE, 1), (WEEK_TWO_CHANGES, 2)):
        for page in stamp(folder, build_demo_images(week)):
            print(f"rewrote {page}")


if __name__ == "__main__":  # pragma: no cover
    main()
