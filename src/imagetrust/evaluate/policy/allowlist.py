"""The approved images, pinned by digest: a text list, JSON, or a Kyverno ClusterPolicy.

A tag is listed when its verdict (its worst platform's) is ``approved``, pinned by the
digest the tag names (its index, else its one manifest), so what is admitted is exactly
the bytes that were judged; a later push to the tag is a new digest, not admitted until
judged. The platform manifests of an approved tag are admitted too: a pod may pin one.

The Kyverno policy validates Pods (Kyverno writes the matching rules for Deployments,
Jobs and the other controllers itself): every container, init container and ephemeral
container image must end in one of the admitted digests (``*@sha256:...``, Kyverno's
wildcard and ``|`` alternatives in a pattern). With nothing approved it denies every Pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from msgspec import Struct

from imagetrust.evaluate.policy.model import Policy, Verdict
from imagetrust.evaluate.policy.rollup import TagVerdict

KYVERNO_POLICY_NAME = "imagetrust-approved-images"


class AllowlistEntry(Struct, frozen=True):
    name: str  # registry/repository:tag as a pull would name it
    image: str
    tag: str | None
    digest: str  # what the entry pins
    platforms: tuple[tuple[str, str], ...]  # (platform, manifest digest)
    grade: str
    score: int

    @property
    def pinned(self) -> str:
        return f"{self.name}@{self.digest}"

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tag": self.tag,
            "reference": self.pinned,
            "digest": self.digest,
            "grade": self.grade,
            "score": self.score,
            "platforms": [{"platform": p, "digest": d} for p, d in self.platforms],
        }


def allowlist(tags: Iterable[TagVerdict]) -> list[AllowlistEntry]:
    """One entry per approved tag, in name order."""
    entries = []
    for tag in tags:
        if tag.verdict is not Verdict.APPROVED:
            continue
        entries.append(
            AllowlistEntry(
                name=_pull_name(tag),
                image=tag.image,
                tag=tag.tag,
                digest=tag.digest,
                platforms=tuple((d.platform, d.digest) for d in tag.decisions),
                grade=tag.grade,
                score=tag.score,
            )
        )
    return sorted(entries, key=lambda e: (e.name, e.digest))


def _pull_name(tag: TagVerdict) -> str:
    """``docker.io/library/python:3.12`` from the reference, else the catalog name."""
    from imagetrust.errors import ImagetrustError
    from imagetrust.oci.reference import ImageReference, parse_reference

    try:
        ref = parse_reference(tag.decisions[0].reference)
    except ImagetrustError:
        ref = None
    if isinstance(ref, ImageReference):
        return f"{ref.name}:{ref.tag}" if ref.tag else ref.name
    return f"{tag.image}:{tag.tag}" if tag.tag else tag.image


def admitted_digests(entries: Sequence[AllowlistEntry]) -> list[str]:
    found = {entry.digest for entry in entries}
    found |= {digest for entry in entries for _, digest in entry.platforms}
    return sorted(found)


def render_text(entries: Sequence[AllowlistEntry]) -> str:
    return "".join(f"{entry.pinned}\n" for entry in entries)


def render_json(entries: Sequence[AllowlistEntry]) -> dict[str, Any]:
    return {
        "images": [entry.as_dict() for entry in entries],
        "digests": admitted_digests(entries),
    }


def kyverno_policy(
    entries: Sequence[AllowlistEntry], *, policy: Policy, generated_at: datetime
) -> dict[str, Any]:
    """The ClusterPolicy as a document (``render_kyverno`` writes it as YAML)."""
    digests = admitted_digests(entries)
    described = (
        f"Admits only container images approved by imagetrust policy {policy.name} "
        f"(sha256 {policy.digest[:12]}), pinned by digest: {len(entries)} images, "
        f"{len(digests)} digests, as of {generated_at:%Y-%m-%dT%H:%M:%SZ}."
    )
    if digests:
        allowed = " | ".join(f"*@{digest}" for digest in digests)
        validate: dict[str, Any] = {
            "failureAction": "Enforce",
            "message": "Only images approved by imagetrust, pinned by digest, may run.",
            "pattern": {
                "spec": {
                    "=(ephemeralContainers)": [{"image": allowed}],
                    "=(initContainers)": [{"image": allowed}],
                    "containers": [{"image": allowed}],
                }
            },
        }
    else:
        validate = {
            "failureAction": "Enforce",
            "message": "imagetrust approves no image at the moment: no Pod may run.",
            "deny": {},
        }
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {
            "name": KYVERNO_POLICY_NAME,
            "annotations": {
                "policies.kyverno.io/title": "Images approved by imagetrust",
                "policies.kyverno.io/category": "Supply Chain Security",
                "policies.kyverno.io/severity": "high",
                "policies.kyverno.io/subject": "Pod",
                "policies.kyverno.io/description": described,
            },
        },
        "spec": {
            "background": True,
            "rules": [
                {
                    "name": "approved-digests-only",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": validate,
                }
            ],
        },
    }


def render_kyverno(
    entries: Sequence[AllowlistEntry], *, policy: Policy, generated_at: datetime
) -> str:
    import yaml

    document = kyverno_policy(entries, policy=policy, generated_at=generated_at)
    text: str = yaml.safe_dump(document, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text
