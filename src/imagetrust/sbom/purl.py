"""Package URLs: the one place imagetrust builds them, the way syft builds them.

Vulnerability tools (grype, Dependency-Track, OSV) key on purls, and users compare our
SBOMs with syft's, so every cataloger takes its purl from here and the tests compare the
result with the real syft binary's for each package type:

- ``pkg:deb/<os id>/<name>@<version>?arch=..&distro=<id>-<version_id>&upstream=<source>``
  where ``upstream`` is the ``Source:`` field as written (``src@srcversion`` when the field
  carries a version); the version keeps its epoch (``1:2.38.1-5``).
- ``pkg:apk/<os id>/<name>@<version>?arch=..&distro=..&upstream=<origin>``, ``upstream``
  only when the origin differs from the package name.
- ``pkg:rpm/<namespace>/<name>@<version>-<release>?arch=..&distro=..&epoch=N&upstream=<source
  rpm>``: the namespace is the os-release ID, except ``redhat`` for RHEL and ``opensuse``
  for every openSUSE flavour; the epoch is a qualifier (purl-spec), present only when the
  package has one, so the package's own version (``1:2.0.0-1.cm2``) is not the purl's.
- ``pkg:pypi/<name>@<version>``, the name PEP 503-normalised (what PyPI indexes by).
- ``pkg:npm/<name>@<version>``; a scope ``@scope/pkg`` is the namespace (``%40scope``).
- ``pkg:maven/<groupId>/<artifactId>@<version>``.
- ``pkg:golang/<host>/<org>/<name>@<version>#<rest of the module path>``: the first two
  elements of the module path are the namespace, the third the name, any more the subpath
  (syft's split; ``stdlib`` is ``pkg:golang/stdlib@1.22.1``).

``distro`` is ``<id>-<version_id>``, or just ``<id>`` when os-release has no VERSION_ID
(Debian testing/sid).

Differences from syft, kept on purpose:

- Where syft writes no purl at all (no os-release found), we still write one, deb and apk
  with the distribution's usual namespace and no ``distro`` qualifier, rpm without a
  namespace: every package in our SBOM needs an identity, and the type says enough.
- rpm on openSUSE: the namespace is ``opensuse`` for every flavour, as in the purl spec's
  own example and in syft after 1.18; syft 1.18 writes the os-release ID
  (``opensuse-leap``).
- Characters the purl spec says to percent-encode are encoded (packageurl-python's
  rules): a Go main module built without a version is ``%28devel%29`` where syft writes
  ``(devel)``; both decode to the same purl.

OS package purls are assembled here with packageurl-python's own ``quote`` and its
normalisation rules for these three types (the tests check the result equals
``PackageURL(...).to_string()`` on arbitrary input): building a ``PackageURL`` object costs
about 25 microseconds, which would triple the time to parse a 700-package database.
Language packages are fewer and their rules (PyPI's name normalisation) subtler, so they go
through ``PackageURL`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from packageurl import PackageURL
from packageurl import quote as _purl_quote

from imagetrust.sbom.models import OsRelease

_quote = lru_cache(maxsize=4096)(_purl_quote)


def os_purl(
    purl_type: str,
    namespace: str | None,
    name: str,
    version: str | None,
    qualifiers: Sequence[tuple[str, str | None]],
) -> str:
    """``PackageURL(...).to_string()`` for deb/apk/rpm, without the object.

    ``qualifiers`` come sorted by key, with valid keys (constants here); empty values are
    left out. Raises ValueError, as PackageURL does, when the name is empty.
    """
    lower = purl_type == "apk"  # the only one of the three whose names are case-folded
    parts = ["pkg:", purl_type, "/"]
    if namespace:
        # packageurl normalises the namespace twice (building the object, then the string):
        # '/ x' is ' x' after the first pass and 'x' after the second
        ns = namespace.strip().strip("/")
        ns = "/".join(seg for seg in ns.split("/") if seg.strip()).strip().strip("/")
        if lower:
            ns = ns.lower()
        segments = [_quote(seg) for seg in ns.split("/") if seg.strip()]
        if segments:
            parts.append("/".join(segments))
            parts.append("/")
    bare = name.strip().strip("/")
    if not bare:
        raise ValueError("a package URL needs a name")
    if lower:  # as packageurl does: the name, then its percent-escapes, lower-cased
        parts.append(_quote(bare.lower()).lower())
    else:
        parts.append(_quote(bare))
    if version:
        quoted_version = _quote(version.strip())
        if quoted_version:
            parts.append("@")
            parts.append(quoted_version)
    separator = "?"
    for key, value in qualifiers:
        if value and value.strip():
            parts.append(separator)
            parts.append(key)
            parts.append("=")
            parts.append(_quote(value))
            separator = "&"
    return "".join(parts)


def distro_qualifier(os_release: OsRelease | None) -> str | None:
    """``debian-12``, ``alpine-3.16.2``, or ``debian`` when there is no VERSION_ID."""
    if os_release is None or not os_release.id:
        return None
    if os_release.version_id:
        return f"{os_release.id}-{os_release.version_id}"
    return os_release.id


def _qualifiers(
    os_release: OsRelease | None,
    arch: str | None,
    upstream: str | None,
    epoch: str | None = None,
) -> list[tuple[str, str | None]]:
    """In key order, as a purl string wants them."""
    return [
        ("arch", arch),
        ("distro", distro_qualifier(os_release)),
        ("epoch", epoch),
        ("upstream", upstream),
    ]


def is_debian_like(os_release: OsRelease | None) -> bool:
    """Debian itself or a derivative (Ubuntu, Mint, ...), as syft decides it."""
    if os_release is None:
        return False
    return os_release.id == "debian" or "debian" in os_release.id_like


def deb_purl(
    name: str,
    version: str,
    architecture: str | None,
    os_release: OsRelease | None,
    *,
    source: str | None = None,
    source_version: str | None = None,
) -> str:
    """``source``/``source_version`` as written in the ``Source:`` field (None when absent),
    not the defaults a package record fills in: syft writes ``upstream`` only then."""
    upstream = None
    if source:
        upstream = f"{source}@{source_version}" if source_version else source
    if os_release is not None and is_debian_like(os_release):
        namespace, release = os_release.id, os_release
    else:
        # syft writes no purl here; a deb is a Debian-family package whatever the files say.
        namespace, release = "debian", None
    return os_purl("deb", namespace, name, version, _qualifiers(release, architecture, upstream))


def apk_purl(
    name: str,
    version: str,
    architecture: str | None,
    os_release: OsRelease | None,
    *,
    origin: str | None = None,
) -> str:
    """Namespace is the os-release ID lower-cased (alpine, wolfi, chainguard, ...)."""
    upstream = origin if origin and origin != name else None
    namespace = os_release.id.lower() if os_release is not None and os_release.id else "alpine"
    return os_purl("apk", namespace, name, version, _qualifiers(os_release, architecture, upstream))


def rpm_namespace(os_release: OsRelease | None) -> str | None:
    """syft's rpm namespace: ``redhat`` for RHEL, ``opensuse`` for any openSUSE."""
    if os_release is None or not os_release.id:
        return None
    if os_release.id == "rhel":
        return "redhat"
    if os_release.id.startswith("opensuse"):
        return "opensuse"
    return os_release.id


def rpm_purl(
    name: str,
    version: str,
    release: str | None,
    architecture: str | None,
    os_release: OsRelease | None,
    *,
    epoch: int | None = None,
    source_rpm: str | None = None,
) -> str:
    """``version`` and ``release`` separately; the purl version is ``version-release``."""
    full = f"{version}-{release}" if release else version
    return os_purl(
        "rpm",
        rpm_namespace(os_release),
        name,
        full,
        _qualifiers(os_release, architecture, source_rpm, None if epoch is None else str(epoch)),
    )


def split_source_rpm(source_rpm: str | None) -> tuple[str, str] | None:
    """``gamma-0.9-2.src.rpm`` -> ("gamma", "0.9-2"); None when it is not of that form.

    The rpm cataloger names a package's source with it, and an SBOM reader gets the same
    answer back from the purl's ``upstream`` qualifier.
    """
    if not source_rpm or not source_rpm.endswith(".rpm"):
        return None
    stem = source_rpm[: -len(".rpm")]
    stem, dot, _arch = stem.rpartition(".")
    if not dot:
        return None
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], f"{parts[1]}-{parts[2]}"


def with_epoch(version: str, epoch: str | int | None) -> str:
    """``version`` with ``epoch:`` in front, unless it has no epoch or already has that one.

    rpm purls carry the epoch as a qualifier (and some tools do so for deb too), while the
    version orders compare ``epoch:version``: a reader must put it back.
    """
    if epoch is None or epoch == "" or str(version).startswith(f"{epoch}:"):
        return version
    return f"{epoch}:{version}"


def pypi_purl(name: str, version: str) -> str:
    """packageurl-python applies the spec's PyPI rule (lower case, ``_`` to ``-``); the
    Python cataloger hands in the PEP 503 name already, which syft reports too."""
    return PackageURL(type="pypi", name=name, version=version or None).to_string()


def npm_purl(name: str, version: str) -> str:
    """A scoped name ``@scope/pkg`` puts the scope in the namespace (``%40scope``)."""
    namespace = None
    if name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    return PackageURL(
        type="npm", namespace=namespace, name=name, version=version or None
    ).to_string()


def maven_purl(group_id: str | None, artifact_id: str, version: str) -> str:
    return PackageURL(
        type="maven", namespace=group_id or None, name=artifact_id, version=version or None
    ).to_string()


def golang_purl(module: str, version: str) -> str:
    """syft's layout: the first two path elements are the namespace, the third the name,
    the rest the subpath (``github.com/aws/aws-sdk-go-v2/service/s3`` -> namespace
    ``github.com/aws``, name ``aws-sdk-go-v2``, subpath ``service/s3``)."""
    fields = module.split("/")
    namespace = "/".join(fields[:2]) if len(fields) > 1 else None
    name = fields[2] if len(fields) > 2 else fields[-1]
    if len(fields) == 2:
        namespace, name = fields[0], fields[1]
    subpath = "/".join(fields[3:]) or None
    return PackageURL(
        type="golang", namespace=namespace, name=name, version=version or None, subpath=subpath
    ).to_string()


def golang_module(namespace: str | None, name: str, subpath: str | None) -> str:
    """The module path back from a golang purl's parts (``golang_purl``'s inverse)."""
    module = f"{namespace}/{name}" if namespace else name
    return f"{module}/{subpath}" if subpath else module
