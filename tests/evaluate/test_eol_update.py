"""``imagetrust eol update`` against recorded endoflife.date API responses on loopback.

The production client talks to a pytest-httpserver through ``[eol] url`` (here its
environment variable), which serves the recorded responses (``fixtures/endoflife-api``) at
the API's product paths. Every expected value is read off those recorded responses.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

from imagetrust.evaluate.eol import bundled_eol_data, encode_eol_data
from imagetrust.testkit.builder import Layer
from tests.evaluate.helpers import ROOTFS, cli_json, image, layout, store_analysis

API = Path(__file__).resolve().parent.parent / "fixtures" / "endoflife-api"


def recorded() -> dict[str, bytes]:
    """Each product's ``/api/v1/products/<product>`` response: go's as recorded, the others
    as the recorded ``full`` response holds them, in the ProductResponse envelope."""
    full = json.loads((API / "products-full.trimmed.json").read_text(encoding="utf-8"))
    responses = {
        product["name"]: json.dumps(
            {
                "schema_version": full["schema_version"],
                "generated_at": full["generated_at"],
                "result": product,
            }
        ).encode()
        for product in full["result"]
    }
    responses["go"] = (API / "products-go.json").read_bytes()
    return responses


def serve(server: HTTPServer, responses: dict[str, bytes]) -> None:
    for name, body in responses.items():
        server.expect_request(f"/api/v1/products/{name}/").respond_with_data(
            body, content_type="application/json"
        )


@pytest.fixture
def api(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv("IMAGETRUST_EOL_URL", httpserver.url_for("/"))
    monkeypatch.setenv("IMAGETRUST_HTTP_RETRIES", "0")
    return httpserver


def release(doc: dict[str, Any], product: str, cycle: str) -> dict[str, Any]:
    (found,) = [r for r in doc["products"][product]["releases"] if r["cycle"] == cycle]
    return dict(found)


def test_update_writes_what_the_api_says(
    api: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses = recorded()
    serve(api, responses)
    home = tmp_path / "home"
    products = ["debian", "ubuntu", "go", "alpine-linux", "python"]
    args = [f"--product={p}" for p in products]
    code, doc, err = cli_json(
        capsys, "--home", str(home), "--now", "2026-11-29", "eol", "update", *args
    )
    assert code == 0, err
    assert doc["kind"] == "eol-update" and sorted(doc["updated"]) == sorted(products)
    written = json.loads((home / "eol" / "endoflife.json").read_text(encoding="utf-8"))
    api_debian = {r["name"]: r for r in json.loads(responses["debian"])["result"]["releases"]}
    assert release(written, "debian", "12")["eol"] == api_debian["12"]["eolFrom"]
    assert release(written, "debian", "12")["eoes"] == api_debian["12"]["eoesFrom"]
    api_go = {r["name"]: r for r in json.loads(responses["go"])["result"]["releases"]}
    assert api_go["1.25"]["eolFrom"] is None and api_go["1.25"]["isEol"] is False
    assert release(written, "go", "1.25")["eol"] is False  # not ended, no date
    assert release(written, "go", "1.23")["eol"] == api_go["1.23"]["eolFrom"]
    api_ubuntu = {r["name"]: r for r in json.loads(responses["ubuntu"])["result"]["releases"]}
    assert api_ubuntu["25.04"]["isEoes"] is None  # not eligible: no eoes, eol decides
    assert "eoes" not in release(written, "ubuntu", "25.04")
    for product in products:
        assert written["products"][product]["stated_at"] == "2025-08-27"  # generated_at
        assert written["products"][product]["fetched_at"].startswith("2026-11-29")
    # the products not asked for stay as they were
    assert written["products"]["fedora"]["fetched_at"] is None
    assert len(api.log) == len(products)


@pytest.mark.parametrize("failure", ["unknown-product", "truncated", "server-error", "other"])
def test_an_update_is_all_or_nothing(
    api: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], failure: str
) -> None:
    responses = recorded()
    serve(api, {"debian": responses["debian"]})
    if failure == "unknown-product":
        api.expect_request("/api/v1/products/go/").respond_with_data("not found", status=404)
    elif failure == "truncated":
        api.expect_request("/api/v1/products/go/").respond_with_data(responses["go"][:500])
    elif failure == "server-error":
        api.expect_request("/api/v1/products/go/").respond_with_data("down", status=503)
    elif failure == "other":
        api.expect_request("/api/v1/products/go/").respond_with_data(responses["ubuntu"])
    home = tmp_path / "home"
    path = home / "eol" / "endoflife.json"
    path.parent.mkdir(parents=True)
    before = encode_eol_data(bundled_eol_data())
    path.write_text(before, encoding="utf-8")
    code, _, err = cli_json(
        capsys, "--home", str(home), "eol", "update", "--product", "debian", "--product", "go"
    )
    assert code == 1 and "error:" in err and "go" in err
    if failure == "unknown-product":
        assert "endoflife.date has no product 'go'" in err
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in path.parent.iterdir()] == ["endoflife.json"]  # no temporary left


def _older_bundle(tmp_path: Path) -> Path:
    """The bundled data as an older package would ship it: the same tables, stated earlier."""
    data = bundled_eol_data()
    older = msgspec.structs.replace(
        data,
        stated_at=date(2025, 1, 1),
        products={
            name: msgspec.structs.replace(p, stated_at=date(2025, 1, 1))
            for name, p in data.products.items()
        },
    )
    path = tmp_path / "bundled.json"
    path.write_text(encode_eol_data(older), encoding="utf-8")
    return path


@pytest.mark.parametrize(("bundle", "expected"), [("current", "supported"), ("older", "eol")])
def test_the_data_stating_the_later_date_decides(
    api: HTTPServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bundle: str,
    expected: str,
) -> None:
    """The recorded API says Debian 12's security support ends 2026-06-10 (as of
    2025-08-27); the bundled files (2026-08-22) say 2026-07-11. Judged by ``eol`` on
    2026-06-20, the image is end of life only if the refresh is what is used."""
    if bundle == "older":
        monkeypatch.setattr("imagetrust.evaluate.eol.BUNDLED_PATH", _older_bundle(tmp_path))
    serve(api, {"debian": recorded()["debian"]})
    monkeypatch.setenv("IMAGETRUST_EOL_UNTIL_EOES", "")
    home = tmp_path / "home"
    code, _, err = cli_json(capsys, "--home", str(home), "eol", "update", "--product", "debian")
    assert code == 0, err
    ref = layout(image(Layer.from_dir(ROOTFS / "debian12")), tmp_path / "image")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(capsys, "--home", str(home), "--now", "2026-06-20", "evaluate")
    assert code == 0, err
    found = doc["images"][0]["os"]
    assert found["status"] == expected
    assert found["eol_date"] == ("2026-06-10" if bundle == "older" else "2026-07-11")
    code, status, _ = cli_json(capsys, "--home", str(home), "eol", "status")
    fetched = status["products"]["debian"]["fetched_at"]
    assert (fetched is not None) == (bundle == "older")


def test_a_damaged_refresh_is_passed_over_for_the_bundled_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    (home / "eol").mkdir(parents=True)
    (home / "eol" / "endoflife.json").write_text('{"format": 1, "products": ', encoding="utf-8")
    code, status, err = cli_json(capsys, "--home", str(home), "eol", "status")
    assert code == 0, err
    assert status["stated_at"] == str(bundled_eol_data().stated_at)
    assert all(p["fetched_at"] is None for p in status["products"].values())
