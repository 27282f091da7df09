"""Which distribution an image is: os-release first, then the older release files.

The "os" cataloger finds no packages; it only asks the layer walker to keep the release
files, so that after the merge ``detect_os`` can read them from the final filesystem. The
distribution feeds purls (``distro=debian-12``), vulnerability matching and end-of-life.

Order (first usable answer wins): ``etc/os-release``, ``usr/lib/os-release`` (the spec's
fallback), then ``etc/alpine-release``, ``etc/debian_version``, ``etc/centos-release``,
``etc/redhat-release``, ``etc/system-release`` for images too old or too small to ship
os-release. os-release is read as the freedesktop spec says: ``KEY=VALUE`` lines, ``#``
comments and blank lines ignored, values in single quotes taken literally, in double
quotes with ``\\`` escaping ``$ " \\ `````, and unquoted values with ``\\`` escaping any
character. ``ID`` is lower-cased (the spec allows only lower case); a file without ``ID``
means ``linux``, the spec's default, but only if nothing else identifies the system.
Values derived from the older files follow the os-release conventions of the same
distribution (CentOS ``VERSION_ID`` is the major version, RHEL's is ``major.minor``), so
an image is identified the same way whichever file it happens to carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Want
from imagetrust.sbom.models import OsRelease, Package

OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")
RELEASE_FILE_PATHS = (
    "etc/alpine-release",
    "etc/debian_version",
    "etc/centos-release",
    "etc/redhat-release",
    "etc/system-release",
)
WANTED = frozenset(OS_RELEASE_PATHS + RELEASE_FILE_PATHS)
MAX_RELEASE_FILE = 64 << 10  # real ones are a few hundred bytes


class OsReleaseCataloger(BaseCataloger):
    """Keeps the release files; packages come from other catalogers."""

    name = "os"
    interest = PathInterest(paths=WANTED)

    def wants(self, path: str, mode: int, size: int) -> Want:
        if path in WANTED and size <= MAX_RELEASE_FILE:
            return Want.FILE
        return Want.NO

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        return []


def parse_os_release(data: bytes) -> dict[str, str]:
    """The variables of an os-release file; malformed lines are skipped, never fatal."""
    text = data.decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not _is_name(key):
            continue
        values[key] = _unquote(value.strip())
    return values


def _is_name(key: str) -> bool:
    return key.replace("_", "a").isalnum() and key.isascii() and not key[0].isdigit()


_DOUBLE_QUOTE_ESCAPES = frozenset('$"\\`')


def _unquote(value: str) -> str:
    """Shell-style unquoting, restricted to what the os-release spec allows."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if char == "'":
            end = value.find("'", i + 1)
            if end < 0:  # unterminated: take the rest literally
                out.append(value[i + 1 :])
                break
            out.append(value[i + 1 : end])
            i = end + 1
        elif char == '"':
            i += 1
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n and value[i + 1] in _DOUBLE_QUOTE_ESCAPES:
                    i += 1
                out.append(value[i])
                i += 1
            i += 1
        elif char == "\\" and i + 1 < n:
            out.append(value[i + 1])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def os_release_from_values(values: Mapping[str, str]) -> OsRelease:
    return OsRelease(
        id=(values.get("ID") or "linux").strip().lower(),
        version_id=values.get("VERSION_ID") or None,
        pretty_name=values.get("PRETTY_NAME") or None,
        version_codename=values.get("VERSION_CODENAME") or None,
        id_like=tuple(values.get("ID_LIKE", "").split()),
    )


def detect_os(files: Mapping[str, bytes]) -> OsRelease | None:
    """The distribution of a filesystem, given its kept files by path (no leading slash)."""
    fallback: OsRelease | None = None
    for path in OS_RELEASE_PATHS:
        data = files.get(path)
        if data is None:
            continue
        values = parse_os_release(data)
        if values.get("ID", "").strip():
            return os_release_from_values(values)
        if values and fallback is None:
            fallback = os_release_from_values(values)
    alpine = _first_line(files.get("etc/alpine-release"))
    if alpine:
        return OsRelease(id="alpine", version_id=alpine)
    debian = _first_line(files.get("etc/debian_version"))
    if debian:
        return _from_debian_version(debian)
    for path in ("etc/centos-release", "etc/redhat-release", "etc/system-release"):
        line = _first_line(files.get(path))
        found = _from_redhat_release(line) if line else None
        if found is not None:
            return found
    return fallback


def _first_line(data: bytes | None) -> str | None:
    if not data:
        return None
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()
    return None


def _from_debian_version(text: str) -> OsRelease:
    """``12.4`` -> version 12 (os-release's VERSION_ID); ``trixie/sid`` -> codename only."""
    major = text.split(".", 1)[0]
    if major.isdigit():
        return OsRelease(id="debian", version_id=major, pretty_name=f"Debian GNU/Linux {text}")
    codename = text.split("/", 1)[0].strip() or None
    return OsRelease(
        id="debian",
        version_id=None,
        pretty_name=f"Debian GNU/Linux {text}",
        version_codename=codename,
    )


_REDHAT_RELEASE = re.compile(r"^(?P<name>.+?)\s+release\s+(?P<version>\d+(?:\.\d+)*)")

# Distribution name in the release file -> (os-release ID, ID_LIKE, major version only?)
_REDHAT_NAMES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("red hat enterprise linux", "rhel", ("fedora",), False),
    ("centos stream", "centos", ("rhel", "fedora"), True),
    ("centos", "centos", ("rhel", "fedora"), True),
    ("rocky linux", "rocky", ("rhel", "centos", "fedora"), False),
    ("almalinux", "almalinux", ("rhel", "centos", "fedora"), False),
    ("oracle linux", "ol", ("fedora",), False),
    ("amazon linux", "amzn", ("centos", "rhel", "fedora"), False),
    ("fedora", "fedora", (), False),
)


def _from_redhat_release(line: str) -> OsRelease | None:
    match = _REDHAT_RELEASE.match(line)
    if match is None:
        return None
    name, version = match.group("name"), match.group("version")
    lowered = name.lower()
    for prefix, os_id, id_like, major_only in _REDHAT_NAMES:
        if lowered.startswith(prefix):
            return OsRelease(
                id=os_id,
                version_id=version.split(".", 1)[0] if major_only else version,
                pretty_name=line,
                id_like=id_like,
            )
    return OsRelease(id=lowered.split()[0], version_id=version, pretty_name=line)
