"""The vulnerability evidence's dates: the oldest fixable finding's age, where dated."""

from __future__ import annotations

from datetime import UTC, datetime

from imagetrust.evaluate.vulns import _oldest_fixable_days

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def test_the_oldest_fixable_finding_counts_and_undated_or_unfixed_ones_do_not() -> None:
    items = [
        {"fix_state": "fixed", "published": "2026-11-19T00:00:00+00:00"},
        {"fix_state": "fixed", "published": "2025-11-29T12:00:00+00:00"},
        {"fix_state": "not-fixed", "published": "2020-01-01T00:00:00+00:00"},  # not fixable
        {"fix_state": "fixed", "published": None},  # no date: says nothing
        {"fix_state": "fixed", "published": "not a date"},
    ]
    assert _oldest_fixable_days(items, NOW) == 364
    assert _oldest_fixable_days(items[2:], NOW) is None
