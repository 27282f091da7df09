"""Trends: fixable findings over time and time to fix, from finding-set and tag history.

The scenario fixes the truth by construction: which finding the database showed fixable
when, and when the tag moved to a digest without it. Time to fix is defined (issue 21) as
"from the first run in which the database showed a fix for a finding to the first run in
which the tag's current digest no longer has it".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetrust.report import build_model
from imagetrust.store.database import Store
from tests.report.scenario import Image, Scenario, Vuln, day, digest_of, entry


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'store.db'}")


def test_time_to_fix_runs_from_the_fix_shown_to_the_digest_without_it(store: Store) -> None:
    scenario = Scenario(store)
    scenario.catalog([entry("web")], day(0))
    old = digest_of("web", "old")
    new = digest_of("web", "new")
    # day 0: A has no fix yet, B has one
    scenario.add(
        Image(
            "web",
            "latest",
            digest=old,
            vulns=[Vuln("CVE-A", "openssl"), Vuln("CVE-B", "zlib", fixed="2")],
        ),
        day(0),
        generation=1,
    )
    # day 3: a database update shows a fix for A too
    fixed_a = [Vuln("CVE-A", "openssl", fixed="3"), Vuln("CVE-B", "zlib", fixed="2")]
    scenario.add(Image("web", "latest", digest=old, vulns=fixed_a), day(3), generation=2)
    # day 10: the tag moves to a rebuild without A (B is still there)
    scenario.add(
        Image("web", "latest", digest=new, vulns=[Vuln("CVE-B", "zlib", fixed="2")]),
        day(10),
        generation=2,
    )
    # the old digest matched again later: its history, not the tag's (A would look open)
    scenario.finding_set(old, fixed_a, day(10.5), generation=3)
    with store:
        report = build_model(store, now=day(20)).report
    (page,) = report.images
    times = {(t.id, t.package): t for t in page.fix_times}
    a = times[("CVE-A", "openssl")]
    assert (a.fix_shown, a.fixed, a.days) == (day(3), day(10), 7.0)
    b = times[("CVE-B", "zlib")]
    assert (b.fix_shown, b.fixed, b.days) == (day(0), None, 20.0)
    assert set(times) == {("CVE-A", "openssl"), ("CVE-B", "zlib")}
    summary = report.trends.fix_summary
    assert (summary.fixed, summary.median_days, summary.open, summary.oldest_open_days) == (
        1,
        7.0,
        1,
        20.0,
    )
    # fixable over time: 1 (B), then 2 (A and B), then 1 (B) once the tag moved
    assert [(p.at, p.value) for p in page.fixable_history] == [
        (day(0), 1),
        (day(3), 2),
        (day(10), 1),
    ]
    assert [(p.at, p.value) for p in report.trends.fixable] == [
        (day(0), 1),
        (day(3), 2),
        (day(10), 1),
    ]


def test_a_finding_that_comes_back_starts_again_and_two_images_add_up(store: Store) -> None:
    scenario = Scenario(store)
    scenario.catalog([entry("web"), entry("api")], day(0))
    c = Vuln("CVE-C", "curl", fixed="8")
    scenario.add(Image("web", "latest", digest=digest_of("w1"), vulns=[c]), day(0))
    scenario.add(Image("web", "latest", digest=digest_of("w2"), vulns=[]), day(2))
    scenario.add(Image("web", "latest", digest=digest_of("w3"), vulns=[c]), day(5))
    scenario.add(
        Image("api", "latest", digest=digest_of("a1"), vulns=[c, Vuln("CVE-D", "git", fixed="2")]),
        day(1),
    )
    with store:
        report = build_model(store, now=day(9)).report
    web = next(i for i in report.images if i.repository == "web")
    assert [(t.fix_shown, t.fixed) for t in sorted(web.fix_times, key=lambda t: t.fix_shown)] == [
        (day(0), day(2)),
        (day(5), None),
    ]
    # the sum of each image's latest count at each moment: web 1,0,1 and api 2 from day 1
    assert [(p.at, p.value) for p in report.trends.fixable] == [
        (day(0), 1),
        (day(1), 3),
        (day(2), 2),
        (day(5), 3),
    ]


def test_pull_counts_over_time_add_up_per_snapshot(store: Store) -> None:
    scenario = Scenario(store)
    scenario.catalog([entry("web", pull_count=100), entry("api", pull_count=10)], day(0))
    scenario.catalog([entry("web", pull_count=160), entry("api", pull_count=15)], day(7))
    with store:
        report = build_model(store, now=day(8)).report
    assert [(p.at, p.value) for p in report.trends.pulls] == [(day(0), 110), (day(7), 175)]
    assert [p.value for p in report.trends.pulls_by_repository["web"]] == [100, 160]
    web = next(r for r in report.repositories if r.name == "web")
    assert (web.pulls.count, web.pulls.delta, web.pulls.since) == (160, 60, day(0))
