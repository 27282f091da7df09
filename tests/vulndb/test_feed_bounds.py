"""``db update`` past ``[vulndb] max_download_bytes``: refused whether the server announces
the size or streams without one, and the database in use stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.vulndb.test_feeds import DEBIAN, Bucket, _sources, bucket, cli, zip_of  # noqa: F401


def _stream(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
def test_a_download_over_the_limit_fails_and_keeps_the_database(
    cli: Any,  # noqa: F811
    bucket: Bucket,  # noqa: F811
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    announced: bool,
) -> None:
    bucket.zips["Debian"] = zip_of(DEBIAN[:1])
    assert cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)[0] == 0
    before = _sources(cli.store_url)
    kept = (cli.home / "feeds" / "osv" / "Debian.zip").read_bytes()
    bigger = zip_of(DEBIAN)
    assert len(bigger) > len(kept)
    if not announced:  # the same export, streamed without a length
        httpserver.clear()

        def handle(request: Request) -> Response:
            return Response(_stream(bigger), content_type="application/zip")

        httpserver.expect_request("/osv/Debian/all.zip").respond_with_handler(handle)
    else:
        bucket.zips["Debian"] = bigger
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_DOWNLOAD_BYTES", str(len(bigger) - 1))
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 1 and doc["feeds"][0]["status"] == "failed", doc
    assert "max_download_bytes" in doc["feeds"][0]["detail"]
    assert _sources(cli.store_url) == before
    assert (cli.home / "feeds" / "osv" / "Debian.zip").read_bytes() == kept
    assert not list((cli.home / "feeds" / "osv").glob("*.part"))
    # at the limit exactly, it goes through
    monkeypatch.setenv("IMAGETRUST_VULNDB_MAX_DOWNLOAD_BYTES", str(len(bigger)))
    code, doc = cli("db", "update", "-e", "Debian", "--no-kev", capsys=capsys)
    assert code == 0 and doc["feeds"][0]["records"] == 2, doc
    assert Path(cli.home / "feeds" / "osv" / "Debian.zip").read_bytes() == bigger
