"""End of life of an image's OS and language runtimes, against endoflife.date data.

The data is a snapshot of endoflife.date's release tables: one ships in the package
(``data/endoflife.json``, built by ``scripts/build-eol-snapshot.py`` from endoflife.date's
product files and stating the date of those files), and ``imagetrust eol update`` writes a
fresher one under HOME from the endoflife.date API. Each product states its own date, and
of the two snapshots the product stating the later date is used (a tie goes to the refresh),
so upgrading imagetrust never falls back to an older refresh, and an old refresh never hides
a newer bundled table.

The rule, a policy setting (``[eol] until_eoes``): a product named there is supported until
its ``eoes`` (end of extended support) where the data has one, else until its ``eol``; every
other product until its ``eol``. The default names Debian only: Debian's ``eol`` is the end of
the security team's support, and Debian LTS then keeps fixing the same release for two more
years, which is what the official ``debian`` images get; Ubuntu's ``eoes`` (ESM) and RHEL's
(ELS) need a paid subscription no image pull brings. A date that is reached (the clock's day
is on or after it) is ``eol``; ``eol: true`` without a date is ``eol``; ``eol: false`` (no end
announced) is ``supported``. A product or version the data does not know, a pre-release, or
an OS release without a version is ``unknown``, never ``supported``. An image without any OS
release (scratch, BusyBox-only, distroless without os-release) is ``not-applicable`` unless
it holds OS packages, which make it ``unknown`` (there is an OS, we cannot tell which).

Versions are matched to release cycles from the most specific to the least: ``3.16.2``
tries ``3.16.2``, ``3.16``, ``3``, so Alpine's ``3.16``, Node's ``20`` and Tomcat's ``9``
are all found the same way. Runtimes come from the config's ``ENV`` (official images
install their runtimes from upstream tarballs and record the version there) and from Go
binaries (the toolchain is compiled in, so its end of life is the binary's). Runtimes
installed as distribution packages are left to the OS's end of life: the distribution
patches them for as long as it supports its release, whatever upstream does.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path

import msgspec
from msgspec import Struct
from msgspec.structs import replace

from imagetrust.evaluate.models import EolEvidence, EolStatus, EvaluateError
from imagetrust.sbom.models import ImageSbom, OsRelease, PackageType

log = logging.getLogger(__name__)

EOL_FORMAT = 1
BUNDLED_PATH = Path(__file__).parent / "data" / "endoflife.json"
MAX_EOL_FILE_BYTES = 16 << 20

# os-release ID -> endoflife.date product.
OS_PRODUCTS: Mapping[str, str] = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "alpine": "alpine-linux",
    "centos": "centos",
    "rhel": "rhel",  # UBI images too
    "rocky": "rocky-linux",
    "almalinux": "almalinux",
    "ol": "oracle-linux",
    "amzn": "amazon-linux",
    "fedora": "fedora",
    "opensuse-leap": "opensuse",
    "sles": "sles",
}
# Runtime names (``sbom.runtime``: ENV ``*_VERSION``) -> endoflife.date product.
RUNTIME_PRODUCTS: Mapping[str, str] = {
    "python": "python",
    "node": "nodejs",
    "go": "go",
    "php": "php",
    "ruby": "ruby",
    "java": "eclipse-temurin",  # JAVA_VERSION: Temurin's images (openjdk's EA builds: unknown)
    "rust": "rust",
    "perl": "perl",
    "julia": "julia",
    "erlang": "erlang",
    "elixir": "elixir",
    "dotnet": "dotnet",
    "aspnet": "dotnet",
    "ghc": "ghc",
    "groovy": "apache-groovy",
    "bun": "bun",
    "deno": "deno",
}
CENTOS_STREAM = "centos-stream"  # os-release says ID=centos; the name tells it apart
DEFAULT_UNTIL_EOES = ("debian",)


def product_names() -> tuple[str, ...]:
    """Every endoflife.date product the evaluation may ask for, sorted."""
    names = set(OS_PRODUCTS.values()) | set(RUNTIME_PRODUCTS.values()) | {CENTOS_STREAM}
    return tuple(sorted(names))


# --- the data -------------------------------------------------------------------------------


class EolRelease(Struct, frozen=True, omit_defaults=True):
    """One release cycle. ``eol``/``eoes``: a date, ``True`` (ended, date unknown), ``False``
    (no end announced) or ``None`` (the data has no such field for this release)."""

    cycle: str
    codename: str | None = None
    released: date | None = None
    eol: date | bool | None = None
    eoes: date | bool | None = None
    lts: bool = False
    latest: str | None = None


class EolProduct(Struct, frozen=True):
    label: str
    stated_at: date  # the date this product's table is as of
    releases: tuple[EolRelease, ...]
    fetched_at: datetime | None = None  # when ``eol update`` fetched it; None: bundled


class EolData(Struct, frozen=True):
    """A snapshot of the data; ``stated_at`` is the oldest of its products' dates."""

    format: int
    source: str
    origin: str
    stated_at: date
    products: dict[str, EolProduct]
    fetched_at: datetime | None = None


def decode_eol_data(raw: bytes, *, where: str) -> EolData:
    try:
        data = msgspec.json.decode(raw, type=EolData)
    except msgspec.DecodeError as exc:
        raise EvaluateError(f"{where}: not an end-of-life snapshot ({exc})") from None
    if data.format != EOL_FORMAT:
        raise EvaluateError(f"{where}: end-of-life snapshot format {data.format} is unknown")
    return data


def encode_eol_data(data: EolData) -> str:
    """Stable text, one release per line, so a refreshed snapshot diffs readably."""
    head = {
        "format": data.format,
        "source": data.source,
        "origin": data.origin,
        "stated_at": data.stated_at.isoformat(),
        "fetched_at": data.fetched_at.isoformat() if data.fetched_at else None,
    }
    lines = ["{"]
    lines.extend(f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items())
    lines.append('  "products": {')
    names = sorted(data.products)
    for number, name in enumerate(names):
        product = data.products[name]
        header = json.dumps(
            {
                "label": product.label,
                "stated_at": product.stated_at.isoformat(),
                "fetched_at": product.fetched_at.isoformat() if product.fetched_at else None,
            }
        )
        lines.append(f'    {json.dumps(name)}: {header[:-1]}, "releases": [')
        for index, release in enumerate(product.releases):
            comma = "," if index < len(product.releases) - 1 else ""
            encoded = msgspec.json.encode(release).decode()
            lines.append(f"      {encoded}{comma}")
        lines.append("    ]}" + ("," if number < len(names) - 1 else ""))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def home_eol_path(home: Path) -> Path:
    return home / "eol" / "endoflife.json"


def read_eol_file(path: Path) -> EolData:
    try:
        size = path.stat().st_size
        if size > MAX_EOL_FILE_BYTES:
            raise EvaluateError(f"{path}: {size} bytes is too large for an end-of-life snapshot")
        raw = path.read_bytes()
    except OSError as exc:
        raise EvaluateError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_eol_data(raw, where=str(path))


def bundled_eol_data() -> EolData:
    return read_eol_file(BUNDLED_PATH)


def load_eol_data(home: Path | None) -> EolData:
    """The bundled snapshot, with each product the refresh under HOME states later.

    A refreshed file that cannot be read is logged and passed over: evaluation still has the
    bundled data, and ``imagetrust eol update`` writes a good file again.
    """
    bundled = bundled_eol_data()
    path = home_eol_path(home) if home is not None else None
    if path is None or not path.is_file():
        return bundled
    try:
        refreshed = read_eol_file(path)
    except EvaluateError as exc:
        log.warning("ignoring the refreshed end-of-life data: %s", exc.message)
        return bundled
    products = dict(bundled.products)
    for name, product in refreshed.products.items():
        if name not in products or product.stated_at >= products[name].stated_at:
            products[name] = product
    fetched = [p.fetched_at for p in products.values() if p.fetched_at is not None]
    if not fetched:
        return bundled
    return EolData(
        format=EOL_FORMAT,
        source=bundled.source,
        origin=f"{bundled.origin}; refreshed from {refreshed.origin}",
        stated_at=min(p.stated_at for p in products.values()),
        products=products,
        fetched_at=max(fetched),
    )


# --- matching a version to a release cycle -------------------------------------------------

_LEADING = re.compile(r"\d+(?:\.\d+)*")
_PREFIX = re.compile(r"^(?:go|jdk-?|v)(?=\d)", re.IGNORECASE)
_PRERELEASE = re.compile(
    r"^\d+(?:\.\d+)*(?:[-._+~]?(?:alpha|beta|rc|ea|dev|pre|preview|snapshot)|[ab]\d)",
    re.IGNORECASE,
)
_RELEASE = re.compile(r"^\d+(?:\.\d+)*$")


def cycle_candidates(version: str) -> list[str]:
    """``3.16.2`` -> ``["3.16.2", "3.16", "3"]``; prefixes such as ``go``/``jdk-`` dropped."""
    text = _PREFIX.sub("", version.strip())
    match = _LEADING.match(text)
    if match is None:
        return []
    parts = match.group(0).split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def is_prerelease(version: str) -> bool:
    return _PRERELEASE.match(_PREFIX.sub("", version.strip())) is not None


def find_release(product: EolProduct, version: str) -> EolRelease | None:
    by_cycle = {release.cycle: release for release in product.releases}
    for candidate in cycle_candidates(version):
        if candidate in by_cycle:
            return by_cycle[candidate]
    return None


class EolPolicy(Struct, frozen=True):
    """Which products are judged by their extended support end (``eoes``)."""

    until_eoes: frozenset[str] = frozenset(DEFAULT_UNTIL_EOES)

    @classmethod
    def of(cls, names: Iterable[str]) -> EolPolicy:
        return cls(frozenset(name.strip() for name in names if name.strip()))


def support_end(
    product_name: str, release: EolRelease, policy: EolPolicy
) -> tuple[date | bool | None, str]:
    """The end date the rule uses, and the field it comes from."""
    if product_name in policy.until_eoes and release.eoes is not None:
        return release.eoes, "eoes"
    return release.eol, "eol"


def judge(
    subject: str,
    product_name: str,
    data: EolData,
    version: str,
    today: date,
    policy: EolPolicy,
    *,
    found_in: str,
) -> EolEvidence:
    """The status of ``version`` of ``product_name`` on ``today``."""
    base = EolEvidence(
        subject, EolStatus.UNKNOWN, "", product=product_name, version=version, found_in=found_in
    )
    product = data.products.get(product_name)
    if product is None:
        return replace(base, reason=f"no end-of-life data for {product_name}")
    if is_prerelease(version):
        return replace(
            base, reason=f"{product.label} {version} is a pre-release, not a release the data lists"
        )
    release = find_release(product, version)
    if release is None:
        return replace(
            base,
            reason=f"{product.label} {version}: no such release cycle in the data "
            f"(as of {product.stated_at})",
        )
    end, rule = support_end(product_name, release, policy)
    name = f"{product.label} {release.cycle}"
    base = replace(base, cycle=release.cycle, rule=rule)
    if isinstance(end, date):
        status = EolStatus.EOL if today >= end else EolStatus.SUPPORTED
        return replace(base, status=status, reason=f"{name}: {rule} {end}", eol_date=end)
    if end is True:
        return replace(base, status=EolStatus.EOL, reason=f"{name}: {rule} (no date given)")
    if end is False:
        return replace(base, status=EolStatus.SUPPORTED, reason=f"{name}: no {rule} announced")
    return replace(base, reason=f"{name}: the data has no {rule}")


_OS_PACKAGE_TYPES = frozenset({PackageType.DEB, PackageType.APK, PackageType.RPM})


def os_product(os_release: OsRelease) -> str | None:
    """The endoflife.date product of an OS; CentOS Stream is its own product (not CentOS)."""
    if os_release.id == "centos" and "stream" in (os_release.pretty_name or "").lower():
        return CENTOS_STREAM
    return OS_PRODUCTS.get(os_release.id)


def os_eol(sbom: ImageSbom, data: EolData, today: date, policy: EolPolicy) -> EolEvidence:
    os_release = sbom.os
    if os_release is None:
        kinds = sorted({p.type.value for p in sbom.packages if p.type in _OS_PACKAGE_TYPES})
        if kinds:
            return EolEvidence(
                "os",
                EolStatus.UNKNOWN,
                f"{', '.join(kinds)} packages but no os-release: the OS cannot be told",
            )
        return EolEvidence(
            "os", EolStatus.NOT_APPLICABLE, "no OS release in the image (scratch, BusyBox-only)"
        )
    product = os_product(os_release)
    if product is None:
        return EolEvidence(
            "os",
            EolStatus.UNKNOWN,
            f"no end-of-life data for the OS {os_release.id!r}",
            version=os_release.version_id,
            found_in="os-release",
        )
    version = os_release.version_id
    if not version or not _RELEASE.match(version):
        return EolEvidence(
            "os",
            EolStatus.UNKNOWN,
            f"{os_release.pretty_name or os_release.id}: no release version "
            f"({version or 'no VERSION_ID'}), e.g. a testing or edge release",
            product=product,
            version=version,
            found_in="os-release",
        )
    return judge("os", product, data, version, today, policy, found_in="os-release")


def runtime_eol(
    sbom: ImageSbom, data: EolData, today: date, policy: EolPolicy
) -> tuple[EolEvidence, ...]:
    """Each known runtime from the config's ENV, then each Go toolchain compiled into a binary."""
    found: list[EolEvidence] = []
    for name, version in sorted(sbom.facts.runtimes.items()):
        product = RUNTIME_PRODUCTS.get(name)
        if product is not None:
            found.append(judge(name, product, data, version, today, policy, found_in="config ENV"))
    go_versions: dict[str, list[str]] = {}
    for package in sbom.packages:
        if package.type is PackageType.GO and package.name == "stdlib":
            go_versions.setdefault(package.version, []).append(package.path or "?")
    for version, paths in sorted(go_versions.items()):
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        found.append(
            judge(
                "go",
                "go",
                data,
                version,
                today,
                policy,
                found_in=f"Go binary {sorted(paths)[0]}{more}",
            )
        )
    return tuple(found)
