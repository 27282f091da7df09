"""Each rule, weight and blocking flag of the default policy changes the verdict as documented.

The oracle is the policy the issue (and the README) documents, restated here: a score starts
at 100 and each rule that fires subtracts its weight (OS end of life 60, deprecated 50, a
known-exploited finding 50, each fixable critical 15 capped at 45, each fixable high 5 capped
at 25, not covered or incomplete SBOM 30, unsupported tag 30, stale over 180 days 10, runs as
root 5, secret-looking ENV 10, no attestations 5); grade A >= 90, B >= 80, C >= 70, D >= 60,
else F; blocking rules (OS end of life, deprecated, known exploited) reject whatever the
score; otherwise A or B is approved, C or D conditional, F rejected; an image not covered,
with an incomplete SBOM, or whose vulnerabilities are not known, is never approved.
Every expected score below is that arithmetic on the evidence the test builds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from imagetrust.evaluate.models import (
    DeprecationEvidence,
    EolEvidence,
    EolStatus,
    HygieneEvidence,
    StalenessEvidence,
    SupplyChainEvidence,
    TagSupportEvidence,
)
from imagetrust.evaluate.policy.loader import load_policy
from imagetrust.evaluate.policy.model import ReasonKind, Verdict
from tests.policy.helpers import clean_evidence, judge, policy_file, vulnerabilities

START = 100
GRADES = [("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0)]
APPROVED, CONDITIONAL = {"A", "B"}, {"C", "D"}


def grade_of(score: int) -> str:
    return next(grade for grade, lowest in GRADES if score >= lowest)


def expected_verdict(score: int, *, blocking: bool = False, never: bool = False) -> Verdict:
    if blocking:
        return Verdict.REJECTED
    grade = grade_of(score)
    if grade in APPROVED:
        return Verdict.CONDITIONAL if never else Verdict.APPROVED
    return Verdict.CONDITIONAL if grade in CONDITIONAL else Verdict.REJECTED


def ended_os() -> EolEvidence:
    return EolEvidence(
        "os",
        EolStatus.EOL,
        "Debian 9: eoes 2022-07-01",
        product="debian",
        version="9",
        cycle="9",
        eol_date=date(2022, 7, 1),
        rule="eoes",
        found_in="os-release",
    )


def stale(days: int) -> StalenessEvidence:
    return StalenessEvidence("pushed long ago", days_since_push=days, image_age_days=days + 1)


# (case id, changes to a clean image, rule id, points the issue gives, detail, blocking,
#  never approved)
CASES: list[tuple[str, dict[str, Any], str, int, str, bool, bool]] = [
    ("os-eol", {"os": ended_os()}, "os-eol", 60, "debian 9, LTS ended 2022-07-01", True, False),
    (
        "deprecated",
        {
            "deprecation": DeprecationEvidence(
                "deprecated",
                "deprecated.md says so",
                published=True,
                notice="This image is officially deprecated.\n\nUse eclipse-temurin instead.",
            )
        },
        "deprecated",
        50,
        "This image is officially deprecated.",
        True,
        False,
    ),
    (
        "removed",
        {"deprecation": DeprecationEvidence("removed", "no library file and no docs")},
        "deprecated",
        50,
        "removed from the official images: no library file and no docs",
        True,
        False,
    ),
    (
        "known-exploited",
        {"vulnerabilities": vulnerabilities(known_exploited=("CVE-2021-44228",))},
        "known-exploited",
        50,
        "CVE-2021-44228",
        True,
        False,
    ),
    (
        "one-fixable-critical",
        {"vulnerabilities": vulnerabilities(fixable={"CRITICAL": 1})},
        "fixable-critical",
        15,
        "1",
        False,
        False,
    ),
    (
        "three-fixable-critical",
        {"vulnerabilities": vulnerabilities(fixable={"CRITICAL": 3})},
        "fixable-critical",
        45,
        "3",
        False,
        False,
    ),
    (
        "fixable-critical-capped",
        {"vulnerabilities": vulnerabilities(fixable={"CRITICAL": 7})},
        "fixable-critical",
        45,
        "7",
        False,
        False,
    ),
    (
        "two-fixable-high",
        {"vulnerabilities": vulnerabilities(fixable={"HIGH": 2}, unfixed={"HIGH": 9})},
        "fixable-high",
        10,
        "2",
        False,
        False,
    ),
    (
        "fixable-high-capped",
        {"vulnerabilities": vulnerabilities(fixable={"HIGH": 6})},
        "fixable-high",
        25,
        "6",
        False,
        False,
    ),
    (
        "incomplete-sbom",
        {
            "vulnerabilities": vulnerabilities(
                complete=False, incomplete=("var/lib/rpm/rpmdb.sqlite",)
            )
        },
        "not-covered",
        30,
        "incomplete SBOM (var/lib/rpm/rpmdb.sqlite)",
        False,
        True,
    ),
    (
        "packages-not-covered",
        {
            "vulnerabilities": vulnerabilities(
                not_covered=2, not_covered_reasons={"no advisory source": 2}
            )
        },
        "not-covered",
        30,
        "2 packages not covered (no advisory source: 2)",
        False,
        True,
    ),
    (
        "os-not-covered",
        {"vulnerabilities": vulnerabilities(os_covered=False)},
        "not-covered",
        30,
        "the OS packages could not be matched",
        False,
        True,
    ),
    (
        "vulnerabilities-not-computed",
        {"vulnerabilities": None},
        "not-covered",
        30,
        "vulnerabilities not known",
        False,
        True,
    ),
    (
        "vulnerabilities-unknown",
        {"vulnerabilities": vulnerabilities(known=False, reason="never scanned")},
        "not-covered",
        30,
        "vulnerabilities not known: never scanned",
        False,
        True,
    ),
    (
        "unsupported-tag",
        {
            "tag_support": TagSupportEvidence(
                False, "3.8 is no longer in the library file (60 tags are)", tag="3.8"
            )
        },
        "unsupported-tag",
        30,
        "3.8 is no longer in the library file (60 tags are)",
        False,
        False,
    ),
    ("stale-181-days", {"staleness": stale(181)}, "stale", 10, "pushed 181 days ago", False, False),
    (
        "runs-as-root",
        {"hygiene": HygieneEvidence(True, "no USER in the config: the container runs as root")},
        "runs-as-root",
        5,
        "no USER in the config",
        False,
        False,
    ),
    (
        "secret-env",
        {
            "hygiene": HygieneEvidence(
                False, "USER app", user="app", secret_env_names=("AWS_SECRET_ACCESS_KEY",)
            )
        },
        "secret-env",
        10,
        "AWS_SECRET_ACCESS_KEY",
        False,
        False,
    ),
    (
        "no-attestations",
        {
            "supply_chain": SupplyChainEvidence(
                "no attestation manifest", observed=True, sbom=False, provenance=False
            )
        },
        "no-attestations",
        5,
        "no SBOM or provenance attestation",
        False,
        False,
    ),
]


def test_a_clean_image_is_approved_with_grade_a_and_no_reasons() -> None:
    decision = judge(clean_evidence())
    assert (decision.verdict, decision.grade, decision.score) == (Verdict.APPROVED, "A", START)
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("changes", "rule", "points", "detail", "blocking", "never"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_rule_of_the_default_policy(
    changes: dict[str, Any], rule: str, points: int, detail: str, blocking: bool, never: bool
) -> None:
    decision = judge(clean_evidence(**changes))
    fired = [r for r in decision.reasons if r.kind is ReasonKind.FIRED]
    assert [r.rule for r in fired] == [rule]
    (reason,) = fired
    assert reason.points == points
    assert detail in reason.detail and reason.text.startswith(f"{rule}: ")
    score = START - points
    assert decision.score == score and decision.grade == grade_of(score)
    assert decision.verdict is expected_verdict(score, blocking=blocking, never=never)
    if decision.verdict is Verdict.CONDITIONAL:
        assert reason.text in decision.conditions


def test_the_issue_examples_read_as_written() -> None:
    """``os-eol: debian 9, LTS ended 2022-07-01``, ``fixable-critical: 3``."""
    decision = judge(
        clean_evidence(os=ended_os(), vulnerabilities=vulnerabilities(fixable={"CRITICAL": 3}))
    )
    texts = [r.text for r in decision.reasons]
    assert "os-eol: debian 9, LTS ended 2022-07-01" in texts
    assert "fixable-critical: 3" in texts
    assert decision.score == max(0, START - 60 - 45)


def test_stale_means_over_180_days() -> None:
    assert judge(clean_evidence(staleness=stale(180))).reasons == ()
    only_built = StalenessEvidence("no tag data", image_age_days=400)
    assert [r.text for r in judge(clean_evidence(staleness=only_built)).reasons] == [
        "stale: built 400 days ago (over 180)"
    ]


def test_points_add_up_and_the_score_never_goes_below_zero() -> None:
    many = clean_evidence(
        tag_support=TagSupportEvidence(False, "gone", tag="3.8"),
        staleness=stale(400),
        hygiene=HygieneEvidence(True, "root", secret_env_names=("DB_PASSWORD",)),
        supply_chain=SupplyChainEvidence("none", observed=True, sbom=False, provenance=False),
    )
    decision = judge(many)
    assert decision.score == START - 30 - 10 - 5 - 10 - 5  # 40: F
    assert (decision.grade, decision.verdict) == ("F", Verdict.REJECTED)
    worst = replace(
        many,
        os=ended_os(),
        vulnerabilities=vulnerabilities(fixable={"CRITICAL": 9, "HIGH": 9}),
    )
    assert judge(worst).score == 0


@pytest.mark.parametrize(
    ("weight", "grade", "verdict"),
    [
        (10, "A", Verdict.APPROVED),
        (11, "B", Verdict.APPROVED),
        (20, "B", Verdict.APPROVED),
        (21, "C", Verdict.CONDITIONAL),
        (30, "C", Verdict.CONDITIONAL),
        (31, "D", Verdict.CONDITIONAL),
        (40, "D", Verdict.CONDITIONAL),
        (41, "F", Verdict.REJECTED),
    ],
)
def test_grade_boundaries(tmp_path: Path, weight: int, grade: str, verdict: Verdict) -> None:
    """One rule with a chosen weight moves the score across each documented boundary."""
    policy = load_policy(policy_file(tmp_path, f"rules:\n  runs-as-root: {{weight: {weight}}}\n"))
    root = clean_evidence(hygiene=HygieneEvidence(True, "root"))
    decision = judge(root, policy)
    assert (decision.score, decision.grade, decision.verdict) == (START - weight, grade, verdict)


RULE_TRIGGERS = {
    "os-eol": {"os": ended_os()},
    "deprecated": dict(CASES[1][1]),
    "known-exploited": dict(CASES[3][1]),
    "fixable-critical": {"vulnerabilities": vulnerabilities(fixable={"CRITICAL": 1})},
    "fixable-high": {"vulnerabilities": vulnerabilities(fixable={"HIGH": 1})},
    "not-covered": {"vulnerabilities": vulnerabilities(complete=False)},
    "unsupported-tag": dict(CASES[14][1]),
    "stale": {"staleness": stale(200)},
    "runs-as-root": dict(CASES[16][1]),
    "secret-env": dict(CASES[17][1]),
    "no-attestations": dict(CASES[18][1]),
    "runtime-eol": {
        "runtimes": (
            EolEvidence("python", EolStatus.EOL, "Python 3.8: eol 2024-10-07", version="3.8.20"),
        )
    },
}


@pytest.mark.parametrize("rule", sorted(RULE_TRIGGERS))
def test_each_weight_and_flag_can_be_set(tmp_path: Path, rule: str) -> None:
    """The policy's weight is what a rule costs, its blocking flag rejects at any score,
    and ``enabled: false`` turns it off."""
    evidence = clean_evidence(**RULE_TRIGGERS[rule])
    never = rule == "not-covered"

    def with_settings(settings: str) -> Any:
        path = policy_file(tmp_path, f"rules:\n  {rule}: {{{settings}}}\n")
        return judge(evidence, load_policy(path))

    seven = with_settings("weight: 7, blocking: false")
    assert seven.score == START - 7
    assert seven.verdict is expected_verdict(START - 7, never=never)
    blocked = with_settings("weight: 0, blocking: true")
    assert (blocked.score, blocked.verdict) == (START, Verdict.REJECTED)
    off = with_settings("weight: 7, enabled: false")
    assert rule not in {r.rule for r in off.reasons}
    assert off.score == START


def test_the_runtime_rule_is_listed_but_not_scored_by_default() -> None:
    decision = judge(clean_evidence(**RULE_TRIGGERS["runtime-eol"]))
    assert [(r.rule, r.points) for r in decision.reasons] == [("runtime-eol", 0)]
    assert decision.verdict is Verdict.APPROVED


def test_never_approved_holds_even_at_grade_a(tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, "rules:\n  not-covered: {weight: 0}\n"))
    decision = judge(clean_evidence(vulnerabilities=vulnerabilities(complete=False)), policy)
    assert (decision.grade, decision.verdict) == ("A", Verdict.CONDITIONAL)
    assert decision.conditions == (
        "not-covered: incomplete SBOM (a package database was not read)",
    )


def test_unknown_vulnerabilities_are_never_approved_whatever_the_policy(tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, "rules:\n  not-covered: {enabled: false}\n"))
    decision = judge(clean_evidence(vulnerabilities=None), policy)
    assert decision.score == START
    assert decision.verdict is Verdict.CONDITIONAL
    assert [r.text for r in decision.reasons] == ["vulnerabilities: not known (not computed)"]


def test_an_unknown_os_is_never_approved_but_costs_nothing() -> None:
    unknown_os = EolEvidence("os", EolStatus.UNKNOWN, "no end-of-life data for the OS 'wolfi'")
    decision = judge(clean_evidence(os=unknown_os))
    assert (decision.score, decision.verdict) == (START, Verdict.CONDITIONAL)
    assert [r.text for r in decision.reasons] == [
        "os-eol: unknown (no end-of-life data for the OS 'wolfi')"
    ]


def test_unknown_catalog_facts_are_said_and_cost_nothing() -> None:
    """A local image outside the catalog: no deprecation, tag or push data, not observed."""
    local = clean_evidence(
        subject=None,
        deprecation=DeprecationEvidence("unknown", "not linked to a catalog repository"),
        tag_support=TagSupportEvidence(None, "not linked to a catalog repository"),
        staleness=StalenessEvidence("no tag data"),
        supply_chain=SupplyChainEvidence("the index was not read"),
    )
    decision = judge(local)
    assert (decision.score, decision.verdict) == (START, Verdict.APPROVED)
    assert {r.rule: r.kind for r in decision.reasons} == {
        "deprecated": ReasonKind.UNKNOWN,
        "unsupported-tag": ReasonKind.UNKNOWN,
        "stale": ReasonKind.UNKNOWN,
        "no-attestations": ReasonKind.UNKNOWN,
    }


def test_a_blocking_rule_rejects_a_high_score(tmp_path: Path) -> None:
    """Deprecated costs 50 but rejects even when its weight leaves grade A."""
    policy = load_policy(policy_file(tmp_path, "rules:\n  deprecated: {weight: 1}\n"))
    decision = judge(clean_evidence(**RULE_TRIGGERS["deprecated"]), policy)
    assert (decision.score, decision.grade, decision.verdict) == (99, "A", Verdict.REJECTED)


def test_evidence_of_other_kinds_is_left_alone() -> None:
    """Only the rules' inputs matter: popularity, HEALTHCHECK and setuid files do not score."""
    busy = clean_evidence(
        hygiene=HygieneEvidence(
            False, "USER app", user="app", healthcheck=False, setuid=("/usr/bin/passwd",)
        )
    )
    assert judge(busy).reasons == ()
