"""SARIF 2.1.0 of a scan, for GitHub code scanning and every other SARIF reader.

Rendered from the scan's JSON documents (``scan_document.image_document``), the same the
JSON output prints, so the two never disagree. One run (GitHub takes one run per tool and
category) holds every image's results:

- a *rule* per vulnerability id, with its summary and a ``security-severity`` (the CVSS
  score, else the level's midpoint) that GitHub ranks alerts by;
- a *result* per finding shown: level ``error`` for CRITICAL and HIGH, ``warning`` for
  MEDIUM, ``note`` below; located at the image (``artifactLocation``: the reference) and
  the package (a logical location: its purl), with a fingerprint of (image digest, id,
  package, installed version) so re-uploads update alerts instead of adding them;
- **what was not checked** as tool execution notifications (an OS not covered and an
  incomplete SBOM are ``error``, each item not covered a ``warning``) and, whole, in the
  run's and each result's ``properties`` (coverage, counts, completeness, the engine):
  an empty ``results`` list never stands alone as "clean".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}
_MIDPOINTS = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0"}


def sarif_log(images: Iterable[dict[str, Any]], *, version: str) -> dict[str, Any]:
    """The SARIF log of ``images`` (each an ``image_document``)."""
    documents = list(images)
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    engines: dict[str, dict[str, Any]] = {}
    for image in documents:
        engine = image.get("engine") or {"name": "builtin"}
        if engine.get("name") != "builtin":
            engines.setdefault(str(engine.get("name")), engine)
        for finding in image["vulnerabilities"]:
            rule = rules.setdefault(finding["id"], _rule(finding))
            results.append(_result(image, finding, list(rules).index(finding["id"]), rule))
        notifications.extend(_notifications(image))
    driver: dict[str, Any] = {
        "name": "imagetrust",
        "version": version,
        "semanticVersion": version if _semantic(version) else None,
        "rules": list(rules.values()),
    }
    driver = {k: v for k, v in driver.items() if v is not None}
    tool: dict[str, Any] = {"driver": driver}
    if engines:
        tool["extensions"] = [
            {"name": name, "version": str(e.get("version") or "unknown")}
            for name, e in sorted(engines.items())
        ]
    run = {
        "tool": tool,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": {"images": [_image_properties(image) for image in documents]},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _semantic(version: str) -> bool:
    parts = version.split("+", 1)[0].split("-", 1)[0].split(".")
    return len(parts) == 3 and all(p.isdigit() for p in parts)


def _rule(finding: dict[str, Any]) -> dict[str, Any]:
    ident = finding["id"]
    severity = finding["severity"]
    summary = finding.get("summary") or ident
    properties: dict[str, Any] = {"tags": ["security", "vulnerability", severity.lower()]}
    score = finding.get("cvss_score")
    if isinstance(score, int | float):
        properties["security-severity"] = f"{float(score):.1f}"
    elif severity in _MIDPOINTS:
        properties["security-severity"] = _MIDPOINTS[severity]
    return {
        "id": ident,
        "name": ident,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "helpUri": f"https://osv.dev/vulnerability/{quote(ident, safe='')}",
        "help": {"text": summary if summary == ident else f"{ident}: {summary}"},
        "defaultConfiguration": {"level": _LEVELS.get(severity, "note")},
        "properties": properties,
    }


def _result(
    image: dict[str, Any], finding: dict[str, Any], index: int, rule: dict[str, Any]
) -> dict[str, Any]:
    info = image["image"]
    fixed = finding.get("fixed_version")
    remedy = f"fixed in {fixed}" if fixed else f"no fixed version ({finding['fix_state']})"
    message = (
        f"{finding['package']} {finding['installed_version']} is affected by "
        f"{finding['id']} ({finding['severity']}); {remedy}"
    )
    fingerprint = hashlib.sha256(
        "\x00".join(
            (
                info["digest"] or info["ref"],
                finding["id"],
                finding["package"],
                finding["installed_version"],
            )
        ).encode()
    ).hexdigest()
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(info["ref"])},
            "region": {"startLine": 1},
        },
        "message": {"text": f"{info['ref']} ({info['platform'] or 'platform unknown'})"},
    }
    if finding.get("purl"):
        location["logicalLocations"] = [
            {"fullyQualifiedName": finding["purl"], "name": finding["package"], "kind": "package"}
        ]
    return {
        "ruleId": finding["id"],
        "ruleIndex": index,
        "level": rule["defaultConfiguration"]["level"],
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {"imagetrustFinding/v1": fingerprint},
        "properties": {
            **finding,
            "image": {"ref": info["ref"], "digest": info["digest"], "platform": info["platform"]},
        },
    }


def _uri(reference: str) -> str:
    """The image reference as a URI reference (``python:3.12`` keeps its shape)."""
    return quote(reference, safe="/:@._-~") or "image"


def _notifications(image: dict[str, Any]) -> list[dict[str, Any]]:
    info = image["image"]
    label = f"{info['ref']}" + (f" ({info['platform']})" if info["platform"] else "")
    found: list[dict[str, Any]] = []
    message = image["coverage"].get("message")
    if message:
        found.append(_note("error", "not-covered", f"{label}: NOT COVERED: {message}"))
    for reason in image["incomplete"]:
        text = f"{label}: incomplete SBOM, findings may be missing: {reason}"
        found.append(_note("error", "incomplete", text))
    for item in image["not_covered"]:
        what = " ".join(p for p in (item.get("package"), item.get("version")) if p)
        text = f"{label}: not covered ({item['reason']}): {what + ': ' if what else ''}"
        found.append(_note("warning", f"not-covered/{item['reason']}", text + item["detail"]))
    for error in image["errors"]:
        found.append(_note("warning", "error", f"{label}: {error}"))
    return found


def _note(level: str, ident: str, text: str) -> dict[str, Any]:
    return {"level": level, "message": {"text": text}, "descriptor": {"id": ident}}


def _image_properties(image: dict[str, Any]) -> dict[str, Any]:
    """Everything that qualifies an image's results: a reader of SARIF alone can tell an
    image with nothing found from one that was not looked at."""
    return {
        "image": image["image"],
        "engine": image.get("engine") or {"name": "builtin"},
        "complete": image["complete"],
        "incomplete": image["incomplete"],
        "coverage": image["coverage"],
        "counts": image["counts"],
        "findings_total": image["findings_total"],
        "findings_shown": len(image["vulnerabilities"]),
        "not_covered": len(image["not_covered"]),
        "databases": image["databases"],
    }
