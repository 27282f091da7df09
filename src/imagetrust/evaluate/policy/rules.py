"""The rules: what each reads in the evidence, when it fires, and the evidence it quotes.

A rule answers ``fired`` (with its evidence in words, and a count for the counted rules),
``clear``, or ``unknown`` (the evidence it needs is not known: a local image has no catalog
state, an index never read has no attestations). What a firing costs, and what an unknown
does, is the policy's business (``decide``), not the rule's.

The vulnerability rules read the counts after VEX and exceptions took single findings out
(``decide`` hands them the adjusted record). When the vulnerabilities are not known at all
they stay quiet: ``not-covered`` says so, and ``decide`` never approves such an image.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from imagetrust.evaluate.models import EolStatus, Evidence, VulnerabilityEvidence

RULE_IDS = (
    "os-eol",
    "deprecated",
    "known-exploited",
    "fixable-critical",
    "fixable-high",
    "not-covered",
    "unsupported-tag",
    "stale",
    "runs-as-root",
    "secret-env",
    "no-attestations",
    "runtime-eol",
)
COUNTED_RULES = frozenset({"fixable-critical", "fixable-high"})
VULNERABILITY_RULES = frozenset({"known-exploited", "fixable-critical", "fixable-high"})
DEFAULT_STALE_DAYS = 180
_NOTICE_CHARS = 200


class Outcome(Struct, frozen=True):
    state: str  # fired | clear | unknown
    detail: str = ""
    count: int = 1


CLEAR = Outcome("clear")


def fired(detail: str, count: int = 1) -> Outcome:
    return Outcome("fired", detail, count)


def unknown(detail: str) -> Outcome:
    return Outcome("unknown", detail)


class Facts(Struct, frozen=True):
    """What a rule reads: the evidence, its vulnerabilities as adjusted, the stale limit."""

    evidence: Evidence
    vulnerabilities: VulnerabilityEvidence | None
    stale_days: int = DEFAULT_STALE_DAYS


def os_eol(facts: Facts) -> Outcome:
    os = facts.evidence.os
    if os.status is EolStatus.EOL:
        name = " ".join(p for p in (os.product, os.cycle or os.version) if p) or "the OS"
        if os.rule == "eoes":
            what = "LTS" if os.product == "debian" else "extended support"
        else:
            what = "support"
        when = f"{os.eol_date}" if os.eol_date is not None else "(no date given)"
        return fired(f"{name}, {what} ended {when}")
    if os.status is EolStatus.UNKNOWN:
        return unknown(os.reason)
    return CLEAR


def deprecated(facts: Facts) -> Outcome:
    deprecation = facts.evidence.deprecation
    if deprecation.state == "deprecated":
        return fired(_first_line(deprecation.notice) or deprecation.reason)
    if deprecation.state == "removed":
        return fired(f"removed from the official images: {deprecation.reason}")
    if deprecation.state == "unknown":
        return unknown(deprecation.reason)
    return CLEAR


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        line = line.strip().lstrip("#>*- ").strip()
        if line:
            return line if len(line) <= _NOTICE_CHARS else line[: _NOTICE_CHARS - 1] + "…"
    return ""


def _known(facts: Facts) -> VulnerabilityEvidence | None:
    found = facts.vulnerabilities
    return found if found is not None and found.known else None


def known_exploited(facts: Facts) -> Outcome:
    found = _known(facts)
    if found is None or not found.known_exploited:
        return CLEAR
    ids = sorted(set(found.known_exploited))
    return fired(", ".join(ids), len(ids))


def _fixable(severity: str) -> Callable[[Facts], Outcome]:
    def rule(facts: Facts) -> Outcome:
        found = _known(facts)
        count = found.fixable(severity) if found is not None else 0
        return fired(str(count), count) if count > 0 else CLEAR

    return rule


def not_covered(facts: Facts) -> Outcome:
    found = facts.vulnerabilities
    if found is None:
        return fired("vulnerabilities not known: no findings were read into the evidence")
    if not found.known:
        return fired(f"vulnerabilities not known: {found.reason}")
    parts = []
    if not found.complete:
        unread = ", ".join(found.incomplete) or "a package database was not read"
        parts.append(f"incomplete SBOM ({unread})")
    if found.os_covered is False:
        parts.append("the OS packages could not be matched (no advisories for this OS)")
    if found.not_covered:
        why = ", ".join(f"{reason}: {n}" for reason, n in sorted(found.not_covered_reasons.items()))
        parts.append(f"{found.not_covered} packages not covered" + (f" ({why})" if why else ""))
    return fired("; ".join(parts)) if parts else CLEAR


def unsupported_tag(facts: Facts) -> Outcome:
    support = facts.evidence.tag_support
    if support.supported is False:
        return fired(support.reason)
    if support.supported is None:
        return unknown(support.reason)
    return CLEAR


def stale(facts: Facts) -> Outcome:
    staleness = facts.evidence.staleness
    if staleness.days_since_push is not None:
        days, verb = staleness.days_since_push, "pushed"
    elif staleness.image_age_days is not None:
        days, verb = staleness.image_age_days, "built"
    else:
        return unknown(f"no push or build date: {staleness.reason}")
    if days <= facts.stale_days:
        return CLEAR
    moved = "; the tag now points at a newer build" if staleness.lags else ""
    return fired(f"{verb} {days} days ago (over {facts.stale_days}){moved}")


def runs_as_root(facts: Facts) -> Outcome:
    hygiene = facts.evidence.hygiene
    return fired(hygiene.root_reason) if hygiene.runs_as_root else CLEAR


def secret_env(facts: Facts) -> Outcome:
    names = facts.evidence.hygiene.secret_env_names
    return fired(", ".join(names), len(names)) if names else CLEAR


def no_attestations(facts: Facts) -> Outcome:
    chain = facts.evidence.supply_chain
    if not chain.observed:
        return unknown(chain.reason)
    if chain.sbom is None and chain.provenance is None:
        # attestation manifests listed, their predicate types not read (``run``): attested
        return CLEAR if chain.attestations else unknown(chain.reason)
    if not chain.sbom and not chain.provenance:
        return fired("the index carries no SBOM or provenance attestation for this image")
    return CLEAR


def runtime_eol(facts: Facts) -> Outcome:
    ended = [
        f"{item.subject} {item.version} ({item.reason})"
        for item in facts.evidence.runtimes
        if item.status is EolStatus.EOL
    ]
    return fired(", ".join(ended), len(ended)) if ended else CLEAR


RULES: dict[str, Callable[[Facts], Outcome]] = {
    "os-eol": os_eol,
    "deprecated": deprecated,
    "known-exploited": known_exploited,
    "fixable-critical": _fixable("CRITICAL"),
    "fixable-high": _fixable("HIGH"),
    "not-covered": not_covered,
    "unsupported-tag": unsupported_tag,
    "stale": stale,
    "runs-as-root": runs_as_root,
    "secret-env": secret_env,
    "no-attestations": no_attestations,
    "runtime-eol": runtime_eol,
}
assert tuple(RULES) == RULE_IDS
