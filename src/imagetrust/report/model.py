"""The report model: one record of everything every report format shows.

``build.build_report`` fills it from the store alone; the HTML site, the Markdown, the JSON
document and the CSV files each render it, so they can never disagree about a verdict, a
count or a date. Every part that can be unknown says so (``known``, ``None``, a
``reason``): a reader must be able to tell "none found" from "not looked at".

Text from the Hub, the docs, a registry or an image (descriptions, notices, package names,
advisory summaries, even tag names) is kept here as it came: each renderer escapes it for
its own format.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from msgspec import Struct

from imagetrust.evaluate.review import Review

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
NOT_EVALUATED = "not-evaluated"  # a repository the catalog knows and no verdict covers


class VulnSummary(Struct, frozen=True):
    """Counts by severity, all and fixable, from the image's evidence (its finding set)."""

    known: bool
    reason: str
    all: dict[str, int] = {}
    fixable: dict[str, int] = {}
    known_exploited: tuple[str, ...] = ()
    complete: bool = True
    not_covered: int = 0

    @property
    def total(self) -> int:
        return sum(self.all.values())

    @property
    def fixable_total(self) -> int:
        return sum(self.fixable.values())

    def fixable_of(self, severity: str) -> int:
        return self.fixable.get(severity, 0)

    def all_of(self, severity: str) -> int:
        return self.all.get(severity, 0)


class PlatformRow(Struct, frozen=True):
    """One analysed image (a platform manifest) as one tag: its verdict and headline facts."""

    platform: str
    reference: str
    digest: str
    page: str  # the image page, relative to the site's root
    verdict: str
    grade: str
    score: int
    os_name: str | None
    os_status: str
    os_eol_date: date | None
    vulns: VulnSummary
    index_digest: str | None = None


class TagRow(Struct, frozen=True):
    """A tag: as trustworthy as its worst platform (``evaluate.policy.rollup``)."""

    tag: str | None
    name: str  # repository:tag
    verdict: str
    grade: str
    score: int
    digest: str
    page: str  # its primary platform's page
    platforms: tuple[PlatformRow, ...]
    last_pushed: datetime | None = None
    supported: bool | None = None


class PullFigures(Struct, frozen=True):
    count: int | None = None
    delta: int | None = None  # None: unknown, or the Hub's counter went down
    since: datetime | None = None
    until: datetime | None = None
    counter_went_down: bool = False


class RepositoryRow(Struct, frozen=True):
    """One row of the overview: a repository shown with its default tag's verdict."""

    name: str
    verdict: str  # approved | conditional | rejected | not-evaluated
    state: str  # active | deprecated | removed | unknown (no catalog snapshot names it)
    reason: str = ""  # why not evaluated, when it was not
    grade: str | None = None
    score: int | None = None
    page: str | None = None
    default_tag: str | None = None
    published: bool | None = None
    state_since: datetime | None = None
    notice: str | None = None
    description: str | None = None
    github_repo: str | None = None
    os_name: str | None = None
    os_status: str | None = None
    os_eol_date: date | None = None
    vulns: VulnSummary | None = None
    last_pushed: datetime | None = None
    pulls: PullFigures = PullFigures()
    tags: tuple[TagRow, ...] = ()
    tags_total: int = 0  # all the tags judged; ``tags`` may hold only the first of them
    other_verdicts: dict[str, int] = {}

    @property
    def deprecated(self) -> bool:
        return self.state in ("deprecated", "removed")


class Reason(Struct, frozen=True):
    rule: str
    kind: str  # fired | unknown | accepted | exception-expired | suppressed | note
    detail: str
    points: int = 0
    blocking: bool = False
    never_approved: bool = False


class Fact(Struct, frozen=True):
    """One line of evidence: what was found and what it rests on."""

    label: str
    value: str
    tone: str = "info"  # good | bad | unknown | info: how a reader should take it


class EolRow(Struct, frozen=True):
    subject: str  # "os" or a runtime (python, node, ...)
    status: str
    reason: str
    product: str | None = None
    version: str | None = None
    cycle: str | None = None
    eol_date: date | None = None
    rule: str | None = None
    found_in: str | None = None


class FindingRow(Struct, frozen=True):
    id: str
    package: str
    version: str
    severity: str
    fix_state: str
    fixed_version: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str | None = None
    known_exploited: bool = False
    layer: str | None = None
    purl: str | None = None
    suppressed: str | None = None  # the reason VEX or an exception took it out of the counts
    # CISA's listing of a known-exploited finding: the CVE, since when, fix by when
    kev_cve: str | None = None
    kev_date_added: date | None = None
    kev_due_date: date | None = None

    @property
    def fixable(self) -> bool:
        return self.fix_state == "fixed"


class PackageRow(Struct, frozen=True):
    name: str
    version: str
    type: str
    purl: str
    layer: int | None  # 1-based index of the layer that installed it
    source_name: str | None = None
    findings: tuple[FindingRow, ...] = ()

    @property
    def fixable(self) -> int:
        return sum(1 for f in self.findings if f.fixable)


class LayerRow(Struct, frozen=True):
    index: int  # 1-based, bottom first
    digest: str
    size: int
    packages: int


class NotCoveredRow(Struct, frozen=True):
    reason: str
    detail: str = ""
    package: str | None = None
    version: str | None = None
    path: str | None = None


# ``SbomFiles.reason`` of an image with no stored SBOM at all (pages say so in their own
# words; any other reason, such as a stored SBOM gone or unreadable, is shown as it is).
NO_SBOM_STORED = "no SBOM of this image is stored"


class SbomFiles(Struct, frozen=True):
    """The image's SBOM downloads (relative paths), or why there are none."""

    cyclonedx: str | None = None
    spdx: str | None = None
    reason: str = ""


class Point(Struct, frozen=True):
    at: datetime
    value: int


class VerdictPoint(Struct, frozen=True):
    decided_at: datetime
    verdict: str
    grade: str
    score: int
    digest: str
    policy: str


class FixTime(Struct, frozen=True):
    """One finding of one tag: when the database first showed its fix, when the tag's
    current digest first no longer had it (None: still there)."""

    image: str
    platform: str
    id: str
    package: str
    severity: str
    fix_shown: datetime
    fixed: datetime | None
    days: float  # fixed - fix_shown, or (for an open one) the clock - fix_shown


class FixSummary(Struct, frozen=True):
    fixed: int = 0
    open: int = 0
    median_days: float | None = None
    mean_days: float | None = None
    slowest_days: float | None = None
    oldest_open_days: float | None = None


class EngineSet(Struct, frozen=True):
    """Another engine's newest finding set of the image (Trivy, Grype: ``import``, ``run
    --engine``), shown beside ours and never counted: verdicts, counts and trends rest on
    imagetrust's own matching. ``agreement`` is ``crosscheck``'s findings agreement with
    ours (None: ours not matched)."""

    engine: str
    version: str  # the tool's version, as its report says (untrusted text)
    matched_at: datetime
    findings: int
    all: dict[str, int] = {}
    fixable: dict[str, int] = {}
    complete: bool = True
    target: str | None = None  # what it says it scanned (untrusted text)
    skipped: int = 0  # entries of the report that could not be read
    agreement: float | None = None
    both: int = 0
    only_ours: int = 0
    only_theirs: int = 0


class PublisherSbomStatus(Struct, frozen=True):
    """The publisher's SBOM attestation of the image, as ``crosscheck`` last read it."""

    status: str  # present | absent | unreadable | not-read
    reason: str | None = None  # why absent or unreadable (untrusted text: from the statement)
    packages: int | None = None  # present: the packages it lists
    format: str | None = None
    creators: tuple[str, ...] = ()


class LinkRow(Struct, frozen=True):
    label: str
    verdict: str
    page: str


class AlternativeRow(Struct, frozen=True):
    """A better tag to use instead (``evaluate.recommend``), with what it changes on this
    page's platform."""

    name: str  # repository:tag
    kind: str  # same-variant | replacement (named by the deprecation notice)
    verdict: str
    grade: str
    score: int
    digest: str
    changes: str  # fixed and added findings, end of life, size, in words
    gains: dict[str, Any] | None = None  # the same, as numbers (None: no such platform)
    note: str | None = None
    page: str | None = None  # its page in this report, when it has one


class RecommendationView(Struct, frozen=True):
    """What to use instead of a tag that is not approved, and what is not yet assessed."""

    alternatives: tuple[AlternativeRow, ...] = ()
    not_assessed: tuple[str, ...] = ()
    reason: str | None = None  # why there is no alternative, when there is none


class ImagePage(Struct, frozen=True):
    """Everything behind one verdict: one platform image as one tag."""

    page: str
    name: str  # repository:tag
    repository: str
    tag: str | None
    platform: str
    reference: str
    digest: str
    verdict: str
    grade: str
    score: int
    decided_at: datetime
    evaluated_at: datetime
    policy: str
    reasons: tuple[Reason, ...]
    conditions: tuple[str, ...]
    facts: tuple[Fact, ...]
    eol: tuple[EolRow, ...]
    vulns: VulnSummary
    index_digest: str | None = None
    os_name: str | None = None
    state: str = "unknown"
    notice: str | None = None
    description: str | None = None
    last_pushed: datetime | None = None
    findings_known: bool = False  # a finding set was stored for this image
    findings: tuple[FindingRow, ...] = ()
    packages: tuple[PackageRow, ...] = ()
    layers: tuple[LayerRow, ...] = ()
    sbom_known: bool = False
    incomplete: tuple[str, ...] = ()
    not_covered: tuple[NotCoveredRow, ...] = ()
    coverage: dict[str, Any] = {}
    sbom: SbomFiles = SbomFiles()
    siblings: tuple[LinkRow, ...] = ()  # the tag's other platforms
    other_tags: tuple[LinkRow, ...] = ()  # the repository's other tags
    verdicts: tuple[VerdictPoint, ...] = ()
    fixable_history: tuple[Point, ...] = ()
    fix_times: tuple[FixTime, ...] = ()
    fix_summary: FixSummary = FixSummary()
    other_engines: tuple[EngineSet, ...] = ()
    publisher_sbom: PublisherSbomStatus = PublisherSbomStatus("not-read")
    recommendation: RecommendationView | None = None  # None: approved, nothing to replace


class ImageTrend(Struct, frozen=True):
    name: str
    platform: str
    page: str
    fixable: tuple[Point, ...]
    fix_summary: FixSummary


class Trends(Struct, frozen=True):
    fixable: tuple[Point, ...]  # the current images' fixable findings, summed, over time
    fixable_critical_high: tuple[Point, ...]
    pulls: tuple[Point, ...]  # all repositories' pull counts, summed, per catalog snapshot
    pulls_by_repository: dict[str, tuple[Point, ...]]
    images: tuple[ImageTrend, ...]
    fix_summary: FixSummary
    fix_times: tuple[FixTime, ...]  # every finding followed, slowest first


class Totals(Struct, frozen=True):
    repositories: dict[str, int]  # verdict (and not-evaluated) -> repositories
    images: dict[str, int]  # verdict -> platform images judged
    tags: int


class DatabaseSource(Struct, frozen=True):
    name: str
    version: str | None
    imported_at: datetime


class Report(Struct, frozen=True):
    generated_at: datetime
    imagetrust_version: str
    policy: dict[str, str]
    totals: Totals
    repositories: tuple[RepositoryRow, ...]
    images: tuple[ImagePage, ...]
    trends: Trends
    review: Review
    catalog_at: datetime | None = None
    database: tuple[DatabaseSource, ...] = ()
    pulls_since: datetime | None = None
    problems: tuple[str, ...] = ()
