"""The allowlist round trip: what ``policy check`` approves is exactly what the allowlist
pins, in text, JSON and a Kyverno ClusterPolicy that Kyverno's own models accept.

The store holds hand-built evidence (vulnerabilities known, so images can be approved): an
index whose two platforms pass, an index with one failing platform (so its tag, and both
its digests, stay out), a single-platform image that passes, and a conditional one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from msgspec.structs import replace

from imagetrust.cli.main import main
from imagetrust.evaluate.models import EolEvidence, EolStatus, Evidence, Subject, TagSupportEvidence
from imagetrust.evaluate.stored import save_evidence
from imagetrust.oci.reference import ImageReference, parse_reference
from imagetrust.store.database import Store
from tests.policy.helpers import NOW, clean_evidence, digest

DIGEST_PATTERN = re.compile(r"^\*@(sha256:[0-9a-f]{64})$")


def image(
    repository: str, tag: str, platform: str, manifest: str, index: str | None, **changes: Any
) -> Evidence:
    return clean_evidence(
        reference=f"docker.io/library/{repository}:{tag}",
        subject=Subject(repository, tag),
        platform=platform,
        digest=manifest,
        index_digest=index,
        **changes,
    )


ENDED = EolEvidence("os", EolStatus.EOL, "Debian 10: eoes 2024-06-30", product="debian", cycle="10")
IMAGES = [
    image("python", "3.12", "linux/amd64", digest("1"), digest("a")),
    image("python", "3.12", "linux/arm64/v8", digest("2"), digest("a")),
    image("node", "22", "linux/amd64", digest("3"), digest("b")),
    image("node", "22", "linux/arm64/v8", digest("4"), digest("b"), os=ENDED),
    image("redis", "7", "linux/amd64", digest("5"), None),
    image(
        "debian",
        "10",
        "linux/amd64",
        digest("6"),
        digest("c"),
        tag_support=TagSupportEvidence(False, "10 is no longer in the library file", tag="10"),
    ),
]


@pytest.fixture
def base(tmp_path: Path, store_url: str) -> list[str]:
    with Store.open(store_url) as store, store.transaction() as conn:
        for evidence in IMAGES:
            save_evidence(conn, evidence)
    return ["--db-url", store_url, "--home", str(tmp_path / "home"), "--now", f"{NOW:%Y-%m-%d}"]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out)


def approved_from_check(document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """From ``policy check``'s items alone: the digests each fully approved tag pins (its
    index, else its manifest), and every digest to admit (those and the manifests)."""
    tags: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in document["items"]:
        tags.setdefault((item["image"], item["tag"]), []).append(item)
    pinned: set[str] = set()
    admitted: set[str] = set()
    for items in tags.values():
        if all(item["verdict"] == "approved" for item in items):
            pinned |= {item["index_digest"] or item["digest"] for item in items}
            admitted |= {item["digest"] for item in items}
            admitted |= {item["index_digest"] for item in items if item["index_digest"]}
    return pinned, admitted


def test_policy_check_rolls_platforms_into_tags(
    base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(capsys, *base, "policy", "check", "-f", "json")
    assert code == 3  # node's arm64 image is on an ended OS: rejected
    assert document["kind"] == "policy-check" and list(document)[:2] == ["schema_version", "kind"]
    verdicts = {(t["image"], t["tag"]): t["verdict"] for t in document["tags"]}
    assert verdicts == {
        ("python", "3.12"): "approved",
        ("node", "22"): "rejected",
        ("redis", "7"): "approved",
        ("debian", "10"): "conditional",
    }
    for item in document["items"]:
        assert set(item) >= {
            "image",
            "tag",
            "digest",
            "platform",
            "verdict",
            "grade",
            "score",
            "reasons",
        }
    assert document["counts"] == {"approved": 4, "conditional": 1, "rejected": 1}
    repositories = {r["image"]: r for r in document["repositories"]}
    assert repositories["node"]["verdict"] == "rejected"


def test_the_allowlist_round_trip(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, check = run_json(capsys, *base, "policy", "check", "-f", "json")
    pinned, admitted = approved_from_check(check)
    assert pinned == {digest("a"), digest("5")}

    assert main([*base, "allowlist"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # ``#`` lines say what was left out and what to use instead (as an images file reads them)
    comments = [line for line in lines if line.startswith("#")]
    lines = [line for line in lines if not line.startswith("#")]
    assert any(line.startswith("# not approved: debian:10 (conditional") for line in comments)
    references = [parse_reference(line) for line in lines]
    assert all(isinstance(r, ImageReference) and r.digest for r in references)
    assert {r.digest for r in references if isinstance(r, ImageReference)} == pinned
    assert sorted(lines) == [
        f"docker.io/library/python:3.12@{digest('a')}",
        f"docker.io/library/redis:7@{digest('5')}",
    ]

    code, listed = run_json(capsys, *base, "allowlist", "--format", "json")
    assert code == 0 and listed["kind"] == "allowlist"
    assert set(listed["digests"]) == admitted
    assert {i["digest"] for i in listed["images"]} == pinned

    assert main([*base, "allowlist", "--format", "kyverno"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert kyverno_admits(document) == admitted


def kyverno_admits(document: dict[str, Any]) -> set[str]:
    """Validate with Kyverno's models (every key known: the model gives back exactly what
    it read), then read the digests the pattern admits, the same in every container list."""
    from cloudcoil.models.kyverno.v1 import ClusterPolicy

    policy = ClusterPolicy.model_validate(document)
    assert policy.model_dump(by_alias=True, exclude_unset=True, mode="json") == document
    assert policy.spec is not None and policy.spec.rules is not None
    (rule,) = policy.spec.rules
    assert rule.validate_ is not None and rule.validate_.failure_action == "Enforce"
    assert rule.match is not None
    pattern = rule.validate_.pattern
    if pattern is None:
        assert rule.validate_.deny is not None  # nothing approved: every Pod denied
        return set()
    lists = pattern["spec"]
    assert set(lists) == {"containers", "=(initContainers)", "=(ephemeralContainers)"}
    found = []
    for containers in lists.values():
        (only,) = containers
        choices = [choice.strip() for choice in only["image"].split("|")]
        digests = set()
        for choice in choices:
            matched = DIGEST_PATTERN.match(choice)
            assert matched, choice
            digests.add(matched.group(1))
        found.append(digests)
    assert all(f == found[0] for f in found)
    return found[0]


def test_with_nothing_approved_kyverno_denies_every_pod(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(store_url) as store, store.transaction() as conn:
        save_evidence(conn, replace(IMAGES[3], evaluated_at=NOW))
    base = ["--db-url", store_url, "--home", str(tmp_path / "h"), "--now", "2026-11-29"]
    assert main([*base, "allowlist", "-f", "kyverno"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert kyverno_admits(document) == set()
    assert main([*base, "allowlist"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed and all(line.startswith("#") for line in listed)  # nothing but comments


def test_the_allowlist_writes_nothing(
    base: list[str], store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import func, select

    from imagetrust.store.schema import image_verdicts, runs

    assert main([*base, "allowlist", "-f", "json"]) == 0
    with Store.open(store_url) as store, store.read() as conn:
        assert conn.execute(select(func.count()).select_from(image_verdicts)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 0


@pytest.mark.parametrize(
    ("images", "fail_on", "code"),
    [
        (["python", "redis:7"], "conditional", 0),  # both approved
        (["debian:10"], "rejected", 0),  # conditional is not rejected
        (["debian:10"], "conditional", 3),
        (["node"], "rejected", 3),
        ([digest("5")], "conditional", 0),  # redis by its digest
    ],
)
def test_fail_on_and_image_selection(
    base: list[str], capsys: pytest.CaptureFixture[str], images: list[str], fail_on: str, code: int
) -> None:
    got, document = run_json(
        capsys, *base, "policy", "check", *images, "--fail-on", fail_on, "-f", "json"
    )
    assert got == code
    names = {f"{i['image']}:{i['tag']}" for i in document["items"]}
    wanted = {
        "python": {"python:3.12"},
        "redis:7": {"redis:7"},
        "debian:10": {"debian:10"},
        "node": {"node:22"},
        digest("5"): {"redis:7"},
    }
    assert names == set().union(*(wanted[i] for i in images))


def test_an_image_that_matches_nothing_is_an_error(
    base: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*base, "policy", "check", "python", "mysql"]) == 1
    assert "no evaluated image matches mysql" in capsys.readouterr().err
