"""Downloading the source archives: only wanted files, hostile members ignored, atomic."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from imagetrust.catalog.fetch import (
    LIBRARY_MEMBER_MAX,
    SourceFetchError,
    docs_member,
    fetch_source,
    library_member,
)
from imagetrust.config import HttpSettings
from imagetrust.http import RetryPolicy, WaitBudget, build_client

FAST = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0)


def tar_gz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, kind) with kind file | symlink | dir."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                assert data is not None
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = [
    ("official-images-master/library", None, "dir"),
    ("official-images-master/library/python", b"Tags: latest\nGitRepo: x\n", "file"),
    ("official-images-master/library/alpine", b"Tags: 3\n", "file"),
    ("official-images-master/library/.hidden", b"x", "file"),
    ("official-images-master/README.md", b"readme", "file"),
    ("official-images-master/test/library/nope", b"x", "file"),
    ("official-images-master/library/../../../etc/evil", b"owned", "file"),
    ("/abs/library/evil", b"owned", "file"),
    ("official-images-master/library/link", None, "symlink"),
    ("official-images-master/library/huge", b"x" * (LIBRARY_MEMBER_MAX + 1), "file"),
]


def fetch(server: HTTPServer, dest: Path, wanted=library_member, max_bytes=10**8) -> int:  # type: ignore[no-untyped-def]
    with build_client(HttpSettings()) as client:
        return fetch_source(
            client,
            server.url_for("/archive.tar.gz"),
            dest,
            wanted,
            member_max=LIBRARY_MEMBER_MAX,
            max_bytes=max_bytes,
            policy=FAST,
            budget=WaitBudget(1),
        )


def test_only_wanted_regular_files_land(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/archive.tar.gz").respond_with_data(tar_gz(GOOD))
    dest = tmp_path / "cache" / "official-images"
    assert fetch(httpserver, dest) == 2
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["library/alpine", "library/python"]
    assert (dest / "library" / "python").read_text().startswith("Tags: latest")
    assert not list(tmp_path.rglob("evil"))


def test_docs_members() -> None:
    assert docs_member("python/metadata.json") and docs_member("java/deprecated.md")
    assert not docs_member("python/logo.png") and not docs_member(".template-helpers/x.md")
    assert not docs_member("python/sub/metadata.json")


def test_failed_download_keeps_the_previous_copy(httpserver: HTTPServer, tmp_path: Path) -> None:
    dest = tmp_path / "official-images"
    httpserver.expect_ordered_request("/archive.tar.gz").respond_with_data(tar_gz(GOOD))
    fetch(httpserver, dest)
    truncated = tar_gz(GOOD)[:200]
    httpserver.expect_request("/archive.tar.gz").respond_with_data(truncated)
    with pytest.raises(SourceFetchError, match=r"not a readable tar\.gz"):
        fetch(httpserver, dest)
    assert sorted(p.name for p in (dest / "library").iterdir()) == ["alpine", "python"]
    assert [p.name for p in tmp_path.iterdir()] == ["official-images"]


def test_a_failed_swap_keeps_the_previous_copy(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The swap is two renames (the old copy aside, the new one in): when the second fails,
    # the previous copy must be back in place, not left aside under another name.
    dest = tmp_path / "official-images"
    httpserver.expect_request("/archive.tar.gz").respond_with_data(tar_gz(GOOD))
    fetch(httpserver, dest)
    real_rename = Path.rename

    def rename(self: Path, target: str | Path) -> Path:
        if self.name.startswith(f".{dest.name}.") and Path(target) == dest:
            raise OSError(28, "No space left on device")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(SourceFetchError, match="No space left"):
        fetch(httpserver, dest)
    assert sorted(p.name for p in (dest / "library").iterdir()) == ["alpine", "python"]
    assert [p.name for p in tmp_path.iterdir()] == ["official-images"]


def test_http_error_and_size_limit(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request("/archive.tar.gz").respond_with_data("no", status=404)
    with pytest.raises(SourceFetchError, match="HTTP 404"):
        fetch(httpserver, tmp_path / "a")
    httpserver.expect_request("/archive.tar.gz").respond_with_data(tar_gz(GOOD))
    with pytest.raises(SourceFetchError, match="larger than 1000 bytes"):
        fetch(httpserver, tmp_path / "b", max_bytes=1000)


def test_archive_without_expected_files(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/archive.tar.gz").respond_with_data(
        tar_gz([("x/README.md", b"hi", "file")])
    )
    with pytest.raises(SourceFetchError, match="none of the expected files"):
        fetch(httpserver, tmp_path / "a")
