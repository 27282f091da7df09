"""Grype's JSON report (``grype -o json``).

Read: ``matches[]`` (``vulnerability``: id, severity, ``fix.state`` and ``fix.versions``,
CVSS; ``relatedVulnerabilities`` ids as aliases; ``artifact``: name, version, type, purl,
upstream source package, layer), ``distro``, ``source.target`` (the platform manifest
digest grype scanned, the image ID, repo digests, platform) and ``descriptor`` (version,
database build time and schema). Grype lists matches only, not every package it saw, so a
Grype set carries no package inventory: the cross-check leaves it out of package
comparisons and says so.

``fix.state`` maps directly: ``fixed`` (with versions) is fixed, ``wont-fix`` is wont-fix,
``not-fixed`` and ``unknown`` are not-fixed. Several fix versions (one per release line)
are joined with ", ", as Trivy writes them. ``Negligible`` severity reads as LOW.
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

_SEVERITY = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "negligible": "LOW",
    "unknown": "UNKNOWN",
}


def looks_like_grype(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("matches"), list)


def read_grype(doc: Any, where: str) -> EngineReport:
    if not looks_like_grype(doc):
        raise EngineError(
            f"{where}: not a Grype JSON report (no matches list)",
            hint="give the output of grype -o json",
        )
    descriptor = mapping(doc.get("descriptor"))
    name = descriptor.get("name")
    if name is not None and name != "grype":
        raise EngineError(f"{where}: a report of {str(name)[:64]!r}, not of grype")
    db = mapping(descriptor.get("db"))
    db = mapping(db.get("status")) or db  # newer grype nests it under "status"
    built = text(db.get("built"), 64)
    schema = db.get("schemaVersion")
    schema_number = _schema(schema)
    created_text = text(descriptor.get("timestamp"), 64)
    if built:
        state = ((f"grype-db built {built}", schema_number),)
    else:  # no database named: the report's time tells two reports apart
        state = ((f"grype report {created_text or 'undated'}", schema_number),)
    target = mapping(mapping(doc.get("source")).get("target"))
    distro = mapping(doc.get("distro"))
    family = text(distro.get("name"), 64)
    report = EngineReport(
        engine="grype",
        version=text(descriptor.get("version"), 64) or "unknown",
        created_at=timestamp(created_text),
        db_state=state,
        target=text(target.get("userInput"), 1024),
        manifest_digest=digest_of(target.get("manifestDigest")),
        config_digest=digest_of(target.get("imageID")),
        repo_digests=_repo_digests(target.get("repoDigests")),
        platform=_platform(target),
        os=OsInfo(family, text(distro.get("version"), 64)) if family else None,
        findings=[],
        packages=None,
    )
    for number, match in enumerate(doc["matches"]):
        where_item = f"matches[{number}]"
        if not isinstance(match, dict):
            report.problem(f"{where_item}: not an object")
            continue
        finding = _finding(match)
        if isinstance(finding, str):
            report.problem(f"{where_item}: {finding}")
        else:
            report.findings.append(finding)
    return report


def _schema(value: Any) -> int:
    """The database schema's major number: ``5``, or ``"v6.0.2"`` as newer grype writes."""
    if isinstance(value, int) and 0 <= value < 10_000:
        return value
    if isinstance(value, str):
        major = value.removeprefix("v").split(".", 1)[0]
        if major.isdigit() and len(major) < 5:
            return int(major)
    return 0


def _repo_digests(value: Any) -> tuple[str, ...]:
    found = []
    for entry in items(value):
        if isinstance(entry, str) and "@" in entry and len(entry) <= 1024:
            digest = digest_of(entry.rsplit("@", 1)[1])
            if digest is not None:
                found.append(digest)
    return tuple(dict.fromkeys(found))


def _platform(target: dict[str, Any]) -> str | None:
    os_name = text(target.get("os"), 32)
    arch = text(target.get("architecture"), 32)
    return f"{os_name}/{arch}" if os_name and arch else None


def _finding(match: dict[str, Any]) -> EngineFinding | str:
    vuln = mapping(match.get("vulnerability"))
    artifact = mapping(match.get("artifact"))
    ident = text(vuln.get("id"), MAX_ID)
    package = text(artifact.get("name"), MAX_PACKAGE)
    installed = artifact.get("version")
    if ident is None:
        return "no vulnerability id (or one too long)"
    if package is None:
        return f"{ident}: no artifact name (or one too long)"
    if not isinstance(installed, str) or len(installed) > MAX_VERSION:
        return f"{ident}: no artifact version"
    fix = mapping(vuln.get("fix"))
    versions = [v for v in items(fix.get("versions")) if text(v, MAX_VERSION) is not None]
    fixed = ", ".join(versions) if versions else None
    if fixed is not None and len(fixed) > MAX_VERSION:
        fixed = versions[0]
    status = text(fix.get("state"), 32)
    if status == "wont-fix":
        state = "wont-fix"
    elif status == "fixed" and fixed:
        state = "fixed"
    else:
        state = "not-fixed"
    word = text(vuln.get("severity"), 32)
    severity = _SEVERITY.get(word.lower(), "UNKNOWN") if word else "UNKNOWN"
    score, vector = _cvss(vuln.get("cvss"))
    aliases = tuple(
        dict.fromkeys(
            related["id"]
            for related in items(match.get("relatedVulnerabilities"))
            if isinstance(related, dict)
            and text(related.get("id"), MAX_ID) is not None
            and related["id"] != ident
        )
    )
    purl = text(artifact.get("purl"), 2048) or ""
    kind = text(artifact.get("type"), 32) or ""
    upstreams = [u for u in items(artifact.get("upstreams")) if isinstance(u, dict)]
    source_name = text(upstreams[0].get("name"), MAX_PACKAGE) if upstreams else None
    locations = [loc for loc in items(artifact.get("locations")) if isinstance(loc, dict)]
    layer = digest_of(locations[0].get("layerID")) if locations else None
    return EngineFinding(
        id=ident,
        aliases=aliases,
        package=package,
        package_type=package_type_of(purl, kind),
        purl=purl,
        installed_version=installed,
        fixed_version=fixed,
        fix_state=state,
        status=status,
        severity=severity,
        severity_source="grype",
        cvss_score=score,
        cvss_vector=vector,
        source_name=source_name if source_name != package else None,
        layer=layer,
        summary=clipped(vuln.get("description")),
        ecosystem=f"grype:{text(vuln.get('namespace'), 128) or 'unknown'}",
    )


def _cvss(value: Any) -> tuple[float | None, str | None]:
    """The first CVSS v3 (else any) entry's base score and vector."""
    entries = [e for e in items(value) if isinstance(e, dict)]
    entries.sort(key=lambda e: not str(e.get("version", "")).startswith("3"))
    for entry in entries:
        score = mapping(entry.get("metrics")).get("baseScore")
        if isinstance(score, int | float) and 0 <= score <= 10:
            return float(score), text(entry.get("vector"), 512)
    return None, None
