"""`imagetrust catalog` end to end: offline folders, and online against loopback stand-ins.

Online, the production code downloads the official-images and docs archives and walks the
Docker Hub API; here both are served by a loopback HTTP server (the Hub from recorded-shape
pages), selected through the same settings a user would set.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from imagetrust.cli.main import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
LIBRARY = FIXTURES / "official-images"
DOCS = FIXTURES / "docs"
HUB = FIXTURES / "hub"
DEPRECATED_BY_LIBRARY = {
    "clefos",
    "gazebo",
    "mongo-express",
    "notary",
    "php-zendserver",
    "plone",
    "unit",
}
# Deprecated while still published: the docs (deprecated.md, DEPRECATED descriptions) say so.
DEPRECATED_BY_DOCS = {"clearlinux", "emqx", "liquibase", "openjdk"}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--format", "json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {repo["name"]: repo for repo in document["repositories"]}


def test_offline_catalog_from_the_real_library_and_docs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = run_json(
        capsys,
        "--home",
        str(tmp_path),
        "--now",
        "2026-08-22",
        "catalog",
        "--offline",
        "--library-dir",
        str(LIBRARY),
        "--docs-dir",
        str(DOCS),
    )
    assert document["kind"] == "catalog" and document["schema_version"] == 1
    repos = by_name(document)
    assert len(repos) == 145
    states: dict[str, set[str]] = {}
    for name, repo in repos.items():
        states.setdefault(repo["state"], set()).add(name)
    # scratch: documented, never a library file, so never published
    assert states["deprecated"] == DEPRECATED_BY_LIBRARY | DEPRECATED_BY_DOCS | {"scratch"}
    assert "removed" not in states  # removed: neither a library file nor docs
    unpublished = {name for name, repo in repos.items() if not repo["published"]}
    assert unpublished == DEPRECATED_BY_LIBRARY | {"scratch"}
    python = repos["python"]
    assert {"latest", "3.14"} <= set(python["supported_tags"])
    assert "arm64v8" in python["architectures"] and python["pull_count"] is None
    assert python["state_since"] == "2026-08-22T00:00:00+00:00"
    for noted in ("nextcloud", "rockylinux", "amazonlinux"):
        assert repos[noted]["state"] == "active" and repos[noted]["notice"]
    assert repos["openjdk"]["notice"].startswith("This image is officially deprecated")
    assert document["snapshot"]["sources"]["library_files"] == 144


def test_offline_needs_a_library_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path), "catalog", "--offline"]) == 2
    assert "--offline needs --library-dir" in capsys.readouterr().err


def test_no_refresh_on_an_empty_store_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "catalog", "--no-refresh"]) == 1
    assert "no store at" in capsys.readouterr().err and not home.exists()  # nothing created
    assert main(["--home", str(home), "store", "migrate"]) == 0
    capsys.readouterr()
    # nothing to show is a failure (1), as an empty vulnerability database is for scan
    assert main(["--home", str(home), "catalog", "--no-refresh"]) == 1
    err = capsys.readouterr().err
    assert "no catalog snapshot" in err and "hint: run `imagetrust catalog`" in err


def test_until_before_every_snapshot_says_so_not_no_snapshot_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path)]
    offline = ["--offline", "--library-dir", str(LIBRARY), "--docs-dir", str(DOCS)]
    assert main([*home, "--now", "2026-08-22T10:00:00Z", "catalog", *offline, "-f", "json"]) == 0
    capsys.readouterr()
    assert main([*home, "catalog", "--until", "2026-08-01"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "error: no catalog snapshot at or before 2026-08-01: "
        "the oldest is #1, taken 2026-08-22 10:00Z"
    )
    assert "yet" not in err[0] and err[1].startswith("hint: use a later --until")
    # a date on or after the snapshot finds it
    assert (
        run_json(capsys, *home, "catalog", "--until", "2026-08-22T10:00:00Z")["snapshot"]["id"] == 1
    )


def test_a_broken_library_file_is_reported_and_the_rest_is_cataloged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    for name in ("alpine", "debian"):
        (library / name).write_bytes((LIBRARY / "library" / name).read_bytes())
    (library / "broken").write_text("Tags: 1\nthis is not a field\n")
    document = run_json(
        capsys, "--home", str(tmp_path / "h"), "catalog", "--offline", "--library-dir", str(library)
    )
    assert sorted(by_name(document)) == ["alpine", "debian"]
    assert main(["--home", str(tmp_path / "h"), "store", "status", "-f", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_run"]["status"] == "partial" and status["last_run"]["errors"] == 1


# --- online, against loopback ------------------------------------------------------------


def tar_gz_of(folder: Path, top: str, wanted: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (wanted is None or wanted in path.parts):
                archive.add(path, arcname=f"{top}/{path.relative_to(folder)}")
    return buffer.getvalue()


class FakeHub:
    """Serves the recorded pages; pull counts can be changed between runs."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.origin = f"http://{server.host}:{server.port}"
        self.pages = {
            str(n): json.loads((HUB / f"repositories-page-{n}.json").read_text()) for n in (1, 2, 3)
        }
        self.tags = {
            name: json.loads((HUB / f"tags-{name}-page-1.json").read_text())
            for name in ("python", "alpine")
        }
        self.rate_limited: set[str] = set()

    def set_pulls(self, name: str, pulls: int) -> None:
        for page in self.pages.values():
            for repo in page["results"]:
                if repo["name"] == name:
                    repo["pull_count"] = pulls

    def repositories(self, request: Request) -> Response:
        page = json.loads(json.dumps(self.pages[request.args.get("page", "1")]))
        for key in ("next", "previous"):
            if page[key]:
                page[key] = page[key].replace("https://hub.docker.com", self.origin)
        return Response(json.dumps(page), content_type="application/json")

    def tags_of(self, request: Request) -> Response:
        name = request.path.split("/")[-2]
        if name in self.rate_limited:
            return Response("{}", status=429, headers={"Retry-After": "86400"})
        page = self.tags.get(name, {"count": 0, "next": None, "previous": None, "results": []})
        return Response(json.dumps(page), content_type="application/json")

    def install(self) -> None:
        self.server.expect_request("/v2/namespaces/library/repositories").respond_with_handler(
            self.repositories
        )
        for name in ("python", "node", "alpine", "debian", "nginx", "java", "centos", "xss-probe"):
            self.server.expect_request(
                f"/v2/namespaces/library/repositories/{name}/tags"
            ).respond_with_handler(self.tags_of)
        self.server.expect_request("/official-images.tar.gz").respond_with_data(
            tar_gz_of(LIBRARY, "official-images-master", "library")
        )
        self.server.expect_request("/docs.tar.gz").respond_with_data(tar_gz_of(DOCS, "docs-master"))


@pytest.fixture
def hub(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    fake = FakeHub(httpserver)
    fake.install()
    monkeypatch.setenv("IMAGETRUST_HUB_URL", fake.origin)
    monkeypatch.setenv("IMAGETRUST_SOURCES_LIBRARY_URL", f"{fake.origin}/official-images.tar.gz")
    monkeypatch.setenv("IMAGETRUST_SOURCES_DOCS_URL", f"{fake.origin}/docs.tar.gz")
    monkeypatch.setenv("IMAGETRUST_HTTP_MAX_WAIT", "5")
    monkeypatch.delenv("DOCKERHUB_USERNAME", raising=False)
    monkeypatch.delenv("DOCKERHUB_TOKEN", raising=False)
    return fake


def test_online_catalog_joins_library_docs_and_hub(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = run_json(capsys, "--home", str(tmp_path), "--now", "2026-08-01", "catalog")
    repos = by_name(document)
    assert len(repos) == 148  # 145 known to library or docs, plus 3 only on the Hub
    assert repos["java"]["state"] == "removed" and repos["java"]["pull_count"] > 0
    assert repos["centos"]["state"] == "removed"
    python = repos["python"]
    assert python["state"] == "active" and python["sources"] == ["library", "docs", "hub"]
    assert (
        python["tag_count"] == 3
        and python["pull_count"] == hub.pages["1"]["results"][0]["pull_count"]
    )
    assert python["last_updated"].startswith("20")
    probe = repos["xss-probe"]
    assert "<script>" in probe["description"]  # kept verbatim; renderers escape it
    sources = document["snapshot"]["sources"]
    assert sources["hub"] == hub.origin and sources["library"].endswith("official-images.tar.gz")
    assert (tmp_path / "cache" / "sources" / "official-images" / "library" / "python").is_file()


def test_pull_deltas_between_two_runs_and_unreliable_counters(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path)]
    hub.set_pulls("python", 1_000_000)
    hub.set_pulls("alpine", 5_000_000)
    run_json(capsys, *home, "--now", "2026-08-01", "catalog")
    hub.set_pulls("python", 1_300_000)
    hub.set_pulls("alpine", 4_000_000)  # a corrected counter: must not show as -1,000,000
    run_json(capsys, *home, "--now", "2026-08-11", "catalog")
    pulls = run_json(
        capsys, *home, "catalog", "--no-refresh", "--show", "pulls", "--since", "2026-08-01"
    )
    assert pulls["kind"] == "catalog-pulls"
    rows = {row["name"]: row["pull_delta"] for row in pulls["repositories"]}
    assert rows["python"]["value"] == 300_000 and rows["python"]["per_day"] == 30_000.0
    assert rows["python"]["since"].startswith("2026-08-01")
    assert rows["alpine"]["value"] is None and rows["alpine"]["unreliable"] is True
    assert main([*home, "catalog", "--no-refresh", "--show", "pulls"]) == 0
    table = capsys.readouterr().out
    assert "unreliable" in table and "+300,000" in table and "-1,000,000" not in table


def test_rate_limit_during_tags_keeps_the_snapshot_and_reports_the_rest(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.rate_limited.add("node")
    document = run_json(capsys, "--home", str(tmp_path), "catalog")
    repos = by_name(document)
    assert repos["alpine"]["tag_count"] == len(hub.tags["alpine"]["results"])
    assert repos["python"]["tag_count"] is None  # after node, listing stopped
    assert main(["--home", str(tmp_path), "store", "status", "-f", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_run"]["status"] == "partial"


def test_table_output_does_not_interpret_hub_text_as_markup(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path), "catalog", "--state", "removed"]) == 0
    out = capsys.readouterr().out
    assert "java" in out and "centos" in out and "python" not in out
    assert main(["--home", str(tmp_path), "catalog", "--no-refresh", "--state", "bogus"]) == 2
