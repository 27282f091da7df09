"""``imagetrust sbom`` end to end: a real registry, the layer cache, every output format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.config import Settings
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, build_multiplatform
from imagetrust.testkit.push import push
from tests.services.registry import RegistryServer
from tests.test_cli import HEAVY_MODULES

ROOTFS = Path(__file__).parent.parent / "fixtures" / "rootfs"


@pytest.fixture(autouse=True)
def no_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def publish(registry: RegistryServer, repository: str, built: object, tag: str) -> str:
    with OciSession(Settings(), mirrors={}) as session:
        push(built, session.client(registry.netloc), repository, tag=tag)  # type: ignore[arg-type]
    return f"{registry.netloc}/{repository}:{tag}"


def test_sbom_from_a_registry_twice_second_time_from_cache(
    registry: RegistryServer,
    repo_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = build_multiplatform(
        [Layer.from_dir(ROOTFS / "debian12"), Layer.from_files({"etc/app": "1"})],
        env=["PATH=/bin", "PYTHON_VERSION=3.12.4", "API_TOKEN=hunter2"],
    )
    ref = publish(registry, repo_name, built, "1")
    home = str(tmp_path / "home")
    code, out, err = run(capsys, "--home", home, "sbom", ref, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "sbom"
    (image,) = doc["images"]
    assert image["platform"] == "linux/amd64"
    assert image["digest"] == built.images[0].manifest.digest
    assert len(image["packages"]) > 700
    assert [layer["from_cache"] for layer in image["layers"]] == [False, False]
    assert "hunter2" not in out
    assert "3.12.4" in json.dumps(image)

    code, out2, err = run(capsys, "--home", home, "sbom", ref, "--format", "json")
    assert code == 0, err
    again = json.loads(out2)["images"][0]
    assert [layer["from_cache"] for layer in again["layers"]] == [True, True]
    assert again["packages"] == image["packages"]


def test_cyclonedx_output_is_valid_against_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from imagetrust.testkit.builder import write_oci_layout

    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")]))
    write_oci_layout(built, tmp_path / "layout", tag="a")
    ref = f"oci-layout:{tmp_path / 'layout'}:a"
    code, out, err = run(capsys, "--now", "2026-11-23", "sbom", ref, "-f", "cyclonedx-json")
    assert code == 0, err
    doc = json.loads(out)
    version = SchemaVersion.from_version(doc["specVersion"])
    assert JsonStrictValidator(version).validate_str(out) is None
    purls = {c.get("purl") for c in doc["components"]}
    assert any(p and p.startswith("pkg:apk/alpine/musl@") for p in purls)

    code, out, err = run(capsys, "--now", "2026-11-23", "sbom", ref, "-f", "spdx-json")
    assert code == 0, err
    spdx = json.loads(out)
    assert spdx["spdxVersion"] == "SPDX-2.3" and len(spdx["packages"]) > 10


def test_table_output_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imagetrust.testkit.builder import write_oci_layout

    broken = Layer.from_files({"var/lib/dpkg/status": b"\x00\xff" * 100})
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine"), broken]))
    write_oci_layout(built, tmp_path / "layout", tag="a")
    code, out, err = run(capsys, "sbom", f"oci-layout:{tmp_path / 'layout'}:a")
    assert code == 1
    assert "musl" in out and "apk" in out  # the packages that could be read are shown
    assert "error: " in err and "var/lib/dpkg/status" in err and "Traceback" not in err

    code, out, err = run(capsys, "sbom", "oci-layout:/nonexistent")
    assert code == 1 and err.startswith("error: ") and out == ""
    code, _, err = run(capsys, "sbom", "x", "--format", "xml")
    assert code == 2


def test_a_warm_sbom_loads_no_heavy_library(tmp_path: Path) -> None:
    """A cached image's SBOM costs start-up more than work: keep that start-up lean."""
    import ast
    import subprocess
    import sys

    from imagetrust.testkit.builder import write_oci_layout

    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")]))
    write_oci_layout(built, tmp_path / "layout", tag="a")
    argv = ["--home", str(tmp_path / "home"), "sbom", f"oci-layout:{tmp_path / 'layout'}:a"]
    code = (
        "import io, sys\n"
        "from imagetrust.cli.main import main\n"
        "real, sys.stdout = sys.stdout, io.StringIO()\n"
        f"status = main({[*argv, '--format', 'json']!r})\n"
        "sys.stdout = real\n"
        f"heavy = {sorted(HEAVY_MODULES)!r}\n"
        "print(status, sorted(set(heavy) & {m.split('.')[0] for m in sys.modules}))\n"
        "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules"
        " if m.startswith('imagetrust.sbom.catalogers.')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGETRUST_")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        for _ in range(2)
    ]
    assert "analysed" in runs[0].stderr and "cached" in runs[1].stderr, runs[1].stderr
    statuses, loaded = zip(*(run.stdout.strip().split("\n") for run in runs), strict=True)
    assert statuses == ("0 []", "0 []")
    # A cold run walks the layer with every cataloger; a warm one parses what the cache kept
    # (dpkg's status and os-release here) and imports no other cataloger.
    assert {"java", "golang", "npm", "python"} <= set(ast.literal_eval(loaded[0]))
    assert ast.literal_eval(loaded[1]) == ["base", "dpkg", "osrelease"]
