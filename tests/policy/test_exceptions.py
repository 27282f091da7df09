"""Exceptions accept a risk knowingly until their expiry date; then they stop and say so.

End to end: an image built here runs as root, is analysed and evaluated with ``imagetrust
evaluate`` (as python:3.12), then checked at the clock's day before the expiry and on it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.evaluate.models import HygieneEvidence
from imagetrust.evaluate.policy.findings import FindingRef
from imagetrust.evaluate.policy.loader import load_policy
from imagetrust.evaluate.policy.model import ReasonKind, Verdict
from imagetrust.testkit.builder import ImageSpec, Layer, build_image
from tests.evaluate.helpers import ROOTFS, layout, store_analysis
from tests.policy.helpers import clean_evidence, digest, judge, policy_file, vulnerabilities

EXCEPTIONS = """\
exceptions:
  - image: python:3.12
    rule: runs-as-root
    expires: 2027-01-31
    justification: the platform runs it with a non-root securityContext
    by: platform-team@example.com
  - image: node
    rule: stale
    expires: 2030-01-01
    justification: another image altogether
    by: someone-else
"""


@pytest.fixture
def evaluated(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A root image (no USER) evaluated as python:3.12; the global options to reach it."""
    ref = layout(
        build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")])), tmp_path / "img"
    )
    store_analysis(store_url, ref)
    base = ["--db-url", store_url, "--home", str(tmp_path / "home")]
    code = main([*base, "--now", "2027-01-01", "evaluate", ref, "--as", "python:3.12", "--offline"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return base


def check(
    base: list[str], now: str, policy: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    code = main([*base, "--now", now, "policy", "check", "--policy", str(policy), "-f", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_exception_applies_until_its_expiry_day(
    tmp_path: Path, evaluated: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = policy_file(tmp_path, EXCEPTIONS)
    code, document = check(evaluated, "2027-01-30", policy, capsys)
    (item,) = document["items"]
    root = next(r for r in item["reasons"] if r["rule"] == "runs-as-root")
    assert root["kind"] == "accepted" and root["points"] == 0
    assert "accepted by platform-team@example.com until 2027-01-31" in root["text"]
    scored = {r["rule"]: r["points"] for r in item["reasons"] if r["points"]}
    assert "stale" in scored  # the node exception is for another image
    accepted_score = item["score"]
    assert accepted_score == 100 - sum(scored.values())
    assert code == (3 if item["verdict"] == "rejected" else 0)

    code, document = check(evaluated, "2027-01-31", policy, capsys)
    (item,) = document["items"]
    kinds = {(r["rule"], r["kind"]) for r in item["reasons"]}
    assert ("runs-as-root", "fired") in kinds and ("runs-as-root", "exception-expired") in kinds
    expired = next(r for r in item["reasons"] if r["kind"] == "exception-expired")
    assert "expired 2027-01-31" in expired["text"] and "no longer applies" in expired["text"]
    assert item["score"] == accepted_score - 5  # the weight for running as root


def test_the_exception_is_in_the_table_too(
    tmp_path: Path, evaluated: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = policy_file(tmp_path, EXCEPTIONS)
    main([*evaluated, "--now", "2027-02-01", "policy", "check", "--policy", str(policy)])
    out = capsys.readouterr().out
    assert "exception for runs-as-root expired 2027-01-31" in out


def test_an_exception_by_digest_covers_that_digest_only(tmp_path: Path) -> None:
    root = HygieneEvidence(True, "no USER in the config")
    policy = load_policy(
        policy_file(
            tmp_path,
            "exceptions:\n"
            f"  - digest: {digest('b')}\n"  # the index digest of the clean evidence
            "    rule: runs-as-root\n"
            "    expires: 2027-01-01\n"
            "    justification: checked\n"
            "    by: me\n",
        )
    )
    covered = judge(clean_evidence(hygiene=root), policy)
    assert covered.score == 100
    assert [r.kind for r in covered.reasons] == [ReasonKind.ACCEPTED]
    elsewhere = judge(
        clean_evidence(hygiene=root, digest=digest("c"), index_digest=digest("d")), policy
    )
    assert elsewhere.score == 95


def test_a_finding_exception_takes_one_finding_out(tmp_path: Path) -> None:
    log4shell = FindingRef(
        "GHSA-jfh8-c2jp-5v3q",
        aliases=("CVE-2021-44228",),
        package="org.apache.logging.log4j:log4j-core",
        version="2.14.1",
        purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        severity="CRITICAL",
        fixable=True,
    )
    evidence = clean_evidence(
        vulnerabilities=vulnerabilities(
            fixable={"CRITICAL": 1}, known_exploited=("CVE-2021-44228",)
        )
    )
    policy = load_policy(
        policy_file(
            tmp_path,
            "exceptions:\n"
            "  - image: python\n"
            "    finding: CVE-2021-44228\n"
            "    expires: 2027-01-01\n"
            "    justification: JNDI lookups disabled by the platform\n"
            "    by: security@example.com\n",
        )
    )
    assert judge(evidence, findings=[log4shell]).verdict is Verdict.REJECTED
    decision = judge(evidence, policy, findings=[log4shell])
    assert (decision.verdict, decision.score) == (Verdict.APPROVED, 100)
    (gone,) = [r for r in decision.reasons if r.kind is ReasonKind.SUPPRESSED]
    assert gone.text.startswith(
        "exception: GHSA-jfh8-c2jp-5v3q in org.apache.logging.log4j:log4j-core 2.14.1: accepted "
        "by security@example.com until 2027-01-01"
    )
    expired = judge(evidence, policy, findings=[log4shell], now=datetime(2027, 1, 1, tzinfo=UTC))
    assert expired.verdict is Verdict.REJECTED
    assert any(r.kind is ReasonKind.EXCEPTION_EXPIRED for r in expired.reasons)
