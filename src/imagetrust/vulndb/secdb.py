"""Alpine secdb (YAML or JSON) converted into OSV-shaped records.

secdb lists, per release branch and repository, each origin package's ``secfixes``: the
package version that fixed a set of CVEs. We convert it the way OSV's own Alpine records
look: id ``ALPINE-<CVE>``, ``upstream`` naming the CVE, one ``affected`` entry per
(``Alpine:v3.x``, origin package) with an ECOSYSTEM range ``introduced 0, fixed V`` and a
``pkg:apk/alpine/NAME?arch=source`` purl. One record per CVE across every secdb file of an
import, so v3.10 and v3.11 land in the same record as two affected entries.

Alpine's convention for the fixed version ``0``: the CVE does not affect the package as
Alpine ships it (never vulnerable, or rejected by the maintainers; the security team
describes it as attributing the fix to version 0). Such entries produce no affected range;
they are counted as ``not_affected`` so a report can tell them from missing data.

Entries are free text in places: ``CVE-2019-5060 TALOS-2019-0844`` (an alias follows),
``CVE-2017-17434-1`` (a part suffix), ``CVE-2017-2616 (+ regression fix)``. The first
identifier is the vulnerability; further identifiers become aliases; prose is dropped.
YAML is read with the base loader, which builds only strings, lists and maps: no tags, and
no ``1.10`` read as the float 1.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.osv import OsvRecord, OsvRecordError, parse_record

NOT_AFFECTED_VERSION = "0"
_CVE = re.compile(r"^(CVE-\d{4}-\d{4,})(?:-\d+)?$", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]{0,120}$")
_BRANCH = re.compile(r"^(v\d+\.\d+|edge)$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")


@dataclass
class SecdbProblem:
    file: str
    item: str | None
    reason: str


@dataclass
class SecdbFile:
    """One parsed secdb document: release branch, repository, package -> version -> ids."""

    path: str
    distroversion: str
    reponame: str
    secfixes: dict[str, dict[str, list[str]]]
    problems: list[SecdbProblem] = field(default_factory=list)

    @property
    def ecosystem(self) -> str:
        return f"Alpine:{self.distroversion}"


@dataclass
class SecdbConversion:
    records: list[OsvRecord]
    not_affected: int
    problems: list[SecdbProblem]


def looks_like_secdb(document: object) -> bool:
    return (
        isinstance(document, dict)
        and "distroversion" in document
        and isinstance(document.get("packages"), list)
    )


MAX_YAML_DEPTH = 64  # secdb is five levels deep; an OSV record in YAML about eight


def load_document(data: bytes | bytearray, path: str, *, max_depth: int = MAX_YAML_DEPTH) -> object:
    """Decode JSON, else YAML (base loader); a secdb file is one or the other.

    YAML is checked event by event before anything is built: nesting deeper than
    ``max_depth`` (50,000 levels crashed the process: the node composer recurses in C) and
    any alias (a few nested aliases expand to billions of nodes: advisory data never uses
    them) are refused with an error naming the file.
    """
    text = _decode(data, path)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise VulnDbError(f"{path}: invalid JSON: {exc}") from None
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        _check_yaml_shape(text, path, loader, max_depth)
        return yaml.load(text, Loader=loader)  # noqa: S506 - BaseLoader builds plain strings
    except (yaml.YAMLError, RecursionError) as exc:
        raise VulnDbError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None


def _check_yaml_shape(text: str, path: str, loader: Any, max_depth: int) -> None:
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise VulnDbError(f"{path}: YAML nested deeper than {max_depth} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise VulnDbError(f"{path}: YAML aliases are not accepted in advisory data")


def _decode(data: bytes | bytearray, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VulnDbError(f"{path}: not UTF-8 text") from None


def parse_secdb(document: object, path: str) -> SecdbFile:
    """Check the shape of a decoded secdb document; bad packages are reported, not fatal."""
    if not looks_like_secdb(document):
        raise VulnDbError(f"{path}: not an Alpine secdb document (no distroversion/packages)")
    assert isinstance(document, dict)
    branch = document.get("distroversion")
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise VulnDbError(f"{path}: distroversion {branch!r} is not like v3.11")
    reponame = document.get("reponame")
    parsed = SecdbFile(
        path=path,
        distroversion=branch,
        reponame=reponame if isinstance(reponame, str) else "main",
        secfixes={},
    )
    for index, entry in enumerate(document["packages"]):
        pkg = entry.get("pkg") if isinstance(entry, dict) else None
        name = pkg.get("name") if isinstance(pkg, dict) else None
        if not isinstance(pkg, dict) or not isinstance(name, str) or not _PACKAGE.match(name):
            parsed.problems.append(SecdbProblem(path, f"packages[{index}]", "no valid pkg.name"))
            continue
        fixes = _secfixes(pkg.get("secfixes"), path, name, parsed.problems)
        if fixes is not None:
            target = parsed.secfixes.setdefault(name, {})
            for version, ids in fixes.items():
                target.setdefault(version, []).extend(ids)
    return parsed


def _secfixes(
    raw: Any, path: str, name: str, problems: list[SecdbProblem]
) -> dict[str, list[str]] | None:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        problems.append(SecdbProblem(path, name, "secfixes is not a mapping"))
        return None
    fixes: dict[str, list[str]] = {}
    for version, ids in raw.items():
        if not isinstance(version, str) or not version or len(version) > 128:
            problems.append(SecdbProblem(path, name, f"bad fixed version {version!r}"))
            continue
        if ids is None or ids == "":
            continue
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append(SecdbProblem(path, f"{name} {version}", "ids are not a list of text"))
            continue
        fixes[version] = list(ids)
    return fixes


def split_entry(entry: str) -> tuple[str, list[str]] | None:
    """``CVE-2019-5060 TALOS-2019-0844`` -> (``CVE-2019-5060``, [``TALOS-2019-0844``])."""
    ids: list[str] = []
    for token in entry.replace(",", " ").split():
        token = token.strip("()[];")
        cve = _CVE.match(token)
        if cve:
            token = cve.group(1).upper()
        elif not _IDENTIFIER.match(token):
            continue
        if token not in ids:
            ids.append(token)
    if not ids:
        return None
    return ids[0], ids[1:]


@dataclass
class _Pending:
    aliases: list[str] = field(default_factory=list)
    # (ecosystem, package) -> fixed versions, in the order secdb lists them
    fixed: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    not_affected: set[tuple[str, str]] = field(default_factory=set)


def secdb_records(files: Iterable[SecdbFile]) -> SecdbConversion:
    """One OSV-shaped record per vulnerability id over all files, merged by id."""
    pending: dict[str, _Pending] = {}
    problems: list[SecdbProblem] = []
    for secdb in files:
        problems.extend(secdb.problems)
        source = f"secdb {secdb.distroversion}/{secdb.reponame}"
        for package, fixes in secdb.secfixes.items():
            for version, entries in fixes.items():
                for entry in entries:
                    split = split_entry(entry)
                    if split is None:
                        problems.append(
                            SecdbProblem(secdb.path, f"{package} {version}", f"no id in {entry!r}")
                        )
                        continue
                    vuln_id, aliases = split
                    item = pending.setdefault(vuln_id, _Pending())
                    item.aliases.extend(a for a in aliases if a not in item.aliases)
                    key = (secdb.ecosystem, package, source)
                    if version == NOT_AFFECTED_VERSION:
                        item.not_affected.add((secdb.ecosystem, package))
                        continue
                    versions = item.fixed.setdefault(key, [])
                    if version not in versions:
                        versions.append(version)
    records: list[OsvRecord] = []
    not_affected = 0
    for vuln_id, item in sorted(pending.items()):
        not_affected += len(
            {pair for pair in item.not_affected if pair not in {k[:2] for k in item.fixed}}
        )
        if not item.fixed:
            continue
        try:
            records.append(parse_record(_osv_document(vuln_id, item)))
        except OsvRecordError as exc:
            problems.append(SecdbProblem("secdb", vuln_id, exc.message))
    return SecdbConversion(records, not_affected, problems)


def _osv_document(vuln_id: str, item: _Pending) -> dict[str, Any]:
    is_cve = vuln_id.startswith("CVE-")
    affected = [
        {
            "package": {
                "ecosystem": ecosystem,
                "name": package,
                "purl": f"pkg:apk/alpine/{package}?arch=source",
            },
            # one range per listed fix: secdb sometimes lists a CVE under two versions
            # (a fix and a later regression fix); affected below any of them is conservative
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": version}]}
                for version in versions
            ],
            "database_specific": {"source": source},
        }
        for (ecosystem, package, source), versions in sorted(item.fixed.items())
    ]
    return {
        "id": f"ALPINE-{vuln_id}",
        "upstream": [vuln_id],
        "aliases": item.aliases,
        "affected": affected,
        "references": (
            [{"type": "ADVISORY", "url": f"https://security.alpinelinux.org/vuln/{vuln_id}"}]
            if is_cve
            else []
        ),
    }
