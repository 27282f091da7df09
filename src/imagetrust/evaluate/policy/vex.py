"""OpenVEX documents (``--vex FILE``): statements that take single findings out of the counts.

A statement names a vulnerability (with aliases), products and a status. It applies to a
finding of an image when the vulnerability is one of the finding's ids and either a product
is the image (a ``pkg:oci`` purl, an image reference, a digest) and the statement has no
subcomponents or one of them is the finding's package, or a product is the package itself
(Trivy and Grype read it the same way). Package URLs match as OpenVEX's libraries match
them: what the statement's purl leaves out (the version, a qualifier) matches anything, what
it says must be equal, so ``pkg:oci/zookeeper?repository_url=quay.io/stackstate/zookeeper``
covers every digest of that repository.

Statements are a history: of those that apply to a finding, the newest (by timestamp, then
by the order read) is the one in effect, and only ``not_affected`` (with a justification or
impact statement, as the spec requires) and ``fixed`` suppress. A statement that cannot be
read is a problem on that statement; the rest of the document still applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec import Struct

from imagetrust.evaluate.models import Evidence
from imagetrust.evaluate.policy.findings import FindingRef
from imagetrust.evaluate.policy.model import PolicyError

SUPPRESSING = frozenset({"not_affected", "fixed"})
STATUSES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})
JUSTIFICATIONS = frozenset(
    {
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    }
)
MAX_VEX_BYTES = 64 * 1024 * 1024
_DOCKER_HUB_HOSTS = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class VexComponent(Struct, frozen=True):
    ids: tuple[str, ...] = ()  # @id and every identifiers value (purl, cpe)
    digests: tuple[str, ...] = ()  # hashes, as sha256:<hex>


class VexProduct(Struct, frozen=True):
    component: VexComponent
    subcomponents: tuple[VexComponent, ...] = ()


class VexStatement(Struct, frozen=True):
    vulnerability: str
    status: str
    products: tuple[VexProduct, ...]
    source: str  # the document's @id, else its file
    order: int
    aliases: tuple[str, ...] = ()
    justification: str | None = None
    impact_statement: str | None = None
    timestamp: datetime | None = None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset((self.vulnerability, *self.aliases))

    @property
    def suppresses(self) -> bool:
        return self.status in SUPPRESSING

    def describe(self) -> str:
        why = self.status
        if self.justification:
            why += f" ({self.justification})"
        elif self.impact_statement:
            short = " ".join(self.impact_statement.split())
            why += f" ({short[:117] + '…' if len(short) > 120 else short})"
        return f"{why}, VEX {self.source}"


class VexSet(Struct, frozen=True):
    statements: tuple[VexStatement, ...] = ()
    files: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.statements)

    def effective(self, finding: FindingRef, image: ImageIdentity) -> VexStatement | None:
        """The newest statement that applies to ``finding`` in ``image``, if any."""
        found = [
            s
            for s in self.statements
            if s.ids & finding.ids and any(_covers(p, image, finding) for p in s.products)
        ]
        return max(found, key=_recency) if found else None

    def for_image(
        self, vulnerability_ids: Iterable[str], image: ImageIdentity
    ) -> VexStatement | None:
        """The newest statement on the image as a whole (no subcomponents) for one of ``ids``:
        what can still be said of a known-exploited id when no findings are stored."""
        wanted = frozenset(vulnerability_ids)
        found = [
            s
            for s in self.statements
            if s.ids & wanted
            and any(not p.subcomponents and _is_image(p.component, image) for p in s.products)
        ]
        return max(found, key=_recency) if found else None


def _recency(statement: VexStatement) -> tuple[datetime, int]:
    return statement.timestamp or _EARLIEST, statement.order


class ImageIdentity(Struct, frozen=True):
    """What an image is called, for matching a statement's products against it."""

    digests: tuple[str, ...]
    name: str | None = None  # the repository's last path component
    repository_urls: tuple[str, ...] = ()  # docker.io/library/python
    tag: str | None = None
    os: str | None = None
    arch: str | None = None
    variant: str | None = None

    @classmethod
    def of(cls, evidence: Evidence) -> ImageIdentity:
        from imagetrust.errors import ImagetrustError
        from imagetrust.oci.reference import ImageReference, parse_reference

        digests = tuple(d for d in (evidence.digest, evidence.index_digest) if d)
        urls: list[str] = []
        name = tag = None
        try:
            ref = parse_reference(evidence.reference)
        except ImagetrustError:
            ref = None
        if isinstance(ref, ImageReference):
            urls.append(_repository_url(f"{ref.registry}/{ref.repository}"))
            name, tag = ref.repository.rsplit("/", 1)[-1], ref.tag
        subject = evidence.subject
        if subject is not None:
            urls.append(
                _repository_url(f"{subject.registry}/{subject.namespace}/{subject.repository}")
            )
            name, tag = subject.repository, subject.tag or tag
        os_name, _, rest = evidence.platform.partition("/")
        arch, _, variant = rest.partition("/")
        return cls(
            digests=digests,
            name=name,
            repository_urls=tuple(dict.fromkeys(urls)),
            tag=tag,
            os=os_name or None,
            arch=arch or None,
            variant=variant or None,
        )


def _repository_url(text: str) -> str:
    """``index.docker.io/python`` and ``docker.io/library/python`` are one repository."""
    url = text.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    host, _, path = url.partition("/")
    if host in _DOCKER_HUB_HOSTS or host == "docker.io":
        host = "docker.io"
        if path and "/" not in path:
            path = f"library/{path}"
    return f"{host}/{path}" if path else host


def _purl(text: str) -> Any:
    from packageurl import PackageURL

    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _covers(product: VexProduct, image: ImageIdentity, finding: FindingRef) -> bool:
    if _is_image(product.component, image):
        return not product.subcomponents or any(
            _is_package(sub, finding) for sub in product.subcomponents
        )
    return _is_package(product.component, finding)


def _is_image(component: VexComponent, image: ImageIdentity) -> bool:
    if any(digest in image.digests for digest in component.digests):
        return True
    for ident in component.ids:
        if ident.startswith("pkg:"):
            purl = _purl(ident)
            if purl is not None and purl.type == "oci" and _oci_matches(purl, image):
                return True
        elif ident.startswith("sha256:"):
            if ident in image.digests:
                return True
        elif _reference_matches(ident, image):
            return True
    return False


def _oci_matches(purl: Any, image: ImageIdentity) -> bool:
    if image.name is None or purl.name.lower() != image.name.lower():
        return False
    if purl.version and purl.version not in image.digests:
        return False
    mine = {"tag": image.tag, "os": image.os, "arch": image.arch, "variant": image.variant}
    for key, value in (purl.qualifiers or {}).items():
        if key == "repository_url":
            if _repository_url(value) not in image.repository_urls:
                return False
        elif mine.get(key) is None or mine[key] != value:
            return False
    return True


def _reference_matches(text: str, image: ImageIdentity) -> bool:
    """A product named as an image reference (``registry.k8s.io/kube-apiserver:v1.26.0``)."""
    from imagetrust.errors import ImagetrustError
    from imagetrust.oci.reference import ImageReference, parse_reference

    try:
        ref = parse_reference(text)
    except ImagetrustError:
        return False
    if not isinstance(ref, ImageReference):
        return False
    if _repository_url(f"{ref.registry}/{ref.repository}") not in image.repository_urls:
        return False
    if ref.digest is not None:
        return ref.digest in image.digests
    typed_tag = ":" in text.split("@", 1)[0].rsplit("/", 1)[-1]
    return not typed_tag or ref.tag == image.tag


def _is_package(component: VexComponent, finding: FindingRef) -> bool:
    if finding.purl is None:
        return False
    target = _purl(finding.purl)
    if target is None:
        return False
    for ident in component.ids:
        wanted = _purl(ident) if ident.startswith("pkg:") else None
        if (
            wanted is not None
            and wanted.type != "oci"
            and _package_matches(wanted, target, finding)
        ):
            return True
    return False


def _package_matches(wanted: Any, target: Any, finding: FindingRef) -> bool:
    if wanted.type != target.type:
        return False
    if (wanted.namespace or "").lower() != (target.namespace or "").lower():
        return False
    name = wanted.name.lower()
    if name != target.name.lower():
        # A statement may name the source package Debian's and Alpine's advisories use.
        if wanted.version or finding.source_name is None or name != finding.source_name.lower():
            return False
    elif wanted.version and wanted.version != target.version:
        return False
    theirs = target.qualifiers or {}
    if any(theirs.get(key) != value for key, value in (wanted.qualifiers or {}).items()):
        return False
    return not wanted.subpath or wanted.subpath == target.subpath


# --- reading ------------------------------------------------------------------------------


def load_vex(paths: Sequence[Path]) -> VexSet:
    """Every statement of every file, in order; a file that is not OpenVEX is an error."""
    statements: list[VexStatement] = []
    problems: list[str] = []
    for path in paths:
        document = _read_json(path)
        found, trouble = parse_document(document, str(path), start=len(statements))
        statements.extend(found)
        problems.extend(trouble)
    return VexSet(tuple(statements), tuple(str(p) for p in paths), tuple(problems))


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_VEX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read the VEX file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_VEX_BYTES:
        raise PolicyError(f"{path}: over {MAX_VEX_BYTES // (1024 * 1024)} MiB, not read")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: not JSON: {exc}") from None


def parse_document(
    document: Any, where: str, *, start: int = 0
) -> tuple[list[VexStatement], list[str]]:
    """The statements of one OpenVEX document (v0.0.x or v0.2.0) and the problems found."""
    if not isinstance(document, dict) or not str(document.get("@context", "")).startswith(
        "https://openvex.dev/ns"
    ):
        raise PolicyError(f"{where}: not an OpenVEX document (no https://openvex.dev/ns @context)")
    raw_statements = document.get("statements")
    if not isinstance(raw_statements, list):
        raise PolicyError(f"{where}: an OpenVEX document needs a list of statements")
    ident = document.get("@id")
    source = ident if isinstance(ident, str) and ident.strip() else where
    default_time = _time(document.get("last_updated")) or _time(document.get("timestamp"))
    found: list[VexStatement] = []
    problems: list[str] = []
    for number, raw in enumerate(raw_statements):
        try:
            found.append(_statement(raw, source, start + len(found), default_time))
        except ValueError as exc:
            problems.append(f"{where}: statement {number + 1}: {exc}; it is not applied")
    return found, problems


def _statement(raw: Any, source: str, order: int, default_time: datetime | None) -> VexStatement:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    name, aliases = _vulnerability(raw.get("vulnerability"))
    status = raw.get("status")
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(sorted(STATUSES))}")
    justification = raw.get("justification") if isinstance(raw.get("justification"), str) else None
    impact = raw.get("impact_statement") if isinstance(raw.get("impact_statement"), str) else None
    if justification is not None and justification not in JUSTIFICATIONS:
        raise ValueError(f"justification {justification!r} is not one of VEX's labels")
    if status == "not_affected" and not justification and not (impact or "").strip():
        raise ValueError("not_affected needs a justification or an impact_statement")
    shared = tuple(_component(s) for s in _list(raw.get("subcomponents")))  # v0.0.x
    products = tuple(_product(p, shared) for p in _list(raw.get("products")))
    if not products:
        raise ValueError("no product: it applies to nothing")
    return VexStatement(
        vulnerability=name,
        aliases=aliases,
        status=status,
        products=products,
        source=source,
        order=order,
        justification=justification,
        impact_statement=impact,
        timestamp=_time(raw.get("last_updated")) or _time(raw.get("timestamp")) or default_time,
    )


def _vulnerability(raw: Any) -> tuple[str, tuple[str, ...]]:
    if isinstance(raw, str) and raw.strip():
        return raw.strip(), ()
    if isinstance(raw, dict):
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            ident = raw.get("@id")
            name = ident.rstrip("/").rsplit("/", 1)[-1] if isinstance(ident, str) else None
        aliases = tuple(a.strip() for a in _list(raw.get("aliases")) if isinstance(a, str))
        if name:
            return name.strip(), aliases
    raise ValueError("no vulnerability name")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _component(raw: Any) -> VexComponent:
    if isinstance(raw, str):
        return VexComponent(ids=(raw.strip(),))
    if not isinstance(raw, dict):
        raise ValueError("a product or subcomponent is neither a string nor an object")
    ids = [raw["@id"].strip()] if isinstance(raw.get("@id"), str) else []
    identifiers = raw.get("identifiers")
    if isinstance(identifiers, dict):
        ids += [v.strip() for v in identifiers.values() if isinstance(v, str)]
    hashes = raw.get("hashes")
    digests: tuple[str, ...] = ()
    if isinstance(hashes, dict) and isinstance(hashes.get("sha-256"), str):
        digests = (f"sha256:{hashes['sha-256'].strip().lower()}",)
    if not ids and not digests:
        raise ValueError("a product or subcomponent without any identifier")
    return VexComponent(ids=tuple(dict.fromkeys(ids)), digests=digests)


def _product(raw: Any, shared: tuple[VexComponent, ...]) -> VexProduct:
    own = (
        tuple(_component(s) for s in _list(raw.get("subcomponents")))
        if isinstance(raw, dict)
        else ()
    )
    return VexProduct(component=_component(raw), subcomponents=own + shared)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    from imagetrust.clock import parse_instant
    from imagetrust.errors import UsageError

    try:
        return parse_instant(value)
    except UsageError:
        return None
