"""A report that fails leaves the previous one whole; a new one replaces it whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imagetrust.report import ReportFormat, build_model, write_built
from imagetrust.report import publish as publish_module
from imagetrust.report.html import HtmlReport
from imagetrust.store.database import Store
from tests.report.scenario import day
from tests.report.world import build_world, world_now


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('publish') / 'imagetrust.db'}"
    with Store.open(url) as store:
        build_world(store)
    return url


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def write(store_url: str, out: Path, now: Any = None) -> None:
    with Store.open(store_url) as store:
        built = build_model(store, now=now or world_now())
    write_built(built, out, ReportFormat.HTML)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_failed_report_leaves_the_previous_site_whole(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(publish_module, "_exchange", lambda first, second: False)
    out = tmp_path / "site"
    write(store_url, out)
    before = tree(out)
    assert "index.html" in before and "imagetrust-site.json" in before
    real = HtmlReport.write

    def half_then_fail(self: HtmlReport, built: Any, folder: Path) -> list[str]:
        (folder / "index.html").write_text("half a site")
        (folder / "images").mkdir()
        raise OSError("disk full")

    monkeypatch.setattr(HtmlReport, "write", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write(store_url, out, now=day(13))
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no staging left behind
    # and a report that works replaces it whole, leaving nothing beside it
    monkeypatch.setattr(HtmlReport, "write", real)
    write(store_url, out, now=day(13))
    after = tree(out)
    assert (
        after["index.html"] != before["index.html"]
        and "2026-10-14 08:00" in after["index.html"].decode()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_sbom_files_are_taken_over_from_the_site_being_replaced(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    write(store_url, out)
    first = {k: v for k, v in tree(out).items() if k.startswith("sbom/")}
    assert any(k.endswith(".cdx.json") for k in first) and "sbom/index.json" in first

    def no_more(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("an SBOM the previous site had was written again")

    monkeypatch.setattr("imagetrust.sbom.formats.cyclonedx.to_cyclonedx_json", no_more)
    write(store_url, out, now=day(13))
    assert {k: v for k, v in tree(out).items() if k.startswith("sbom/")} == first
    # a new site (nothing to take over) has to write them, and says so when it cannot
    fresh = tmp_path / "fresh"
    write(store_url, fresh)
    api = next((fresh / "images").glob("api-latest-*.html")).read_text()
    assert "its SBOM files could not be written" in api and "CycloneDX 1.6" not in api
    assert not list((fresh / "sbom").glob("*.cdx.json"))
