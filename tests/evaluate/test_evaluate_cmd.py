"""``imagetrust evaluate`` and ``scan``'s end-of-life fields, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetrust.cli.main import main
from imagetrust.demo import DATA
from imagetrust.store.database import Store
from imagetrust.store.runs import list_runs, run_item_errors
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, build_multiplatform
from tests.evaluate.helpers import ROOTFS, cli_json, layout, store_analysis


@pytest.mark.parametrize(("now", "status"), [("2028-06-29", "supported"), ("2028-06-30", "eol")])
def test_scan_json_fills_the_os_end_of_life(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], now: str, status: str
) -> None:
    """debian.md: Debian 12's LTS (eoes) ends 2028-06-30, the date the default rule uses."""
    home = tmp_path / "home"
    ref = layout(
        build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")])), tmp_path / "i"
    )
    assert main(["--home", str(home), "db", "import", str(DATA / "vulndb")]) == 0
    capsys.readouterr()
    code, doc, err = cli_json(capsys, "--home", str(home), "--now", now, "scan", ref)
    assert code == 0, err
    assert doc["image"]["os"]["eol_status"] == status
    assert doc["image"]["os"]["eol_date"] == "2028-06-30"
    assert main(["--home", str(home), "--now", now, "scan", ref]) == 0
    assert f"({status}, end of support 2028-06-30)" in capsys.readouterr().out


@pytest.fixture
def stored(tmp_path: Path, store_url: str) -> dict[str, str]:
    """Three stored images: two tags of one layout (one a two-platform index) and another."""
    images = tmp_path / "layout"
    refs = {
        "debian": layout(
            build_multiplatform([Layer.from_dir(ROOTFS / "debian12")]), images, "debian"
        ),
        "alpine": layout(
            build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")])), images, "alpine"
        ),
        "other": layout(
            build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")], labels={"o": "1"})),
            tmp_path / "other",
        ),
    }
    for ref in refs.values():
        store_analysis(store_url, ref)
    return refs


def test_refs_select_stored_images(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], stored: dict[str, str]
) -> None:
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url]
    code, doc, err = cli_json(capsys, *base, "evaluate")
    assert code == 0, err
    assert sorted(e["reference"] for e in doc["images"]) == sorted(stored.values())
    assert list(doc)[:2] == ["schema_version", "kind"] and doc["kind"] == "evaluation"
    by_ref = {e["reference"]: e for e in doc["images"]}
    debian = by_ref[stored["debian"]]
    code, doc, err = cli_json(capsys, *base, "evaluate", debian["index_digest"])
    assert code == 0, err
    assert [e["digest"] for e in doc["images"]] == [debian["digest"]]
    layout_dir = stored["debian"].removeprefix("oci-layout:").rsplit(":", 1)[0]
    code, doc, err = cli_json(capsys, *base, "evaluate", f"oci-layout:{layout_dir}")
    assert code == 0, err
    assert sorted(e["reference"] for e in doc["images"]) == sorted(
        [stored["debian"], stored["alpine"]]
    )


def test_a_ref_that_matches_nothing_fails_after_the_others_are_evaluated(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], stored: dict[str, str]
) -> None:
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url]
    code, doc, err = cli_json(capsys, *base, "evaluate", stored["alpine"], "python:3.12")
    assert code == 1 and "could not be evaluated" in err
    assert [e["reference"] for e in doc["images"]] == [stored["alpine"]]
    assert doc["problems"] == [
        {"item": "python:3.12", "message": "no stored SBOM matches (analyse it with scan first)"}
    ]
    with Store.open(store_url) as store, store.read() as conn:
        (run,) = [r for r in list_runs(conn) if r.kind == "evaluate"]
        errors = run_item_errors(conn, run.id)
    assert run.status.value == "partial" and [e.item for e in errors] == ["python:3.12"]


def test_the_table_names_each_kind_of_evidence(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], stored: dict[str, str]
) -> None:
    code = main(
        ["--home", str(tmp_path / "h"), "--db-url", store_url, "evaluate", stored["debian"]]
    )
    out = capsys.readouterr().out
    assert code == 0
    for row in ("os", "state", "tag", "staleness", "hygiene", "supply chain", "popularity"):
        assert f"\n{row} " in out
    assert "Debian GNU/Linux 12 (bookworm): supported" in out
    assert "SBOM yes, provenance yes" in out


def test_evaluate_without_a_store_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "evaluate"]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not home.exists()


def test_an_unreadable_stored_sbom_is_an_error_on_that_image_only(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], stored: dict[str, str]
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from imagetrust.store.schema import image_sboms

    with Store.open(store_url) as store, store.transaction() as conn:
        conn.execute(
            insert(image_sboms).values(
                digest="sha256:" + "0" * 64,
                analyser_version="v0",
                reference="broken:1",
                platform="linux/amd64",
                package_count=0,
                document={"packages": "not a list"},
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    code, doc, err = cli_json(
        capsys, "--home", str(tmp_path / "h"), "--db-url", store_url, "evaluate"
    )
    assert code == 1 and "could not be evaluated" in err
    assert len(doc["images"]) == len(stored)
    (problem,) = doc["problems"]
    assert problem["item"].startswith("broken:1@") and "unreadable" in problem["message"]
