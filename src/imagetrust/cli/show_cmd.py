"""``imagetrust show IMAGE[:TAG]``: everything the store knows about one image.

For each tag (and platform) of IMAGE as last evaluated: the verdict with its reasons (the
policy applied now, with ``--policy`` and ``--vex``), the evidence, the findings (each
saying where VEX or an exception took it), what is not covered, and the history: the
digests the tag was seen and evaluated as, and the verdicts stored for it. Read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.judging import (
    PolicyOption,
    VexOption,
    policy_and_vex,
    reason_line,
    say_problems,
)
from imagetrust.cli.output import (
    OutputFormat,
    emit_json,
    print_key_values,
    printable,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.evaluate.models import Evidence
    from imagetrust.evaluate.policy.check import PolicyCheck
    from imagetrust.evaluate.policy.findings import FindingRef
    from imagetrust.evaluate.policy.model import Decision
    from imagetrust.evaluate.recommend.model import Recommendation

FINDINGS_SHOWN = 100  # in the table; JSON has them all


class NotEvaluated(ImagetrustError):
    """IMAGE matches nothing the store holds evidence of."""


def show(
    ctx: typer.Context,
    image: Annotated[
        str,
        typer.Argument(
            help="NAME (every tag), NAME:TAG, a reference (oci-layout:DIR:TAG, ...) or a digest.",
            show_default=False,
        ),
    ],
    policy_path: PolicyOption = None,
    vex_paths: VexOption = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Everything known about one image: verdict, reasons, evidence, findings, history."""
    from imagetrust.evaluate.policy.check import check_store
    from imagetrust.evaluate.policy.findings import stored_findings
    from imagetrust.evaluate.recommend.build import recommend_check

    state: CliState = ctx.obj
    policy, vex = policy_and_vex(policy_path, vex_paths)
    now = state.clock.now()
    with state.open_store(create=False) as store, store.read() as conn:
        result = check_store(conn, policy, now=now, vex=vex, images=[image])
        if result.unmatched:
            raise NotEvaluated(
                f"no evaluated image matches {image}",
                hint="evaluate it first: imagetrust evaluate REF",
            )
        findings = stored_findings(conn, [e.digest for e in result.evidence])
        history = _history(conn, result)
        recommendations = recommend_check(conn, result, policy, now=now, vex=vex, selected=True)
    document = _document(
        image, result, findings, history, recommendations, policy_name=policy.name, now=now
    )
    if fmt is OutputFormat.JSON:
        emit_json("image", document)
    else:
        _print(result, findings, history, recommendations)
    say_problems(result.problems)


def _history(conn: Connection, result: PolicyCheck) -> dict[str, Any]:
    from imagetrust.evaluate.policy.stored import (
        decision_history,
        evidence_digests,
        unanalysed_platforms,
    )
    from imagetrust.store.tags import tag_observations

    references = sorted({e.reference for e in result.evidence})
    digests = {e.digest for e in result.evidence} | {
        e.index_digest for e in result.evidence if e.index_digest
    }
    seen = evidence_digests(conn, references)
    verdicts: dict[tuple[Any, ...], Decision] = {}
    for item in result.evidence:
        subject = item.subject
        found = (
            decision_history(conn, repository=subject.repository, tag=subject.tag)
            if subject is not None
            else decision_history(
                conn, digests={d.digest for d in seen if d.reference == item.reference}
            )
        )
        for decision in found:
            if decision.reference == item.reference:
                stored = (decision.digest, decision.decided_at, decision.policy_digest)
                verdicts.setdefault(stored, decision)
    tags: list[dict[str, Any]] = []
    done: set[tuple[str, str, str, str]] = set()
    for item in result.evidence:
        subject = item.subject
        if subject is None or subject.tag is None:
            continue
        key = (subject.registry, subject.namespace, subject.repository, subject.tag)
        if key in done:
            continue
        done.add(key)
        for observation in tag_observations(
            conn,
            subject.repository,
            subject.tag,
            registry=subject.registry,
            namespace=subject.namespace,
        ):
            tags.append(
                {
                    "tag": f"{subject.repository}:{subject.tag}",
                    "platform": observation.platform,
                    "digest": observation.digest,
                    "first_seen": observation.first_seen,
                    "last_seen": observation.last_seen,
                    "source": observation.source,
                }
            )
    return {
        "evaluated_digests": [
            {
                "reference": d.reference,
                "platform": d.platform,
                "digest": d.digest,
                "first_evaluated": d.first,
                "last_evaluated": d.last,
                "evaluations": d.evaluations,
            }
            for d in seen
        ],
        "tag_history": tags,
        "verdicts": [
            {
                "decided_at": d.decided_at,
                "reference": d.reference,
                "platform": d.platform,
                "digest": d.digest,
                "verdict": d.verdict.value,
                "grade": d.grade,
                "score": d.score,
                "policy": d.policy_name,
            }
            for d in sorted(verdicts.values(), key=lambda d: (d.decided_at, d.platform))
        ],
        "not_analysed": [
            {"digest": n.digest, "platform": n.platform, "status": n.status, "reason": n.reason}
            for n in unanalysed_platforms(conn, digests)
        ],
    }


def _suppressed(decision: Decision) -> dict[str, str]:
    """Finding label -> the reason that took it out of the counts."""
    from imagetrust.evaluate.policy.model import ReasonKind

    found = {}
    for reason in decision.reasons:
        if reason.kind is ReasonKind.SUPPRESSED:
            label = reason.detail.split(": ", 1)[0]
            found[label] = reason.text
    return found


def _finding_rows(decision: Decision, refs: list[FindingRef] | None) -> list[dict[str, Any]] | None:
    if refs is None:
        return None
    gone = _suppressed(decision)
    return [
        {
            "id": f.id,
            "aliases": list(f.aliases),
            "package": f.package,
            "version": f.version,
            "severity": f.severity,
            "fixable": f.fixable,
            "fixed_version": f.fixed_version,
            "purl": f.purl,
            "known_exploited": f.known_exploited.to_json() if f.known_exploited else None,
            "suppressed": gone.get(f.label),
        }
        for f in refs
    ]


def _not_covered(evidence: Evidence) -> dict[str, Any] | None:
    found = evidence.vulnerabilities
    if found is None or not found.known:  # no findings stored: unknown, not "nothing"
        return None
    return {
        "complete": found.complete,
        "incomplete": list(found.incomplete),
        "packages": found.not_covered,
        "reasons": found.not_covered_reasons,
        "os_covered": found.os_covered,
    }


def _document(
    query: str,
    result: PolicyCheck,
    findings: dict[str, list[FindingRef]],
    history: dict[str, Any],
    recommendations: dict[tuple[str, str | None], Recommendation],
    *,
    policy_name: str,
    now: Any,
) -> dict[str, Any]:
    from imagetrust.evaluate.stored import evidence_document

    by_key = {(e.reference, e.platform): e for e in result.evidence}
    tags = []
    for tag in result.tags:
        platforms = []
        for decision in tag.decisions:
            evidence = by_key[(decision.reference, decision.platform)]
            platforms.append(
                {
                    **decision.as_dict(),
                    "evidence": evidence_document(evidence),
                    "findings": _finding_rows(decision, findings.get(decision.digest)),
                    "not_covered": _not_covered(evidence),
                }
            )
        recommendation = recommendations.get((tag.image, tag.tag))
        tags.append(
            {
                **tag.as_dict(),
                "platforms": platforms,
                "recommendation": recommendation.as_dict() if recommendation else None,
            }
        )
    return {
        "query": query,
        "decided_at": now,
        "policy": policy_name,
        "tags": tags,
        "history": history,
        "problems": list(result.problems),
    }


def _print(
    result: PolicyCheck,
    findings: dict[str, list[FindingRef]],
    history: dict[str, Any],
    recommendations: dict[tuple[str, str | None], Recommendation],
) -> None:
    from rich.table import Table

    from imagetrust.cli.evaluate_cmd import evidence_rows

    console = stdout_console()
    by_key = {(e.reference, e.platform): e for e in result.evidence}
    for tag in result.tags:
        console.print(
            f"{tag.name}: {tag.verdict.value}, grade {tag.grade} ({tag.score})"
            + (f", the worst of {len(tag.decisions)} platforms" if len(tag.decisions) > 1 else "")
        )
        recommendation = recommendations.get((tag.image, tag.tag))
        if recommendation is not None:
            console.print("instead:")
            for line in recommendation.lines():
                console.print(f"  {printable(line)}")
        for decision in tag.decisions:
            evidence = by_key[(decision.reference, decision.platform)]
            rows = [
                ("verdict", f"{decision.verdict.value}, grade {decision.grade} ({decision.score})"),
                ("reasons", "\n".join(reason_line(r) for r in decision.reasons) or "none"),
            ]
            if decision.conditions:
                rows.append(("conditions", "\n".join(decision.conditions)))
            rows += evidence_rows(evidence)
            rows.append(("vulnerabilities", _vulnerability_line(evidence)))
            console.print()
            print_key_values(rows)
            refs = findings.get(decision.digest)
            if refs:
                _findings_table(decision, refs)
    notes = history["not_analysed"]
    if notes:
        console.print()
        for note in notes:
            console.print(
                f"not analysed: {note['platform']} of {note['digest']}: {note['status']}"
                + (f" ({note['reason']})" if note["reason"] else "")
            )
    table = Table(title="digests evaluated", title_justify="left")
    for column in ("reference", "platform", "digest", "first", "last", "evaluations"):
        table.add_column(column)
    for seen in history["evaluated_digests"]:
        table.add_row(
            seen["reference"],
            seen["platform"],
            seen["digest"],
            f"{seen['first_evaluated']:%Y-%m-%d}",
            f"{seen['last_evaluated']:%Y-%m-%d}",
            str(seen["evaluations"]),
        )
    console.print()
    console.print(table)
    if history["tag_history"]:
        tags = Table(title="tag history (digests seen)", title_justify="left")
        for column in ("tag", "platform", "digest", "first seen", "last seen"):
            tags.add_column(column)
        for span in history["tag_history"]:
            tags.add_row(
                span["tag"],
                span["platform"],
                span["digest"],
                f"{span['first_seen']:%Y-%m-%d}",
                f"{span['last_seen']:%Y-%m-%d}",
            )
        console.print(tags)
    verdicts = Table(title="verdicts stored", title_justify="left")
    for column in ("decided", "platform", "digest", "verdict", "grade", "score", "policy"):
        verdicts.add_column(column)
    for row in history["verdicts"]:
        verdicts.add_row(
            f"{row['decided_at']:%Y-%m-%d %H:%M}",
            row["platform"],
            row["digest"][:19] + "…",
            row["verdict"],
            row["grade"],
            str(row["score"]),
            row["policy"],
        )
    if not history["verdicts"]:
        console.print("verdicts stored: none yet (imagetrust policy check stores them)")
    else:
        console.print(verdicts)


def _vulnerability_line(evidence: Evidence) -> str:
    found = evidence.vulnerabilities
    if found is None:
        return "unknown: not matched yet"
    if not found.known:
        return f"unknown: {found.reason}"
    shown = ", ".join(
        f"{severity} {found.total(severity)} ({found.fixable(severity)} fixable)"
        for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
        if found.total(severity)
    )
    notes = []
    if not found.complete:
        notes.append("incomplete SBOM: a lower bound")
    if found.not_covered:
        notes.append(f"{found.not_covered} packages not covered")
    if found.known_exploited:
        notes.append("known exploited: " + ", ".join(found.known_exploited))
    return "; ".join([shown or "none found", *notes])


def _findings_table(decision: Decision, refs: list[FindingRef]) -> None:
    from rich.table import Table

    order = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
    gone = _suppressed(decision)
    table = Table(title=f"findings of {decision.platform}", title_justify="left")
    exploited = any(ref.known_exploited is not None for ref in refs)
    columns = ["id", "package", "version", "severity", "fixed in", "where it went"]
    for column in [*columns, "known exploited (CISA)"] if exploited else columns:
        table.add_column(column)
    # the known-exploited ones first: they are what the policy blocks on
    ordered = sorted(
        refs,
        key=lambda f: (f.known_exploited is None, order.get(f.severity, 4), not f.fixable, f.id),
    )
    for ref in ordered[:FINDINGS_SHOWN]:
        cells = [
            ref.id,
            ref.package,
            ref.version,
            ref.severity,
            ref.fixed_version or "-",
            gone.get(ref.label, "counted"),
        ]
        if exploited:
            cells.append(ref.known_exploited.dates if ref.known_exploited else "-")
        table.add_row(*cells)
    console = stdout_console()
    console.print(table)
    if len(ordered) > FINDINGS_SHOWN:
        console.print(f"… and {len(ordered) - FINDINGS_SHOWN} more (--format json lists all)")
