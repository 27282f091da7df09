"""Image references as users type them, normalised the way Docker does.

``python`` is ``docker.io/library/python:latest``; ``bitnami/redis:7`` is on Docker Hub too;
the first component is a registry only if it has a ``.`` or ``:`` or is ``localhost``
(so ``localhost:5000/x`` and ``ghcr.io/o/r`` are registries, ``library/python`` is not).
``NAME:TAG@DIGEST`` keeps the tag for display and pulls by the digest. Two local sources:
``oci-layout:DIR[:TAG|@DIGEST]`` and ``docker-archive:FILE``.
"""

from __future__ import annotations

import re
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from imagetrust.oci.digest import is_digest
from imagetrust.oci.errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DOMAIN = re.compile(
    r"^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$"
)
MAX_NAME_LENGTH = 255


class ImageReference(Struct, frozen=True):
    """A registry image: ``registry/repository`` plus a tag and/or a digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB

    @property
    def reference(self) -> str:
        """What goes in ``/v2/NAME/manifests/<reference>``: the digest if known, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short form people write: ``python:3.12``, ``bitnami/redis:7``."""
        name = self.repository
        if self.is_docker_hub:
            name = name.removeprefix(f"{OFFICIAL_NAMESPACE}/")
        else:
            name = f"{self.registry}/{name}"
        return name + self._suffix()

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        return out + (f"@{self.digest}" if self.digest else "")

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        return self.name + self._suffix()


class LayoutReference(Struct, frozen=True):
    """An OCI image layout directory, optionally one tag or digest inside it."""

    path: Path
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        suffix = f"@{self.digest}" if self.digest else (f":{self.tag}" if self.tag else "")
        return f"oci-layout:{self.path}{suffix}"


class ArchiveReference(Struct, frozen=True):
    """A ``docker save`` tar file."""

    path: Path

    def __str__(self) -> str:
        return f"docker-archive:{self.path}"


Reference = ImageReference | LayoutReference | ArchiveReference


def _bad(text: str, why: str) -> InvalidReferenceError:
    return InvalidReferenceError(
        f"invalid image reference {text!r}: {why}",
        hint="use NAME[:TAG|@DIGEST], REGISTRY/NAME:TAG, oci-layout:DIR[:TAG] "
        "or docker-archive:FILE",
    )


def parse_image_reference(text: str) -> ImageReference:
    """A registry reference, normalised (``python`` -> ``docker.io/library/python:latest``)."""
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise _bad(text, "empty or contains spaces")
    remainder, digest = raw, None
    if "@" in raw:
        remainder, _, digest = raw.partition("@")
        if not is_digest(digest):
            raise _bad(text, f"{digest!r} is not a sha256/sha512 digest")
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.match(tag):
            raise _bad(text, f"invalid tag {tag!r}")
    first, sep, rest = remainder.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, path = first, rest
        if not _DOMAIN.match(registry):
            raise _bad(text, f"invalid registry {registry!r}")
        if registry.lower() in _HUB_ALIASES:
            registry = DOCKER_HUB
    else:
        registry, path = DOCKER_HUB, remainder
    if not path:
        raise _bad(text, "no repository name")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            why = "must be lowercase" if component.lower() != component else "invalid"
            raise _bad(text, f"repository component {component!r} {why}")
    if len(f"{registry}/{path}") > MAX_NAME_LENGTH:
        raise _bad(text, f"name longer than {MAX_NAME_LENGTH} characters")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageReference(registry, path, tag, digest)


def parse_reference(text: str) -> Reference:
    """Any REF the command line accepts."""
    if text.startswith("oci-layout:"):
        rest = text.removeprefix("oci-layout:")
        tag = digest = None
        if "@" in rest and is_digest(rest.rpartition("@")[2]):
            rest, _, digest = rest.rpartition("@")
        else:
            head, colon, tail = rest.rpartition(":")
            if colon and head and "/" not in tail and _TAG.match(tail):
                rest, tag = head, tail
        if not rest:
            raise _bad(text, "no layout directory")
        return LayoutReference(Path(rest), tag, digest)
    if text.startswith("docker-archive:"):
        rest = text.removeprefix("docker-archive:")
        if not rest:
            raise _bad(text, "no archive file")
        return ArchiveReference(Path(rest))
    if re.match(r"^[a-z][a-z0-9+-]*://", text):
        raise _bad(text, "write REGISTRY/NAME without a URL scheme")
    return parse_image_reference(text)
