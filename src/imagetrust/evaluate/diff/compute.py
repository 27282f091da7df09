"""What changed between a baseline and now, read from the history the store already keeps.

Nothing here matches, evaluates or decides again: each kind of change compares two states of
a history that is never overwritten.

- **Tags**: the tag history's spans (``store.tags``), the digest each tag named at the
  baseline and now.
- **Verdicts**: each (reference, platform)'s newest stored verdict at the baseline and now,
  rolled up per tag as ``policy check`` does (a tag is its worst platform).
- **Findings**: the finding sets of the images those verdicts were about, at each time. A
  tag that moved compares its old image's findings with its new image's; an image matched
  again against a changed database compares its two sets. A finding is its advisory id in
  its package: a rebuild that upgrades a package but keeps the flaw keeps the finding. An
  image whose findings are not known now changes nothing here (unknown is never fixed).
- **Catalog states**: the catalog snapshot at the baseline and now (deprecated, removed,
  no longer published); only when the baseline has a catalog to compare with.
- **End of life**: OS and runtime end-of-life dates of the current evidence that fell
  between the two days (the day itself counts as ended, as in the evaluation).
- **Failures**: the item errors of the runs that started since the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection, select

from imagetrust.catalog.snapshots import snapshot_entries
from imagetrust.evaluate.diff.model import (
    Baseline,
    EolPassed,
    Failure,
    FindingChange,
    StateChange,
    StoreDiff,
    TagMove,
    VerdictChange,
    VerdictState,
)
from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.model import DECISION_VERSION, Decision
from imagetrust.evaluate.policy.rollup import TagVerdict, tag_verdicts
from imagetrust.evaluate.policy.stored import read_evidence, reference_key
from imagetrust.store.schema import (
    catalog_snapshots,
    finding_set_items,
    finding_sets,
    image_evidence,
    image_verdicts,
    repositories,
    run_errors,
    runs,
    tag_history,
)
from imagetrust.store.tags import TAG_ITSELF
from imagetrust.vulndb.findings_store import BUILTIN

_BATCH = 500
FindingKey = tuple[str, str]  # (advisory id, package)


def diff_store(conn: Connection, baseline: Baseline, until: datetime) -> StoreDiff:
    """Every change between ``baseline`` and ``until``, read in the caller's snapshot."""
    moved, new_tags = tag_changes(conn, baseline, until)
    before = _tags(_decisions(conn, baseline.holds, until))
    after = _tags(_decisions(conn, lambda moment: moment <= until, until))
    verdicts = verdict_changes(before, after)
    new, fixed = finding_changes(conn, baseline, until, before, after)
    failures, started = failures_since(conn, baseline, until)
    return StoreDiff(
        baseline=baseline,
        until=until,
        tags_moved=tuple(moved),
        tags_new=tuple(new_tags),
        findings_new=tuple(new),
        findings_fixed=tuple(fixed),
        verdicts=tuple(verdicts),
        states=tuple(state_changes(conn, baseline, until)),
        eol_passed=tuple(eol_passed(conn, baseline, until)),
        failures=tuple(failures),
        runs=tuple(started),
    )


# --------------------------------------------------------------------------- tags


def display_name(registry: str, namespace: str, name: str) -> str:
    """``debian`` for an official image, else the repository as a reference names it."""
    if registry == "docker.io" and namespace == "library":
        return name
    return "/".join(part for part in (registry, namespace, name) if part)


def tag_changes(
    conn: Connection, baseline: Baseline, until: datetime
) -> tuple[list[TagMove], list[TagMove]]:
    """Tags that name another digest now than at the baseline, and tags first seen since."""
    h = tag_history
    rows = conn.execute(
        select(
            h.c.repository_id,
            h.c.tag,
            h.c.digest,
            h.c.first_seen,
            repositories.c.registry,
            repositories.c.namespace,
            repositories.c.name,
        )
        .join(repositories, repositories.c.id == h.c.repository_id)
        .where((h.c.platform == TAG_ITSELF) & (h.c.first_seen <= until))
        .order_by(h.c.repository_id, h.c.tag, h.c.first_seen, h.c.id)
    )
    spans: dict[tuple[int, str], tuple[Any, Any]] = {}  # (then, now)
    names: dict[int, str] = {}
    for row in rows:
        names[row.repository_id] = display_name(row.registry, row.namespace, row.name)
        then, _ = spans.get((row.repository_id, row.tag), (None, None))
        if baseline.holds(row.first_seen):
            then = row
        spans[(row.repository_id, row.tag)] = (then, row)
    moved: list[TagMove] = []
    fresh: list[TagMove] = []
    for (repository_id, tag), (then, now) in spans.items():
        name = names[repository_id]
        if then is None:
            fresh.append(TagMove(name, tag, None, now.digest, now.first_seen))
        elif then.digest != now.digest:
            moved.append(TagMove(name, tag, then.digest, now.digest, now.first_seen))
    order = _tag_order
    return sorted(moved, key=order), sorted(fresh, key=order)


def _tag_order(move: TagMove) -> tuple[str, str]:
    return move.image, move.tag


# --------------------------------------------------------------------------- verdicts


def _read_decision(document: object) -> Decision | None:
    if not isinstance(document, dict) or document.get("decision_version") != DECISION_VERSION:
        return None
    try:
        return msgspec.convert(document, Decision)
    except msgspec.ValidationError:
        return None


def _decisions(conn: Connection, included: Any, until: datetime) -> list[Decision]:
    """The newest stored verdict of each (reference, platform) among those ``included``."""
    v = image_verdicts
    rows = conn.execute(
        select(v.c.id, v.c.reference, v.c.platform, v.c.decided_at)
        .where(v.c.decided_at <= until)
        .order_by(v.c.decided_at, v.c.id)
    )
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        if included(row.decided_at):
            newest[(reference_key(row.reference), row.platform)] = int(row.id)
    ids = sorted(newest.values())
    found: list[Decision] = []
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        for row in conn.execute(select(v.c.document).where(v.c.id.in_(chunk))):
            decision = _read_decision(row.document)
            if decision is not None:
                found.append(decision)
    return found


def _tags(decisions: Sequence[Decision]) -> dict[tuple[str, str | None], TagVerdict]:
    return {(tag.image, tag.tag): tag for tag in tag_verdicts(decisions)}


def _state(tag: TagVerdict) -> VerdictState:
    return VerdictState(tag.verdict.value, tag.grade, tag.score)


def verdict_changes(
    before: dict[tuple[str, str | None], TagVerdict],
    after: dict[tuple[str, str | None], TagVerdict],
) -> list[VerdictChange]:
    """Tags whose verdict, grade or score differs from the baseline's (or is new)."""
    changes = []
    for key, now in after.items():
        then = before.get(key)
        state = _state(now)
        if then is not None and _state(then) == state:
            continue
        reasons = dict.fromkeys(
            r.text
            for d in now.decisions
            for r in d.reasons
            if r.is_condition or (r.blocking and r.kind.value == "fired")
        )
        changes.append(
            VerdictChange(
                image=now.image,
                tag=now.tag,
                digest=now.digest,
                before=_state(then) if then is not None else None,
                after=state,
                reasons=tuple(reasons),
            )
        )
    return changes


# --------------------------------------------------------------------------- findings


def _sets(conn: Connection, digests: Iterable[str], until: datetime) -> dict[str, list[Any]]:
    """Each digest's finding sets (imagetrust's own matching) matched by ``until``, oldest
    first."""
    wanted = sorted(set(digests))
    found: dict[str, list[Any]] = {}
    s = finding_sets
    for start in range(0, len(wanted), _BATCH):
        rows = conn.execute(
            select(s.c.id, s.c.digest, s.c.matched_at)
            .where(
                s.c.digest.in_(wanted[start : start + _BATCH])
                & (s.c.matched_at <= until)
                & (s.c.engine == BUILTIN)  # another engine's report is not our finding
            )
            .order_by(s.c.matched_at, s.c.id)
        )
        for row in rows:
            found.setdefault(row.digest, []).append(row)
    return found


def _items(conn: Connection, set_id: int) -> dict[FindingKey, Any]:
    i = finding_set_items
    rows = conn.execute(select(i).where(i.c.set_id == set_id).order_by(i.c.id))
    return {(row.vuln_id, row.package): row for row in rows}


def finding_changes(
    conn: Connection,
    baseline: Baseline,
    until: datetime,
    before: dict[tuple[str, str | None], TagVerdict],
    after: dict[tuple[str, str | None], TagVerdict],
) -> tuple[list[FindingChange], list[FindingChange]]:
    """Findings each current image has that its tag's baseline image did not, and the
    reverse; per platform."""
    pairs: list[tuple[TagVerdict, Decision, Decision | None]] = []
    for key, now in after.items():
        then = before.get(key)
        earlier = {d.platform: d for d in then.decisions} if then is not None else {}
        pairs += [(now, decision, earlier.get(decision.platform)) for decision in now.decisions]
    digests = {d.digest for _, d, _ in pairs} | {d.digest for _, _, d in pairs if d is not None}
    sets = _sets(conn, digests, until)
    new: list[FindingChange] = []
    fixed: list[FindingChange] = []
    for tag, current, previous in pairs:
        now_set = (sets.get(current.digest) or [None])[-1]
        if now_set is None:
            continue  # findings not known now: nothing can be called new or fixed
        then_set = None
        if previous is not None:
            held = [s for s in sets.get(previous.digest, []) if baseline.holds(s.matched_at)]
            then_set = held[-1] if held else None
        if then_set is not None and then_set.id == now_set.id:
            continue
        now_items = _items(conn, now_set.id)
        then_items = _items(conn, then_set.id) if then_set is not None else {}
        for key in sorted(now_items.keys() - then_items.keys()):
            new.append(_finding(tag, current, now_items[key]))
        if previous is None:
            continue
        for key in sorted(then_items.keys() - now_items.keys()):
            fixed.append(_finding(tag, previous, then_items[key]))
    return new, fixed


def _finding(tag: TagVerdict, decision: Decision, row: Any) -> FindingChange:
    return FindingChange(
        image=tag.image,
        tag=tag.tag,
        platform=decision.platform,
        digest=decision.digest,
        id=row.vuln_id,
        package=row.package,
        installed_version=row.installed_version,
        fixed_version=row.fixed_version,
        fix_state=row.fix_state,
        severity=row.severity,
        known_exploited=bool(row.known_exploited),
    )


# --------------------------------------------------------------------------- catalog


def _snapshot_id(conn: Connection, included: Any, until: datetime) -> int | None:
    c = catalog_snapshots
    rows = conn.execute(
        select(c.c.id, c.c.taken_at).where(c.c.taken_at <= until).order_by(c.c.taken_at, c.c.id)
    )
    chosen = None
    for row in rows:
        if included(row.taken_at):
            chosen = int(row.id)
    return chosen


def state_changes(conn: Connection, baseline: Baseline, until: datetime) -> list[StateChange]:
    """Repositories whose catalog state or ``published`` flag differs from the baseline's."""
    then_id = _snapshot_id(conn, baseline.holds, until)
    now_id = _snapshot_id(conn, lambda moment: moment <= until, until)
    if then_id is None or now_id is None or then_id == now_id:
        return []
    then = {stored.entry.name: stored.entry for stored in snapshot_entries(conn, then_id)}
    changes = []
    for stored in snapshot_entries(conn, now_id):
        entry = stored.entry
        old = then.get(entry.name)
        if old is None:
            if entry.state.value == "active":
                continue  # a new repository that is simply there is not news here
        elif (old.state, old.published) == (entry.state, entry.published):
            continue
        changes.append(
            StateChange(
                image=entry.name,
                before=old.state.value if old is not None else None,
                after=entry.state.value,
                reason=entry.state_reason,
                published_before=old.published if old is not None else None,
                published_after=entry.published,
                notice=entry.notice,
            )
        )
    return changes


# --------------------------------------------------------------------------- end of life


def _baseline_day(baseline: Baseline) -> date | None:
    if baseline.at is None:
        return None
    moment = baseline.at if baseline.inclusive else baseline.at - timedelta(microseconds=1)
    return moment.date()


def _current_evidence(conn: Connection, until: datetime) -> list[Evidence]:
    e = image_evidence
    rows = conn.execute(
        select(e.c.id, e.c.reference, e.c.platform)
        .where(e.c.evaluated_at <= until)
        .order_by(e.c.evaluated_at, e.c.id)
    )
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        newest[(reference_key(row.reference), row.platform)] = int(row.id)
    ids = sorted(newest.values())
    found: list[Evidence] = []
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        for row in conn.execute(select(e.c.document).where(e.c.id.in_(chunk))):
            evidence = read_evidence(row.document)
            if evidence is not None:
                found.append(evidence)
    return found


def eol_passed(conn: Connection, baseline: Baseline, until: datetime) -> list[EolPassed]:
    """OS and runtime end-of-life dates of current images that fell since the baseline's
    day, up to and including ``until``'s (the day itself counts as ended)."""
    first = _baseline_day(baseline)
    if first is None:
        return []
    last = until.date()
    passed = []
    for evidence in _current_evidence(conn, until):
        subject = evidence.subject
        for item in (evidence.os, *evidence.runtimes):
            if item.eol_date is None or not first < item.eol_date <= last:
                continue
            passed.append(
                EolPassed(
                    image=subject.repository if subject is not None else evidence.reference,
                    tag=subject.tag if subject is not None else None,
                    platform=evidence.platform,
                    digest=evidence.digest,
                    subject=item.subject,
                    product=item.product,
                    cycle=item.cycle,
                    eol_date=item.eol_date,
                    rule=item.rule,
                )
            )
    return sorted(passed, key=lambda p: (p.eol_date, p.image, p.tag or "", p.platform))


# --------------------------------------------------------------------------- failures


def failures_since(
    conn: Connection, baseline: Baseline, until: datetime
) -> tuple[list[Failure], list[int]]:
    """The item errors of every run that started after the baseline, and those runs."""
    started = [
        row
        for row in conn.execute(
            select(runs.c.id, runs.c.kind, runs.c.started_at)
            .where(runs.c.started_at <= until)
            .order_by(runs.c.id)
        )
        if not baseline.holds(row.started_at)
    ]
    kinds = {int(row.id): str(row.kind) for row in started}
    ids = sorted(kinds)
    failures: list[Failure] = []
    for start in range(0, len(ids), _BATCH):
        rows = conn.execute(
            select(run_errors)
            .where(run_errors.c.run_id.in_(ids[start : start + _BATCH]))
            .order_by(run_errors.c.id)
        )
        failures += [
            Failure(
                row.run_id, kinds[row.run_id], row.stage, row.item, row.message, row.occurred_at
            )
            for row in rows
        ]
    return failures, ids
