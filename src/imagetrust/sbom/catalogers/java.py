"""Java archives (``.jar``, ``.war``, ``.ear``, Jenkins ``.jpi``/``.hpi``, ...).

A jar is identified by ``META-INF/MANIFEST.MF`` and any ``META-INF/maven/**/pom.properties``.
``reduce`` opens the archive from memory and keeps only those small entries, for the
archive itself and for archives nested one level deep (``BOOT-INF/lib/*.jar``,
``WEB-INF/lib/*.jar``, plugins in a war), as a small sorted JSON document, so the layer
cache never stores whole jars. ``parse`` turns that document into packages.

The identification rules follow syft's java-archive-cataloger (checked against syft 1.18
on real Debian jars and on fat jars built from them):

- an archive without a manifest yields no package of its own (its nested jars still do);
- the main package's name and version come from the only ``pom.properties`` when its
  artifactId starts with the name parsed from the file name, else from the file name
  (``commons-io-2.11.0.jar``), else from manifest fields (``Name``, ``Bundle-Name``,
  ``Implementation-Title`` ...; ``Implementation-Version``, ``Specification-Version`` ...);
- every other ``pom.properties`` is its own package (a shaded dependency) unless its
  identity matches the main package, which then takes its artifactId/version/groupId;
- the purl namespace is the groupId from pom.properties, else a group-id-looking manifest
  field (``Bundle-SymbolicName``, ``Automatic-Module-Name`` ...), else the name itself.

Differences from syft: its built-in table of well-known artifactId -> groupId is not
copied, nested archives are read one level deep only (syft recurses), and ``pom.xml``
is not read (so a jar whose only Maven metadata is ``pom.xml`` is named from its file).

Safety: entries are read only when their declared size is under a small limit (the zip
reader never returns more than the declared size), nested archives have a per-archive and
a total budget, and a corrupt or encrypted archive is recorded in the document so that
``parse`` raises ``CatalogerError`` naming the jar.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from typing import Any

from msgspec import Struct, field

from imagetrust.sbom.catalogers.base import BaseCataloger, PathInterest, Want
from imagetrust.sbom.models import CatalogerError, OsRelease, Package, PackageType
from imagetrust.sbom.purl import maven_purl

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar", ".lpkg")
_JENKINS_SUFFIXES = (".jpi", ".hpi")
MANIFEST = "META-INF/MANIFEST.MF"

MAX_ENTRY_BYTES = 1 << 20  # a manifest or pom.properties larger than this is not read
MAX_META_ENTRIES = 512  # pom.properties per archive
MAX_NESTED_ARCHIVES = 1024
MAX_NESTED_BYTES = 64 << 20  # one nested archive, uncompressed
MAX_NESTED_TOTAL = 512 << 20  # all nested archives of one file, uncompressed
_FORMAT = 1

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted entry
    IndexError,
    KeyError,
    UnicodeDecodeError,
)


# ---------------------------------------------------------------------------------- reduce


def _is_meta_entry(name: str) -> bool:
    return name == MANIFEST or ("META-INF/maven/" in name and name.endswith("/pom.properties"))


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    if info.file_size > limit or info.is_dir():
        return None
    with zf.open(info) as handle:
        return handle.read(limit + 1)[:limit]


def _meta_entries(zf: zipfile.ZipFile) -> dict[str, str]:
    """The identifying entries of one archive, decoded as text (they are ASCII or UTF-8)."""
    out: dict[str, str] = {}
    for info in zf.infolist():
        if len(out) >= MAX_META_ENTRIES:
            break
        if not _is_meta_entry(info.filename) or info.filename in out:
            continue
        raw = _read_entry(zf, info, MAX_ENTRY_BYTES)
        if raw is not None:
            out[info.filename] = raw.decode("utf-8", errors="replace")
    return out


def _reduce_archive(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": _FORMAT}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            doc["entries"] = _meta_entries(zf)
            nested: list[dict[str, Any]] = []
            skipped = 0
            budget = MAX_NESTED_TOTAL
            for info in zf.infolist():
                if info.is_dir() or not info.filename.lower().endswith(ARCHIVE_SUFFIXES):
                    continue
                if len(nested) >= MAX_NESTED_ARCHIVES or info.file_size > min(
                    MAX_NESTED_BYTES, budget
                ):
                    skipped += 1
                    continue
                budget -= info.file_size
                item: dict[str, Any] = {"path": info.filename}
                try:
                    inner = _read_entry(zf, info, MAX_NESTED_BYTES) or b""
                    with zipfile.ZipFile(io.BytesIO(inner)) as nzf:
                        item["entries"] = _meta_entries(nzf)
                except _ZIP_ERRORS as exc:
                    item["error"] = f"{type(exc).__name__}: {exc}"
                nested.append(item)
            doc["nested"] = sorted(nested, key=lambda item: str(item["path"]))
            if skipped:
                doc["nested_skipped"] = skipped
    except _ZIP_ERRORS as exc:
        doc = {"format": _FORMAT, "error": f"{type(exc).__name__}: {exc}"}
    return doc


def reduce_archive(data: bytes) -> bytes:
    """The small deterministic document ``parse`` reads (sorted JSON)."""
    return json.dumps(_reduce_archive(data), sort_keys=True, separators=(",", ":")).encode()


# ------------------------------------------------------------------------- manifest, names


class Manifest(Struct):
    main: dict[str, str] = field(default_factory=dict)
    sections: list[dict[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str:
        """A field from the main section, else from the first named section that has it."""
        if self.main.get(key):
            return self.main[key]
        for section in self.sections:
            if section.get(key):
                return section[key]
        return ""


def parse_manifest(text: str) -> Manifest | None:
    """JAR manifest sections; None for a manifest syft would also refuse (a stray line)."""
    sections: list[dict[str, str]] = [{}]
    current = 0
    last: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            current += 1
            last = None
            continue
        while current >= len(sections):
            sections.append({})
        if line[0] == " ":
            if last is None:
                return None
            sections[current][last] += line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            return None
        last = key.strip()
        sections[current][last] = value.strip()
    return Manifest(main=sections[0], sections=[s for s in sections[1:] if s])


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines of a pom.properties (Maven writes nothing fancier)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        match = re.match(r"([^=:\s]+)\s*[=:]?\s*(.*)$", line)
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


# syft's file-name pattern, translated from RE2's "ungreedy" flag to explicit lazy quantifiers
_ALPHA = "A-Za-z"
_WORD = "0-9A-Za-z_"
_NAME_VERSION = re.compile(
    rf"^(?P<name>(?:[{_ALPHA}][{_WORD}.]*?(?:\.[{_ALPHA}][{_WORD}.]*?)*?-??)+?)"
    rf"(?:-(?P<version>(?:\d.*?|(?:build\d+?.*?)|(?:rc??\d+?))))??$",
    re.IGNORECASE | re.DOTALL,
)
_SECONDARY_VERSION = re.compile(r"(?:[._-](?P<version>(?:\d.*|(?:build\d+.*)|(?:rc?\d+))))?$")


def parse_filename(path: str) -> tuple[str, str]:
    """(name, version) from an archive's file name, as syft guesses them."""
    base = path.rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    match = _NAME_VERSION.search(stem)
    name = (match.group("name") or "") if match else ""
    version = (match.group("version") or "") if match else ""
    if not version and name:
        secondary = _SECONDARY_VERSION.search(name)
        if secondary and secondary.group("version"):
            version = secondary.group("version")
            name = name[: len(name) - len(version) - 1]
    return name, version


_NAME_FIELDS = ("Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title")
_VERSION_FIELDS = ("Implementation-Version", "Specification-Version", "Plugin-Version")
_GROUP_FIELDS_PRIMARY = (
    "Group-Id",
    "Bundle-SymbolicName",
    "Extension-Name",
    "Specification-Vendor",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Implementation-Title",
    "Bundle-Activator",
)
_GROUP_FIELDS_SECONDARY = ("Automatic-Module-Name", "Main-Class", "Package")
_DOMAINS = ("com", "org", "net", "io", "be")


def _clean_group(value: str) -> str:
    return value.split(";", 1)[0].split("#", 1)[0].strip()


def _manifest_group(manifest: Manifest | None) -> str:
    if manifest is None:
        return ""
    for fields in (_GROUP_FIELDS_PRIMARY, _GROUP_FIELDS_SECONDARY):
        found: list[str] = []
        for key in fields:
            for section in (manifest.main, *manifest.sections):
                value = section.get(key, "")
                if value.startswith(_DOMAINS):
                    found.append(_clean_group(value))
        if found:
            return sorted(found)[0]
    return ""


class _Candidate(Struct):
    name: str
    version: str
    manifest: Manifest | None = None
    pom: dict[str, str] | None = None
    virtual_path: str = ""
    licenses: tuple[str, ...] = ()

    def group(self) -> str:
        if self.pom is not None:
            if self.pom.get("groupId"):
                return _clean_group(self.pom["groupId"])
            if "." in self.pom.get("artifactId", ""):
                return _clean_group(self.pom["artifactId"])
        return _manifest_group(self.manifest)


def _archive_candidates(virtual_path: str, entries: dict[str, str]) -> list[_Candidate]:
    """syft's main-package / pom.properties reconciliation for one archive."""
    if MANIFEST not in entries:
        return []
    manifest = parse_manifest(entries[MANIFEST])
    if manifest is None:
        return []
    file_name, file_version = parse_filename(virtual_path)
    pom_paths = sorted(p for p in entries if p != MANIFEST)
    poms: dict[str, dict[str, str]] = {}
    for pom_path in pom_paths:
        props = parse_properties(entries[pom_path])
        if props.get("artifactId") and props.get("version"):
            poms[pom_path.rsplit("/", 1)[0]] = props

    name = version = ""
    if len(pom_paths) == 1 and file_name:
        for props in poms.values():
            if props["artifactId"].startswith(file_name):
                name, version = props["artifactId"], props["version"]
    name = name or file_name or next((manifest.get(k) for k in _NAME_FIELDS if manifest.get(k)), "")
    version = (
        version
        or file_version
        or next((manifest.get(k) for k in _VERSION_FIELDS if manifest.get(k)), "")
    )
    license_ = manifest.get("Bundle-License")
    parent = _Candidate(
        name=name,
        version=version,
        manifest=manifest,
        virtual_path=virtual_path,
        licenses=(license_,) if license_ else (),
    )
    out = [parent]
    for _, props in sorted(poms.items()):
        parent_group = parent.group()
        parent_key = f"{parent_group}:{parent.name}:{parent.version}"
        pom_key = f"{props.get('groupId', '')}:{props['artifactId']}:{props['version']}"
        child = _Candidate(
            name=props["artifactId"],
            version=props["version"],
            pom=props,
            virtual_path=virtual_path
            if parent_key == pom_key
            else f"{virtual_path}:{props.get('groupId', '')}:{props['artifactId']}",
        )
        same = (
            (child.group(), child.name, child.version)
            == (parent_group, parent.name, parent.version)
            or child.virtual_path == parent.virtual_path
            or props["artifactId"] == parent.name
        )
        if same:
            parent.name, parent.version = child.name, child.version
            if parent.pom is None:
                parent.pom = props
        else:
            out.append(child)
    return [c for c in out if c.name]


def _to_package(candidate: _Candidate, path: str, jenkins: bool) -> Package:
    group = candidate.group() or candidate.name
    purl = maven_purl(group, candidate.name, candidate.version)
    extra = {"virtual_path": candidate.virtual_path, "group_id": group}
    if jenkins:
        extra["kind"] = "jenkins-plugin"
    return Package(
        name=candidate.name,
        version=candidate.version,
        type=PackageType.JAVA,
        purl=purl,
        path=path,
        licenses=candidate.licenses,
        extra=extra,
    )


def _load(path: str, data: bytes) -> dict[str, Any]:
    if data[:2] == b"PK":  # a whole archive (a walker that skipped ``reduce``): reduce it now
        return _reduce_archive(data)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CatalogerError(path, "not a reduced Java archive document") from exc
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise CatalogerError(path, "not a reduced Java archive document")
    return doc


def _entries(path: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise CatalogerError(path, "malformed Java archive document")
    return value


class JavaCataloger(BaseCataloger):
    name = "java"
    interest = PathInterest(suffixes=ARCHIVE_SUFFIXES)

    def wants(self, path: str, mode: int, size: int) -> Want:
        return Want.FILE if path.lower().endswith(ARCHIVE_SUFFIXES) else Want.NO

    def reduce(self, path: str, data: bytes) -> bytes | None:
        return reduce_archive(data)

    def parse(self, path: str, data: bytes, os_release: OsRelease | None) -> list[Package]:
        doc = _load(path, data)
        if "error" in doc:
            raise CatalogerError(path, f"corrupt Java archive ({doc['error']})")
        jenkins = path.lower().endswith(_JENKINS_SUFFIXES)
        packages = [
            _to_package(c, path, jenkins)
            for c in _archive_candidates(path, _entries(path, doc.get("entries", {})))
        ]
        nested = doc.get("nested", [])
        if not isinstance(nested, list):
            raise CatalogerError(path, "malformed Java archive document")
        for item in nested:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise CatalogerError(path, "malformed Java archive document")
            if "error" in item:
                continue  # a corrupt nested jar: the outer archive still counts
            inner = f"{path}:{item['path']}"
            inner_jenkins = item["path"].lower().endswith(_JENKINS_SUFFIXES)
            packages.extend(
                _to_package(c, path, inner_jenkins)
                for c in _archive_candidates(inner, _entries(path, item.get("entries", {})))
            )
        return packages
