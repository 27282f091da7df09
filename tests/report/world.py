"""One store a reviewer could meet: approved, conditional, rejected and never-evaluated
repositories, an ended OS, a deprecated image, two platforms, history over two runs, and
untrusted text carrying script in every place the Hub, the docs or an image can put it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from imagetrust.catalog.models import RepoState
from imagetrust.cli.main import main
from imagetrust.evaluate.models import EolStatus
from imagetrust.sbom.publisher import (
    SBOM_PREDICATES,
    PublisherSbom,
    parse_statement,
    save_publisher_sboms,
)
from imagetrust.store.database import Store
from tests.report.scenario import Image, Scenario, Vuln, day, debian_os, digest_of, entry

# Each payload sets window.__xss if it ever runs; the tests look for it in the browser.
SCRIPT = "<script>window.__xss = 'script'</script>"
IMG = '"><img src=x onerror="window.__xss = \'img\'">'
JS_LINK = "javascript:window.__xss='link'"
DESCRIPTION = f"Legacy things {SCRIPT} {IMG} [docs]({JS_LINK})"
NOTICE = (
    f"# Deprecated\n\nThis image is deprecated {SCRIPT}.\n"
    f"See [the notice]({JS_LINK}) or {JS_LINK} or {IMG} or https://example.org/legacy-notice"
)
EVIL_PACKAGE = '"><svg onload="window.__xss=\'svg\'">'
EVIL_TAG = "1.0\"><img src=x onerror=window.__xss='tag'>"
NOW = day(12)
# web's rebuild has an unfixed bash finding that Trivy's report (debian-buster) shows too
WEB_BASH = Vuln("CVE-2019-18276", "bash", severity="LOW", version="5.0-4")


@dataclass(frozen=True)
class Expected:
    """What the scenario put in, per repository's default tag (the overview's row)."""

    fixable: dict[str, tuple[int, int, int, int]]  # name -> (critical, high, medium, low)
    deprecated: set[str]
    os_names: dict[str, str]
    not_evaluated: set[str]
    fixable_packages: dict[str, set[str]]  # repository -> packages with a fixable finding
    pulls: dict[str, tuple[int, int]]  # repository -> (first snapshot's count, latest one's)


def build_world(store: Store) -> Expected:
    scenario = Scenario(store)
    names = ["web", "api", "legacy", "db", "cache", "ghost"]
    first = [entry(name, pull_count=1000 * (i + 1)) for i, name in enumerate(names)]
    scenario.catalog(first, day(0))
    later = [
        entry(name, pull_count=1000 * (i + 1) + 500 * i)
        for i, name in enumerate(names)
        if name != "legacy"
    ]
    later.append(
        entry(
            "legacy",
            state=RepoState.DEPRECATED,
            state_reason="deprecated.md says so",
            notice=NOTICE,
            description=DESCRIPTION,
            pull_count=5000,
        )
    )
    scenario.catalog(later, day(10))

    # web: approved on both platforms; a medium fix was taken between the two runs
    web_vulns = [Vuln("CVE-2026-0001", "libfoo", severity="MEDIUM", fixed="1.1")]
    for platform in ("linux/amd64", "linux/arm64/v8"):
        scenario.add(
            Image(
                "web",
                "latest",
                platform=platform,
                digest=digest_of("web", "1", platform),
                index_digest=digest_of("web", "1"),
                packages=[("libfoo", "1.0"), ("bash", "5.2")],
                vulns=web_vulns,
            ),
            day(1),
        )
        scenario.add(
            Image(
                "web",
                "latest",
                platform=platform,
                digest=digest_of("web", "2", platform),
                index_digest=digest_of("web", "2"),
                packages=[("libfoo", "1.1"), ("bash", "5.0-4")],
                vulns=[WEB_BASH],
            ),
            day(8),
        )
    # api: two fixable criticals and a high: conditional
    api_vulns = [
        Vuln("CVE-2026-1001", "openssl", severity="CRITICAL", fixed="3.0.9", summary=SCRIPT),
        Vuln("CVE-2026-1002", "openssl", severity="CRITICAL", fixed="3.0.9"),
        Vuln("CVE-2026-1003", "curl", severity="HIGH", fixed="8.1"),
        Vuln("CVE-2026-1004", "zlib", severity="HIGH"),
    ]
    scenario.add(
        Image(
            "api",
            "latest",
            packages=[("openssl", "1.0"), ("curl", "1.0"), ("zlib", "1.0"), ("tar", "1.3")],
            vulns=api_vulns,
        ),
        day(9),
    )
    # db: four fixable criticals, capped, and runs as root: rejected on its score
    db_vulns = [
        Vuln(f"CVE-2026-200{i}", "postgres-libs", severity="CRITICAL", fixed="16.2")
        for i in range(4)
    ]
    scenario.add(
        Image(
            "db",
            "latest",
            packages=[("postgres-libs", "1.0"), (EVIL_PACKAGE, "6.6")],
            vulns=[
                *db_vulns,
                Vuln("GHSA-xss", EVIL_PACKAGE, version="6.6", severity="LOW", fixed="7"),
            ],
            runs_as_root=True,
        ),
        day(9),
    )
    # legacy: deprecated, on an ended Debian: rejected, whatever else; a hostile tag too
    ended = debian_os(date(2024, 6, 30), EolStatus.EOL)
    for tag in ("latest", EVIL_TAG):
        scenario.add(
            Image(
                "legacy",
                tag,
                os=ended,
                os_name="Debian GNU/Linux 10 (buster)",
                packages=[("libold", "0.1")],
                vulns=[
                    Vuln("CVE-2019-0001", "libold", severity="HIGH", version="0.1", fixed="0.2")
                ],
                state="deprecated",
                notice=NOTICE,
            ),
            day(10),
        )
    # cache: matched never: vulnerabilities not known
    scenario.add(
        Image("cache", "latest", os_name="Alpine Linux v3.20", packages=[("musl", "1.2")]), day(10)
    )
    return Expected(
        fixable={
            "web": (0, 0, 0, 0),
            "api": (2, 1, 0, 0),
            "db": (4, 0, 0, 1),
            "legacy": (0, 1, 0, 0),
        },
        deprecated={"legacy"},
        os_names={
            "web": "Debian GNU/Linux 12 (bookworm)",
            "api": "Debian GNU/Linux 12 (bookworm)",
            "db": "Debian GNU/Linux 12 (bookworm)",
            "legacy": "Debian GNU/Linux 10 (buster)",
            "cache": "Alpine Linux v3.20",
        },
        not_evaluated={"ghost"},
        fixable_packages={"api": {"openssl", "curl"}, "db": {"postgres-libs", EVIL_PACKAGE}},
        pulls={
            e.name: (e.pull_count, latest.pull_count)
            for e in first
            for latest in later
            if latest.name == e.name
        },
    )


def world_now() -> datetime:
    return NOW


# --- other sources: another engine's report and the publisher's SBOM -----------------------

FIXTURES = Path(__file__).parent.parent / "fixtures"
TRIVY_REPORT = FIXTURES / "engines" / "trivy" / "debian-buster.json"
STATEMENT = FIXTURES / "attestations" / "buildkit-sbom-spdx-intoto.json"
# What Trivy says it scanned is the report's text: hostile here
TRIVY_TARGET = f"web:latest {SCRIPT} {IMG}"
TRIVY_AT = day(11)  # newer than every set of ours
WEB_AMD64 = digest_of("web", "2", "linux/amd64")
API = digest_of("api", "latest", "linux/amd64")
DB = digest_of("db", "latest", "linux/amd64")


@dataclass(frozen=True)
class OtherSources:
    trivy_digest: str
    trivy: dict[str, Any]  # the report as imported
    publisher_packages: int  # in the statement stored for web (linux/amd64)
    unreadable_reason: str  # what reading api's statement said (with hostile text)


def trivy_report_for(digest: str) -> dict[str, Any]:
    """Trivy's real report, retargeted at a scenario image: its image ID is the image's
    config digest (``Scenario.sbom`` names it ``digest_of("config", digest)``), made newer
    than every set of ours, with nothing else naming another image."""
    report: dict[str, Any] = json.loads(TRIVY_REPORT.read_text())
    report["Metadata"]["ImageID"] = digest_of("config", digest)
    report["Metadata"].pop("RepoDigests", None)
    report["CreatedAt"] = TRIVY_AT.strftime("%Y-%m-%dT%H:%M:%S.000000005Z")
    report["ArtifactName"] = TRIVY_TARGET
    return report


def add_other_sources(home: Path) -> OtherSources:
    """A newer Trivy report of web (linux/amd64), imported as a user would (``imagetrust
    import --engine trivy --digest``); the publisher's SBOM of web (the real BuildKit
    statement), an unreadable one of api (a statement whose ``_type`` is hostile text) and
    none for db, stored as ``crosscheck`` stores what it read."""
    report = trivy_report_for(WEB_AMD64)
    path = home / "trivy-web.json"
    path.write_text(json.dumps(report))
    argv = ["--home", str(home), "--now", NOW.isoformat(), "import", str(path)]
    assert main([*argv, "--engine", "trivy", "--digest", WEB_AMD64, "--format", "json"]) == 0
    statement = json.loads(STATEMENT.read_text())
    statement["subject"][0]["digest"]["sha256"] = WEB_AMD64.split(":", 1)[1]
    predicate = SBOM_PREDICATES[0]
    document, packages = parse_statement(
        json.dumps(statement).encode(), WEB_AMD64, predicate, 10**5
    )
    hostile = json.dumps({"_type": SCRIPT, "predicateType": predicate}).encode()
    try:
        parse_statement(hostile, API, predicate, 10**5)
    except ValueError as exc:
        unreadable = str(exc)
    else:
        raise AssertionError("a statement whose _type is not in-toto's was read")
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store, store.transaction() as conn:
        records = [
            PublisherSbom(
                WEB_AMD64,
                digest_of("web", "2"),
                "present",
                predicate_type=predicate,
                document=document,
                packages=packages,
            ),
            PublisherSbom(API, None, "unreadable", unreadable, predicate_type=predicate),
            PublisherSbom(
                DB, None, "absent", "a single image manifest: no index to carry attestations"
            ),
        ]
        save_publisher_sboms(conn, records, TRIVY_AT)
    return OtherSources(WEB_AMD64, report, len(statement["predicate"]["packages"]), unreadable)
