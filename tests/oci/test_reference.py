"""Reference parsing: Docker's normalisation rules, local sources, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetrust.oci.errors import InvalidReferenceError
from imagetrust.oci.reference import (
    ArchiveReference,
    ImageReference,
    LayoutReference,
    parse_reference,
)

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python", "docker.io", "library/python", "latest", None),
        ("python:3.12-slim", "docker.io", "library/python", "3.12-slim", None),
        (f"python@{D}", "docker.io", "library/python", None, D),
        (f"python:3.12@{D}", "docker.io", "library/python", "3.12", D),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("docker.io/python", "docker.io", "library/python", "latest", None),
        ("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", None),
        ("registry-1.docker.io/library/nginx", "docker.io", "library/nginx", "latest", None),
        ("localhost:5000/x", "localhost:5000", "x", "latest", None),
        ("localhost/x:y", "localhost", "x", "y", None),
        ("127.0.0.1:5000/a/b/c:v1.2", "127.0.0.1:5000", "a/b/c", "v1.2", None),
        ("ghcr.io/owner/repo:tag", "ghcr.io", "owner/repo", "tag", None),
        (
            "public.ecr.aws/docker/library/python",
            "public.ecr.aws",
            "docker/library/python",
            "latest",
            None,
        ),
        ("[::1]:5000/img", "[::1]:5000", "img", "latest", None),
        ("my_org/my-app__x", "docker.io", "my_org/my-app__x", "latest", None),
    ],
)
def test_registry_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert isinstance(ref, ImageReference)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ref.reference == (digest or tag)


def test_familiar_and_canonical_forms() -> None:
    ref = parse_reference(f"python:3.12@{D}")
    assert isinstance(ref, ImageReference)
    assert ref.familiar == f"python:3.12@{D}"
    assert str(ref) == f"docker.io/library/python:3.12@{D}"
    other = parse_reference("localhost:5000/a/b:1")
    assert isinstance(other, ImageReference)
    assert other.familiar == "localhost:5000/a/b:1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Python",
        "python:",
        "python:bad/tag",
        "python@sha256:abc",
        "python@md5:" + "a" * 32,
        "a b",
        "https://ghcr.io/x/y",
        "ghcr.io/",
        "x/" + "a" * 300,
        "-python",
        "python:-tag",
    ],
)
def test_invalid_references(text: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert info.value.exit_code == 2
    assert "invalid image reference" in info.value.message


@pytest.mark.parametrize(
    ("text", "path", "tag", "digest"),
    [
        ("oci-layout:/tmp/img", "/tmp/img", None, None),
        ("oci-layout:/tmp/img:v1", "/tmp/img", "v1", None),
        ("oci-layout:./rel/dir:latest", "rel/dir", "latest", None),
        (f"oci-layout:/tmp/img@{D}", "/tmp/img", None, D),
        ("oci-layout:/tmp/a:b/c", "/tmp/a:b/c", None, None),
    ],
)
def test_layout_references(text: str, path: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert ref == LayoutReference(Path(path), tag, digest)


def test_archive_reference() -> None:
    assert parse_reference("docker-archive:/tmp/x.tar") == ArchiveReference(Path("/tmp/x.tar"))
    with pytest.raises(InvalidReferenceError):
        parse_reference("docker-archive:")
    with pytest.raises(InvalidReferenceError):
        parse_reference("oci-layout:")
