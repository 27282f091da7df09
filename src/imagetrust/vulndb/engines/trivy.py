"""Trivy's JSON report (``trivy image --format json``, ``SchemaVersion`` 2).

Read: ``Results[].Vulnerabilities`` (``VulnerabilityID``, ``PkgName``, ``PkgIdentifier.PURL``,
``InstalledVersion``, ``FixedVersion``, ``Status``, ``Severity`` with ``SeveritySource`` and
its ``CVSS`` entry, ``VendorIDs`` as aliases), ``Results[].Packages`` when the report lists
every package (``--list-all-pkgs``), and ``Metadata``: the OS with ``EOSL`` (Trivy's "end of
service life": its advisories for that release stop), ``ImageID`` (the config digest),
``RepoDigests`` and the platform. Trivy's report names no database version, so a report's
database state is its creation time: a report imported twice is one set, two days' reports
are two.

``Status`` is folded into imagetrust's fix states as ``vulndb.fixstate`` describes:
``fixed`` (with a ``FixedVersion``) is fixed; ``will_not_fix`` and ``end_of_life`` are
wont-fix; ``affected``, ``fix_deferred``, ``under_investigation`` and anything else are
not-fixed. Reports older than ``Status`` are fixed exactly when they name a fixed version.
"""

from __future__ import annotations

from typing import Any

from imagetrust.vulndb.engines.report import (
    MAX_ID,
    MAX_PACKAGE,
    MAX_VERSION,
    EngineError,
    EngineFinding,
    EngineReport,
    OsInfo,
    clipped,
    digest_of,
    items,
    mapping,
    package_type_of,
    text,
    timestamp,
)

_WONT_FIX = frozenset({"will_not_fix", "end_of_life"})
_SEVERITIES = frozenset({"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"})
# trivy's Result.Type for OS packages -> the package type its purls would carry
_OS_TYPES = {
    "alpine": "apk",
    "wolfi": "apk",
    "chainguard": "apk",
    "debian": "deb",
    "ubuntu": "deb",
}


def looks_like_trivy(doc: Any) -> bool:
    return isinstance(doc, dict) and "SchemaVersion" in doc and "ArtifactName" in doc


def read_trivy(doc: Any, where: str) -> EngineReport:
    if not isinstance(doc, dict) or "SchemaVersion" not in doc:
        raise EngineError(
            f"{where}: not a Trivy JSON report (no SchemaVersion)",
            hint="give the output of trivy image --format json",
        )
    if doc.get("SchemaVersion") != 2:
        raise EngineError(
            f"{where}: Trivy report SchemaVersion {doc.get('SchemaVersion')!r}; only 2 is read"
        )
    results = doc.get("Results", [])
    if results is not None and not isinstance(results, list):
        raise EngineError(f"{where}: Trivy report Results is not a list")
    meta = mapping(doc.get("Metadata"))
    created_text = text(doc.get("CreatedAt"), 64)
    created = timestamp(created_text)
    version = text(mapping(doc.get("Trivy")).get("Version"), 64) or "unknown"
    report = EngineReport(
        engine="trivy",
        version=version,
        created_at=created,
        db_state=((f"trivy report {created_text or 'undated'}", 2),),
        target=text(doc.get("ArtifactName"), 1024),
        manifest_digest=None,
        config_digest=digest_of(meta.get("ImageID")),
        repo_digests=_repo_digests(meta.get("RepoDigests")),
        platform=_platform(mapping(meta.get("ImageConfig"))),
        os=_os(mapping(meta.get("OS"))),
        findings=[],
        packages=None,
    )
    for number, result in enumerate(items(results)):
        if not isinstance(result, dict):
            report.problem(f"Results[{number}]: not an object")
            continue
        _read_result(result, number, report)
    return report


def _repo_digests(value: Any) -> tuple[str, ...]:
    found = []
    for entry in items(value):
        if isinstance(entry, str) and "@" in entry and len(entry) <= 1024:
            digest = digest_of(entry.rsplit("@", 1)[1])
            if digest is not None:
                found.append(digest)
    return tuple(dict.fromkeys(found))


def _platform(config: dict[str, Any]) -> str | None:
    os_name = text(config.get("os"), 32)
    arch = text(config.get("architecture"), 32)
    if not os_name or not arch:
        return None
    variant = text(config.get("variant"), 32)
    return "/".join(part for part in (os_name, arch, variant) if part)


def _os(value: dict[str, Any]) -> OsInfo | None:
    family = text(value.get("Family"), 64)
    if family is None:
        return None
    return OsInfo(family, text(value.get("Name"), 64), value.get("EOSL") is True)


def _read_result(result: dict[str, Any], number: int, report: EngineReport) -> None:
    kind = text(result.get("Type"), 64) or ""
    fallback = _OS_TYPES.get(kind, kind) if result.get("Class") == "os-pkgs" else kind
    if "Packages" in result:
        listed = report.packages if report.packages is not None else []
        for index, package in enumerate(items(result.get("Packages"))):
            entry = _package(package, fallback)
            if entry is None:
                report.problem(f"Results[{number}].Packages[{index}]: no name or version")
            else:
                listed.append(entry)
        report.packages = listed
    for index, vuln in enumerate(items(result.get("Vulnerabilities"))):
        where = f"Results[{number}].Vulnerabilities[{index}]"
        if not isinstance(vuln, dict):
            report.problem(f"{where}: not an object")
            continue
        finding = _finding(vuln, fallback)
        if isinstance(finding, str):
            report.problem(f"{where}: {finding}")
        else:
            report.findings.append(finding)


def _purl(item: dict[str, Any]) -> str | None:
    return text(mapping(item.get("PkgIdentifier") or item.get("Identifier")).get("PURL"), 2048)


def _package(package: Any, fallback: str) -> dict[str, Any] | None:
    if not isinstance(package, dict):
        return None
    name = text(package.get("Name"), MAX_PACKAGE)
    version = text(package.get("Version"), MAX_VERSION)
    if name is None or version is None:
        return None
    release = text(package.get("Release"), MAX_VERSION)
    epoch = package.get("Epoch")
    whole = f"{version}-{release}" if release else version
    if isinstance(epoch, int) and epoch > 0:
        whole = f"{epoch}:{whole}"
    purl = _purl(package)
    return {
        "name": name,
        "version": whole,
        "type": package_type_of(purl, fallback),
        "purl": purl,
    }


def _finding(vuln: dict[str, Any], fallback: str) -> EngineFinding | str:
    ident = text(vuln.get("VulnerabilityID"), MAX_ID)
    package = text(vuln.get("PkgName"), MAX_PACKAGE)
    installed = vuln.get("InstalledVersion")
    if ident is None:
        return "no VulnerabilityID (or one too long)"
    if package is None:
        return f"{ident}: no PkgName (or one too long)"
    if not isinstance(installed, str) or len(installed) > MAX_VERSION:
        return f"{ident}: no InstalledVersion"
    fixed = text(vuln.get("FixedVersion"), MAX_VERSION)
    status = text(vuln.get("Status"), 32)
    if status is None:
        state = "fixed" if fixed else "not-fixed"
    elif status in _WONT_FIX:
        state = "wont-fix"
    elif status == "fixed" and fixed:
        state = "fixed"
    else:
        state = "not-fixed"
    severity = text(vuln.get("Severity"), 16)
    severity = severity.upper() if severity and severity.upper() in _SEVERITIES else "UNKNOWN"
    source = text(vuln.get("SeveritySource"), 64)
    score, vector = _cvss(mapping(vuln.get("CVSS")), source)
    purl = _purl(vuln) or ""
    aliases = tuple(
        a for a in items(vuln.get("VendorIDs")) if text(a, MAX_ID) is not None and a != ident
    )
    data_source = mapping(vuln.get("DataSource"))
    return EngineFinding(
        id=ident,
        aliases=aliases,
        package=package,
        package_type=package_type_of(purl, fallback),
        purl=purl,
        installed_version=installed,
        fixed_version=fixed,
        fix_state=state,
        status=status,
        severity=severity,
        severity_source=f"trivy:{source}" if source else "trivy",
        cvss_score=score,
        cvss_vector=vector,
        source_name=text(vuln.get("SrcName"), MAX_PACKAGE),
        layer=digest_of(mapping(vuln.get("Layer")).get("Digest")),
        summary=clipped(vuln.get("Title")) or clipped(vuln.get("Description")),
        ecosystem=f"trivy:{text(data_source.get('ID'), 64) or fallback or 'unknown'}",
    )


def _cvss(cvss: dict[str, Any], source: str | None) -> tuple[float | None, str | None]:
    """The score and vector of the source Trivy took the severity from, else NVD's."""
    for name in (source, "nvd"):
        entry = mapping(cvss.get(name)) if name else {}
        for score_key, vector_key in (("V3Score", "V3Vector"), ("V2Score", "V2Vector")):
            score = entry.get(score_key)
            if isinstance(score, int | float) and 0 <= score <= 10:
                return float(score), text(entry.get(vector_key), 512)
    return None, None
