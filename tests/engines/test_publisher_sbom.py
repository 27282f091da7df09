"""The publisher's SBOM: an image pushed to a real registry with a BuildKit-style SBOM
attestation (a real in-toto statement with an SPDX predicate, written by BuildKit with
syft), read through the OCI client, stored beside our analysis, and cross-checked.

The statement is ``tests/fixtures/attestations/buildkit-sbom-spdx-intoto.json`` (see its
README), with its subject set to the image the test built: a statement attests one image
by its manifest digest, and the real one names the image BuildKit built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.config import Settings
from imagetrust.demo import DATA
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import (
    SLSA_PROVENANCE_PREDICATE,
    SPDX_PREDICATE,
    BuiltImage,
    BuiltIndex,
    ImageSpec,
    Layer,
    build_image,
    build_index,
    intoto_statement,
)
from imagetrust.testkit.push import push
from tests.engines.helpers import FIXTURES, ROOTFS, TRIVY, Cli
from tests.services.registry import RegistryServer

STATEMENT = FIXTURES / "attestations" / "buildkit-sbom-spdx-intoto.json"


@pytest.fixture
def cli(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "home", store_url, capsys)


def real_statement_for(image: BuiltImage) -> bytes:
    doc = json.loads(STATEMENT.read_text())
    doc["subject"][0]["digest"]["sha256"] = image.manifest.digest.split(":", 1)[1]
    return json.dumps(doc).encode()


def image_for(case: str) -> BuiltImage:
    return build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")], labels={"case": case}))


def publish(registry: RegistryServer, repo: str, index: BuiltIndex) -> str:
    with OciSession(Settings()) as session:
        push(index, session.client(registry.netloc), repo, tag="1")
    return f"{registry.netloc}/{repo}:1"


def test_an_sbom_attestation_is_read_stored_and_cross_checked(
    cli: Cli, registry: RegistryServer, repo_name: str, tmp_path: Path
) -> None:
    image = image_for("real")
    statements = {
        image.manifest.digest: [
            (SPDX_PREDICATE, real_statement_for(image)),
            (
                SLSA_PROVENANCE_PREDICATE,
                intoto_statement("x", image.manifest.digest, SLSA_PROVENANCE_PREDICATE, {}),
            ),
        ]
    }
    ref = publish(registry, repo_name, build_index([image], statements=statements))
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    ours = cli.json("scan", ref)
    document = cli.json("crosscheck", ref)
    (checked,) = document["images"]
    assert checked["image"]["digest"] == image.manifest.digest
    publisher = checked["sources"]["publisher-sbom"]
    predicate = json.loads(STATEMENT.read_text())["predicate"]
    assert publisher["known"] is True and publisher["packages"] == len(predicate["packages"])
    assert "Tool: syft-v1.18.1" in publisher["version"]
    (pair,) = [p for p in checked["pairs"] if (p["a"], p["b"]) == ("builtin", "publisher-sbom")]
    assert pair["findings"] is None  # an SBOM has no findings
    packages = pair["packages"]
    # the real statement lists the Go modules of another project; our Alpine packages are
    # not in it: every package is seen by one side only
    assert sorted(p["name"] for p in packages["only_b"]) == sorted(
        p["name"] for p in predicate["packages"]
    )
    assert sorted(p["name"] for p in packages["only_a"]) == sorted(
        p["name"] for p in ours["packages"]
    )
    assert packages["both"] == 0 and packages["agreement"] == 0.0

    # kept in the store: offline, the registry is not needed again
    again = cli.json("crosscheck", ref, "--offline")
    assert again["images"][0]["sources"]["publisher-sbom"] == publisher

    # carried by bundles, with the other engines' sets
    report = json.loads(TRIVY["debian-buster"].read_text())
    del report["Metadata"]["ImageID"]  # about no image in particular: placed by --digest
    trivy = tmp_path / "trivy.json"
    trivy.write_text(json.dumps(report))
    cli.json("import", str(trivy), "--engine", "trivy", "--digest", image.manifest.digest)
    before = cli.json("crosscheck", "--all", "--offline")["images"]
    bundle = tmp_path / "all.bundle"
    assert cli("export", "--out", str(bundle))[0] == 0
    other = Cli(tmp_path / "other", f"sqlite:///{tmp_path / 'other.db'}", cli.capsys)
    assert other("merge", str(bundle))[0] == 0
    assert other("merge", str(bundle))[0] == 0  # twice: nothing changes
    after = other.json("crosscheck", "--all", "--offline")["images"]
    assert after == before and set(after[0]["sources"]) == {"builtin", "trivy", "publisher-sbom"}


def statement_case(case: str, image: BuiltImage) -> list[tuple[str, bytes]]:
    other = image_for(f"other-{case}")
    predicate: Any = json.loads(STATEMENT.read_text())["predicate"]
    if case == "another-subject":
        return [(SPDX_PREDICATE, real_statement_for(other))]
    if case == "not-spdx":
        return [
            (SPDX_PREDICATE, intoto_statement("x", image.manifest.digest, SPDX_PREDICATE, {"a": 1}))
        ]
    if case == "wrong-predicate-type":
        data = intoto_statement("x", image.manifest.digest, "https://cyclonedx.org/bom", predicate)
        return [(SPDX_PREDICATE, data)]
    if case == "not-json":
        return [(SPDX_PREDICATE, b"{not json")]
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("another-subject", "subject is not this image"),
        ("not-spdx", "not an SPDX document"),
        ("wrong-predicate-type", "is not the 'https://spdx.dev/Document' its layer announced"),
        ("not-json", "not JSON"),
        ("none", "attests no SBOM"),
        ("too-large", "a statement may be"),
    ],
)
def test_a_statement_that_does_not_attest_this_image_is_not_its_sbom(
    cli: Cli,
    registry: RegistryServer,
    repo_name: str,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    reason: str,
) -> None:
    image = image_for(case)
    if case == "none":
        index = build_index([image], statements={image.manifest.digest: []})
    elif case == "too-large":
        monkeypatch.setenv("IMAGETRUST_SBOM_MAX_FILE_BYTES", "512")
        real = [(SPDX_PREDICATE, real_statement_for(image))]
        index = build_index([image], statements={image.manifest.digest: real})
    else:
        index = build_index(
            [image], statements={image.manifest.digest: statement_case(case, image)}
        )
    ref = publish(registry, repo_name, index)
    assert cli("db", "import", str(DATA / "vulndb"))[0] == 0
    assert cli("scan", ref)[0] == 0
    code, out, err = cli("crosscheck", ref, "-f", "json")
    assert code == 0, err
    publisher = json.loads(out)["images"][0]["sources"]["publisher-sbom"]
    assert publisher["known"] is False and reason in publisher["reason"]
    assert publisher["packages"] is None
    code, out, _ = cli("crosscheck", ref)
    assert "publisher-sbom: not known" in out
