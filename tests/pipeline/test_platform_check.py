"""``run`` reads a platform manifest by the digest its plan recorded, from a fetch thread
or from the main one; either way, a manifest for another platform than the plan's (a
registry that changed under it, or lies) fails that image with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetrust.config import Settings
from imagetrust.oci.errors import OciError
from imagetrust.oci.reference import parse_reference
from imagetrust.oci.sources import OciSession
from imagetrust.pipeline.engine import _platform_image
from imagetrust.pipeline.plan import ImageWork
from imagetrust.resolve.models import TagRef, Target
from imagetrust.testkit.builder import ARM64, ImageSpec, Layer, build_image, write_oci_layout

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rootfs"


def test_a_manifest_for_another_platform_than_planned_is_that_images_error(
    tmp_path: Path,
) -> None:
    image = build_image(ImageSpec(layers=[Layer.from_dir(FIXTURES / "alpine")], platform=ARM64))
    write_oci_layout(image, tmp_path / "layout", tag="3")
    target = Target(
        reference=parse_reference("alpine:3"),
        digest=image.manifest.digest,
        tags=(TagRef("alpine", "3"),),
        pull_count=0,
    )
    with (
        OciSession(Settings(), mirrors={}) as session,
        session.open(f"oci-layout:{tmp_path / 'layout'}:3") as source,
    ):
        read = _platform_image(ImageWork(target, "linux/arm64/v8", image.descriptor), source)
        assert str(read.platform) == "linux/arm64/v8"
        assert read.manifest.config.digest == image.config.digest
        planned_amd64 = ImageWork(target, "linux/amd64", image.descriptor)
        with pytest.raises(OciError, match=r"is for linux/arm64/v8, not linux/amd64"):
            _platform_image(planned_amd64, source)
