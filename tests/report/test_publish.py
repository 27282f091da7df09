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


def test_sbom_files_are_read_from_the_store_as_they_are_written(tmp_path: Path) -> None:
    """The model holds no SBOM (memory flat with the catalog): each is read by its row
    when its files are written. One collected in between costs that image its downloads,
    with the reason on its page; the others are written from the rows the pages used."""
    import json

    from sqlalchemy import delete, select, update

    from imagetrust.store.schema import image_sboms

    url = f"sqlite:///{tmp_path / 'imagetrust.db'}"
    with Store.open(url) as store:
        build_world(store)
        built = build_model(store, now=world_now())
        assert built.sbom_ids and not hasattr(built, "sboms")
        (gone_digest, gone_id), (bad_digest, bad_id) = sorted(built.sbom_ids.items())[:2]
        with store.transaction() as conn:
            conn.execute(delete(image_sboms).where(image_sboms.c.id == gone_id))
            conn.execute(
                update(image_sboms)
                .where(image_sboms.c.id == bad_id)
                .values(document={"schema": "not an SBOM"})
            )
            kept = {
                row.digest: row.document
                for row in conn.execute(select(image_sboms.c.digest, image_sboms.c.document))
            }
        write_built(built, tmp_path / "site", ReportFormat.HTML)
    site = tmp_path / "site"
    hexed = gone_digest.split(":", 1)[1]
    assert not (site / "sbom" / f"{hexed}.cdx.json").exists()
    page = next(p for p in built.report.images if p.digest == gone_digest).page
    text = (site / page).read_text()
    assert "Its packages are not listed: the stored SBOM is gone." in text
    bad_page = next(p for p in built.report.images if p.digest == bad_digest).page
    assert (
        "Its packages are not listed: the stored SBOM cannot be read"
        in (site / bad_page).read_text()
    )
    written = sorted((site / "sbom").glob("*.cdx.json"))
    assert len(written) == len(built.sbom_ids) - 2
    for path in written:
        digest = "sha256:" + path.name.split(".")[0]
        doc = json.loads(path.read_text())
        names = {c["name"] for c in doc["components"] if c["type"] == "library"}
        assert names == {p["name"] for p in kept[digest]["packages"]}
        assert digest not in (gone_digest, bad_digest)
