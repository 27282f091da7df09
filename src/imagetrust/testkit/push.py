"""Push built images to a registry through the distribution API (the push side we need).

Used by the demo and the tests to publish what ``testkit.builder`` made, exactly as a real
client would: blobs that the registry already has are skipped (``HEAD``), the others are
uploaded monolithically (``POST`` then ``PUT ?digest=``) or in chunks (``PATCH`` with
``Content-Range``), then child manifests by digest and the top one by tag.
"""

from __future__ import annotations

from urllib.parse import urljoin

import httpx

from imagetrust.oci import media
from imagetrust.oci.client import RegistryClient
from imagetrust.oci.errors import DigestMismatchError, OciError
from imagetrust.oci.models import Descriptor
from imagetrust.testkit.builder import Blob, Built


def _location(client: RegistryClient, response: httpx.Response, label: str) -> str:
    location: str | None = response.headers.get("location")
    if not location:
        raise OciError(f"{label}: registry gave no upload location")
    return urljoin(client.base_url + "/", location)


def _expect(response: httpx.Response, statuses: tuple[int, ...], label: str) -> httpx.Response:
    if response.status_code not in statuses:
        body = response.text[:300]
        response.close()
        raise OciError(f"{label}: HTTP {response.status_code}: {body}")
    return response


def upload_blob(
    client: RegistryClient, repository: str, blob: Blob, *, chunk_size: int | None = None
) -> bool:
    """Upload ``blob`` unless the registry has it; True if bytes were sent."""
    label = f"push {client.registry}/{repository}@{blob.digest}"
    if client.blob_exists(repository, blob.digest, push=True):
        return False
    start = client.request(
        "POST",
        client.url(repository, "blobs/uploads/"),
        repository=repository,
        push=True,
        what=label,
    )
    location = _location(client, _expect(start, (202,), label), label)
    data = blob.data
    if chunk_size:
        for offset in range(0, len(data), chunk_size):
            piece = data[offset : offset + chunk_size]
            response = client.request(
                "PATCH",
                location,
                repository=repository,
                push=True,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
                content=piece,
                what=label,
            )
            location = _location(client, _expect(response, (202,), label), label)
        data = b""
    url = httpx.URL(location).copy_merge_params({"digest": blob.digest})
    response = client.request(
        "PUT",
        str(url),
        repository=repository,
        push=True,
        headers={"Content-Type": "application/octet-stream"},
        content=data,
        what=label,
    )
    _expect(response, (201,), label).close()
    return True


def put_manifest(client: RegistryClient, repository: str, reference: str, blob: Blob) -> str:
    label = f"push manifest {client.registry}/{repository}:{reference}"
    response = client.request(
        "PUT",
        client.url(repository, f"manifests/{reference}"),
        repository=repository,
        push=True,
        headers={"Content-Type": blob.descriptor.media_type},
        content=blob.data,
        what=label,
    )
    _expect(response, (201,), label).close()
    announced = response.headers.get("docker-content-digest")
    if announced and announced != blob.digest:
        raise DigestMismatchError(
            f"{label}: registry stored {announced}, we sent {blob.digest}",
            expected=blob.digest,
            actual=announced,
        )
    return blob.digest


def push(
    built: Built,
    client: RegistryClient,
    repository: str,
    *,
    tag: str | None = "latest",
    chunk_size: int | None = None,
) -> Descriptor:
    """Push every blob and manifest of ``built``; return the top descriptor."""
    top = built.descriptor
    for blob in built.blobs():
        kind = blob.descriptor.media_type
        if kind in media.MANIFEST_TYPES or kind in media.INDEX_TYPES:
            if blob.digest == top.digest:
                continue
            put_manifest(client, repository, blob.digest, blob)
        else:
            upload_blob(client, repository, blob, chunk_size=chunk_size)
    top_blob = next(b for b in built.blobs() if b.digest == top.digest)
    put_manifest(client, repository, tag or top.digest, top_blob)
    return top
