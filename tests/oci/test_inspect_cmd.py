"""``imagetrust inspect`` end to end through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout
from tests.oci.helpers import FIXTURES, multiplatform, publish
from tests.services.registry import RegistryServer


@pytest.fixture(autouse=True)
def no_docker_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_registry_image_json(
    registry: RegistryServer,
    session,
    repo_name: str,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    built = multiplatform(repo_name, env=["PATH=/bin", "API_TOKEN=hunter2"], user="app")
    ref = publish(session, registry, built, repo_name, "2.0")
    code, out, err = run(capsys, "inspect", ref, "--format", "json", "--platform", "all")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "image-inspection"
    assert doc["digest"] == built.descriptor.digest
    assert doc["platforms_available"] == ["linux/amd64", "linux/arm64/v8"]
    assert [i["platform"] for i in doc["images"]] == ["linux/amd64", "linux/arm64/v8"]
    first = doc["images"][0]
    image = built.images[0]  # type: ignore[union-attr]
    assert first["digest"] == image.manifest.digest
    assert [(layer["digest"], layer["size"]) for layer in first["layers"]] == [
        (b.digest, len(b.data)) for b in image.layers
    ]
    assert [layer["compression"] for layer in first["layers"]] == ["gzip", "zstd"]
    assert first["config"]["env"] == ["PATH", "API_TOKEN"] and first["config"]["user"] == "app"
    assert first["attestations"][0]["refers_to"] == image.manifest.digest
    assert len(doc["attestations"]) == 2
    assert doc["pull_budget"][0]["pulls"] == 5  # index, 2 manifests, 2 attestations
    assert "hunter2" not in out


def test_inspect_layout_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = build_image(
        ImageSpec(
            layers=[Layer.from_dir(FIXTURES / "debian12")],
            labels={"org.opencontainers.image.version": "12"},
            exposed_ports=["5432/tcp"],
        )
    )
    write_oci_layout(image, tmp_path / "layout", tag="12")
    code, out, err = run(capsys, "inspect", f"oci-layout:{tmp_path / 'layout'}:12")
    assert code == 0, err
    assert image.manifest.digest in out and image.layers[0].digest in out
    assert "linux/amd64" in out and "5432/tcp" in out and "org.opencontainers.image.version" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["inspect", "Not_Valid"], 2, "invalid image reference"),
        (["inspect", "oci-layout:/nonexistent/dir"], 1, "not an OCI layout"),
        (["inspect", "docker-archive:/nonexistent.tar"], 1, "file not found"),
        (["inspect", "oci-layout:/x", "--platform", "linux"], 2, "invalid platform"),
    ],
)
def test_inspect_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], exit_code: int, message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == exit_code
    assert out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_inspect_missing_tag_in_registry(
    registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "inspect", f"{registry.netloc}/nobody/here:1")
    assert code == 1 and "not found" in err


def test_inspect_module_imports_no_http_library() -> None:
    code = "import sys, imagetrust.cli.inspect_cmd; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_inspect_stops_at_the_configured_pull_cap(
    registry: RegistryServer,
    session,
    repo_name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    ref = publish(session, registry, multiplatform(repo_name), repo_name, "cap")
    monkeypatch.setenv("IMAGETRUST_REGISTRY_MAX_PULLS", "2")
    code, out, err = run(capsys, "inspect", ref, "--platform", "all")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "pull" in err and "Traceback" not in err
