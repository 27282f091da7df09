"""Recommendations over a policy check: for each tag that is not approved, what to use instead.

It reads what the store already holds and judges nothing itself: the verdicts come from a
``PolicyCheck`` of the whole store (so an alternative is judged by the same policy and VEX
as the tag it replaces), the supported tags and notices from the newest catalog snapshot,
which digest each tag names from the tag history (tags sharing a digest were analysed once,
as one of them), findings from the stored finding sets and sizes from the stored SBOMs.

Two sources of candidates, both resolved to tags the store has verdicts for:

- the same repository and variant (``variants``): the supported tags that keep the tag's
  variant, the same major line first, then newer lines;
- the images the deprecation notice names (``notices``), each resolved to its own
  best-graded analysed tag, of the same variant where one was analysed.

An alternative must be better than the tag: a better verdict, or the same verdict with a
higher score. Nothing worse, equal, or on no platform the tag has is ever recommended.
Approved alternatives come first, then the nearest. A candidate without a verdict is named
as "not yet assessed" (``run`` analyses those first), never ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.findings import FindingRef, stored_findings
from imagetrust.evaluate.policy.model import Decision, Verdict
from imagetrust.evaluate.policy.rollup import TagVerdict
from imagetrust.evaluate.recommend.model import (
    KIND_REPLACEMENT,
    KIND_SAME_VARIANT,
    SEVERITIES,
    Alternative,
    EolSide,
    NotAssessed,
    PlatformGains,
    Recommendation,
)
from imagetrust.evaluate.recommend.notices import named_replacements
from imagetrust.evaluate.recommend.variants import (
    ParsedTag,
    candidates,
    no_candidate_reason,
    parse_tag,
    same_variant,
    variant_words,
)
from imagetrust.store.schema import image_sboms, repositories, tag_history

if TYPE_CHECKING:
    from imagetrust.catalog.models import CatalogEntry
    from imagetrust.evaluate.policy.check import PolicyCheck
    from imagetrust.evaluate.policy.model import Policy
    from imagetrust.evaluate.policy.vex import VexSet

MAX_ALTERNATIVES = 3
TAG_ITSELF = "*"


def better(candidate: TagVerdict, current: TagVerdict) -> bool:
    """A better verdict, or the same verdict with a higher score: never worse, never equal."""
    if candidate.verdict.rank != current.verdict.rank:
        return candidate.verdict.rank < current.verdict.rank
    return candidate.score > current.score


def finding_changes(
    current: Sequence[FindingRef] | None, alternative: Sequence[FindingRef] | None
) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """Findings fixed (in ``current`` only) and added (in ``alternative`` only), by severity.

    A finding is one vulnerability, named by its CVE where any of its ids is one (Debian and
    Alpine name the same flaw by the same CVE; their own ids differ), counted once per
    image at its highest severity, whichever package it is in: moving from ``libssl3`` to
    ``openssl`` does not fix a flaw both have. None when either side is not known.
    """
    if current is None or alternative is None:
        return None, None
    mine = _by_vulnerability(current)
    theirs = _by_vulnerability(alternative)
    fixed = {s: 0 for s in SEVERITIES}
    added = {s: 0 for s in SEVERITIES}
    for key, severity in mine.items():
        if key not in theirs:
            fixed[severity] += 1
    for key, severity in theirs.items():
        if key not in mine:
            added[severity] += 1
    return fixed, added


def _by_vulnerability(refs: Iterable[FindingRef]) -> dict[str, str]:
    found: dict[str, str] = {}
    for ref in refs:
        cves = sorted(i for i in ref.ids if i.upper().startswith("CVE-"))
        key = cves[0].upper() if cves else ref.id
        severity = ref.severity if ref.severity in SEVERITIES else "UNKNOWN"
        known = found.get(key)
        if known is None or SEVERITIES.index(severity) < SEVERITIES.index(known):
            found[key] = severity
    return found


class Recommender:
    """Reads what recommendations need from one snapshot of the store, once each."""

    def __init__(
        self,
        conn: Connection,
        check: PolicyCheck,
        *,
        now: datetime,
        catalog: Mapping[str, CatalogEntry] | None = None,
    ) -> None:
        self.conn = conn
        self.check = check
        self.catalog = _catalog_entries(conn, now) if catalog is None else catalog
        self.judged: dict[tuple[str, str | None], TagVerdict] = {}
        self.by_digest: dict[str, TagVerdict] = {}
        self.by_image: dict[str, list[TagVerdict]] = {}
        for tag in check.tags:
            self.judged[(tag.image, tag.tag)] = tag
            self.by_image.setdefault(tag.image, []).append(tag)
            for digest in (tag.digest, *(d.digest for d in tag.decisions)):
                self.by_digest.setdefault(digest, tag)
        self.evidence: dict[tuple[str, str], Evidence] = {
            (e.reference, e.platform): e for e in check.evidence
        }
        self._tag_digests: dict[str, dict[str, str]] = {}
        self._findings: dict[str, list[FindingRef] | None] = {}
        self._sizes: dict[str, int | None] = {}
        self._vocabulary: dict[str, frozenset[str]] = {}
        self._pool: dict[str, list[ParsedTag]] = {}

    # --- what the store says -------------------------------------------------------------

    def tag_digests(self, image: str) -> dict[str, str]:
        if image not in self._tag_digests:
            self._tag_digests[image] = _current_tag_digests(self.conn, image)
        return self._tag_digests[image]

    def verdict_of(self, image: str, tag: str | None) -> TagVerdict | None:
        """The tag's verdict: judged as itself, or as another tag naming the same digest."""
        found = self.judged.get((image, tag))
        if found is not None or tag is None:
            return found
        digest = self.tag_digests(image).get(tag)
        return self.by_digest.get(digest) if digest is not None else None

    def findings(self, digest: str) -> list[FindingRef] | None:
        if digest not in self._findings:
            self._findings[digest] = stored_findings(self.conn, [digest]).get(digest)
        return self._findings[digest]

    def size(self, digest: str) -> int | None:
        if digest not in self._sizes:
            self._sizes[digest] = _image_size(self.conn, digest)
        return self._sizes[digest]

    def supported(self, image: str) -> tuple[str, ...]:
        entry = self.catalog.get(image)
        return entry.supported_tags if entry is not None else ()

    # --- the recommendation --------------------------------------------------------------

    def vocabulary(self, image: str) -> frozenset[str]:
        """The repository's variant words, from its supported and its judged tags."""
        if image not in self._vocabulary:
            judged = [t.tag for t in self.by_image.get(image, ()) if t.tag]
            self._vocabulary[image] = variant_words([*self.supported(image), *judged])
        return self._vocabulary[image]

    def parsed_pool(self, image: str) -> list[ParsedTag]:
        """The repository's supported tags, read once."""
        if image not in self._pool:
            words = self.vocabulary(image)
            self._pool[image] = [parse_tag(tag, words) for tag in self.supported(image)]
        return self._pool[image]

    def parsed(self, image: str, tag: str | None) -> ParsedTag:
        return parse_tag(tag or "latest", self.vocabulary(image))

    def recommend(self, current: TagVerdict) -> Recommendation:
        parsed = self.parsed(current.image, current.tag)
        same, same_pending, had_candidates = self._same_variant(current, parsed)
        replaced, replaced_pending, named = self._replacements(current, parsed)
        entry = self.catalog.get(current.image)
        deprecated = entry is not None and entry.state.value != "active"
        ranked_same = sorted(same, key=lambda pair: (Verdict(pair[1].verdict).rank, pair[0]))
        ranked_replaced = sorted(
            replaced, key=lambda pair: (Verdict(pair[1].verdict).rank, pair[0])
        )
        groups = [ranked_replaced, ranked_same] if deprecated else [ranked_same, ranked_replaced]
        alternatives = [alt for group in groups for _, alt in group][:MAX_ALTERNATIVES]
        pending_groups = (
            [replaced_pending, same_pending] if deprecated else [same_pending, replaced_pending]
        )
        pending = [p for group in pending_groups for p in group][:MAX_ALTERNATIVES]
        reason = None
        if not alternatives:
            if entry is None and not named:
                reason = "not in the catalog: no supported tags to choose from"
            elif not had_candidates and not named:
                reason = no_candidate_reason(parsed)
            elif pending:
                reason = "no assessed candidate is better; some are not yet assessed"
            else:
                reason = "no assessed candidate is better than this tag"
        return Recommendation(
            image=current.image,
            tag=current.tag,
            verdict=current.verdict.value,
            grade=current.grade,
            score=current.score,
            variant=parsed.variant,
            alternatives=tuple(alternatives),
            not_assessed=tuple(pending),
            reason=reason,
        )

    def _same_variant(
        self, current: TagVerdict, parsed: ParsedTag
    ) -> tuple[list[tuple[int, Alternative]], list[NotAssessed], bool]:
        others = self.parsed_pool(current.image)
        matches = candidates(parsed, others)
        found: list[tuple[int, Alternative]] = []
        pending: list[NotAssessed] = []
        used = {current.digest}
        for position, match in enumerate(matches):
            tag = match.candidate.tag
            verdict = self.verdict_of(current.image, tag)
            if verdict is None:
                if not any(p.tag == tag for p in pending):
                    pending.append(NotAssessed(current.image, tag, KIND_SAME_VARIANT))
                continue
            if verdict.digest in used or verdict is current:
                continue
            used.add(verdict.digest)
            alternative = self._alternative(
                current, verdict, tag, KIND_SAME_VARIANT, match.candidate
            )
            if alternative is not None:
                found.append((position, alternative))
        return found, pending, bool(matches)

    def _replacements(
        self, current: TagVerdict, parsed: ParsedTag
    ) -> tuple[list[tuple[int, Alternative]], list[NotAssessed], bool]:
        entry = self.catalog.get(current.image)
        notice = entry.notice if entry is not None else None
        if notice is None:
            notice = self._evidence_notice(current)
        named = named_replacements(notice, name=current.image, known=self.catalog.keys())
        found: list[tuple[int, Alternative]] = []
        pending: list[NotAssessed] = []
        for position, item in enumerate(named):
            if not item.official or item.name not in self.catalog:
                why = (
                    "not in the catalog snapshot"
                    if item.official
                    else "not an official image (another namespace)"
                )
                pending.append(
                    NotAssessed(
                        item.name,
                        item.tag,
                        KIND_REPLACEMENT,
                        f"named by the deprecation notice; {why}: not assessed",
                    )
                )
                continue
            if item.tag is not None:
                verdict = self.verdict_of(item.name, item.tag)
                if verdict is None:
                    pending.append(NotAssessed(item.name, item.tag, KIND_REPLACEMENT))
                    continue
                vocabulary = self.vocabulary(item.name) | variant_words([item.tag])
                alternative = self._alternative(
                    current, verdict, item.tag, KIND_REPLACEMENT, parse_tag(item.tag, vocabulary)
                )
                if alternative is not None:
                    found.append((position, alternative))
                continue
            best = self._best_of(current, parsed, item.name)
            if best is None:
                if not self.by_image.get(item.name):
                    pending.append(
                        NotAssessed(
                            item.name, self._suggested_tag(parsed, item.name), KIND_REPLACEMENT
                        )
                    )
                continue
            found.append((position, best))
        return found, pending, bool(named)

    def _best_of(self, current: TagVerdict, parsed: ParsedTag, image: str) -> Alternative | None:
        """The replacement's best-graded analysed tag, of the same variant if one is."""
        tags = self.by_image.get(image, [])
        vocabulary = self.vocabulary(image)
        ranked = []
        for verdict in tags:
            candidate = parse_tag(verdict.tag or "latest", vocabulary)
            if candidate.windows and not parsed.windows:
                continue
            alternative = self._alternative(
                current, verdict, verdict.tag, KIND_REPLACEMENT, candidate
            )
            if alternative is None:
                continue
            keeps = same_variant(parsed, candidate)[0]
            ranked.append(
                (
                    (0 if keeps else 1, verdict.verdict.rank, -verdict.score, verdict.tag or ""),
                    alternative,
                )
            )
        if not ranked:
            return None
        return min(ranked, key=lambda pair: pair[0])[1]

    def _suggested_tag(self, parsed: ParsedTag, image: str) -> str | None:
        """A supported tag of ``image`` keeping the variant, to name while unassessed."""
        others = self.parsed_pool(image)
        floating = ParsedTag(parsed.tag, None, families=parsed.families, releases=parsed.releases)
        found = candidates(floating, others)
        return found[0].candidate.tag if found else None

    def _current_variant(self, current: TagVerdict) -> str | None:
        return self.parsed(current.image, current.tag).variant

    def _evidence_notice(self, current: TagVerdict) -> str | None:
        for decision in current.decisions:
            evidence = self.evidence.get((decision.reference, decision.platform))
            if evidence is not None and evidence.deprecation.notice:
                return evidence.deprecation.notice
        return None

    def _alternative(
        self,
        current: TagVerdict,
        verdict: TagVerdict,
        tag: str | None,
        kind: str,
        parsed: ParsedTag,
    ) -> Alternative | None:
        """The alternative with its gains, or None when it is not better or shares no
        platform with the tag (nothing to compare, and nothing the user could pull)."""
        if verdict.digest == current.digest or not better(verdict, current):
            return None
        gains = self._gains(current, verdict)
        if not gains:
            return None
        note = None
        if kind == KIND_REPLACEMENT:
            note = f"variant {parsed.variant}"
            current_variant = self._current_variant(current)
            if current_variant is not None and current_variant != parsed.variant:
                note += f" (no better {current_variant} tag of it assessed)"
        return Alternative(
            image=verdict.image,
            tag=tag,
            kind=kind,
            verdict=verdict.verdict.value,
            grade=verdict.grade,
            score=verdict.score,
            digest=verdict.digest,
            variant=parsed.variant,
            gains=tuple(gains),
            note=note,
        )

    def _gains(self, current: TagVerdict, alternative: TagVerdict) -> list[PlatformGains]:
        theirs = {d.platform: d for d in alternative.decisions}
        found = []
        for mine in current.decisions:
            other = theirs.get(mine.platform)
            if other is None:
                continue
            fixed, added = finding_changes(self.findings(mine.digest), self.findings(other.digest))
            found.append(
                PlatformGains(
                    platform=mine.platform,
                    current_digest=mine.digest,
                    digest=other.digest,
                    fixed=fixed,
                    added=added,
                    eol_current=self._eol(mine),
                    eol=self._eol(other),
                    size_current=self.size(mine.digest),
                    size=self.size(other.digest),
                )
            )
        return found

    def _eol(self, decision: Decision) -> EolSide:
        evidence = self.evidence.get((decision.reference, decision.platform))
        if evidence is None:
            return EolSide("unknown")
        os = evidence.os
        return EolSide(os.status.value, os.product, os.cycle, os.eol_date)


def recommend(
    conn: Connection,
    check: PolicyCheck,
    *,
    now: datetime,
    only: Iterable[TagVerdict] | None = None,
) -> list[Recommendation]:
    """A recommendation for every tag of ``check`` (or of ``only``) that is not approved.

    ``check`` must judge the whole store: alternatives are looked up among its tags.
    """
    recommender = Recommender(conn, check, now=now)
    wanted = check.tags if only is None else tuple(only)
    return [recommender.recommend(tag) for tag in wanted if tag.verdict is not Verdict.APPROVED]


def by_name(
    recommendations: Iterable[Recommendation],
) -> dict[tuple[str, str | None], Recommendation]:
    return {(r.image, r.tag): r for r in recommendations}


def _catalog_entries(conn: Connection, now: datetime) -> Mapping[str, CatalogEntry]:
    from imagetrust.catalog.snapshots import latest_snapshot, snapshot_entries

    snapshot = latest_snapshot(conn, at_or_before=now)
    if snapshot is None:
        return {}
    return {stored.entry.name: stored.entry for stored in snapshot_entries(conn, snapshot.id)}


def _current_tag_digests(
    conn: Connection, image: str, *, registry: str = "docker.io", namespace: str = "library"
) -> dict[str, str]:
    """Each tag's newest digest (its own manifest) in the tag history."""
    h = tag_history
    rows = conn.execute(
        select(h.c.tag, h.c.digest)
        .join(repositories, repositories.c.id == h.c.repository_id)
        .where(
            repositories.c.registry == registry,
            repositories.c.namespace == namespace,
            repositories.c.name == image,
            h.c.platform == TAG_ITSELF,
        )
        .order_by(h.c.first_seen, h.c.id)
    )
    return {row.tag: row.digest for row in rows}


def _image_size(conn: Connection, digest: str) -> int | None:
    """The image's compressed layers, as its stored SBOM lists them (None: no SBOM)."""
    row = conn.execute(
        select(image_sboms.c.document)
        .where(image_sboms.c.digest == digest)
        .order_by(image_sboms.c.created_at.desc(), image_sboms.c.id.desc())
        .limit(1)
    ).first()
    if row is None or not isinstance(row.document, dict):
        return None
    layers = row.document.get("layers")
    if not isinstance(layers, list) or not layers:
        return None
    sizes = [layer.get("size") for layer in layers if isinstance(layer, dict)]
    if not sizes or not all(isinstance(s, int) and s >= 0 for s in sizes):
        return None
    return sum(s for s in sizes if isinstance(s, int))


def recommend_check(
    conn: Connection,
    result: PolicyCheck,
    policy: Policy,
    *,
    now: datetime,
    vex: VexSet | None = None,
    selected: bool = False,
) -> dict[tuple[str, str | None], Recommendation]:
    """The recommendations for the tags of ``result`` that are not approved, by (image, tag).

    ``selected``: ``result`` judged only some images (``show IMAGE``), so the store is
    judged whole again (same policy, same VEX) for the alternatives to be found.
    """
    from imagetrust.evaluate.policy.check import check_store

    if not any(tag.verdict is not Verdict.APPROVED for tag in result.tags):
        return {}
    whole = check_store(conn, policy, now=now, vex=vex) if selected else result
    wanted = {(tag.image, tag.tag) for tag in result.tags}
    only = [tag for tag in whole.tags if (tag.image, tag.tag) in wanted]
    return by_name(recommend(conn, whole, now=now, only=only))
