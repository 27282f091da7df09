"""``db update``: OSV exports and CISA's KEV catalog from a loopback server of the real shapes.

The server is pytest-httpserver answering as OSV's bucket does (``<Ecosystem>/all.zip``,
ETag, 304 on ``If-None-Match``) and as CISA's feed does; the client is the production one
with another base URL. Zips are built from real records.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from imagetrust.cli.main import main
from imagetrust.store.database import Store
from imagetrust.vulndb.query import affected_records, db_status

FEEDS = Path(__file__).parent.parent / "fixtures" / "vulndb" / "feeds"
KEV = Path(__file__).parent.parent / "fixtures" / "vulndb" / "kev"
DEBIAN = ["DLA-3008-1.json", "DLA-3012-1.json"]


def zip_of(names: list[str], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, (FEEDS / name).read_bytes())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


class Bucket:
    """OSV's bucket: one zip per ecosystem, an ETag per content, 304 when it matches."""

    def __init__(self, server: HTTPServer) -> None:
        self.zips: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.cut: set[str] = set()
        server.expect_request("/osv", method="GET").respond_with_data("")
        for ecosystem in ("Debian", "PyPI", "AlmaLinux", "Nope"):
            server.expect_request(f"/osv/{ecosystem}/all.zip").respond_with_handler(
                self._handler(ecosystem)
            )
        kev = (KEV / "known_exploited_vulnerabilities.json").read_bytes()
        server.expect_request("/kev.json").respond_with_data(kev, content_type="application/json")

    def _handler(self, ecosystem: str) -> Any:
        def handle(request: Request) -> Response:
            self.requests.append((ecosystem, request.headers.get("If-None-Match")))
            data = self.zips.get(ecosystem)
            if data is None:
                return Response(status=404)
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            body = data[: len(data) // 2] if ecosystem in self.cut else data
            response = Response(body, content_type="application/zip", headers={"ETag": etag})
            response.headers["Content-Length"] = str(len(data))  # a cut connection
            response.automatically_set_content_length = False
            return response

        return handle


@pytest.fixture
def bucket(httpserver: HTTPServer) -> Bucket:
    return Bucket(httpserver)


@pytest.fixture
def cli(tmp_path: Path, store_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMAGETRUST_VULNDB_OSV_URL", httpserver.url_for("/osv"))
    monkeypatch.setenv("IMAGETRUST_VULNDB_KEV_URL", httpserver.url_for("/kev.json"))
    monkeypatch.setenv("IMAGETRUST_HTTP_RETRIES", "0")
    base = ["--home", str(tmp_path / "home"), "--db-url", store_url, "--now", "2026-11-23"]

    def call(*args: str, capsys: Any) -> tuple[int, Any]:
        code = main([*base, *args, "--format", "json"])
        out, err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else err

    call.store_url = store_url  # type: ignore[attr-defined]
    call.home = tmp_path / "home"  # type: ignore[attr-defined]
    return call


def _sources(store_url: str) -> dict[str, Any]:
    with Store.open(store_url) as store, store.read() as conn:
        return {s.name: (s.version, s.records, s.path) for s in db_status(conn).live_sources}


def test_update_imports_downloads_once_and_asks_with_the_etag(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    bucket.zips["Debian"] = zip_of(DEBIAN)
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 0, doc
    [feed] = doc["feeds"]
    assert (feed["status"], feed["records"]) == ("updated", 2)
    assert feed["sha256"] == hashlib.sha256(bucket.zips["Debian"]).hexdigest()
    first = _sources(cli.store_url)["osv:Debian"]
    assert first[2].endswith("/osv/Debian/all.zip")  # the source records where it came from
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 0 and doc["feeds"][0]["status"] == "unchanged"
    assert bucket.requests[-1][1] is not None  # the second request was conditional
    assert _sources(cli.store_url)["osv:Debian"] == first


def test_a_truncated_download_leaves_the_previous_database_in_use(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    bucket.zips["Debian"] = zip_of(DEBIAN)
    assert cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)[0] == 0
    before = _sources(cli.store_url)
    kept = (cli.home / "feeds" / "osv" / "Debian.zip").read_bytes()
    bucket.zips["Debian"] = zip_of(DEBIAN[:1])  # the export changed ...
    bucket.cut.add("Debian")  # ... and the connection dropped half-way
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 1 and doc["feeds"][0]["status"] == "failed"
    assert _sources(cli.store_url) == before
    assert (cli.home / "feeds" / "osv" / "Debian.zip").read_bytes() == kept
    assert not list((cli.home / "feeds" / "osv").glob("*.part"))
    bucket.cut.clear()  # the next update succeeds and replaces it
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 0 and doc["feeds"][0]["records"] == 1


def test_a_malformed_record_is_reported_and_the_rest_imports(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    bucket.zips["Debian"] = zip_of(DEBIAN, {"BROKEN.json": b'{"id": "DLA-0-1", "affected": 5}'})
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 0
    assert doc["feeds"][0]["records"] == 2 and "1 skipped" in doc["feeds"][0]["detail"]


def test_an_export_keeps_its_own_ecosystem_only(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """A PyPI export holding a Maven advisory: that one belongs to the Maven export."""
    bucket.zips["PyPI"] = zip_of(
        ["PYSEC-2021-98.json", "PYSEC-2020-148.json", "GHSA-269g-pwp5-87pp.json"]
    )
    code, doc = cli("db", "update", "-e", "PyPI", "--no-kev", capsys=capsys)
    assert code == 0 and doc["feeds"][0]["records"] == 2
    with Store.open(cli.store_url) as store, store.read() as conn:
        assert [e.record_id for e in affected_records(conn, "PyPI", "django")] == ["PYSEC-2021-98"]
        assert affected_records(conn, "Maven", "junit:junit") == []


def test_an_unknown_ecosystem_fails_alone(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    bucket.zips["Debian"] = zip_of(DEBIAN)
    code, doc = cli("db", "update", "-e", "Nope", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 1
    statuses = {f["name"]: f["status"] for f in doc["feeds"]}
    assert statuses == {"osv:Nope": "failed", "osv:Debian": "updated"}


def test_update_needs_the_ecosystems_of_stored_images(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The ecosystems come from the stored SBOMs: a Debian image with a Python package."""
    from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout

    rootfs = Path(__file__).parent.parent / "fixtures" / "rootfs" / "debian12"
    site = "usr/lib/python3/dist-packages/django-3.2.0.dist-info/METADATA"
    layers = [Layer.from_dir(rootfs), Layer.from_files({site: "Name: Django\nVersion: 3.2.0\n"})]
    write_oci_layout(build_image(ImageSpec(layers=layers)), tmp_path / "img", tag="t")
    assert cli("sbom", f"oci-layout:{tmp_path / 'img'}:t", capsys=capsys)[0] == 0
    bucket.zips["Debian"] = zip_of(DEBIAN)
    bucket.zips["PyPI"] = zip_of(["PYSEC-2021-98.json"])
    # sbom does not store; scan does (and fails on the empty database, after storing)
    main(
        [
            "--home",
            str(cli.home),
            "--db-url",
            cli.store_url,
            "scan",
            f"oci-layout:{tmp_path / 'img'}:t",
        ]
    )
    capsys.readouterr()
    code, doc = cli("db", "update", "--no-kev", capsys=capsys)
    assert code == 0, doc
    assert sorted(f["name"] for f in doc["feeds"]) == ["osv:Debian", "osv:PyPI"]


def test_known_exploited_flags_findings_in_every_output(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """PwnKit: AlmaLinux's advisory relates CVE-2021-4034, which CISA lists."""
    kev = json.loads((KEV / "known_exploited_vulnerabilities.json").read_text())
    [pwnkit] = [v for v in kev["vulnerabilities"] if v["cveID"] == "CVE-2021-4034"]
    bucket.zips["AlmaLinux"] = zip_of(["ALSA-2022-0267.json"])
    code, doc = cli("db", "update", "-e", "AlmaLinux", capsys=capsys)
    assert code == 0, doc
    assert doc["kev"]["entries"] == len(kev["vulnerabilities"])  # not the stale "count"
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {"type": "operating-system", "name": "almalinux", "version": "8.5"},
            {
                "type": "library",
                "name": "polkit",
                "version": "0.115-11.el8",
                "purl": "pkg:rpm/almalinux/polkit@0.115-11.el8?arch=x86_64&distro=almalinux-8.5",
            },
        ],
    }
    (tmp_path / "bom.json").write_text(json.dumps(sbom))
    code, doc = cli("scan", f"sbom:{tmp_path / 'bom.json'}", capsys=capsys)
    assert code == 0, doc
    [finding] = doc["vulnerabilities"]
    assert finding["id"] == "ALSA-2022:0267"
    assert finding["known_exploited"]["cve"] == "CVE-2021-4034"
    assert finding["known_exploited"]["date_added"] == pwnkit["dateAdded"]
    assert finding["known_exploited"]["due_date"] == pwnkit["dueDate"]


def test_the_kev_catalog_is_part_of_the_database_state_and_moves_only_with_its_content(
    cli, bucket: Bucket, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A KEV-only update changes the state that keys finding sets (so ``run`` matches
    again); the same catalog fetched again does not (no needless re-match)."""
    from imagetrust.vulndb.query import live_generations

    def state() -> list[tuple[str, int, str | None]]:
        with Store.open(cli.store_url) as store, store.read() as conn:
            return live_generations(conn)

    real = KEV / "known_exploited_vulnerabilities.json"
    assert cli("db", "import", str(real), capsys=capsys)[0] == 0
    assert state() == []  # no source yet: still "nothing to match against"
    bucket.zips["Debian"] = zip_of(DEBIAN)
    assert cli("db", "update", "-e", "Debian", capsys=capsys)[0] == 0
    first = state()
    assert [row[0] for row in first] == ["cisa-kev", "osv:Debian"]
    assert first[0][2] == json.loads(real.read_text())["catalogVersion"]
    assert cli("db", "import", str(real), capsys=capsys)[0] == 0
    assert state() == first
    catalog = json.loads(real.read_text())
    catalog["vulnerabilities"].append({**catalog["vulnerabilities"][0], "cveID": "CVE-2023-0286"})
    (tmp_path / "kev.json").write_text(json.dumps(catalog))  # listed one more, same version
    assert cli("db", "import", str(tmp_path / "kev.json"), capsys=capsys)[0] == 0
    second = state()
    assert second[1] == first[1] and second[0][1] == first[0][1] + 1
