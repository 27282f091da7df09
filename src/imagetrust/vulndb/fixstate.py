"""Whether a finding can be fixed by upgrading: ``fixed``, ``not-fixed`` or ``wont-fix``.

"Fixable" in reports is derived from this, so one scan answers both the "all findings" and
the "ignore unfixed" views.

Mapping, in order:

1. ``fixed`` when the matched range names a fixed version (a fix exists in the
   distribution's or ecosystem's repository, whatever the record's other notes say: Debian
   lists fixed versions even for "unimportant" issues, e.g. DEBIAN-CVE-2016-1585 in
   Debian:13).
2. ``wont-fix`` when the record says the distribution will not fix it in this release:

   - Debian OSV records (DEBIAN-CVE-*, converted by osv.dev from the security tracker) carry
     exactly one per-release field, ``ecosystem_specific.urgency``. Two of its values mean
     "no fix is coming": ``unimportant`` (the security team does not treat it as a security
     problem for Debian binaries and will not issue an update) and ``end-of-life`` (the
     package is no longer security-supported in that release). The tracker's ``<no-dsa>``
     and ``<ignored>`` notes are *not* exported to OSV; a feed that does carry them (as a
     ``nodsa`` / ``nodsa_reason`` key, the tracker JSON's names) is honoured:
     ``nodsa_reason: ignored`` is wont-fix, ``postponed`` is not (the fix is deferred to a
     later point release), and a bare ``nodsa`` is not either (a fix may still arrive
     through a point release).
   - Ubuntu OSV records (UBUNTU-CVE-*) list an "ignored" package exactly like a "needed"
     one: affected, no fixed version, no marker (Canonical's OSV documentation says so), so
     Ubuntu findings without a fix are ``not-fixed``; we cannot tell more from OSV.
   - Red Hat's "Will not fix" / "Out of support scope" states live in its CSAF/VEX data,
     not in OSV; a feed that copies such a state into ``ecosystem_specific`` or
     ``database_specific`` (keys ``state``, ``status``, ``fix_state``) is honoured.
   - Alpine secdb has no such notion (it lists only fixed versions): never ``wont-fix``.

3. ``not-fixed`` otherwise.

Trivy reports the same three ideas as ``fixed`` / ``affected`` / ``will_not_fix`` (plus
``fix_deferred`` and ``end_of_life``, which we fold into not-fixed and wont-fix); Grype uses
``fixed`` / ``not-fixed`` / ``wont-fix`` / ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class FixState(StrEnum):
    FIXED = "fixed"
    NOT_FIXED = "not-fixed"
    WONT_FIX = "wont-fix"


# Debian tracker urgencies that mean no update will be issued for that release.
_DEBIAN_NO_FIX_URGENCY = frozenset({"unimportant", "end-of-life"})

# Free-text states other feeds use for "will not be fixed" (compared case-insensitively,
# with spaces, underscores and hyphens treated alike).
_WONT_FIX_STATES = frozenset(
    {
        "will not fix",
        "wont fix",
        "won't fix",
        "out of support scope",
        "ignored",
        "end of life",
    }
)


def _norm(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    return " ".join(value.replace("_", " ").replace("-", " ").strip().lower().split())


def _says_wont_fix(block: Any) -> bool:
    if not isinstance(block, Mapping):
        return False
    urgency = block.get("urgency")
    if isinstance(urgency, str) and urgency.strip().rstrip("*").strip().lower() in (
        _DEBIAN_NO_FIX_URGENCY
    ):
        return True
    if _norm(block.get("nodsa_reason")) == "ignored":
        return True
    return any(
        _norm(block.get(key)) in _WONT_FIX_STATES for key in ("state", "status", "fix_state")
    )


def fix_state(fixed_version: str | None, affected: Mapping[str, Any]) -> FixState:
    """The fix state of a finding whose matched range gave ``fixed_version`` (``None`` or
    empty when the range has no fix) and whose matched OSV ``affected`` entry is
    ``affected``. Never raises: unexpected shapes count as "no marker"."""
    if isinstance(fixed_version, str) and fixed_version.strip():
        return FixState.FIXED
    if isinstance(affected, Mapping) and (
        _says_wont_fix(affected.get("ecosystem_specific"))
        or _says_wont_fix(affected.get("database_specific"))
    ):
        return FixState.WONT_FIX
    return FixState.NOT_FIXED
