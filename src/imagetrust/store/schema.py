"""The tables, as SQLAlchemy Core metadata: the target the migrations must produce.

A test compares this metadata with the database the migrations build, so the two cannot
drift apart. Tables are grouped by the stage that owns them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from imagetrust.store.types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# --- runs: every command that does work records one, with per-item errors -------------
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("parameters", JSON, nullable=False),
    Column("summary", JSON, nullable=True),
    Column("imagetrust_version", String(32), nullable=False),
)

run_errors = Table(
    "run_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("stage", String(32), nullable=False),
    Column("item", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index("ix_run_errors_run_id", "run_id"),
)

# --- catalog: the repositories we know of --------------------------------------------
repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("registry", String(255), nullable=False),
    Column("namespace", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    UniqueConstraint("registry", "namespace", "name", name="uq_repositories_ref"),
)

# --- catalog: snapshots of every repository, state history, Hub tags ------------------
catalog_snapshots = Table(
    "catalog_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("taken_at", UtcDateTime(), nullable=False),
    Column("sources", JSON, nullable=False),
    Column("repository_count", Integer, nullable=False),
    Index("ix_catalog_snapshots_taken_at", "taken_at"),
)

repository_snapshots = Table(
    "repository_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "snapshot_id",
        Integer,
        ForeignKey("catalog_snapshots.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("taken_at", UtcDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("notice", Text, nullable=True),
    Column("supported_tags", JSON, nullable=False),
    Column("tag_count", Integer, nullable=True),
    Column("architectures", JSON, nullable=False),
    Column("pull_count", BigInteger, nullable=True),
    Column("star_count", Integer, nullable=True),
    Column("last_updated", UtcDateTime(), nullable=True),
    Column("categories", JSON, nullable=False),
    Column("description", Text, nullable=True),
    Column("github_repo", Text, nullable=True),
    Column("sources", JSON, nullable=False),
    Column("published", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("snapshot_id", "repository_id", name="uq_repository_snapshots_pair"),
    Index("ix_repository_snapshots_repo_time", "repository_id", "taken_at"),
)

repository_states = Table(
    "repository_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("since", UtcDateTime(), nullable=False),
    Column(
        "snapshot_id",
        Integer,
        ForeignKey("catalog_snapshots.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("published", Boolean, nullable=True),  # NULL: recorded before the flag existed
    Index("ix_repository_states_repo_since", "repository_id", "since"),
)

repository_tags = Table(
    "repository_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    Column("digest", String(80), nullable=True),
    Column("supported", Boolean, nullable=False),
    Column("last_updated", UtcDateTime(), nullable=True),
    Column("tag_last_pushed", UtcDateTime(), nullable=True),
    Column("tag_status", String(32), nullable=True),
    Column("full_size", BigInteger, nullable=True),
    Column("images", JSON, nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    UniqueConstraint("repository_id", "name", name="uq_repository_tags_name"),
)

# --- resolve: every (tag, platform) -> digest observation, with its time ----------------
# ``repository_tags`` keeps the Hub's current listing; this keeps the history, so "which
# digest did python:3.12 have on a date" is a query. One row per span of identical answers:
# a new row when the digest differs from the latest one for that (tag, platform), otherwise
# the latest row's ``last_seen`` moves on (a daily run over every tag would otherwise add
# tens of thousands of identical rows a day). ``platform`` "*" is the tag's own manifest
# (an index for multi-platform images); other rows are the platform manifests it lists.
tag_history = Table(
    "tag_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "repository_id",
        Integer,
        ForeignKey("repositories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tag", String(255), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("digest", String(100), nullable=False),
    Column("source", String(16), nullable=False),  # hub | registry
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Index("ix_tag_history_lookup", "repository_id", "tag", "platform", "first_seen"),
)

# --- run: the platforms of each image (top digest), as read from its index ---------------
# Content-addressed, so written once: a later run finds an image's platform manifests here
# instead of pulling its index again.
image_platforms = Table(
    "image_platforms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("manifest_digest", String(100), nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("digest", "platform", name="uq_image_platforms_digest_platform"),
)

# --- run: one result per (top digest, platform): analysed, failed (retried) or not covered.
# ``db_versions`` is the vulnerability database the findings came from ([source, generation,
# version] of each live source): when it changes, the stored SBOM is matched again.
image_results = Table(
    "image_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("manifest_digest", String(100), nullable=True),
    Column("status", String(16), nullable=False),  # analysed | failed | not-covered
    Column("reason", Text, nullable=True),
    Column("analyser_version", String(200), nullable=True),
    Column("db_versions", JSON, nullable=True),
    Column("counts", JSON, nullable=True),
    Column("package_count", Integer, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("digest", "platform", name="uq_image_results_digest_platform"),
)

image_findings = Table(
    "image_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "result_id",
        Integer,
        ForeignKey("image_results.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("vuln_id", String(255), nullable=False),
    Column("package", String(512), nullable=False),
    Column("installed_version", Text, nullable=False),
    Column("fixed_version", Text, nullable=True),
    Column("fix_state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("db_source", String(255), nullable=False),
    Column("db_version", String(128), nullable=True),
    Column("detail", JSON, nullable=False),
    Index("ix_image_findings_result_id", "result_id"),
)

# --- vulndb: imported advisory sources, their records, and the (ecosystem, package) index -
# One row per source (a name the user chose or the resolved path). Each import builds a new
# generation beside the live one and switches to it in one transaction, so readers only ever
# see whole generations. ``generation`` is the live one (0: no import has completed yet);
# ``last_generation`` the newest started, so an unfinished import never reuses a number.
# A record row is visible in generation G when added_in <= G and (removed_in is NULL or
# removed_in > G): unchanged records are shared between generations (``seen_in`` marks that
# an import saw them), changed ones get a new row and their old row a ``removed_in``.
vuln_sources = Table(
    "vuln_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("version", String(128), nullable=True),
    Column("generation", Integer, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("last_generation", Integer, nullable=False, server_default="0"),
    Column("content_digest", String(64), nullable=True),
    UniqueConstraint("name", name="uq_vuln_sources_name"),
)

vuln_records = Table(
    "vuln_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "source_id",
        Integer,
        ForeignKey("vuln_sources.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("record_id", String(255), nullable=False),
    Column("added_in", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("modified", UtcDateTime(), nullable=True),
    Column("published", UtcDateTime(), nullable=True),
    Column("withdrawn", UtcDateTime(), nullable=True),
    Column("aliases", JSON, nullable=False),
    Column("upstream", JSON, nullable=False),
    Column("related", JSON, nullable=False),
    Column("summary", Text, nullable=True),
    Column("details", Text, nullable=True),
    Column("severity", JSON, nullable=False),
    Column("references", JSON, nullable=False),
    Column("database_specific", JSON, nullable=True),
    Column("removed_in", Integer, nullable=True),
    Column("seen_in", Integer, nullable=False, server_default="0"),
    UniqueConstraint(
        "source_id", "record_id", "added_in", name="uq_vuln_records_source_record_added"
    ),
)

vuln_affected = Table(
    "vuln_affected",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "record_pk",
        Integer,
        ForeignKey("vuln_records.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ecosystem", String(128), nullable=False),
    Column("ecosystem_base", String(64), nullable=False),
    Column("package", String(512), nullable=False),
    Column("name", String(512), nullable=False),
    Column("purl", Text, nullable=True),
    Column("ranges", JSON, nullable=False),
    Column("versions", JSON, nullable=False),
    Column("severity", JSON, nullable=False),
    Column("ecosystem_specific", JSON, nullable=True),
    Column("database_specific", JSON, nullable=True),
    Index("ix_vuln_affected_ecosystem_package", "ecosystem", "package"),
    Index("ix_vuln_affected_record_pk", "record_pk"),
)

# --- vulndb: stored findings, one set per (platform manifest digest, analyser, engine,
# database state). ``db_state`` is the [source, generation] pairs matched against; a database
# change gives a new set beside the old one. Items are the findings; not-covered items and the
# SBOM's completeness are on the set, so a set alone says how far its findings can be trusted.
# ``engine`` is who matched: ``builtin`` (imagetrust), or another scanner whose report was
# imported (``trivy``, ``grype``: then ``analyser_version`` is that scanner's version, the
# state what its report says of its database, ``packages`` the inventory it listed, if any,
# and ``engine_detail`` what else the report said: OS, end of service life, target).
finding_sets = Table(
    "finding_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("analyser_version", String(200), nullable=False),
    Column("db_state", JSON, nullable=False),
    Column("db_state_key", String(64), nullable=False),
    Column("matched_at", UtcDateTime(), nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("incomplete", JSON, nullable=False),
    Column("coverage", JSON, nullable=False),
    Column("not_covered", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("known_exploited", JSON, nullable=False),
    Column("engine", String(32), nullable=False, server_default="builtin"),
    Column("packages", JSON, nullable=True),
    Column("engine_detail", JSON, nullable=True),
    UniqueConstraint(
        "digest", "analyser_version", "engine", "db_state_key", name="uq_finding_sets_state"
    ),
    Index("ix_finding_sets_digest", "digest"),
)

finding_set_items = Table(
    "finding_set_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("set_id", Integer, ForeignKey("finding_sets.id", ondelete="CASCADE"), nullable=False),
    Column("vuln_id", String(255), nullable=False),
    Column("package", String(512), nullable=False),
    Column("installed_version", Text, nullable=False),
    Column("fixed_version", Text, nullable=True),
    Column("fix_state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("known_exploited", Boolean, nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_finding_set_items_set_id", "set_id"),
)

# --- vulndb: CISA's Known Exploited Vulnerabilities, one catalog at a time (replaced whole)
kev_catalog = Table(
    "kev_catalog",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("released", UtcDateTime(), nullable=True),
    Column("count", Integer, nullable=False),
    Column("origin", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
)

kev_entries = Table(
    "kev_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cve_id", String(64), nullable=False),
    Column("date_added", Date, nullable=True),
    Column("due_date", Date, nullable=True),
    Column("vendor", Text, nullable=True),
    Column("product", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("ransomware", String(32), nullable=True),
    UniqueConstraint("cve_id", name="uq_kev_entries_cve_id"),
)

# --- sbom: one stored SBOM per (platform manifest digest, analyser version) ---------------
# The document is the native JSON (``sbom.formats.native``), so re-matching every stored
# image against a changed vulnerability database reads no layer and no registry.
image_sboms = Table(
    "image_sboms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("analyser_version", String(200), nullable=False),
    Column("reference", Text, nullable=False),
    Column("platform", String(64), nullable=False),
    Column("os_id", String(64), nullable=True),
    Column("os_version", String(64), nullable=True),
    Column("package_count", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("digest", "analyser_version", name="uq_image_sboms_digest_analyser"),
)

# --- evaluate: evidence per analysed digest, and what the index and config said of it ------
# One evidence row per evaluation (platform manifest digest, as which repository and tag, at
# the clock's time): history stays, the newest row is the current evidence. ``document`` is
# the whole record (``evaluate.models.Evidence``); the columns beside it are for queries.
image_evidence = Table(
    "image_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("index_digest", String(100), nullable=True),
    Column("reference", Text, nullable=False),
    Column("repository", String(255), nullable=True),
    Column("tag", String(255), nullable=True),
    Column("platform", String(64), nullable=False),
    Column("evaluated_at", UtcDateTime(), nullable=False),
    Column("os_eol_status", String(16), nullable=False),
    Column("catalog_state", String(16), nullable=True),
    Column("document", JSON, nullable=False),
    Index("ix_image_evidence_digest_time", "digest", "evaluated_at"),
    Index("ix_image_evidence_reference_platform", "reference", "platform"),
)

# Facts that never change for a (platform digest, index digest) pair, read from the index and
# the image config once: the attestations the index carries for the image, and whether the
# config declares a HEALTHCHECK. Stored so evaluating again needs no registry.
image_observations = Table(
    "image_observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("index_digest", String(100), nullable=True),
    Column("healthcheck", Boolean, nullable=True),
    Column("attestations", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("observed_at", UtcDateTime(), nullable=False),
    Index("ix_image_observations_digest", "digest"),
)

# The publisher's SBOM: what the index's SBOM attestation (an in-toto statement with an SPDX
# predicate, in a BuildKit attestation manifest) lists for one platform image, read once per
# (platform digest, index digest) and kept beside our own analysis. ``status`` is
# ``present`` (one row per statement), ``absent`` (the index attests no SBOM for the image)
# or ``unreadable`` (``reason`` says why): a read that found nothing is kept too, so it is
# not repeated, and never mistaken for an empty SBOM.
publisher_sboms = Table(
    "publisher_sboms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("index_digest", String(100), nullable=True),
    Column("attestation_digest", String(100), nullable=True),
    Column("statement_digest", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("predicate_type", String(255), nullable=True),
    Column("document", JSON, nullable=True),
    Column("packages", JSON, nullable=True),
    Column("read_at", UtcDateTime(), nullable=False),
    Index("ix_publisher_sboms_digest", "digest"),
)

# --- policy: one verdict per decision (platform manifest digest, as which reference, under
# which policy, at the clock's time): history stays, so "approved since when" and "which
# policy said so" stay answerable. ``document`` is the whole decision with its reasons
# (``evaluate.policy.model.Decision``); the columns beside it are for queries.
image_verdicts = Table(
    "image_verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(100), nullable=False),
    Column("index_digest", String(100), nullable=True),
    Column("reference", Text, nullable=False),
    Column("repository", String(255), nullable=True),
    Column("tag", String(255), nullable=True),
    Column("platform", String(64), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("evaluated_at", UtcDateTime(), nullable=False),
    Column("policy_name", String(255), nullable=False),
    Column("policy_digest", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("grade", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Index("ix_image_verdicts_digest_time", "digest", "decided_at"),
    Index("ix_image_verdicts_repository_tag", "repository", "tag"),
)

# Severity by alias looks records up by id alone (``CVE-...``), across sources.
Index("ix_vuln_records_record_id", vuln_records.c.record_id)
