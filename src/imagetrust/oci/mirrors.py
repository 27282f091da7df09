"""Mirrors: other registries serving the same content-addressed images, never trusted.

Docker Hub rations manifest pulls; the same official images are also served by, for
example, the Amazon ECR Public Gallery (``public.ecr.aws/docker/library/NAME``) and
Google's ``mirror.gcr.io`` (``library/NAME``). Anything fetched from a mirror is fetched
*by digest*, the digest the origin reported (Hub tags API or a free ``HEAD``), and checked
against it; a mirror that lacks the digest, refuses us, or serves other bytes is skipped
for the next source, ending with the origin. A mirror can cost us time, never integrity.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from msgspec import Struct

from imagetrust.oci.errors import InvalidReferenceError


class Mirror(Struct, frozen=True):
    url: str
    base_url: str
    prefix: str

    @property
    def registry(self) -> str:
        return urlsplit(self.base_url).netloc

    def repository_for(self, repository: str) -> str:
        """Where the mirror keeps ``repository``.

        With a path, the mirror's path replaces the namespace it ends with
        (``docker/library`` + ``library/python`` -> ``docker/library/python``) and otherwise
        is put in front (``hub`` + ``bitnami/redis`` -> ``hub/bitnami/redis``).
        """
        if not self.prefix:
            return repository
        namespace, _, rest = repository.partition("/")
        if rest and self.prefix.rsplit("/", 1)[-1] == namespace:
            return f"{self.prefix}/{rest}"
        return f"{self.prefix}/{repository}"

    def __str__(self) -> str:
        return self.url


def parse_mirror(url: str) -> Mirror:
    """``https://public.ecr.aws/docker/library`` or ``http://127.0.0.1:5001``."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidReferenceError(f"invalid mirror URL {url!r}: expected https://HOST[/PATH]")
    return Mirror(text, f"{parts.scheme}://{parts.netloc}", parts.path.strip("/"))
