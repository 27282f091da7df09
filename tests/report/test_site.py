"""The site in a real browser: over ``file://`` and a loopback HTTP server, no console
error, no request beyond the machine, sorting and filtering, an image page, and the Hub's,
the docs' and an image's hostile text shown as text.

Verdicts are checked against ``imagetrust policy check --format json`` on the same store
(the command a user would ask), counts and history against what the scenario stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from tests.report.conftest import Watched, screenshot
from tests.report.world import (
    EVIL_PACKAGE,
    EVIL_TAG,
    NOTICE,
    SCRIPT,
    TRIVY_TARGET,
    Expected,
    OtherSources,
    add_other_sources,
    build_world,
    world_now,
)


class Site:
    def __init__(
        self, folder: Path, expected: Expected, policy: dict[str, Any], sources: OtherSources
    ) -> None:
        self.folder = folder
        self.expected = expected
        self.policy = policy
        self.sources = sources

    @property
    def index(self) -> str:
        return self.folder.joinpath("index.html").as_uri()

    def verdicts(self) -> dict[str, str]:
        """Repository -> its default tag's verdict, as ``policy check`` says."""
        return {r["image"]: r["verdict"] for r in self.policy["repositories"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    from imagetrust.store.database import Store

    root = tmp_path_factory.mktemp("site")
    home = root / "home"
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store:
        expected = build_world(store)
    sources = add_other_sources(home)
    now = world_now().isoformat()
    out = root / "site"
    common = ["--home", str(home), "--now", now]
    assert main([*common, "report", "--out", str(out)]) == 0
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main([*common, "policy", "check", "--format", "json"])
    return Site(out, expected, json.loads(buffer.getvalue()), sources)


def visible_names(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#overview tbody.repo:not([hidden])", "groups => groups.map(g => g.dataset.name)"
    )


def assert_clean(watched: Watched) -> None:
    assert watched.errors == []
    assert watched.refused == []


@pytest.mark.parametrize("over", ["file", "http"])
def test_the_overview_answers_at_a_glance(
    site: Site, watched: Watched, serve: Any, over: str, tmp_path: Path
) -> None:
    page = watched.page
    url = site.index if over == "file" else serve(site.folder) + "/index.html"
    page.goto(url)
    verdicts = site.verdicts()
    counts = {v: list(verdicts.values()).count(v) for v in ("approved", "conditional", "rejected")}
    line = page.inner_text("#totals-line")
    assert line.startswith(
        f"{counts['approved']} approved, {counts['conditional']} conditional, "
        f"{counts['rejected']} rejected, {len(site.expected.not_evaluated)} not evaluated"
    )
    shown = {
        name: page.get_attribute(f'#overview tbody.repo[data-name="{name}"]', "data-verdict")
        for name in visible_names(page)
    }
    assert shown == {**verdicts, **dict.fromkeys(site.expected.not_evaluated, "not-evaluated")}
    # the chart ranks fixable critical and high, worst first
    bars = page.eval_on_selector_all("svg.bars text.label", "ts => ts.map(t => t.textContent)")
    assert bars == ["db:latest", "api:latest", "legacy:latest"]
    # expanding a repository shows its tags and platforms
    page.click('tbody.repo[data-name="web"] button.expand')
    platforms = page.eval_on_selector_all(
        'tbody.repo[data-name="web"] tr.detail:not([hidden]) table.tags td:nth-child(2)',
        "cells => cells.map(c => c.textContent.trim())",
    )
    assert platforms == ["linux/amd64", "linux/arm64/v8"]
    screenshot(page, tmp_path, f"overview-{over}")
    assert_clean(watched)
    assert any(u.startswith("http://127.0.0.1") for u in watched.requested) == (over == "http")


def test_sorting_and_filtering_the_overview(site: Site, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(site.index)
    # by default the worst verdicts come first
    order = {"rejected": 3, "conditional": 2, "approved": 1, "not-evaluated": 0}
    names = visible_names(page)
    ranks = [order[page.get_attribute(f'tbody[data-name="{n}"]', "data-verdict")] for n in names]
    assert ranks == sorted(ranks, reverse=True)
    # fixable: critical first, then high, medium, low; not known last
    page.click('th[data-sort="fixable"]')
    known = site.expected.fixable
    expected = sorted(known, key=lambda n: (tuple(-c for c in known[n]), n))
    assert visible_names(page)[: len(expected)] == expected
    page.click('th[data-sort="fixable"]')  # again: the other way round
    assert [n for n in visible_names(page) if n in known] == expected[::-1]
    page.click('th[data-sort="name"]')
    assert visible_names(page) == sorted(visible_names(page))
    # filters
    page.select_option("#f-verdict", "rejected")
    rejected = {n for n, v in site.verdicts().items() if v == "rejected"}
    assert set(visible_names(page)) == rejected and rejected
    assert page.inner_text("#shown") == f"showing {len(rejected)} of 6"
    page.select_option("#f-verdict", "")
    page.select_option("#f-deprecated", "only")
    assert set(visible_names(page)) == site.expected.deprecated
    page.select_option("#f-deprecated", "hide")
    assert not set(visible_names(page)) & site.expected.deprecated
    page.select_option("#f-deprecated", "")
    page.select_option("#f-os", "Alpine Linux v3.20")
    assert visible_names(page) == ["cache"]
    page.select_option("#f-os", "")
    page.fill("#f-text", "buster")
    assert visible_names(page) == ["legacy"]
    page.fill("#f-text", "")
    page.click("a.total.v-approved")
    approved = {n for n, v in site.verdicts().items() if v == "approved"}
    assert set(visible_names(page)) == approved
    screenshot(page, tmp_path, "overview-filtered")
    assert_clean(watched)


def test_an_image_page_shows_what_is_behind_the_verdict(
    site: Site, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    page.goto(site.index)
    page.click('tbody.repo[data-name="api"] td.name a')
    page.wait_for_load_state()
    assert "/images/" in page.url
    assert page.inner_text("h1").startswith("api:latest")
    assert page.inner_text(".verdict-line .badge") == site.verdicts()["api"]
    reasons = page.inner_text("ul.why")
    assert "fixable-critical: 2" in reasons
    rows = "#packages-table tbody tr"
    assert page.eval_on_selector_all(rows, "rs => rs.length") == 4
    page.select_option("#p-show", "fixable")
    shown = page.eval_on_selector_all(
        f"{rows}:not([hidden]) td:first-child span:first-child",
        "cells => cells.map(c => c.textContent)",
    )
    assert set(shown) == site.expected.fixable_packages["api"]
    # an unfixed finding of a fixable package is hidden with the filter, shown without it
    page.select_option("#p-show", "vulnerable")
    assert page.is_visible("text=CVE-2026-1004")
    # layers and SBOM downloads
    assert page.inner_text("#layers tbody td:nth-child(4)") == "4"
    for link in page.eval_on_selector_all("a.download", "as => as.map(a => a.href)"):
        path = Path(link.removeprefix("file://"))
        document = json.loads(path.read_text())
        assert document.get("bomFormat") == "CycloneDX" or document.get("spdxVersion") == "SPDX-2.3"
    screenshot(page, tmp_path, "image-api")
    assert_clean(watched)


def test_hostile_text_from_the_hub_docs_and_images_stays_text(
    site: Site, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    pages = sorted(p.relative_to(site.folder) for p in site.folder.rglob("*.html"))
    assert len(pages) > 5
    for name in pages:
        page.goto(site.folder.joinpath(name).as_uri())
        ran = page.evaluate("() => window.__xss === undefined ? null : String(window.__xss)")
        assert ran is None, f"{name}: {ran}"
        # nothing the payloads would have made exists in the document
        made = page.evaluate(
            """() => [
              document.querySelectorAll('script:not([src])').length,
              document.querySelectorAll('img').length,
              document.querySelectorAll('[onerror], [onload]').length,
              Array.from(document.querySelectorAll('a[href]'))
                .map(a => new URL(a.getAttribute('href'), document.baseURI).href)
                .filter(href => !/^(https?:|file:)/.test(href)),
            ]"""
        )
        assert made == [0, 0, 0, []], f"{name}: {made}"
    legacy = next(p for p in pages if p.name.startswith("legacy-latest"))
    page.goto(site.folder.joinpath(legacy).as_uri())
    text = page.inner_text("#deprecation")
    assert "<script>window.__xss = 'script'</script>" in text
    assert "javascript:window.__xss='link'" in text
    link = page.get_attribute('#deprecation a[href^="https://example.org"]', "rel")
    assert link == "noopener noreferrer nofollow"
    assert page.eval_on_selector_all("#deprecation a", "as => as.length") == 1
    assert NOTICE.splitlines()[2].split(" {")[0] in text
    screenshot(page, tmp_path, "image-legacy")
    evil = next(p for p in pages if p.name.startswith("db-latest"))
    page.goto(site.folder.joinpath(evil).as_uri())
    assert page.is_visible(f"text={EVIL_PACKAGE}")
    tag_page = next(p for p in pages if "img-src-x" in p.name)
    page.goto(site.folder.joinpath(tag_page).as_uri())
    assert page.inner_text("h1").startswith(f"legacy:{EVIL_TAG}")
    assert_clean(watched)


def test_trends_and_the_review(site: Site, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(site.folder.joinpath("trends.html").as_uri())
    # web's medium finding: fix shown on day 1, gone with the day 8 rebuild, on 2 platforms
    cards = page.inner_text(".cards")
    assert "7 d\nmedian time to fix" in cards and "2\nfindings fixed" in cards
    assert page.eval_on_selector_all("svg.chart.line", "s => s.length") == 2
    screenshot(page, tmp_path, "trends")
    page.goto(site.folder.joinpath("review.html").as_uri())
    fixable = page.eval_on_selector_all(
        "#most-fixable tbody td:nth-child(2)", "cells => cells.map(c => c.textContent.trim())"
    )
    assert fixable[:2] == ["db:latest", "api:latest"]
    assert "legacy" in page.inner_text("body")
    screenshot(page, tmp_path, "review")
    assert_clean(watched)


def image_page(site: Site, prefix: str) -> str:
    (path,) = sorted(site.folder.glob(f"images/{prefix}-*.html"))
    return path.as_uri()


def test_an_image_page_shows_other_engines_and_the_publishers_sbom(
    site: Site, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    page.goto(image_page(site, "web-latest-linux-amd64"))
    page.click('nav.toc a[href="#other-sources"]')
    row = '#other-sources tr[data-engine="trivy"]'
    cells = page.eval_on_selector_all(f"{row} td", "cs => cs.map(c => c.innerText.trim())")
    trivy = site.sources.trivy
    reported = [v for r in trivy["Results"] for v in r.get("Vulnerabilities") or []]
    assert cells[0].split() == ["trivy", trivy["Trivy"]["Version"]]
    assert cells[1] == "2026-10-12 08:00 UTC"
    critical = sum(v["Severity"] == "CRITICAL" for v in reported)
    low = sum(v["Severity"] == "LOW" for v in reported)
    every = page.eval_on_selector_all(
        f"{row} td:nth-child(4) i", "is => is.map(i => i.textContent)"
    )
    assert every == [str(critical), "0", "0", str(low)]  # critical, high, medium, low
    assert cells[4] == str(len(reported))
    # one of Trivy's two findings is imagetrust's one (the bash CVE): half agree
    assert cells[5].startswith("50%") and "1 in both" in cells[5]
    assert cells[6] == TRIVY_TARGET  # the report's text, shown as text
    publisher = page.inner_text("#other-sources p.publisher")
    assert publisher.startswith(f"Present: {site.sources.publisher_packages} packages listed")
    # the verdict is imagetrust's, whatever Trivy says
    assert page.inner_text(".verdict-line .badge") == site.verdicts()["web"] == "approved"
    screenshot(page, tmp_path, "image-web-other-sources")
    page.goto(image_page(site, "api-latest-linux-amd64"))
    assert page.inner_text("#other-sources p.publisher") == (
        f"Unreadable: {site.sources.unreadable_reason}."
    )
    assert SCRIPT in site.sources.unreadable_reason
    assert "None stored" in page.inner_text("#other-sources")
    page.goto(image_page(site, "db-latest-linux-amd64"))
    assert page.inner_text("#other-sources p.publisher").startswith("Absent: ")
    page.goto(image_page(site, "cache-latest-linux-amd64"))
    assert page.inner_text("#other-sources p.publisher").startswith("Not read: ")
    assert_clean(watched)


def test_pulls_per_repository_on_the_trends_page(
    site: Site, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    page.goto(site.folder.joinpath("trends.html").as_uri())
    rows = page.eval_on_selector_all(
        "#pulls-by-repository tbody tr",
        """rs => rs.map(r => [r.dataset.name, r.querySelector('td.pulls').innerText.trim(),
                          r.querySelector('td.delta').innerText.trim(),
                          r.querySelectorAll('svg.spark').length])""",
    )
    pulls = site.expected.pulls  # (first snapshot, latest): --since is before both
    most_first = sorted(pulls, key=lambda name: (-pulls[name][1], name))
    assert [r[0] for r in rows] == most_first
    for name, shown, change, spark in rows:
        first, latest = pulls[name]
        assert shown == f"{latest:,}", name
        assert change == f"+{latest - first:,} from 2026-10-01", name
        assert spark == 1, name
    # a repository's name links to its image page, from the trends page
    page.click('#pulls-by-repository tr[data-name="api"] a')
    page.wait_for_load_state()
    assert page.inner_text("h1").startswith("api:latest")
    page.go_back()
    screenshot(page, tmp_path, "trends-pulls")
    assert_clean(watched)


def test_pull_changes_run_from_since_and_a_counter_that_went_down_says_so(
    tmp_path: Path, watched: Watched
) -> None:
    from imagetrust.store.database import Store
    from tests.report.scenario import Scenario, day, entry

    counts = {"web": (100, 150, 180), "api": (50, 40, 60), "cache": (10, 20, 5)}
    home = tmp_path / "home"
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store:
        scenario = Scenario(store)
        for n, at in enumerate((day(0), day(5), day(9))):
            scenario.catalog([entry(name, pull_count=c[n]) for name, c in counts.items()], at)
    out = tmp_path / "site"
    common = ["--home", str(home), "--now", day(10).isoformat(), "report", "--out", str(out)]
    assert main([*common, "--since", day(6).isoformat()]) == 0
    page = watched.page
    page.goto(out.joinpath("trends.html").as_uri())
    rows = page.eval_on_selector_all(
        "#pulls-by-repository tbody tr",
        "rs => rs.map(r => [r.dataset.name, r.querySelector('td.delta').innerText.trim()])",
    )
    # from the snapshot at or before --since (day 5) to the latest (day 9)
    assert rows == [
        ["web", f"+{180 - 150} from 2026-10-06"],
        ["api", f"+{60 - 40} from 2026-10-06"],
        ["cache", "counter went down"],
    ]
    assert "Change since 2026-10-07" in page.inner_text("#pulls-by-repository thead")
    assert_clean(watched)
