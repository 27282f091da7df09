"""The policy file: validated with errors that name the file and the line, laid over the
default key by key. Each expected line number is found in the test's own YAML text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.evaluate.policy.loader import DEFAULT_POLICY, load_policy
from imagetrust.evaluate.policy.model import IfUnknown, PolicyError
from tests.policy.helpers import line_of, policy_file

BAD = [
    ("unknown top key", "version: 1\nrule:\n  os-eol: {weight: 1}\n", "rule:", "unknown key"),
    (
        "weight not a number",
        "rules:\n  runs-as-root:\n    weight: 5\n  os-eol:\n    weight: sixty\n",
        "weight: sixty",
        "rules.os-eol.weight: expected a whole number >= 0, got 'sixty'",
    ),
    (
        "negative weight",
        "rules:\n  stale: {weight: -3}\n",
        "stale",
        "rules.stale.weight: expected a whole number >= 0, got -3",
    ),
    (
        "blocking not a boolean",
        "rules:\n  deprecated:\n    blocking: 'yes please'\n",
        "blocking",
        "rules.deprecated.blocking: expected true or false",
    ),
    ("unknown rule", "rules:\n  os-eoll: {weight: 60}\n", "os-eoll", "rules.os-eoll: unknown key"),
    (
        "unknown rule setting",
        "rules:\n  stale:\n    weight: 10\n    day: 90\n",
        "day: 90",
        "rules.stale.day: unknown key",
    ),
    (
        "cap on a flat rule",
        "rules:\n  runs-as-root:\n    cap: 10\n",
        "cap: 10",
        "rules.runs-as-root.cap: only counted rules have a cap",
    ),
    (
        "days on another rule",
        "rules:\n  os-eol:\n    days: 10\n",
        "days: 10",
        "only the stale rule has days",
    ),
    (
        "if_unknown value",
        "rules:\n  stale:\n    if_unknown: reject\n",
        "if_unknown",
        "expected one of ignore, conditional, got 'reject'",
    ),
    (
        "a key given twice",
        "rules:\n  stale: {weight: 10}\n  stale: {weight: 20}\n",
        "stale: {weight: 20}",
        "'stale' is given twice",
    ),
    (
        "grades not descending",
        "grades:\n  A: 90\n  B: 95\n  F: 0\n",
        "B: 95",
        "grades.B: grades go from the best (highest) down",
    ),
    (
        "grades without a floor",
        "grades:\n  A: 90\n  B: 50\n",
        "grades:",
        "the last grade must start at 0",
    ),
    (
        "a verdict naming no grade",
        "verdicts:\n  approved: [A, B, E]\n",
        "approved:",
        "verdicts.approved: no grade E in grades",
    ),
    (
        "a grade both approved and conditional",
        "verdicts:\n  conditional: [B, C, D]\n",
        "conditional:",
        "B cannot be both",
    ),
    ("another version", "version: 2\n", "version", "this imagetrust reads version 1"),
    (
        "not YAML",
        "rules:\n  stale: {weight: 10\n  os-eol: {weight: 60}\n",
        "os-eol",
        "not valid YAML",
    ),
    (
        "exception without expiry",
        "exceptions:\n  - image: python\n    rule: stale\n    justification: x\n    by: me\n",
        "- image: python",
        "exceptions[0]: expires is required",
    ),
    (
        "exception with a bad date",
        "exceptions:\n  - image: python\n    rule: stale\n    expires: next year\n"
        "    justification: x\n    by: me\n",
        "expires: next year",
        "exceptions[0].expires: expected a date",
    ),
    (
        "exception for an unknown rule",
        "exceptions:\n  - image: python\n    rule: root\n    expires: 2027-01-01\n"
        "    justification: x\n    by: me\n",
        "rule: root",
        "exceptions[0].rule: no rule 'root'",
    ),
    (
        "exception for both a rule and a finding",
        "exceptions:\n  - digest: sha256:" + "a" * 64 + "\n    rule: stale\n"
        "    finding: CVE-2024-1\n    expires: 2027-01-01\n    justification: x\n    by: me\n",
        "- digest",
        "either rule or finding",
    ),
    (
        "exception naming no image",
        "exceptions:\n  - rule: stale\n    expires: 2027-01-01\n    justification: x\n    by: me\n",
        "- rule: stale",
        "say which image it covers",
    ),
    (
        "exception with a short digest",
        "exceptions:\n  - digest: sha256:abc\n    rule: stale\n    expires: 2027-01-01\n"
        "    justification: x\n    by: me\n",
        "digest: sha256:abc",
        "expected sha256:<64 hex digits>",
    ),
    (
        "exception without a justification",
        "exceptions:\n  - image: python\n    rule: stale\n    expires: 2027-01-01\n"
        "    justification: ''\n    by: me\n",
        "justification",
        "exceptions[0].justification: expected some text",
    ),
]


@pytest.mark.parametrize(
    ("text", "fragment", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_errors_name_the_file_and_line(
    tmp_path: Path, text: str, fragment: str, message: str
) -> None:
    path = policy_file(tmp_path, text)
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert raised.value.message.startswith(f"{path}:{line_of(text, fragment)}: ")
    assert message in raised.value.message


def test_the_command_line_says_so_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "rules:\n  os-eol:\n    weight: sixty\n"
    path = policy_file(tmp_path, text)
    home = tmp_path / "home"
    assert main(["--home", str(home), "policy", "check", "--policy", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}:{line_of(text, 'weight')}: rules.os-eol.weight" in err
    assert not home.exists()  # the policy is read before the store is opened


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_the_default_policy_is_the_documented_one() -> None:
    policy = load_policy()
    weights = {rule: s.weight for rule, s in policy.rules.items()}
    assert weights == {
        "os-eol": 60,
        "deprecated": 50,
        "known-exploited": 50,
        "fixable-critical": 15,
        "fixable-high": 5,
        "not-covered": 30,
        "unsupported-tag": 30,
        "stale": 10,
        "runs-as-root": 5,
        "secret-env": 10,
        "no-attestations": 5,
        "runtime-eol": 0,
    }
    assert {r for r, s in policy.rules.items() if s.blocking} == {
        "os-eol",
        "deprecated",
        "known-exploited",
    }
    assert (policy.rules["fixable-critical"].cap, policy.rules["fixable-high"].cap) == (45, 25)
    assert policy.rules["stale"].days == 180
    assert policy.rules["not-covered"].never_approved
    assert policy.grades == (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))
    assert (policy.approved, policy.conditional) == ({"A", "B"}, {"C", "D"})
    assert policy.source == "default" and policy.exceptions == ()


def test_a_file_replaces_only_the_keys_it_gives(tmp_path: Path) -> None:
    path = policy_file(
        tmp_path,
        "name: strict\nrules:\n  stale: {days: 90}\n  runs-as-root: {weight: 20, blocking: true}\n"
        "  os-eol: {if_unknown: ignore}\nverdicts:\n  approved: [A]\n  conditional: [B, C, D]\n",
    )
    policy = load_policy(path)
    default = load_policy()
    assert policy.name == "strict" and policy.source == str(path)
    assert policy.rules["stale"].days == 90 and policy.rules["stale"].weight == 10
    assert policy.rules["runs-as-root"].weight == 20 and policy.rules["runs-as-root"].blocking
    assert policy.rules["os-eol"].if_unknown is IfUnknown.IGNORE
    assert policy.rules["os-eol"].weight == 60 and policy.rules["os-eol"].blocking
    assert policy.approved == {"A"} and policy.conditional == {"B", "C", "D"}
    assert policy.grades == default.grades
    assert policy.digest != default.digest  # a verdict names the policy it came from


def test_an_empty_file_is_the_default(tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, "# nothing to change\n"))
    assert policy.rules == load_policy().rules


def test_exceptions_are_read_with_their_dates(tmp_path: Path) -> None:
    text = (
        "exceptions:\n"
        "  - image: python:3.12\n"
        "    rule: runs-as-root\n"
        "    expires: 2027-01-31\n"
        "    justification: runs with a non-root securityContext\n"
        "    by: platform-team@example.com\n"
        "  - digest: sha256:" + "c" * 64 + "\n"
        "    finding: CVE-2024-12345\n"
        "    expires: '2026-12-01'\n"
        "    justification: not reachable\n"
        "    by: alice\n"
    )
    path = policy_file(tmp_path, text)
    first, second = load_policy(path).exceptions
    assert (first.image, first.rule, first.expires, first.by) == (
        "python:3.12",
        "runs-as-root",
        date(2027, 1, 31),
        "platform-team@example.com",
    )
    assert first.where == f"{path}:{line_of(text, '- image')}"
    assert (second.digest, second.finding, second.expires) == (
        "sha256:" + "c" * 64,
        "CVE-2024-12345",
        date(2026, 12, 1),
    )


def test_the_shipped_default_file_parses_on_its_own() -> None:
    assert DEFAULT_POLICY.is_file()
    assert "weight: 60" in DEFAULT_POLICY.read_text()
