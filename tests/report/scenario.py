"""Stores built for report tests: catalog snapshots, tag history, SBOMs, finding sets,
evidence and verdicts, written through the store's own functions the way ``catalog``,
``resolve``, ``run`` and ``policy check`` write them.

Finding sets are written row by row (``finding_sets``, ``finding_set_items``) with the
fields ``vulndb.findings_store.save_finding_set`` writes, so a test can say exactly what a
database state showed about an image, and when; evidence takes its vulnerability counts
from them through ``evaluate.vulns.vulnerability_evidence``, as ``run`` does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from msgspec.structs import replace
from sqlalchemy import insert

from imagetrust.catalog.models import CatalogEntry, RepoState
from imagetrust.catalog.snapshots import record_snapshot
from imagetrust.evaluate.models import (
    DeprecationEvidence,
    EolEvidence,
    EolStatus,
    Evidence,
    Subject,
    TagSupportEvidence,
)
from imagetrust.evaluate.policy.decide import decide
from imagetrust.evaluate.policy.loader import load_policy
from imagetrust.evaluate.policy.stored import save_decision
from imagetrust.evaluate.stored import save_evidence
from imagetrust.evaluate.vulns import vulnerability_evidence
from imagetrust.sbom.models import (
    ImageFacts,
    ImageSbom,
    LayerSummary,
    OsRelease,
    Package,
    PackageType,
)
from imagetrust.sbom.stored import save_sbom
from imagetrust.store.database import Store
from imagetrust.store.repositories import upsert_repository
from imagetrust.store.schema import finding_set_items, finding_sets
from imagetrust.store.tags import observe_digest
from tests.policy.helpers import clean_evidence

DAY0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ANALYSER = "test-analyser/1"
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Vuln:
    id: str
    package: str
    version: str = "1.0"
    severity: str = "HIGH"
    fixed: str | None = None  # the fixed version: fixable when set
    summary: str | None = None

    @property
    def fix_state(self) -> str:
        return "fixed" if self.fixed else "not-fixed"


@dataclass
class Image:
    repository: str
    tag: str
    platform: str = "linux/amd64"
    digest: str = ""
    index_digest: str | None = None
    os_name: str = "Debian GNU/Linux 12 (bookworm)"
    os: EolEvidence | None = None
    packages: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    vulns: list[Vuln] | None = None  # None: no finding set stored
    state: str = "active"
    notice: str | None = None
    supported: bool = True
    runs_as_root: bool = False
    store_sbom: bool = True  # False: evaluated from an SBOM the store does not keep

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = digest_of(self.repository, self.tag, self.platform)


def debian_os(
    eol: date = date(2028, 6, 30), status: EolStatus = EolStatus.SUPPORTED
) -> EolEvidence:
    word = "eoes" if status is EolStatus.SUPPORTED else "LTS ended"
    return EolEvidence(
        "os",
        status,
        f"Debian 12: {word} {eol}",
        product="debian",
        version="12",
        cycle="12",
        eol_date=eol,
        rule="eoes",
        found_in="os-release",
    )


def entry(name: str, **changes: Any) -> CatalogEntry:
    values: dict[str, Any] = {
        "name": name,
        "state": RepoState.ACTIVE,
        "state_reason": f"listed in library/{name}",
        "notice": None,
        "supported_tags": ("latest",),
        "tag_count": 1,
        "architectures": ("amd64",),
        "pull_count": 1000,
        "last_updated": DAY0,
        "categories": (),
        "description": f"the {name} image",
        "sources": ("library", "docs", "hub"),
        "published": True,
    }
    values.update(changes)
    return CatalogEntry(**values)


class Scenario:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.policy = load_policy()

    def catalog(self, entries: list[CatalogEntry], at: datetime) -> None:
        with self.store.transaction() as conn:
            record_snapshot(conn, entries, now=at, sources={"test": True})

    def finding_set(self, digest: str, vulns: list[Vuln], at: datetime, generation: int) -> None:
        with self.store.transaction() as conn:
            self._finding_set(conn, digest, vulns, at, generation)

    def _finding_set(
        self, conn: Any, digest: str, vulns: list[Vuln], at: datetime, generation: int
    ) -> None:
        state = [["test-db", generation]]
        counts = {v: dict.fromkeys(SEVERITIES, 0) for v in ("all", "fixable")}
        for vuln in vulns:
            counts["all"][vuln.severity] += 1
            if vuln.fixed:
                counts["fixable"][vuln.severity] += 1
        result = conn.execute(
            insert(finding_sets).values(
                digest=digest,
                analyser_version=ANALYSER,
                db_state=state,
                db_state_key=hashlib.sha256(json.dumps(state).encode()).hexdigest(),
                matched_at=at,
                complete=True,
                incomplete=[],
                coverage={"os": "covered", "packages": 0, "not_covered": 0, "reasons": {}},
                not_covered=[],
                counts=counts,
                known_exploited=[],
            )
        )
        set_id = result.inserted_primary_key[0]  # type: ignore[index]
        for vuln in vulns:
            conn.execute(
                insert(finding_set_items).values(
                    set_id=set_id,
                    vuln_id=vuln.id,
                    package=vuln.package,
                    installed_version=vuln.version,
                    fixed_version=vuln.fixed,
                    fix_state=vuln.fix_state,
                    severity=vuln.severity,
                    known_exploited=False,
                    detail={
                        "id": vuln.id,
                        "aliases": [],
                        "package": vuln.package,
                        "installed_version": vuln.version,
                        "fixed_version": vuln.fixed,
                        "fix_state": vuln.fix_state,
                        "severity": vuln.severity,
                        "summary": vuln.summary,
                        "purl": f"pkg:deb/debian/{vuln.package}@{vuln.version}",
                    },
                )
            )

    def _observe(self, conn: Any, image: Image, at: datetime) -> None:
        repository_id = upsert_repository(conn, image.repository, now=at)
        observe_digest(
            conn, repository_id, image.tag, image.platform, image.digest, now=at, source="hub"
        )

    def sbom(self, image: Image) -> ImageSbom:
        layer = digest_of("layer", image.repository, image.tag)
        packages = tuple(
            Package(
                name=name,
                version=version,
                type=PackageType.DEB,
                purl=f"pkg:deb/debian/{name}@{version}",
                layer=layer,
            )
            for name, version in image.packages
        )
        return ImageSbom(
            reference=f"docker.io/library/{image.repository}:{image.tag}",
            digest=image.digest,
            index_digest=image.index_digest,
            platform=image.platform,
            config_digest=digest_of("config", image.digest),
            analyser_version=ANALYSER,
            os=OsRelease("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
            packages=packages,
            layers=(
                LayerSummary(
                    layer,
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    2048,
                    False,
                    10,
                    len(packages),
                ),
            ),
            facts=ImageFacts(None, (), (), {}, {}),
        )

    def _evaluate(self, conn: Any, image: Image, at: datetime) -> Evidence:
        """Evidence and a stored verdict for the image as of ``at`` (its SBOM stored too)."""
        sbom = self.sbom(image)
        if image.store_sbom:
            save_sbom(conn, sbom, at)
        vulns = vulnerability_evidence(conn, sbom, at)
        evidence = clean_evidence(
            digest=image.digest,
            index_digest=image.index_digest,
            reference=sbom.reference,
            platform=image.platform,
            evaluated_at=at,
            subject=Subject(image.repository, image.tag),
            os_name=image.os_name,
            os=image.os or debian_os(),
            deprecation=DeprecationEvidence(
                image.state,
                f"the catalog says {image.state}",
                published=True,
                notice=image.notice,
            ),
            tag_support=TagSupportEvidence(
                image.supported, "in the library file" if image.supported else "gone", image.tag
            ),
            vulnerabilities=vulns,
        )
        if image.runs_as_root:
            evidence = replace(
                evidence,
                hygiene=replace(evidence.hygiene, runs_as_root=True, root_reason="no USER"),
            )
        save_evidence(conn, evidence)
        save_decision(conn, decide(evidence, self.policy, now=at))
        return evidence

    def add(self, image: Image, at: datetime, generation: int = 1) -> Evidence:
        """What one run does for an image, in one transaction: observe its tag, match,
        evaluate, decide."""
        with self.store.transaction() as conn:
            return self._add(conn, image, at, generation)

    def add_all(self, images: list[Image], at: datetime, generation: int = 1) -> None:
        with self.store.transaction() as conn:
            for image in images:
                self._add(conn, image, at, generation)

    def _add(self, conn: Any, image: Image, at: datetime, generation: int) -> Evidence:
        self._observe(conn, image, at)
        if image.vulns is not None:
            self._finding_set(conn, image.digest, image.vulns, at, generation)
        return self._evaluate(conn, image, at)
