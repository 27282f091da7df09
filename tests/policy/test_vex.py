"""OpenVEX: statements suppress single findings, and the verdict says where each one went.

The documents are real (tests/fixtures/vex/README.md): SUSE Observability's VEX for its
ZooKeeper image (an image product with Maven subcomponents) and the OpenVEX spec's minimal
example (the product is the package). The expectations follow the spec and the matching
rules Trivy and Grype apply: a statement applies when its vulnerability is one of the
finding's ids, its product is the image (and a subcomponent the package) or the package
itself; what a purl leaves out matches anything; the newest applicable statement wins.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from imagetrust.cli.main import main
from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.findings import FindingRef
from imagetrust.evaluate.policy.model import PolicyError, ReasonKind, Verdict
from imagetrust.evaluate.policy.vex import load_vex
from imagetrust.evaluate.stored import save_evidence
from imagetrust.store.database import Store
from tests.policy.helpers import NOW, clean_evidence, digest, judge, vulnerabilities

VEX = Path(__file__).resolve().parent.parent / "fixtures" / "vex"
ZOOKEEPER = VEX / "zookeeper.openvex.json"
SOURCE = (
    "https://github.com/StackVista/vexhub/pkg/oci/quay.io/stackstate/zookeeper/scan.openvex.json"
)

EPOLL = FindingRef(
    "CVE-2026-42577",
    aliases=("GHSA-rwm7-x88c-3g2p",),
    package="io.netty:netty-transport-native-epoll",
    version="4.1.130.Final",
    purl="pkg:maven/io.netty/netty-transport-native-epoll@4.1.130.Final",
    severity="HIGH",
    fixable=True,
)
CODEC = FindingRef(  # found under its GHSA id: the statement names it as an alias
    "GHSA-mj4r-2hfc-f8p6",
    aliases=("CVE-2026-42583",),
    package="io.netty:netty-codec",
    version="4.1.130.Final",
    purl="pkg:maven/io.netty/netty-codec@4.1.130.Final",
    severity="HIGH",
    fixable=True,
)


def zookeeper(reference: str = "quay.io/stackstate/zookeeper:3.9.4", **changes: Any) -> Evidence:
    changes.setdefault("vulnerabilities", vulnerabilities(fixable={"HIGH": 2}))
    return clean_evidence(reference=reference, subject=None, **changes)


def suppressed(decision: Any) -> list[str]:
    return [r.text for r in decision.reasons if r.kind is ReasonKind.SUPPRESSED]


def test_not_affected_statements_take_the_findings_out_and_say_where() -> None:
    findings = [EPOLL, CODEC]
    without = judge(zookeeper(), findings=findings)
    assert [r.text for r in without.reasons] == ["fixable-high: 2"]
    assert without.score == 100 - 2 * 5
    with_vex = judge(zookeeper(), findings=findings, vex=load_vex([ZOOKEEPER]))
    assert with_vex.score == 100 and with_vex.verdict is Verdict.APPROVED
    assert suppressed(with_vex) == [
        "vex: CVE-2026-42577 in io.netty:netty-transport-native-epoll 4.1.130.Final: "
        f"not_affected (vulnerable_code_not_in_execute_path), VEX {SOURCE}",
        "vex: GHSA-mj4r-2hfc-f8p6 in io.netty:netty-codec 4.1.130.Final: "
        f"not_affected (vulnerable_code_not_in_execute_path), VEX {SOURCE}",
    ]


@pytest.mark.parametrize(
    ("reference", "finding", "why"),
    [
        ("quay.io/other/zookeeper:3.9.4", EPOLL, "another repository"),
        ("docker.io/library/zookeeper:3.9", EPOLL, "the official image, not SUSE's"),
        ("quay.io/stackstate/kafka:3.7", EPOLL, "another image of the same registry"),
        (
            "quay.io/stackstate/zookeeper:3.9.4",
            FindingRef(
                "CVE-2026-42577",
                package="io.netty:netty-transport-native-epoll",
                version="4.1.131.Final",
                purl="pkg:maven/io.netty/netty-transport-native-epoll@4.1.131.Final",
                severity="HIGH",
                fixable=True,
            ),
            "another version of the subcomponent",
        ),
        (
            "quay.io/stackstate/zookeeper:3.9.4",
            FindingRef(
                "CVE-2026-42577",
                package="io.netty:netty-handler",
                version="4.1.130.Final",
                purl="pkg:maven/io.netty/netty-handler@4.1.130.Final",
                severity="HIGH",
                fixable=True,
            ),
            "another package",
        ),
        (
            "quay.io/stackstate/zookeeper:3.9.4",
            FindingRef(
                "CVE-2026-0001",
                package="io.netty:netty-transport-native-epoll",
                version="4.1.130.Final",
                purl="pkg:maven/io.netty/netty-transport-native-epoll@4.1.130.Final",
                severity="HIGH",
                fixable=True,
            ),
            "another vulnerability",
        ),
    ],
)
def test_a_statement_applies_to_its_product_only(
    reference: str, finding: FindingRef, why: str
) -> None:
    decision = judge(
        zookeeper(reference, vulnerabilities=vulnerabilities(fixable={"HIGH": 1})),
        findings=[finding],
        vex=load_vex([ZOOKEEPER]),
    )
    assert suppressed(decision) == [], why
    assert [r.text for r in decision.reasons] == ["fixable-high: 1"]


def write(tmp_path: Path, name: str, statements: list[dict[str, Any]], when: str) -> Path:
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": f"https://example.com/vex/{name}",
        "author": "tests",
        "timestamp": when,
        "version": 1,
        "statements": statements,
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


def statement(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "vulnerability": {"name": "CVE-2026-42577"},
        "products": [
            {
                "@id": "pkg:oci/zookeeper?repository_url=quay.io/stackstate/zookeeper",
                "subcomponents": [{"@id": "pkg:maven/io.netty/netty-transport-native-epoll"}],
            }
        ],
        "status": status,
        **extra,
    }


def test_the_newest_statement_is_in_effect(tmp_path: Path) -> None:
    """The fixture says not_affected on 2026-05-08; a later ``affected`` takes it back, an
    earlier one does not."""
    later = write(
        tmp_path,
        "later",
        [statement("affected", action_statement="upgrade")],
        "2026-06-01T00:00:00Z",
    )
    earlier = write(
        tmp_path,
        "earlier",
        [statement("affected", action_statement="upgrade")],
        "2026-01-01T00:00:00Z",
    )
    evidence = zookeeper(vulnerabilities=vulnerabilities(fixable={"HIGH": 1}))
    taken_back = judge(evidence, findings=[EPOLL], vex=load_vex([ZOOKEEPER, later]))
    assert suppressed(taken_back) == [] and taken_back.score == 95
    still = judge(evidence, findings=[EPOLL], vex=load_vex([earlier, ZOOKEEPER]))
    assert len(suppressed(still)) == 1 and still.score == 100


@pytest.mark.parametrize("status", ["affected", "under_investigation"])
def test_only_not_affected_and_fixed_suppress(tmp_path: Path, status: str) -> None:
    path = write(
        tmp_path, status, [statement(status, action_statement="x")], "2026-06-01T00:00:00Z"
    )
    decision = judge(zookeeper(), findings=[EPOLL], vex=load_vex([path]))
    assert suppressed(decision) == []


def test_the_product_may_be_the_package_itself() -> None:
    """The spec's minimal example: ``fixed`` for git 2.39.0-r1 on armv7 and x86_64."""
    vex = load_vex([VEX / "spec-minimal.openvex.json"])

    def git(version: str, arch: str) -> FindingRef:
        return FindingRef(
            "CVE-2023-12345",
            package="git",
            version=version,
            purl=f"pkg:apk/wolfi/git@{version}?arch={arch}&distro=wolfi-20230201",
            severity="CRITICAL",
            fixable=True,
        )

    evidence = clean_evidence(
        reference="cgr.dev/chainguard/git:latest",
        subject=None,
        vulnerabilities=vulnerabilities(fixable={"CRITICAL": 1}),
    )
    assert suppressed(judge(evidence, findings=[git("2.39.0-r1", "x86_64")], vex=vex)) == [
        "vex: CVE-2023-12345 in git 2.39.0-r1: fixed, VEX "
        "https://openvex.dev/docs/example/vex-9fb3463de1b57"
    ]
    for other in (git("2.39.0-r2", "x86_64"), git("2.39.0-r1", "aarch64")):
        decision = judge(evidence, findings=[other], vex=vex)
        assert suppressed(decision) == [] and decision.score == 85


def test_a_known_exploited_finding_leaves_the_list_when_suppressed() -> None:
    evidence = zookeeper(
        vulnerabilities=vulnerabilities(fixable={"HIGH": 1}, known_exploited=("CVE-2026-42577",))
    )
    assert judge(evidence, findings=[EPOLL]).verdict is Verdict.REJECTED
    decision = judge(evidence, findings=[EPOLL], vex=load_vex([ZOOKEEPER]))
    assert decision.verdict is Verdict.APPROVED and decision.score == 100


def test_an_image_level_statement_by_digest(tmp_path: Path) -> None:
    """No findings stored: a statement on the whole image (its digest as the purl version)
    can still clear a known-exploited id; the counts stay, and that is said."""
    image_digest = digest("a")
    path = write(
        tmp_path,
        "digest",
        [
            {
                "vulnerability": {"name": "CVE-2021-44228"},
                "products": [{"@id": f"pkg:oci/python@{image_digest.replace(':', '%3A')}"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_present",
            }
        ],
        "2026-06-01T00:00:00Z",
    )
    evidence = clean_evidence(
        vulnerabilities=vulnerabilities(known_exploited=("CVE-2021-44228",)), digest=image_digest
    )
    decision = judge(evidence, findings=None, vex=load_vex([path]))
    assert decision.verdict is Verdict.APPROVED
    assert {r.rule for r in decision.reasons} == {"vex", "findings"}
    other = judge(
        clean_evidence(vulnerabilities=evidence.vulnerabilities, digest=digest("f")),
        vex=load_vex([path]),
    )
    assert other.verdict is Verdict.REJECTED


def test_a_statement_that_breaks_the_spec_is_a_problem_not_applied(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad",
        [statement("not_affected"), statement("not_affected", justification="trust me")],
        "2026-06-01T00:00:00Z",
    )
    vex = load_vex([path])
    assert vex.statements == ()
    assert [p.split(": ", 1)[1] for p in vex.problems] == [
        "statement 1: not_affected needs a justification or an impact_statement; it is not applied",
        "statement 2: justification 'trust me' is not one of VEX's labels; it is not applied",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"statements": []}', "not an OpenVEX document")],
)
def test_a_file_that_is_not_openvex_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(PolicyError, match=message):
        load_vex([path])


def store_with_findings(url: str, evidence: Evidence, findings: list[FindingRef]) -> None:
    """The evidence, and the findings the way ``scan`` and ``run`` store them: the image's
    finding set (here of an empty database state)."""
    from imagetrust.store.schema import finding_set_items, finding_sets
    from imagetrust.vulndb.findings_store import state_key

    counts = evidence.vulnerabilities.counts if evidence.vulnerabilities else {}
    with Store.open(url) as store, store.transaction() as conn:
        result = conn.execute(
            insert(finding_sets).values(
                digest=evidence.digest,
                analyser_version="test",
                db_state=[],
                db_state_key=state_key(()),
                matched_at=NOW,
                complete=True,
                incomplete=[],
                coverage={"os": "covered", "not_covered": 0, "reasons": {}},
                not_covered=[],
                counts=counts,
                known_exploited=[],
            )
        )
        set_id = result.inserted_primary_key[0]
        for finding in findings:
            conn.execute(
                insert(finding_set_items).values(
                    set_id=set_id,
                    vuln_id=finding.id,
                    package=finding.package,
                    installed_version=finding.version,
                    fixed_version="4.1.132.Final",
                    fix_state="fixed",
                    severity=finding.severity,
                    known_exploited=False,
                    detail={
                        "id": finding.id,
                        "aliases": list(finding.aliases),
                        "package": finding.package,
                        "installed_version": finding.version,
                        "fixed_version": "4.1.132.Final",
                        "fix_state": "fixed",
                        "severity": finding.severity,
                        "purl": finding.purl,
                    },
                )
            )
        save_evidence(conn, evidence)


def test_policy_check_and_show_apply_vex_to_stored_findings(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = zookeeper(evaluated_at=datetime(2026, 11, 1, tzinfo=UTC))
    store_with_findings(store_url, evidence, [EPOLL, CODEC])
    base = ["--db-url", store_url, "--home", str(tmp_path / "home"), "--now", "2026-11-29"]
    assert main([*base, "policy", "check", "--format", "json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    assert (item["score"], [r["text"] for r in item["reasons"]]) == (90, ["fixable-high: 2"])
    later = [*base[:-1], "2026-11-30"]
    args = [*later, "policy", "check", "--vex", str(ZOOKEEPER), "--format", "json"]
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    (item,) = document["items"]
    assert item["score"] == 100 and document["vex"] == [str(ZOOKEEPER)]
    assert [r["rule"] for r in item["reasons"]] == ["vex", "vex"]
    show = ["show", "quay.io/stackstate/zookeeper:3.9.4", "--vex", str(ZOOKEEPER), "-f", "json"]
    assert main([*later, *show]) == 0
    shown = json.loads(capsys.readouterr().out)
    (platform,) = shown["tags"][0]["platforms"]
    where = {f["id"]: f["suppressed"] for f in platform["findings"]}
    assert where["CVE-2026-42577"].startswith("vex: CVE-2026-42577 in io.netty:netty-transport")
    assert "not_affected (vulnerable_code_not_in_execute_path)" in where["GHSA-mj4r-2hfc-f8p6"]
    # both checks were stored: the history shows the score going from 90 to 100
    assert [v["score"] for v in shown["history"]["verdicts"]] == [90, 100]
