"""Evidence records built by hand, for the rules whose inputs ``evaluate`` cannot make yet
(vulnerabilities) or that need exact values (days, counts); and policy files on disk."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from imagetrust.evaluate.models import (
    DeprecationEvidence,
    EolDataInfo,
    EolEvidence,
    EolStatus,
    Evidence,
    HygieneEvidence,
    PopularityEvidence,
    StalenessEvidence,
    Subject,
    SupplyChainEvidence,
    TagSupportEvidence,
    VulnerabilityEvidence,
)
from imagetrust.evaluate.policy.decide import decide
from imagetrust.evaluate.policy.loader import load_policy
from imagetrust.evaluate.policy.model import Decision, Policy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def digest(char: str) -> str:
    return "sha256:" + char * 64


def vulnerabilities(
    *, fixable: dict[str, int] | None = None, unfixed: dict[str, int] | None = None, **changes: Any
) -> VulnerabilityEvidence:
    """Known vulnerability evidence; ``fixable`` and ``unfixed`` counts by severity."""
    fixable = fixable or {}
    unfixed = unfixed or {}
    counts = {
        "all": {s: fixable.get(s, 0) + unfixed.get(s, 0) for s in SEVERITIES},
        "fixable": {s: fixable.get(s, 0) for s in SEVERITIES},
    }
    base = VulnerabilityEvidence(known=True, reason="matched against 1 source", counts=counts)
    return replace(base, **changes)


def clean_evidence(**changes: Any) -> Evidence:
    """An image every default rule passes: supported OS, active, tag supported, pushed 10
    days ago, non-root, attested, vulnerabilities known and none found."""
    base = Evidence(
        digest=digest("a"),
        index_digest=digest("b"),
        reference="docker.io/library/python:3.12",
        platform="linux/amd64",
        evaluated_at=NOW,
        subject=Subject("python", "3.12"),
        os_name="Debian GNU/Linux 12 (bookworm)",
        os=EolEvidence(
            "os",
            EolStatus.SUPPORTED,
            "Debian 12: eoes 2028-06-30",
            product="debian",
            version="12",
            cycle="12",
            eol_date=date(2028, 6, 30),
            rule="eoes",
            found_in="os-release",
        ),
        deprecation=DeprecationEvidence("active", "listed in library/python", published=True),
        tag_support=TagSupportEvidence(True, "3.12 is in the library file", tag="3.12"),
        staleness=StalenessEvidence(
            "this is the tag's current digest",
            tag_last_pushed=datetime(2026, 11, 19, tzinfo=UTC),
            days_since_push=10,
            image_age_days=11,
        ),
        hygiene=HygieneEvidence(False, "USER app (uid 1000)", user="app"),
        supply_chain=SupplyChainEvidence(
            "the index attests an SBOM and provenance", observed=True, sbom=True, provenance=True
        ),
        popularity=PopularityEvidence("steady", "about as many pulls a day"),
        eol_data=EolDataInfo("bundled", date(2026, 9, 1)),
        vulnerabilities=vulnerabilities(),
    )
    return replace(base, **changes)


def policy_file(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def judge(evidence: Evidence, policy: Policy | None = None, **kwargs: Any) -> Decision:
    return decide(evidence, policy or load_policy(), now=kwargs.pop("now", NOW), **kwargs)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of ``text`` holding ``fragment`` (what an error must name)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in the text")
