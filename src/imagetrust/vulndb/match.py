"""Is this installed version affected by this OSV ``affected`` entry, and what fixes it?

The evaluation follows the OSV schema: a version is affected if it is listed in
``versions``, or if some ``ECOSYSTEM``/``SEMVER`` range, its events sorted in the
ecosystem's own version order, has an ``introduced`` at or below it not closed by a later
``fixed`` (at or below it), ``last_affected`` (below it) or ``limit``. Only
``introduced: "0"`` means "before every version" (the schema's one special value); a
``fixed`` or ``last_affected`` of ``"0"`` is the ecosystem's version 0, so a range from a
Go pseudo-version of 0.0.0 to ``fixed: "0"`` covers those pseudo-versions and nothing
after (OSV's own evaluator tests). ``GIT`` ranges name commits, which an installed package
does not have, so they are not evaluated here.

A range whose versions the ecosystem's order rejects says nothing about the installed
version; the verdict then lists why (``unreadable``), so the scan can report that
advisory as not evaluated for the package instead of dropping it. Which ecosystem and
name to ask for is each matcher's business (``vulndb.matchers``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Compare = Callable[[str, str], int]
# Event kinds in the order OSV asks evaluators to apply them at equal versions.
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Verdict:
    affected: bool
    fixed_version: str | None = None  # the lowest fix above the installed version, if any
    # why a range could not be read, when no other range or list made the version affected
    unreadable: tuple[str, ...] = ()


def evaluate(installed: str, affected: Mapping[str, Any], compare: Compare) -> Verdict:
    """The OSV verdict for one ``affected`` entry; malformed parts are ignored, not fatal."""
    versions = affected.get("versions")
    listed = isinstance(versions, list) and installed in versions
    in_range = False
    fixes: list[str] = []
    unreadable: list[str] = []
    ranges = affected.get("ranges")
    for item in ranges if isinstance(ranges, list) else []:
        if not isinstance(item, Mapping) or item.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        try:
            events = _events(item.get("events"), compare)
            if events is None or not _in_range(installed, events, compare):
                continue
            in_range = True
            fixes += [
                version
                for kind, version in events
                if kind == "fixed" and _safe_compare(compare, version, installed) > 0
            ]
        except _Incomparable as exc:
            unreadable.append(str(exc))  # a version this order rejects: the range says nothing
    if not (listed or in_range):
        return Verdict(False, unreadable=tuple(unreadable))
    try:
        fixed = min(fixes, key=_key(compare)) if fixes else None
    except _Incomparable:
        fixed = fixes[0]
    return Verdict(True, fixed)


def _events(raw: Any, compare: Compare) -> list[tuple[str, str]] | None:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        return None
    events: list[tuple[str, str]] = []
    for event in raw:
        if not isinstance(event, Mapping):
            continue
        for kind in _EVENT_KINDS:
            value = event.get(kind)
            if isinstance(value, str) and value:
                events.append((kind, value))
    return sorted(
        events,
        key=lambda e: (_Ordered(e[1], compare, _is_start(*e)), _EVENT_KINDS.index(e[0])),
    )


def _is_start(kind: str, version: str) -> bool:
    """OSV's ``introduced: "0"``: before every version (any other "0" is version 0)."""
    return kind == "introduced" and version == "0"


def _in_range(installed: str, events: list[tuple[str, str]], compare: Compare) -> bool:
    affected = False
    for kind, version in events:
        if kind == "introduced":
            if _is_start(kind, version) or _safe_compare(compare, installed, version) >= 0:
                affected = True
        elif kind == "fixed":
            if _safe_compare(compare, installed, version) >= 0:
                affected = False
        elif kind == "last_affected":
            if _safe_compare(compare, installed, version) > 0:
                affected = False
        elif kind == "limit" and _safe_compare(compare, installed, version) >= 0:
            affected = False
    return affected


class _Incomparable(Exception):
    pass


def _safe_compare(compare: Compare, a: str, b: str) -> int:
    try:
        return compare(a, b)
    except Exception as exc:  # a version the order rejects: the caller skips the range
        raise _Incomparable(str(exc)) from None


class _Ordered:
    """Sort wrapper: the ecosystem's comparison, with ``introduced: "0"`` below every version."""

    __slots__ = ("compare", "start", "version")

    def __init__(self, version: str, compare: Compare, start: bool = False) -> None:
        self.version = version
        self.compare = compare
        self.start = start

    def _cmp(self, other: _Ordered) -> int:
        if self.start or other.start:
            return int(other.start) - int(self.start)
        return _safe_compare(self.compare, self.version, other.version)

    def __lt__(self, other: _Ordered) -> bool:
        return self._cmp(other) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Ordered):
            return NotImplemented
        return self._cmp(other) == 0

    __hash__ = None  # type: ignore[assignment]


def _key(compare: Compare) -> Callable[[str], _Ordered]:
    return lambda version: _Ordered(version, compare)
