"""Images built in the tests, analysed and stored the way ``scan`` and ``run`` store them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.config import Settings
from imagetrust.oci.image import PlatformSelection
from imagetrust.oci.sources import OciSession
from imagetrust.sbom.analyse import ImageAnalyser
from imagetrust.sbom.models import ImageSbom
from imagetrust.sbom.stored import save_sbom
from imagetrust.store.database import Store
from imagetrust.testkit.builder import Built, ImageSpec, Layer, build_image, write_oci_layout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROOTFS = FIXTURES / "rootfs"
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def os_release(**fields: str) -> Layer:
    """A layer holding only ``etc/os-release`` with these ``KEY="value"`` lines."""
    text = "".join(f'{key}="{value}"\n' for key, value in fields.items())
    return Layer.from_files({"etc/os-release": text})


def image(*layers: Layer, **spec: Any) -> Built:
    return build_image(ImageSpec(layers=list(layers), **spec))


def layout(built: Built, directory: Path, tag: str = "t") -> str:
    write_oci_layout(built, directory, tag=tag)
    return f"oci-layout:{directory}:{tag}"


def analyse(reference: str) -> list[ImageSbom]:
    with OciSession(Settings()) as session, session.open(reference) as source:
        return ImageAnalyser(None).analyse(source, PlatformSelection.parse("linux/amd64"))


def store_analysis(url: str, reference: str, now: datetime = NOW) -> list[ImageSbom]:
    """Analyse ``reference`` and keep its SBOMs in the store at ``url``, one transaction each."""
    sboms = analyse(reference)
    with Store.open(url) as store:
        for sbom in sboms:
            with store.transaction() as conn:
                save_sbom(conn, sbom, now)
    return sboms


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err
