"""The report model, built from the store alone, in one read snapshot.

What it reads, and from where:

- verdicts: ``evaluate.policy.check.check_store`` judges every current image (the newest
  evidence of each reference and platform) with the policy given, the way ``policy check``,
  ``show`` and ``allowlist`` do, so the report agrees with them; the verdicts stored
  before are the history shown on each image page;
- the catalog: the latest snapshot at or before the clock (state, notice, description,
  pull counts and their change since ``since``);
- findings and what is not covered: each image's own finding set (engine ``builtin``) for
  the live database state (else its newest), as ``show`` reads them;
- packages and layers: the image's stored SBOM (the newest analyser's);
- trends: finding-set history and tag history (``report.history``);
- other sources, shown and never counted: other engines' newest finding sets and the
  publisher's SBOM (``report.sources``);
- the 2020 review's tables: ``evaluate.review``.

Nothing here asks a registry, the Hub or a feed. An image whose stored data cannot be read
becomes a problem with its reason; the rest of the report is still built.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, select

from imagetrust import __version__
from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.check import PolicyCheck
from imagetrust.evaluate.policy.model import Decision, Policy, ReasonKind, Verdict
from imagetrust.evaluate.policy.rollup import RepositoryVerdict, TagVerdict
from imagetrust.evaluate.policy.vex import VexSet
from imagetrust.evaluate.recommend.model import Recommendation
from imagetrust.report import history, sources
from imagetrust.report.interface import ReportError
from imagetrust.report.model import (
    NO_SBOM_STORED,
    NOT_EVALUATED,
    AlternativeRow,
    DatabaseSource,
    EolRow,
    Fact,
    FindingRow,
    FixTime,
    ImagePage,
    ImageTrend,
    LayerRow,
    LinkRow,
    NotCoveredRow,
    PackageRow,
    PlatformRow,
    Point,
    PullFigures,
    Reason,
    RecommendationView,
    Report,
    RepositoryRow,
    SbomFiles,
    TagRow,
    Totals,
    Trends,
    VerdictPoint,
    VulnSummary,
)
from imagetrust.report.text import slug
from imagetrust.sbom.models import ImageSbom, SbomError
from imagetrust.sbom.stored import newest_sbom_id
from imagetrust.store.schema import vuln_sources

if TYPE_CHECKING:
    from imagetrust.store.database import Store

log = logging.getLogger(__name__)

PRIMARY_PLATFORM = "linux/amd64"
# Platform rows per repository in the overview (the default tag always shows whole): the
# overview of 200 repositories stays under 2 MB; each image page lists every tag.
PLATFORM_ROWS_IN_OVERVIEW = 12
DEFAULT_PULLS_WINDOW = timedelta(days=30)
FIXES_LISTED = 200  # in the trends; every one is counted in the summaries
# The overview's order, worst first (a repository nobody judged is not "worse" than one
# judged rejected, but it is not approved either: last, and counted apart).
VERDICT_RANK = {"rejected": 3, "conditional": 2, "approved": 1, NOT_EVALUATED: 0}


class BuiltReport:
    """The model, and where the SBOMs its download links point at are stored (the site
    alone writes them).

    The SBOMs themselves are not held: thousands of them would make the report's memory
    grow with the catalog. Each is read again by its row id, one at a time, when its files
    are written (``read_sboms``); a stored SBOM never changes, so the files hold the same
    packages as the page. ``store`` is set by ``build_model``, which has it.
    """

    def __init__(self, report: Report, sbom_ids: dict[str, int]) -> None:
        self.report = report
        self.sbom_ids = sbom_ids
        self.store: Store | None = None

    def read_sboms(self, digests: Iterable[str]) -> Iterator[tuple[str, ImageSbom | str]]:
        """Each digest that has a stored SBOM, with it, or with why it cannot be had (gone
        since, or no longer readable); one read snapshot for all."""
        from imagetrust.sbom.stored import sbom_by_id

        wanted = [d for d in digests if d in self.sbom_ids]
        if self.store is None:
            raise ReportError("the report's SBOMs cannot be read: no store was given")
        with self.store.read() as conn:
            for digest in wanted:
                try:
                    sbom = sbom_by_id(conn, self.sbom_ids[digest])
                except SbomError as exc:
                    yield digest, f"the stored SBOM cannot be read: {exc}"
                    continue
                yield digest, sbom if sbom is not None else "the stored SBOM is gone"


def build_report(
    conn: Connection,
    *,
    now: datetime,
    policy: Policy,
    vex: VexSet | None = None,
    since: datetime | None = None,
) -> BuiltReport:
    """The whole report as of ``now``; pull-count changes from ``since`` (default: 30 days
    before ``now``)."""
    from imagetrust.catalog.snapshots import latest_snapshot, pull_deltas, snapshot_entries
    from imagetrust.evaluate.policy.check import check_store
    from imagetrust.evaluate.recommend.build import by_name, recommend
    from imagetrust.evaluate.review import build_review

    since = since if since is not None else now - DEFAULT_PULLS_WINDOW
    check = check_store(conn, policy, now=now, vex=vex)
    problems = list(check.problems)
    snapshot = latest_snapshot(conn, at_or_before=now)
    catalog: dict[str, Any] = {}
    deltas: dict[str, Any] = {}
    if snapshot is not None:
        catalog = {stored.entry.name: stored for stored in snapshot_entries(conn, snapshot.id)}
        deltas = pull_deltas(conn, snapshot, since=since)
    evidence_of = {(e.reference, e.platform): e for e in check.evidence}
    pages_of = {
        (d.reference, d.platform): f"images/{slug(_display(d), d.platform)}.html"
        for d in check.decisions
    }
    from imagetrust.vulndb.findings_store import db_state
    from imagetrust.vulndb.query import live_generations

    context = _PageContext(
        pages_of=pages_of,
        catalog=catalog,
        tags_of={},
        state=db_state(live_generations(conn)),
        now=now,
        recommendations=by_name(recommend(conn, check, now=now)),
        pages_by_name={
            (tag.name, d.platform): pages_of[(d.reference, d.platform)]
            for tag in check.tags
            for d in tag.decisions
        },
    )
    for tag in check.tags:
        context.tags_of.setdefault(tag.image, []).append(tag)
    images: list[ImagePage] = []
    sbom_ids: dict[str, int] = {}
    traced: list[tuple[str, history.ImageHistory]] = []
    for tag in check.tags:
        for decision in tag.decisions:
            evidence = evidence_of[(decision.reference, decision.platform)]
            try:
                page, sbom_id, past = _image_page(conn, decision, evidence, tag, context)
            except Exception as exc:  # this image only: the report goes on
                log.debug("report of %s failed", decision.reference, exc_info=True)
                problems.append(f"{decision.reference} ({decision.platform}): not reported: {exc}")
                continue
            images.append(page)
            traced.append((page.page, past))
            if sbom_id is not None:
                sbom_ids[decision.digest] = sbom_id
    reported = {page.page for page in images}
    repositories = _repositories(check, catalog, deltas, pages_of, reported)
    pulls = history.pull_series(conn)
    trends = _trends(images, traced, pulls)
    review = build_review(conn, check.evidence, now=now, since=since)
    return BuiltReport(
        Report(
            generated_at=now,
            imagetrust_version=__version__,
            policy={"name": policy.name, "source": policy.source, "digest": policy.digest},
            totals=_totals(repositories, check),
            repositories=tuple(repositories),
            images=tuple(images),
            trends=trends,
            review=review,
            catalog_at=snapshot.taken_at if snapshot is not None else None,
            database=_database(conn),
            pulls_since=since,
            problems=tuple(problems),
        ),
        sbom_ids,
    )


def _display(decision: Decision) -> str:
    image, tag = decision.name
    return f"{image}:{tag}" if tag is not None else image


def _database(conn: Connection) -> tuple[DatabaseSource, ...]:
    s = vuln_sources
    rows = conn.execute(
        select(s.c.name, s.c.version, s.c.imported_at).where(s.c.generation > 0).order_by(s.c.name)
    )
    return tuple(DatabaseSource(row.name, row.version, row.imported_at) for row in rows)


def vuln_summary(evidence: Evidence) -> VulnSummary:
    found = evidence.vulnerabilities
    if found is None:
        return VulnSummary(False, "not matched yet")
    if not found.known:
        return VulnSummary(False, found.reason)
    return VulnSummary(
        True,
        found.reason,
        all=dict(found.counts.get("all", {})),
        fixable=dict(found.counts.get("fixable", {})),
        known_exploited=found.known_exploited,
        complete=found.complete,
        not_covered=found.not_covered,
    )


def _platform_row(decision: Decision, evidence: Evidence, page: str) -> PlatformRow:
    return PlatformRow(
        platform=decision.platform,
        reference=decision.reference,
        digest=decision.digest,
        index_digest=decision.index_digest,
        page=page,
        verdict=decision.verdict.value,
        grade=decision.grade,
        score=decision.score,
        os_name=evidence.os_name,
        os_status=evidence.os.status.value,
        os_eol_date=evidence.os.eol_date,
        vulns=vuln_summary(evidence),
    )


def _primary(decisions: Sequence[Decision]) -> Decision:
    return sorted(decisions, key=lambda d: (d.platform != PRIMARY_PLATFORM, d.platform))[0]


def _tag_row(
    tag: TagVerdict, evidence_of: dict[tuple[str, str], Evidence], pages_of: dict[Any, str]
) -> TagRow:
    rows = []
    supported: bool | None = None
    for decision in tag.decisions:
        evidence = evidence_of[(decision.reference, decision.platform)]
        supported = evidence.tag_support.supported if supported is None else supported
        page = pages_of[(decision.reference, decision.platform)]
        rows.append(_platform_row(decision, evidence, page))
    primary = _primary(tag.decisions)
    return TagRow(
        tag=tag.tag,
        name=tag.name,
        verdict=tag.verdict.value,
        grade=tag.grade,
        score=tag.score,
        digest=tag.digest,
        page=pages_of[(primary.reference, primary.platform)],
        platforms=tuple(rows),
        last_pushed=tag.last_pushed,
        supported=supported,
    )


def _ordered_tags(repository: RepositoryVerdict) -> list[TagVerdict]:
    """The default tag first, then the worst verdicts, then by name."""
    rest = [t for t in repository.tags if t is not repository.default]
    rest.sort(key=lambda t: (-t.verdict.rank, t.score, t.tag or ""))
    return [repository.default, *rest]


def _repositories(
    check: PolicyCheck,
    catalog: dict[str, Any],
    deltas: dict[str, Any],
    pages_of: dict[Any, str],
    reported: set[str],
) -> list[RepositoryRow]:
    evidence_of = {(e.reference, e.platform): e for e in check.evidence}
    rows: list[RepositoryRow] = []
    judged = {r.image: r for r in check.repositories}
    for name in sorted(set(judged) | set(catalog)):
        stored = catalog.get(name)
        entry = stored.entry if stored is not None else None
        delta = deltas.get(name)
        pulls = PullFigures(
            count=entry.pull_count if entry is not None else None,
            delta=delta.delta if delta is not None else None,
            since=delta.base_at if delta is not None else None,
            until=delta.current_at if delta is not None else None,
            counter_went_down=bool(delta.unreliable) if delta is not None else False,
        )
        common: dict[str, Any] = {
            "name": name,
            "state": entry.state.value if entry is not None else "unknown",
            "published": entry.published if entry is not None else None,
            "state_since": stored.state_since if stored is not None else None,
            "notice": entry.notice if entry is not None else None,
            "description": entry.description if entry is not None else None,
            "github_repo": entry.github_repo if entry is not None else None,
            "pulls": pulls,
        }
        repository = judged.get(name)
        if repository is None:
            state = common["state"]
            why = (
                "not resolved or analysed yet"
                if state == "active"
                else f"{state}: `run` analyses active repositories unless --state says more"
            )
            rows.append(RepositoryRow(verdict=NOT_EVALUATED, reason=why, **common))
            continue
        tags: list[TagRow] = []
        rows_left = PLATFORM_ROWS_IN_OVERVIEW
        for tag in _ordered_tags(repository):
            if tags and len(tag.decisions) > rows_left:
                break
            tags.append(_tag_row(tag, evidence_of, pages_of))
            rows_left -= len(tag.decisions)
        default = repository.default
        primary = _primary(default.decisions)
        evidence = evidence_of[(primary.reference, primary.platform)]
        page = pages_of[(primary.reference, primary.platform)]
        rows.append(
            RepositoryRow(
                verdict=default.verdict.value,
                grade=default.grade,
                score=default.score,
                page=page if page in reported else None,
                default_tag=default.tag,
                os_name=evidence.os_name,
                os_status=evidence.os.status.value,
                os_eol_date=evidence.os.eol_date,
                vulns=vuln_summary(evidence),
                last_pushed=default.last_pushed or evidence.staleness.tag_last_pushed,
                tags=tuple(tags),
                tags_total=len(repository.tags),
                other_verdicts=dict(repository.others),
                **common,
            )
        )
    rows.sort(key=lambda row: (-VERDICT_RANK.get(row.verdict, 0), row.name))
    return rows


def _totals(repositories: Sequence[RepositoryRow], check: PolicyCheck) -> Totals:
    by_repository = {v.value: 0 for v in Verdict} | {NOT_EVALUATED: 0}
    for row in repositories:
        by_repository[row.verdict] += 1
    return Totals(by_repository, check.counts(), len(check.tags))


# --- one image page -----------------------------------------------------------------------


class _PageContext(NamedTuple):
    pages_of: dict[tuple[str, str], str]
    catalog: dict[str, Any]
    tags_of: dict[str, list[TagVerdict]]
    state: tuple[tuple[str, int], ...]
    now: datetime
    recommendations: dict[tuple[str, str | None], Recommendation]
    pages_by_name: dict[tuple[str, str], str]  # (repository:tag, platform) -> its page


def _image_page(
    conn: Connection,
    decision: Decision,
    evidence: Evidence,
    tag: TagVerdict,
    context: _PageContext,
) -> tuple[ImagePage, int | None, history.ImageHistory]:
    from imagetrust.vulndb.findings_store import finding_items, finding_set_for

    pages_of = context.pages_of
    page = pages_of[(decision.reference, decision.platform)]
    repository, tag_name = decision.name
    stored_set = finding_set_for(conn, decision.digest, state=context.state)
    suppressed = _suppressed(decision)
    findings: list[FindingRow] = []
    not_covered: list[NotCoveredRow] = []
    items: list[dict[str, Any]] | None = None
    if stored_set is not None:
        items = finding_items(conn, stored_set.id)
        findings = [_finding_row(item, suppressed) for item in items]
        findings.sort(key=_finding_order)
        not_covered = [_not_covered_row(item) for item in stored_set.not_covered]
    # The SBOM itself is read by the site as it writes this page (its packages and
    # layers, its downloads): the model holds none, so memory stays flat.
    sbom_id = newest_sbom_id(conn, decision.digest)
    sbom_files = (
        SbomFiles(
            cyclonedx=f"sbom/{_hex(decision.digest)}.cdx.json",
            spdx=f"sbom/{_hex(decision.digest)}.spdx.json",
        )
        if sbom_id is not None
        else SbomFiles(reason=NO_SBOM_STORED)
    )
    stored = context.catalog.get(repository)
    entry = stored.entry if stored is not None else None
    siblings = tuple(
        LinkRow(d.platform, d.verdict.value, pages_of[(d.reference, d.platform)])
        for d in tag.decisions
        if d is not decision
    )
    others = tuple(
        LinkRow(
            t.name,
            t.verdict.value,
            pages_of[(_primary(t.decisions).reference, _primary(t.decisions).platform)],
        )
        for t in context.tags_of.get(tag.image, [])
        if t is not tag
    )
    past = history.image_history(conn, evidence, image=tag.name, now=context.now)
    return (
        ImagePage(
            page=page,
            name=tag.name,
            repository=repository,
            tag=tag_name,
            platform=decision.platform,
            reference=decision.reference,
            digest=decision.digest,
            index_digest=decision.index_digest,
            verdict=decision.verdict.value,
            grade=decision.grade,
            score=decision.score,
            decided_at=decision.decided_at,
            evaluated_at=decision.evaluated_at,
            policy=decision.policy_name,
            reasons=tuple(
                Reason(r.rule, r.kind.value, r.detail, r.points, r.blocking, r.never_approved)
                for r in decision.reasons
            ),
            conditions=decision.conditions,
            facts=tuple(facts(evidence)),
            eol=tuple(_eol_rows(evidence)),
            vulns=vuln_summary(evidence),
            os_name=evidence.os_name,
            state=evidence.deprecation.state,
            notice=evidence.deprecation.notice or (entry.notice if entry is not None else None),
            description=entry.description if entry is not None else None,
            last_pushed=evidence.staleness.tag_last_pushed,
            findings_known=stored_set is not None,
            findings=tuple(findings),
            sbom_known=sbom_id is not None,
            incomplete=stored_set.incomplete if stored_set is not None else (),
            not_covered=tuple(not_covered),
            coverage=stored_set.coverage if stored_set is not None else {},
            sbom=sbom_files,
            siblings=siblings,
            other_tags=others,
            verdicts=tuple(_verdicts(conn, decision)),
            fixable_history=past.fixable,
            fix_times=tuple(sorted(past.fix_times, key=lambda t: (t.fixed is not None, -t.days))),
            fix_summary=history.summarise(past.fix_times),
            other_engines=sources.other_engines(conn, decision.digest, items),
            publisher_sbom=sources.publisher_sbom(conn, decision.digest),
            recommendation=_recommendation(decision, tag, context),
        ),
        sbom_id,
        past,
    )


def _recommendation(
    decision: Decision, tag: TagVerdict, context: _PageContext
) -> RecommendationView | None:
    """The tag's recommendation as this platform's page shows it (links to the pages the
    report has of each alternative, on this platform where it has one)."""
    found = context.recommendations.get((tag.image, tag.tag))
    if found is None:
        return None
    pages = context.pages_by_name
    rows = []
    for alternative in found.alternatives:
        gains = next((g for g in alternative.gains if g.platform == decision.platform), None)
        page = pages.get((alternative.name, decision.platform))
        if page is None:
            page = next((p for (n, _), p in pages.items() if n == alternative.name), None)
        rows.append(
            AlternativeRow(
                name=alternative.name,
                kind=alternative.kind,
                verdict=alternative.verdict,
                grade=alternative.grade,
                score=alternative.score,
                digest=alternative.digest,
                changes=gains.summary() if gains is not None else "not on this platform",
                gains=gains.as_dict() if gains is not None else None,
                note=alternative.note,
                page=page,
            )
        )
    return RecommendationView(
        alternatives=tuple(rows),
        not_assessed=tuple(
            n.name if n.reason == "not yet assessed" else n.line() for n in found.not_assessed
        ),
        reason=found.reason,
    )


def _hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


def _suppressed(decision: Decision) -> dict[str, str]:
    """Finding label -> the reason that took it out of the counts (as ``show`` reads it)."""
    found = {}
    for reason in decision.reasons:
        if reason.kind is ReasonKind.SUPPRESSED:
            found[reason.detail.split(": ", 1)[0]] = reason.text
    return found


_SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}


def _finding_order(row: FindingRow) -> tuple[int, bool, str, str]:
    return (_SEVERITY_ORDER.get(row.severity, 4), not row.fixable, row.package, row.id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _finding_row(item: dict[str, Any], suppressed: dict[str, str]) -> FindingRow:
    from imagetrust.vulndb.kev import KnownExploited

    ident = str(item.get("id") or "?")
    package = str(item.get("package") or "")
    version = str(item.get("installed_version") or "")
    label = f"{ident} in {package} {version}".rstrip()
    aliases = item.get("aliases") or ()
    kev = KnownExploited.from_json(item.get("known_exploited"))
    return FindingRow(
        id=ident,
        package=package,
        version=version,
        severity=str(item.get("severity") or "UNKNOWN"),
        fix_state=str(item.get("fix_state") or "unknown"),
        fixed_version=_text(item.get("fixed_version")),
        aliases=tuple(a for a in aliases if isinstance(a, str)),
        summary=_text(item.get("summary")),
        known_exploited=bool(item.get("known_exploited")),
        layer=_text(item.get("layer")),
        purl=_text(item.get("purl")),
        suppressed=suppressed.get(label),
        kev_cve=kev.cve if kev is not None else None,
        kev_date_added=kev.date_added if kev is not None else None,
        kev_due_date=kev.due_date if kev is not None else None,
    )


def _not_covered_row(item: Any) -> NotCoveredRow:
    if not isinstance(item, dict):
        return NotCoveredRow(reason="unknown", detail=str(item))
    return NotCoveredRow(
        reason=str(item.get("reason") or "unknown"),
        detail=str(item.get("detail") or ""),
        package=_text(item.get("package")),
        version=_text(item.get("version")),
        path=_text(item.get("path")) or _text(item.get("layer")),
    )


def package_rows(sbom: ImageSbom, findings: Sequence[FindingRow]) -> tuple[PackageRow, ...]:
    """The image page's package table: each package with its findings, the most fixable
    first. Made by the site as it writes the page (the model does not hold the packages
    of every image)."""
    layer_index = {layer.digest: number for number, layer in enumerate(sbom.layers, start=1)}
    by_purl: dict[str, list[FindingRow]] = {}
    by_name: dict[tuple[str, str], list[FindingRow]] = {}
    for finding in findings:
        if finding.purl:
            by_purl.setdefault(finding.purl, []).append(finding)
        by_name.setdefault((finding.package, finding.version), []).append(finding)
    rows = []
    for package in sbom.packages:
        mine = by_purl.get(package.purl) or by_name.get((package.name, package.version), [])
        rows.append(
            PackageRow(
                name=package.name,
                version=package.version,
                type=package.type.value,
                purl=package.purl,
                layer=layer_index.get(package.layer) if package.layer else None,
                source_name=package.source_name,
                findings=tuple(mine),
            )
        )
    rows.sort(key=lambda p: (-p.fixable, -len(p.findings), p.name, p.version))
    return tuple(rows)


def layer_rows(sbom: ImageSbom) -> tuple[LayerRow, ...]:
    """Each layer with the number of packages it installed."""
    layer_index = {layer.digest: number for number, layer in enumerate(sbom.layers, start=1)}
    per_layer: dict[int, int] = {}
    for package in sbom.packages:
        index = layer_index.get(package.layer) if package.layer else None
        if index is not None:
            per_layer[index] = per_layer.get(index, 0) + 1
    return tuple(
        LayerRow(number, layer.digest, layer.size, per_layer.get(number, 0))
        for number, layer in enumerate(sbom.layers, start=1)
    )


def _verdicts(conn: Connection, decision: Decision) -> list[VerdictPoint]:
    from imagetrust.evaluate.policy.stored import decision_history

    if decision.repository is not None:
        found = decision_history(conn, repository=decision.repository, tag=decision.tag)
    else:
        found = decision_history(conn, digests=[decision.digest])
    return [
        VerdictPoint(d.decided_at, d.verdict.value, d.grade, d.score, d.digest, d.policy_name)
        for d in found
        if d.reference == decision.reference and d.platform == decision.platform
    ]


def _eol_rows(evidence: Evidence) -> list[EolRow]:
    return [
        EolRow(
            subject=item.subject,
            status=item.status.value,
            reason=item.reason,
            product=item.product,
            version=item.version,
            cycle=item.cycle,
            eol_date=item.eol_date,
            rule=item.rule,
            found_in=item.found_in,
        )
        for item in (evidence.os, *evidence.runtimes)
    ]


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    return {True: yes, False: no, None: "unknown"}[value]


def facts(evidence: Evidence) -> list[Fact]:
    """The evidence as lines a reviewer reads: each value with what it rests on."""
    out: list[Fact] = []
    os = evidence.os
    tone = {"supported": "good", "eol": "bad"}.get(os.status.value, "unknown")
    if os.status.value == "not-applicable":
        tone = "info"
    out.append(Fact("OS", f"{evidence.os_name or 'none'}: {os.status.value} ({os.reason})", tone))
    for runtime in evidence.runtimes:
        runtime_tone = {"supported": "good", "eol": "bad"}.get(runtime.status.value, "unknown")
        out.append(
            Fact(
                f"runtime {runtime.subject}",
                f"{runtime.version or '?'}: {runtime.status.value} ({runtime.reason})",
                runtime_tone,
            )
        )
    deprecation = evidence.deprecation
    state_tone = {"active": "good", "deprecated": "bad", "removed": "bad"}.get(
        deprecation.state, "unknown"
    )
    since = f" since {deprecation.since:%Y-%m-%d}" if deprecation.since else ""
    published = {True: ", still published", False: ", no longer published", None: ""}[
        deprecation.published
    ]
    out.append(
        Fact(
            "catalog state",
            f"{deprecation.state}{since}{published} ({deprecation.reason})",
            state_tone,
        )
    )
    support = evidence.tag_support
    out.append(
        Fact(
            "tag",
            f"{_yes_no(support.supported, 'supported', 'unsupported')}: {support.reason}",
            {True: "good", False: "bad", None: "unknown"}[support.supported],
        )
    )
    staleness = evidence.staleness
    parts = []
    if staleness.days_since_push is not None:
        parts.append(f"pushed {staleness.days_since_push} days ago")
    if staleness.image_age_days is not None:
        parts.append(f"built {staleness.image_age_days} days ago")
    parts.append(staleness.reason)
    out.append(Fact("staleness", "; ".join(parts), "bad" if staleness.lags else "info"))
    hygiene = evidence.hygiene
    notes = [hygiene.root_reason]
    if hygiene.secret_env_names:
        notes.append("secret-looking ENV: " + ", ".join(hygiene.secret_env_names))
    notes.append(_yes_no(hygiene.healthcheck, "HEALTHCHECK", "no HEALTHCHECK"))
    for label, paths in (
        ("setuid", hygiene.setuid),
        ("setgid", hygiene.setgid),
        ("world-writable", hygiene.world_writable),
    ):
        if paths:
            notes.append(f"{len(paths)} {label}: " + ", ".join(paths[:5]))
    hygiene_tone = "bad" if hygiene.runs_as_root or hygiene.secret_env_names else "good"
    out.append(Fact("configuration", "; ".join(notes), hygiene_tone))
    chain = evidence.supply_chain
    chain_tone = (
        "good" if chain.sbom and chain.provenance else ("unknown" if not chain.observed else "bad")
    )
    out.append(
        Fact(
            "supply chain",
            f"SBOM attestation {_yes_no(chain.sbom, 'yes', 'no')}, provenance "
            f"{_yes_no(chain.provenance, 'yes', 'no')} ({chain.reason})",
            chain_tone,
        )
    )
    popularity = evidence.popularity
    pulls = f"{popularity.pull_count:,} pulls, " if popularity.pull_count is not None else ""
    out.append(Fact("popularity", f"{pulls}{popularity.trend} ({popularity.reason})", "info"))
    found = evidence.vulnerabilities
    if found is None or not found.known:
        why = "not matched yet" if found is None else found.reason
        out.append(Fact("vulnerabilities", f"not known: {why}", "unknown"))
    else:
        shown = ", ".join(
            f"{s.lower()} {found.total(s)} ({found.fixable(s)} fixable)"
            for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
            if found.total(s)
        )
        notes = [shown or "none found", found.reason]
        if not found.complete:
            notes.append("incomplete SBOM: a lower bound (" + "; ".join(found.incomplete) + ")")
        if found.not_covered:
            notes.append(f"{found.not_covered} packages not covered")
        if found.known_exploited:
            notes.append("known exploited: " + ", ".join(found.known_exploited))
        bad = found.fixable("CRITICAL") or found.fixable("HIGH") or found.known_exploited
        out.append(Fact("vulnerabilities", "; ".join(notes), "bad" if bad else "good"))
    return out


# --- trends ---------------------------------------------------------------------------------


def _trends(
    images: Sequence[ImagePage],
    traced: Sequence[tuple[str, history.ImageHistory]],
    pulls: dict[str, tuple[Point, ...]],
) -> Trends:
    by_page = {page.page: page for page in images}
    series = []
    critical_high = []
    every_fix: list[FixTime] = []
    per_image = []
    for page_path, past in traced:
        page = by_page[page_path]
        series.append([(p.at, p.value) for p in past.fixable])
        critical_high.append([(s.matched_at, s.critical_high) for s in past.sets])
        every_fix.extend(past.fix_times)
        per_image.append(
            ImageTrend(
                page.name, page.platform, page.page, past.fixable, history.summarise(past.fix_times)
            )
        )
    every_fix.sort(key=lambda t: (t.fixed is None, -t.days, t.image, t.id))
    return Trends(
        fixable=history.summed(series),
        fixable_critical_high=history.summed(critical_high),
        pulls=history.total_pulls(pulls),
        pulls_by_repository=pulls,
        images=tuple(per_image),
        fix_summary=history.summarise(every_fix),
        fix_times=tuple(every_fix[:FIXES_LISTED]),
    )
