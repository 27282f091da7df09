"""Which OS package installed a language package: from the package managers' file lists.

Debian's ``python3-pip`` ships ``usr/lib/python3/dist-packages/pip-23.0.1.dist-info``, so
the Python cataloger finds pip 23.0.1 there; but Debian builds, patches and advises on that
copy (fixes are backported without changing the upstream version), so a PyPI advisory
about pip 23.0.1 says nothing about it. Like trivy (which drops such packages) and syft
(which relates them to their owner, ``ownership-by-file-overlap``), imagetrust records the
owner: a language package whose metadata file (``Package.path``: the dist-info METADATA,
the jar, the ``package.json``, the Go binary) is in an OS package's file list gets
``Package.owner``, that OS package's purl. It stays in the SBOM; matching goes through the
owner only (``vulndb.scan``).

The file lists: dpkg's ``var/lib/dpkg/info/<name>[:<arch>].list`` (distroless images keep
``var/lib/dpkg/status.d/<name>.md5sums`` instead), the file names in each rpm header
(BASENAMES, DIRNAMES, DIRINDEXES), and the ``F:`` folder and ``R:`` file lines of apk's
``installed`` database.

Two rules keep this cheap and right:

- Paths are compared in one canonical form (``canonical_path``): relative to the root, and
  ``bin``, ``sbin`` and ``lib*`` under ``usr/``, because Debian 12 and current Fedora merge
  ``/usr`` (``/bin`` is a link to ``usr/bin``), so dpkg may list ``/bin/x`` for the file a
  layer stores at ``usr/bin/x``.
- dpkg's lists are kept in the layer cache, so only their lines that could name a language
  package's file are kept (``could_be_package_file``): the language catalogers' metadata
  file names, and, since Go programs are found by file mode and a list gives none, every
  file whose name has no dot outside ``usr/share``, ``usr/include`` and ``etc`` (Debian
  Policy keeps architecture-dependent files out of ``usr/share``). A Debian 12 machine's
  7.5 MB of lists (723 packages, 125,000 lines) keeps about 7,000 lines, 0.47 MB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from msgspec import Struct
from msgspec.structs import replace

from imagetrust.sbom.models import Package, PackageType

LANGUAGE_TYPES = frozenset({PackageType.PYTHON, PackageType.NPM, PackageType.JAVA, PackageType.GO})
OS_TYPES = frozenset({PackageType.DEB, PackageType.APK, PackageType.RPM})

# What the language catalogers read packages from (test_owners checks that every language
# cataloger's declared interest is covered): file extensions, lower-cased, and file names.
PACKAGE_EXTENSIONS = frozenset(
    {".egg-info", ".json", ".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar", ".lpkg"}
)
PACKAGE_FILE_NAMES = frozenset({"metadata", "pkg-info", "package.json"})
_NOT_PROGRAMS = ("usr/share/", "usr/include/", "etc/")
_RAW_NOT_PROGRAMS = (*_NOT_PROGRAMS, *(f"/{prefix}" for prefix in _NOT_PROGRAMS))
_MERGED_USR = ("bin/", "sbin/", "lib/", "lib32/", "lib64/", "libx32/")
MARKER = b"#imagetrust-file-list 1\n"  # first line of a reduced list, as kept in the cache


class FileOwner(Struct, frozen=True):
    """An OS package as its file list names it: dpkg's list file names only the package
    (and its architecture when it is multi-arch), rpm and apk give the version too. A
    distroless ``status.d/X.md5sums`` belongs to whatever package ``status.d/X`` holds,
    whatever ``X`` is: ``database`` names that file."""

    type: PackageType
    name: str
    version: str | None = None
    architecture: str | None = None
    database: str | None = None


def canonical_path(path: str) -> str:
    """``/bin/x`` and ``usr/bin/x`` -> ``usr/bin/x``; ``./a`` -> ``a``."""
    path = path.lstrip("/")
    if path.startswith("./"):
        path = path[2:].lstrip("/")
    if path.startswith(_MERGED_USR):
        return "usr/" + path
    return path


def could_be_package_file(path: str) -> bool:
    """Whether a language cataloger could read a package from ``path`` (canonical)."""
    slash = path.rfind("/")
    dot = path.rfind(".")
    name = path[slash + 1 :].lower()
    if dot > slash:  # a file name with an extension: only the package files' own
        return path[dot:].lower() in PACKAGE_EXTENSIONS and (
            not name.endswith(".json") or name == "package.json"
        )
    return name in PACKAGE_FILE_NAMES or not path.startswith(_NOT_PROGRAMS)


def reduce_file_list(paths: Sequence[str]) -> bytes:
    """The lines of a file list worth keeping, canonical, after ``MARKER``.

    ``paths`` in the list's order: dpkg lists a directory right before its first entry, so
    a line the next one continues (``/usr/lib`` then ``/usr/lib/x``) is a directory,
    dropped. Most lines are files with an extension no package file has, so that is
    tested first, on the line as it is (a Debian 12 machine's 125,000 lines take ~50 ms).
    """
    kept: list[str] = []
    last = len(paths) - 1
    for index, raw in enumerate(paths):
        slash = raw.rfind("/")
        dot = raw.rfind(".")
        if dot > slash:
            if raw[dot:].lower() not in PACKAGE_EXTENSIONS:
                continue
        elif (
            raw.startswith(_RAW_NOT_PROGRAMS) and raw[slash + 1 :].lower() not in PACKAGE_FILE_NAMES
        ):
            continue
        if index < last:
            following = paths[index + 1]
            if following.startswith("/", len(raw)) and following.startswith(raw):
                continue
        path = canonical_path(raw)
        if path and path != "." and could_be_package_file(path):
            kept.append(path)
    return MARKER + "\n".join(kept).encode()


def kept_paths(data: bytes) -> list[str]:
    """The paths of a reduced file list (``reduce_file_list``'s output)."""
    return [line for line in data[len(MARKER) :].decode("utf-8", "replace").split("\n") if line]


def assign_owners(
    packages: Sequence[Package], owned: Iterable[tuple[str, FileOwner]]
) -> list[Package]:
    """``packages`` with ``owner`` set on each language package whose file an OS package
    lists. ``owned`` pairs canonical paths with the owner named by the list; an owner that
    is not among ``packages`` (a list left behind by a broken removal) owns nothing."""
    owner_of: dict[str, FileOwner] = {}
    for path, listed in owned:
        owner_of.setdefault(path, listed)
    if not owner_of:
        return list(packages)
    by_name: dict[tuple[PackageType, str], list[Package]] = {}
    by_database: dict[str, list[Package]] = {}
    for package in packages:
        if package.type in OS_TYPES:
            by_name.setdefault((package.type, package.name), []).append(package)
            by_database.setdefault(package.path or "", []).append(package)
    out: list[Package] = []
    for package in packages:
        if package.type in LANGUAGE_TYPES and package.path:
            owner = owner_of.get(canonical_path(package.path))
            found = _resolve(owner, by_name, by_database) if owner is not None else None
            if found is not None:
                package = replace(package, owner=found.purl)
        out.append(package)
    return out


def _resolve(
    owner: FileOwner,
    by_name: dict[tuple[PackageType, str], list[Package]],
    by_database: dict[str, list[Package]],
) -> Package | None:
    if owner.database is not None:
        candidates = by_database.get(owner.database, [])
        return candidates[0] if candidates else None
    candidates = by_name.get((owner.type, owner.name), [])
    if owner.architecture is not None:
        candidates = [p for p in candidates if p.architecture == owner.architecture] or candidates
    if owner.version is not None:
        candidates = [p for p in candidates if p.version == owner.version] or candidates
    return candidates[0] if candidates else None
