"""Configuration hygiene and supply chain, on images built here and read back through the
same verified sources a real evaluation uses (OCI layouts, a docker archive, a real
registry on loopback). Every expectation is a property the test gave the image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.config import Settings
from imagetrust.oci import media
from imagetrust.oci.models import Descriptor, Platform
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import (
    Blob,
    BuiltImage,
    BuiltIndex,
    ImageSpec,
    Layer,
    build_image,
    build_index,
    build_multiplatform,
    write_docker_archive,
)
from tests.evaluate.helpers import FIXTURES, ROOTFS, cli_json, image, layout, store_analysis
from tests.oci.helpers import publish
from tests.services.registry import RegistryServer

SECRET_VALUE = "hunter2-do-not-store"


def evaluate_all(
    capsys: pytest.CaptureFixture[str], home: Path, *extra: str
) -> dict[str, dict[str, Any]]:
    code, doc, err = cli_json(
        capsys, "--home", str(home), "--now", "2026-11-29", "evaluate", *extra
    )
    assert code == 0, err
    return {e["reference"]: e for e in doc["images"]}


# --- hygiene --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "root"),
    [
        (None, True),
        ("0", True),
        ("0:0", True),
        ("root:staff", True),
        ("app", False),
        ("1000:1000", False),
    ],
)
def test_runs_as_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], user: str | None, root: bool
) -> None:
    home = tmp_path / "home"
    ref = layout(image(Layer.from_dir(ROOTFS / "alpine"), user=user), tmp_path / "img")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    (evidence,) = evaluate_all(capsys, home).values()
    assert evidence["hygiene"]["runs_as_root"] is root
    assert evidence["hygiene"]["user"] == user


def test_secret_looking_env_names_without_their_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flagged = ["MYSQL_ROOT_PASSWORD", "API_KEY", "apiToken", "AWS_SECRET_ACCESS_KEY", "SECRET"]
    harmless = [
        "GPG_KEY",  # the public key official images verify downloads with
        "POSTGRES_PASSWORD_FILE",  # where a secret is mounted, not the secret
        "KEYCLOAK_HOME",
        "PATH",
        "PYTHON_VERSION",
    ]
    env = [f"{name}={SECRET_VALUE}" for name in flagged + harmless]
    home = tmp_path / "home"
    ref = layout(image(Layer.from_dir(ROOTFS / "alpine"), env=env), tmp_path / "img")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code = main(["--home", str(home), "evaluate", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    (evidence,) = json.loads(out)["images"]
    assert evidence["hygiene"]["secret_env_names"] == sorted(flagged)
    assert SECRET_VALUE not in out
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{home / 'imagetrust.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT document FROM image_evidence")).scalar_one()
    engine.dispose()
    assert SECRET_VALUE not in stored and "MYSQL_ROOT_PASSWORD" in stored


@pytest.mark.parametrize(
    ("healthcheck", "declared"),
    [
        ({"Test": ["CMD", "wget", "-q", "localhost"], "Interval": 30_000_000_000}, True),
        ({"Test": ["NONE"]}, False),  # switches off an inherited HEALTHCHECK
        (None, False),
    ],
)
def test_healthcheck(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    healthcheck: dict[str, Any] | None,
    declared: bool,
) -> None:
    home = tmp_path / "home"
    built = image(Layer.from_dir(ROOTFS / "alpine"), healthcheck=healthcheck)
    ref = layout(built, tmp_path / "img")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    (never,) = evaluate_all(capsys, home, "--offline").values()
    assert never["hygiene"]["healthcheck"] is None  # not observed: unknown, not "none"
    (evidence,) = evaluate_all(capsys, home).values()
    assert evidence["hygiene"]["healthcheck"] is declared


def test_setuid_setgid_and_world_writable_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modes = (
        Layer()
        .add_file("usr/bin/su-like", b"x", 0o4755)
        .add_file("usr/bin/wall-like", b"x", 0o2755)
        .add_dir("srv/drop", 0o777)
        .add_dir("tmp", 0o1777)  # sticky: anyone may write, nobody may delete others' files
        .add_file("etc/plain", b"x", 0o644)
    )
    home = tmp_path / "home"
    ref = layout(image(Layer.from_dir(ROOTFS / "alpine"), modes), tmp_path / "img")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    (evidence,) = evaluate_all(capsys, home).values()
    hygiene = evidence["hygiene"]
    assert hygiene["setuid"] == ["usr/bin/su-like"]
    assert hygiene["setgid"] == ["usr/bin/wall-like"]
    assert hygiene["world_writable"] == ["srv/drop"]


# --- supply chain ---------------------------------------------------------------------------


def sbom_only_index(image_: BuiltImage) -> BuiltIndex:
    """An index whose attestation manifest holds only a (real) SPDX in-toto statement, as
    BuildKit writes it with ``--sbom=true --provenance=false``."""
    statement = (FIXTURES / "attestations" / "buildkit-sbom-spdx-intoto.json").read_bytes()
    predicate = json.loads(statement)["predicateType"]
    layer = Blob.of(
        media.IN_TOTO, statement, annotations={media.ANNOTATION_PREDICATE_TYPE: predicate}
    )
    config = Blob.of(media.OCI_CONFIG, b'{"architecture":"unknown","os":"unknown"}')
    manifest = Blob.of(
        media.OCI_MANIFEST,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media.OCI_MANIFEST,
                "config": config.descriptor.to_json(),
                "layers": [layer.descriptor.to_json()],
            }
        ).encode(),
    )
    attestation = BuiltImage(
        manifest, config, (layer,), (statement,), Platform("unknown", "unknown")
    )
    plain = build_index([image_], attestations=False)
    doc = json.loads(plain.index.data)
    doc["manifests"].append(
        Descriptor(
            media.OCI_MANIFEST,
            manifest.digest,
            manifest.descriptor.size,
            annotations={
                media.ANNOTATION_REFERENCE_DIGEST: image_.manifest.digest,
                media.ANNOTATION_REFERENCE_TYPE: media.ATTESTATION_MANIFEST,
            },
            platform=Platform("unknown", "unknown"),
        ).to_json()
    )
    index = Blob.of(media.OCI_INDEX, json.dumps(doc).encode())
    return BuiltIndex(index, (image_,), (attestation,))


def test_attestations_in_the_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [Layer.from_dir(ROOTFS / "alpine")]
    images = tmp_path / "layout"

    def spec(name: str) -> ImageSpec:  # one image per case: a digest is stored once
        return ImageSpec(layers=base, labels={"case": name})

    refs = {
        "both": layout(
            build_multiplatform(base, subject="pkg:docker/x@1", labels={"case": "both"}),
            images,
            "both",
        ),
        "sbom-only": layout(sbom_only_index(build_image(spec("sbom"))), images, "sbom"),
        "none": layout(
            build_multiplatform(base, attestations=False, labels={"case": "none"}), images, "none"
        ),
        "single": layout(build_image(spec("single")), images, "single"),
    }
    home = tmp_path / "home"
    for ref in refs.values():
        store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    evaluated = evaluate_all(capsys, home)
    found = {name: evaluated[ref]["supply_chain"] for name, ref in refs.items()}
    summary = {name: (c["observed"], c["sbom"], c["provenance"]) for name, c in found.items()}
    assert summary == {
        "both": (True, True, True),
        "sbom-only": (True, True, False),
        "none": (True, False, False),
        "single": (True, False, False),
    }
    assert "no index" in found["single"]["reason"]
    assert found["sbom-only"]["attestations"][0]["predicate_types"] == ["https://spdx.dev/Document"]


def test_an_observation_is_read_once_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline, a never-observed image's supply chain is unknown; once observed, it is known
    from the store even after its source is gone."""
    import shutil

    images = tmp_path / "layout"
    ref = layout(build_multiplatform([Layer.from_dir(ROOTFS / "alpine")]), images)
    home = tmp_path / "home"
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    (offline,) = evaluate_all(capsys, home, "--offline").values()
    assert offline["supply_chain"]["observed"] is False and offline["supply_chain"]["sbom"] is None
    evaluate_all(capsys, home)
    shutil.rmtree(images)
    (later,) = evaluate_all(capsys, home).values()
    assert later["supply_chain"]["sbom"] is True and later["hygiene"]["healthcheck"] is False


def test_an_unreachable_source_leaves_supply_chain_unknown_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(
        build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")])), archive
    )
    home = tmp_path / "home"
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", f"docker-archive:{archive}")
    archive.unlink()
    code, doc, err = cli_json(capsys, "--home", str(home), "evaluate")
    assert code == 0, err  # the evidence is there; only the observation is missing
    (evidence,) = doc["images"]
    assert evidence["supply_chain"]["observed"] is False
    (problem,) = doc["problems"]
    assert problem["message"].startswith("not observed")


def test_an_image_in_a_registry_is_observed_by_its_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], registry: RegistryServer, repo_name: str
) -> None:
    """The tag is moved to another image after the analysis: the observation still reads
    the index that was analysed, by digest."""
    first = build_multiplatform([Layer.from_dir(ROOTFS / "alpine")], subject="pkg:docker/first@1")
    other = build_multiplatform(
        [Layer.from_dir(ROOTFS / "alpine")], attestations=False, labels={"moved": "yes"}
    )
    settings = Settings()
    with OciSession(settings) as session:
        reference = publish(session, registry, first, repo_name, tag="1")
    home = tmp_path / "home"
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", reference)
    with OciSession(settings) as session:
        publish(session, registry, other, repo_name, tag="1")
    (evidence,) = evaluate_all(capsys, home).values()
    assert evidence["index_digest"] == first.index.digest
    assert (evidence["supply_chain"]["sbom"], evidence["supply_chain"]["provenance"]) == (
        True,
        True,
    )
    assert evidence["subject"] is None  # another registry: not linked to the catalog by guess
