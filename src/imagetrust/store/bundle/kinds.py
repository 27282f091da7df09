"""Every kind of record a bundle carries: its fields, how it is exported, how it is merged.

One ``Kind`` per table (or per table with the rows that only make sense with it), in
``KINDS``, in the order a merge applies them: a kind may refer to kinds before it (a result
to its run, a finding to its result). A new table is a new record type, an export
function, a merge function and one line in ``KINDS`` (plus a schema version bump in
``format``); dropping a table is removing its line.

**Merging is idempotent and order-independent.** Records are matched on natural keys, never
row ids, and each kind says what happens when both sides hold a record:

- content-addressed rows (platforms of an index, SBOMs) are written once;
- history rows (catalog snapshots, evidence, run errors) are added unless an identical one
  is there; a catalog snapshot is identified by its whole content (a fingerprint), so the
  same snapshot taken by two shards is one snapshot;
- tag history spans of one (repository, tag, platform) are joined with the store's and
  neighbours with the same digest coalesce, as if one store had seen every observation;
- current-state rows (results, Hub tags, observations, repositories) keep the newer one,
  ties broken on content, so merging bundles in any order gives the same store; a result
  carries its findings with it.

So merging the same bundle twice changes nothing, and the N shards of a run merged into an
empty store give the store one unsharded run gives (``tests/store/test_bundles.py``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct
from sqlalchemy import Connection, Select, Table, and_, delete, insert, select, true, update

from imagetrust.store.schema import (
    catalog_snapshots,
    finding_set_items,
    finding_sets,
    image_evidence,
    image_findings,
    image_observations,
    image_platforms,
    image_results,
    image_sboms,
    image_verdicts,
    publisher_sboms,
    repositories,
    repository_snapshots,
    repository_states,
    repository_tags,
    run_errors,
    runs,
    tag_history,
)

Aware = Annotated[datetime, Meta(tz=True)]
Digest = Annotated[str, Meta(max_length=100)]
Name = Annotated[str, Meta(max_length=255)]
PlatformName = Annotated[str, Meta(max_length=64)]
Word = Annotated[str, Meta(max_length=16)]
Text = Annotated[str, Meta(max_length=1 << 20)]
BATCH = 500


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace."""
    return msgspec.json.encode(value, order="sorted")


def fingerprint(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _rows(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    """Rows streamed (a server-side cursor on PostgreSQL), not loaded all at once."""
    yield from conn.execute(query.execution_options(yield_per=BATCH))


class Counts(Struct):
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}


class RecordError(Exception):
    """A record that is well formed but does not fit (refers to something absent)."""


class ExportScope(NamedTuple):
    """What an export covers: rows written at or after ``since`` (everything when None),
    the runs from ``since_run`` on; ``sbom`` stores a document and returns its address."""

    since: datetime | None
    since_run: int | None
    sbom: Callable[[Any], str]


class MergeContext:
    """What the kinds of one merge share: ids given to the bundle's runs and the store's
    repositories, the results the bundle's copies won, and the SBOM documents."""

    def __init__(self, conn: Connection, sbom: Callable[[str], bytes]) -> None:
        self.conn = conn
        self.sbom = sbom
        self.runs: dict[int, int] = {}  # the bundle's run number -> the store's run id
        self.repositories: dict[tuple[str, str, str], int] = {}
        self.won: dict[tuple[str, str], tuple[int, str]] = {}  # result -> (id, status)
        self.counts: dict[str, Counts] = {}

    def count(self, kind: str) -> Counts:
        return self.counts.setdefault(kind, Counts())

    def run_id(self, ref: int | None) -> int | None:
        if ref is None:
            return None
        if ref not in self.runs:
            raise RecordError(f"refers to run {ref}, which the bundle does not hold")
        return self.runs[ref]


# --- runs and their errors -------------------------------------------------------------

RunStatusWord = Literal["succeeded", "partial", "failed", "interrupted"]


class RunRecord(Struct, frozen=True, forbid_unknown_fields=True):
    ref: int  # the run's number in the bundle (its id in the exporting store)
    kind: Annotated[str, Meta(max_length=32)]
    status: RunStatusWord
    started_at: Aware
    finished_at: Aware | None
    parameters: dict[str, Any]
    summary: dict[str, Any] | None
    imagetrust_version: Annotated[str, Meta(max_length=32)]


def _scope_runs(scope: ExportScope) -> Select[Any]:
    query = select(runs).where(runs.c.status != "running").order_by(runs.c.id)
    if scope.since_run is not None:
        query = query.where(runs.c.id >= scope.since_run)
    return query


def export_runs(conn: Connection, scope: ExportScope) -> Iterator[RunRecord]:
    """Finished runs only: a running one would change after the export."""
    for row in _rows(conn, _scope_runs(scope)):
        yield _run_record(row, row.id)


def _run_record(row: Any, ref: int) -> RunRecord:
    return RunRecord(
        ref,
        row.kind,
        row.status,
        row.started_at,
        row.finished_at,
        row.parameters,
        row.summary,
        row.imagetrust_version,
    )


def merge_runs(conn: Connection, records: Iterator[RunRecord], ctx: MergeContext) -> None:
    """A run is the same run when everything recorded about it agrees (the bundle's own
    number aside): two stores' runs that agree in every field are one fact, not two."""
    counts = ctx.count("runs")
    for record in records:
        if record.ref in ctx.runs:
            raise RecordError(f"run {record.ref} appears twice")
        identity = canonical(msgspec.structs.replace(record, ref=0))
        existing = None
        for row in conn.execute(
            select(runs).where(runs.c.kind == record.kind, runs.c.started_at == record.started_at)
        ):
            if row.status != "running" and canonical(_run_record(row, 0)) == identity:
                existing = int(row.id)
                break
        if existing is not None:
            ctx.runs[record.ref] = existing
            counts.unchanged += 1
            continue
        result = conn.execute(
            insert(runs).values(
                **{k: v for k, v in msgspec.structs.asdict(record).items() if k != "ref"}
            )
        )
        assert result.inserted_primary_key is not None
        run_id = int(result.inserted_primary_key[0])
        ctx.runs[record.ref] = run_id
        counts.added += 1


class ErrorRecord(Struct, frozen=True, forbid_unknown_fields=True):
    run: int
    stage: Annotated[str, Meta(max_length=32)]
    item: Text
    message: Text
    occurred_at: Aware


def export_errors(conn: Connection, scope: ExportScope) -> Iterator[ErrorRecord]:
    ids = _scope_runs(scope).with_only_columns(runs.c.id)
    query = select(run_errors).where(run_errors.c.run_id.in_(ids)).order_by(run_errors.c.id)
    for row in _rows(conn, query):
        yield ErrorRecord(row.run_id, row.stage, row.item, row.message, row.occurred_at)


def merge_errors(conn: Connection, records: Iterator[ErrorRecord], ctx: MergeContext) -> None:
    counts = ctx.count("errors")
    known: dict[int, set[tuple[Any, ...]]] = {}
    for record in records:
        run_id = ctx.run_id(record.run)
        assert run_id is not None
        if run_id not in known:
            known[run_id] = {
                (r.stage, r.item, r.message, r.occurred_at)
                for r in conn.execute(select(run_errors).where(run_errors.c.run_id == run_id))
            }
        key = (record.stage, record.item, record.message, record.occurred_at)
        if key in known[run_id]:
            counts.unchanged += 1
            continue
        known[run_id].add(key)
        conn.execute(
            insert(run_errors).values(
                run_id=run_id,
                stage=record.stage,
                item=record.item,
                message=record.message,
                occurred_at=record.occurred_at,
            )
        )
        counts.added += 1


# --- repositories ----------------------------------------------------------------------


class RepoRef(Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    registry: Name
    namespace: Name
    name: Name

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.registry, self.namespace, self.name)


class RepositoryRecord(Struct, frozen=True, forbid_unknown_fields=True):
    repository: RepoRef
    first_seen: Aware
    last_seen: Aware


def _repository_refs(conn: Connection) -> dict[int, RepoRef]:
    return {
        row.id: RepoRef(row.registry, row.namespace, row.name)
        for row in conn.execute(select(repositories))
    }


def _since(column: Any, scope: ExportScope) -> Any:
    return column >= scope.since if scope.since is not None else true()


def export_repositories(conn: Connection, scope: ExportScope) -> Iterator[RepositoryRecord]:
    query = select(repositories).where(_since(repositories.c.last_seen, scope))
    for row in _rows(conn, query.order_by(repositories.c.id)):
        yield RepositoryRecord(
            RepoRef(row.registry, row.namespace, row.name), row.first_seen, row.last_seen
        )


def repository_id(ctx: MergeContext, ref: RepoRef, first: datetime, last: datetime) -> int:
    """The store's id for ``ref``, widening its first and last seen; added if new."""
    r = repositories
    where = and_(r.c.registry == ref.registry, r.c.namespace == ref.namespace, r.c.name == ref.name)
    row = ctx.conn.execute(select(r.c.id, r.c.first_seen, r.c.last_seen).where(where)).first()
    counts = ctx.count("repositories")
    if row is None:
        result = ctx.conn.execute(
            insert(r).values(
                registry=ref.registry,
                namespace=ref.namespace,
                name=ref.name,
                first_seen=first,
                last_seen=last,
            )
        )
        assert result.inserted_primary_key is not None
        ctx.repositories[ref.key] = int(result.inserted_primary_key[0])
        counts.added += 1
        return ctx.repositories[ref.key]
    ctx.repositories[ref.key] = int(row.id)
    if first < row.first_seen or last > row.last_seen:
        ctx.conn.execute(
            update(r)
            .where(r.c.id == row.id)
            .values(first_seen=min(first, row.first_seen), last_seen=max(last, row.last_seen))
        )
        counts.updated += 1
    return int(row.id)


def known_repository(ctx: MergeContext, ref: RepoRef, when: datetime) -> int:
    """A repository another record names: known already, else added as seen ``when``."""
    found = ctx.repositories.get(ref.key)
    return found if found is not None else repository_id(ctx, ref, when, when)


def merge_repositories(
    conn: Connection, records: Iterator[RepositoryRecord], ctx: MergeContext
) -> None:
    counts = ctx.count("repositories")
    for record in records:
        before = counts.added + counts.updated
        repository_id(ctx, record.repository, record.first_seen, record.last_seen)
        if counts.added + counts.updated == before:
            counts.unchanged += 1


# --- catalog snapshots (with each repository's entry and the state changes they made) ---


class CatalogEntryRecord(Struct, frozen=True, forbid_unknown_fields=True):
    repository: RepoRef
    state: Word
    state_reason: Text
    notice: Text | None
    supported_tags: list[str]
    tag_count: int | None
    architectures: list[str]
    pull_count: int | None
    star_count: int | None
    last_updated: Aware | None
    categories: list[str]
    description: Text | None
    github_repo: Text | None
    sources: list[str]
    published: bool


class StateRecord(Struct, frozen=True, forbid_unknown_fields=True):
    repository: RepoRef
    state: Word
    reason: Text
    since: Aware
    published: bool | None


class CatalogRecord(Struct, frozen=True, forbid_unknown_fields=True):
    run: int | None
    taken_at: Aware
    sources: dict[str, Any]
    repository_count: int
    entries: list[CatalogEntryRecord]
    states: list[StateRecord]

    def identity(self) -> str:
        """The snapshot's content, whichever run or store took it."""
        return fingerprint(msgspec.structs.replace(self, run=None))


def _snapshot_record(
    conn: Connection, row: Any, refs: dict[int, RepoRef], run: int | None
) -> CatalogRecord:
    rs, st = repository_snapshots, repository_states
    entries = [
        CatalogEntryRecord(
            refs[e.repository_id],
            e.state,
            e.state_reason,
            e.notice,
            list(e.supported_tags),
            e.tag_count,
            list(e.architectures),
            e.pull_count,
            e.star_count,
            e.last_updated,
            list(e.categories),
            e.description,
            e.github_repo,
            list(e.sources),
            bool(e.published),
        )
        for e in conn.execute(select(rs).where(rs.c.snapshot_id == row.id))
    ]
    states = [
        StateRecord(refs[s.repository_id], s.state, s.reason, s.since, s.published)
        for s in conn.execute(select(st).where(st.c.snapshot_id == row.id))
    ]
    entries.sort(key=lambda e: e.repository.key)
    states.sort(key=lambda s: (s.repository.key, s.since, s.state))
    return CatalogRecord(run, row.taken_at, row.sources, row.repository_count, entries, states)


def export_catalog(conn: Connection, scope: ExportScope) -> Iterator[CatalogRecord]:
    refs = _repository_refs(conn)
    exported = {row.id for row in conn.execute(_scope_runs(scope).with_only_columns(runs.c.id))}
    query = select(catalog_snapshots).where(_since(catalog_snapshots.c.taken_at, scope))
    for row in conn.execute(query.order_by(catalog_snapshots.c.id)).all():
        run = row.run_id if row.run_id in exported else None
        yield _snapshot_record(conn, row, refs, run)


def merge_catalog(conn: Connection, records: Iterator[CatalogRecord], ctx: MergeContext) -> None:
    counts = ctx.count("catalog")
    refs = _repository_refs(conn)
    for record in records:
        identity = record.identity()
        same_time = conn.execute(
            select(catalog_snapshots).where(catalog_snapshots.c.taken_at == record.taken_at)
        ).all()
        if any(_snapshot_record(conn, row, refs, None).identity() == identity for row in same_time):
            counts.unchanged += 1
            continue
        result = conn.execute(
            insert(catalog_snapshots).values(
                run_id=ctx.run_id(record.run),
                taken_at=record.taken_at,
                sources=record.sources,
                repository_count=record.repository_count,
            )
        )
        assert result.inserted_primary_key is not None
        snapshot_id = int(result.inserted_primary_key[0])
        for entry in record.entries:
            repo = known_repository(ctx, entry.repository, record.taken_at)
            refs[repo] = entry.repository
            conn.execute(
                insert(repository_snapshots).values(
                    snapshot_id=snapshot_id,
                    repository_id=repo,
                    taken_at=record.taken_at,
                    **{
                        f: getattr(entry, f)
                        for f in entry.__struct_fields__
                        if f not in ("repository",)
                    },
                )
            )
        for state in record.states:
            repo = known_repository(ctx, state.repository, record.taken_at)
            same = conn.execute(
                select(repository_states.c.id).where(
                    repository_states.c.repository_id == repo,
                    repository_states.c.state == state.state,
                    repository_states.c.reason == state.reason,
                    repository_states.c.since == state.since,
                )
            ).first()
            if same is None:
                conn.execute(
                    insert(repository_states).values(
                        repository_id=repo,
                        state=state.state,
                        reason=state.reason,
                        since=state.since,
                        published=state.published,
                        snapshot_id=snapshot_id,
                    )
                )
        counts.added += 1


# --- the Hub's tag listing (current state per repository and tag) -----------------------


class HubTagRecord(Struct, frozen=True, forbid_unknown_fields=True):
    repository: RepoRef
    name: Name
    digest: Digest | None
    supported: bool
    last_updated: Aware | None
    tag_last_pushed: Aware | None
    tag_status: Annotated[str, Meta(max_length=32)] | None
    full_size: int | None
    images: list[Any]
    first_seen: Aware
    last_seen: Aware


_HUB_VALUES = (
    "digest",
    "supported",
    "last_updated",
    "tag_last_pushed",
    "tag_status",
    "full_size",
    "images",
    "last_seen",
)


def export_hub_tags(conn: Connection, scope: ExportScope) -> Iterator[HubTagRecord]:
    refs = _repository_refs(conn)
    t = repository_tags
    for row in _rows(conn, select(t).where(_since(t.c.last_seen, scope)).order_by(t.c.id)):
        yield HubTagRecord(
            refs[row.repository_id],
            row.name,
            row.digest,
            row.supported,
            row.last_updated,
            row.tag_last_pushed,
            row.tag_status,
            row.full_size,
            list(row.images or []),
            row.first_seen,
            row.last_seen,
        )


def _newer(incoming: tuple[Any, bytes], existing: tuple[Any, bytes]) -> bool:
    """Whether the incoming copy of a current-state row replaces the store's: the later
    one, and between two of the same time the greater content, so order never matters."""
    return incoming > existing


def merge_hub_tags(conn: Connection, records: Iterator[HubTagRecord], ctx: MergeContext) -> None:
    counts = ctx.count("hub-tags")
    t = repository_tags
    for record in records:
        repo = known_repository(ctx, record.repository, record.first_seen)
        row = conn.execute(select(t).where(t.c.repository_id == repo, t.c.name == record.name))
        existing = row.first()
        values = {name: getattr(record, name) for name in _HUB_VALUES}
        if existing is None:
            conn.execute(
                insert(t).values(
                    repository_id=repo, name=record.name, first_seen=record.first_seen, **values
                )
            )
            counts.added += 1
            continue
        theirs = {name: getattr(existing, name) for name in _HUB_VALUES}
        first = min(existing.first_seen, record.first_seen)
        replace = _newer(
            (record.last_seen, canonical(values)), (existing.last_seen, canonical(theirs))
        )
        if not replace and first == existing.first_seen:
            counts.unchanged += 1
            continue
        conn.execute(
            update(t)
            .where(t.c.id == existing.id)
            .values(first_seen=first, **(values if replace else {}))
        )
        counts.updated += 1


# --- tag history spans -------------------------------------------------------------------


class SpanRecord(Struct, frozen=True, forbid_unknown_fields=True):
    repository: RepoRef
    tag: Name
    platform: PlatformName
    digest: Digest
    source: Word
    first_seen: Aware
    last_seen: Aware


def export_tag_history(conn: Connection, scope: ExportScope) -> Iterator[SpanRecord]:
    refs = _repository_refs(conn)
    h = tag_history
    for row in _rows(conn, select(h).where(_since(h.c.last_seen, scope)).order_by(h.c.id)):
        yield SpanRecord(
            refs[row.repository_id],
            row.tag,
            row.platform,
            row.digest,
            row.source,
            row.first_seen,
            row.last_seen,
        )


Span = tuple[datetime, datetime, str, str]  # first_seen, last_seen, digest, source


def coalesce(spans: Iterable[Span]) -> list[Span]:
    """Spans of one (tag, platform) in time order, neighbours with one digest joined (the
    earlier one's source kept): what one store that had made every observation holds."""
    joined: list[Span] = []
    for first, last, digest, source in sorted(set(spans)):
        if joined and joined[-1][2] == digest:
            previous = joined[-1]
            joined[-1] = (previous[0], max(previous[1], last), digest, previous[3])
        else:
            joined.append((first, last, digest, source))
    return joined


def merge_tag_history(conn: Connection, records: Iterator[SpanRecord], ctx: MergeContext) -> None:
    counts = ctx.count("tag-history")
    h = tag_history
    incoming: dict[tuple[str, str, str], dict[tuple[str, str], list[Span]]] = defaultdict(
        lambda: defaultdict(list)
    )
    seen: dict[tuple[str, str, str], tuple[RepoRef, datetime]] = {}
    for record in records:
        key = record.repository.key
        span = (record.first_seen, record.last_seen, record.digest, record.source)
        incoming[key][(record.tag, record.platform)].append(span)
        seen.setdefault(key, (record.repository, record.first_seen))
    for key, by_tag in incoming.items():
        ref, first_seen = seen[key]
        repo = known_repository(ctx, ref, first_seen)
        stored: dict[tuple[str, str], list[tuple[int, Span]]] = defaultdict(list)
        for row in conn.execute(select(h).where(h.c.repository_id == repo).order_by(h.c.id)):
            span = (row.first_seen, row.last_seen, row.digest, row.source)
            stored[(row.tag, row.platform)].append((row.id, span))
        for (tag, platform), spans in sorted(by_tag.items()):
            have = stored.get((tag, platform), [])
            merged = coalesce([*(span for _, span in have), *spans])
            if merged == coalesce(span for _, span in have):
                counts.unchanged += 1  # the bundle tells nothing the store does not know
                continue
            # Rewritten in time order, so the newest span has the highest id (the one that
            # ``store.tags.observe_digests`` extends).
            ids = [row_id for row_id, _ in have]
            for start in range(0, len(ids), BATCH):
                conn.execute(delete(h).where(h.c.id.in_(ids[start : start + BATCH])))
            conn.execute(
                insert(h),
                [
                    {
                        "repository_id": repo,
                        "tag": tag,
                        "platform": platform,
                        "digest": digest,
                        "source": source,
                        "first_seen": first,
                        "last_seen": last,
                    }
                    for first, last, digest, source in merged
                ],
            )
            if have:
                counts.updated += 1
            else:
                counts.added += 1


# --- image platforms (content-addressed) ----------------------------------------------------


class PlatformRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    platform: PlatformName
    manifest_digest: Digest
    media_type: Name
    size: int
    recorded_at: Aware


def export_platforms(conn: Connection, scope: ExportScope) -> Iterator[PlatformRecord]:
    p = image_platforms
    for row in _rows(conn, select(p).where(_since(p.c.recorded_at, scope)).order_by(p.c.id)):
        yield PlatformRecord(
            row.digest, row.platform, row.manifest_digest, row.media_type, row.size, row.recorded_at
        )


def merge_platforms(conn: Connection, records: Iterator[PlatformRecord], ctx: MergeContext) -> None:
    counts = ctx.count("platforms")
    p = image_platforms
    for record in records:
        exists = conn.execute(
            select(p.c.id).where(p.c.digest == record.digest, p.c.platform == record.platform)
        ).first()
        if exists is not None:
            counts.unchanged += 1
            continue
        conn.execute(insert(p).values(**msgspec.structs.asdict(record)))
        counts.added += 1


# --- SBOMs (the documents are content-addressed files in the bundle) ------------------------


class SbomRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    analyser_version: Annotated[str, Meta(max_length=200)]
    reference: Text
    platform: PlatformName
    os_id: Annotated[str, Meta(max_length=64)] | None
    os_version: Annotated[str, Meta(max_length=64)] | None
    package_count: int
    document: Annotated[str, Meta(pattern="^sha256:[0-9a-f]{64}$")]
    created_at: Aware


def export_sboms(conn: Connection, scope: ExportScope) -> Iterator[SbomRecord]:
    s = image_sboms
    for row in _rows(conn, select(s).where(_since(s.c.created_at, scope)).order_by(s.c.id)):
        yield SbomRecord(
            row.digest,
            row.analyser_version,
            row.reference,
            row.platform,
            row.os_id,
            row.os_version,
            row.package_count,
            scope.sbom(row.document),
            row.created_at,
        )


def merge_sboms(conn: Connection, records: Iterator[SbomRecord], ctx: MergeContext) -> None:
    counts = ctx.count("sboms")
    s = image_sboms
    for record in records:
        exists = conn.execute(
            select(s.c.id).where(
                s.c.digest == record.digest, s.c.analyser_version == record.analyser_version
            )
        ).first()
        if exists is not None:
            counts.unchanged += 1
            continue
        try:
            document = msgspec.json.decode(ctx.sbom(record.document))
        except (msgspec.DecodeError, RecursionError) as exc:
            raise RecordError(f"SBOM {record.document} is not valid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise RecordError(f"SBOM {record.document} is not a JSON object")
        values = msgspec.structs.asdict(record)
        values["document"] = document
        conn.execute(insert(s).values(**values))
        counts.added += 1


# --- results and their findings -------------------------------------------------------------

ResultStatusWord = Literal["analysed", "failed", "not-covered"]
_RANK = {"not-covered": 0, "failed": 1, "analysed": 2}


class ResultRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    platform: PlatformName
    manifest_digest: Digest | None
    status: ResultStatusWord
    reason: Text | None
    analyser_version: Annotated[str, Meta(max_length=200)] | None
    db_versions: list[Any] | None
    counts: dict[str, Any] | None
    package_count: int | None
    attempts: Annotated[int, Meta(ge=0)]
    run: int | None
    first_seen: Aware
    updated_at: Aware

    def rank(self) -> tuple[datetime, int, bytes]:
        body = msgspec.structs.replace(self, run=None, first_seen=self.updated_at)
        return (self.updated_at, _RANK[self.status], canonical(body))


def _scoped_results(scope: ExportScope) -> Select[Any]:
    r = image_results
    return select(r).where(_since(r.c.updated_at, scope))


def export_results(conn: Connection, scope: ExportScope) -> Iterator[ResultRecord]:
    exported = {row.id for row in conn.execute(_scope_runs(scope).with_only_columns(runs.c.id))}
    for row in _rows(conn, _scoped_results(scope).order_by(image_results.c.id)):
        yield _result_record(row, row.run_id if row.run_id in exported else None)


def _result_record(row: Any, run: int | None) -> ResultRecord:
    return ResultRecord(
        row.digest,
        row.platform,
        row.manifest_digest,
        row.status,
        row.reason,
        row.analyser_version,
        row.db_versions,
        row.counts,
        row.package_count,
        row.attempts,
        run,
        row.first_seen,
        row.updated_at,
    )


def merge_results(conn: Connection, records: Iterator[ResultRecord], ctx: MergeContext) -> None:
    """The newer result of an image wins (its findings come with it, next kind)."""
    counts = ctx.count("results")
    r = image_results
    for record in records:
        key = (record.digest, record.platform)
        if key in ctx.won:
            raise RecordError(f"result {record.digest} {record.platform} appears twice")
        row = conn.execute(
            select(r).where(r.c.digest == record.digest, r.c.platform == record.platform)
        ).first()
        values = {
            name: getattr(record, name)
            for name in record.__struct_fields__
            if name not in ("run", "digest", "platform")
        }
        values["run_id"] = ctx.run_id(record.run)
        if row is None:
            result = conn.execute(
                insert(r).values(digest=record.digest, platform=record.platform, **values)
            )
            assert result.inserted_primary_key is not None
            ctx.won[key] = (int(result.inserted_primary_key[0]), record.status)
            counts.added += 1
            continue
        theirs = _result_record(row, None)
        first = min(row.first_seen, record.first_seen)
        if record.rank() > theirs.rank():
            values["first_seen"] = first
            conn.execute(update(r).where(r.c.id == row.id).values(**values))
            ctx.won[key] = (int(row.id), record.status)
            counts.updated += 1
        elif first != row.first_seen:
            conn.execute(update(r).where(r.c.id == row.id).values(first_seen=first))
            counts.updated += 1
        else:
            counts.unchanged += 1


class FindingRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest  # the result's image and platform
    platform: PlatformName
    vuln_id: Name
    package: Annotated[str, Meta(max_length=512)]
    installed_version: Text
    fixed_version: Text | None
    fix_state: Word
    severity: Word
    db_source: Name
    db_version: Annotated[str, Meta(max_length=128)] | None
    detail: dict[str, Any]


def export_findings(conn: Connection, scope: ExportScope) -> Iterator[FindingRecord]:
    r, f = image_results, image_findings
    query = (
        select(f, r.c.digest, r.c.platform)
        .join(r, r.c.id == f.c.result_id)
        .where(_since(r.c.updated_at, scope))
        .order_by(r.c.id, f.c.id)
    )
    for row in _rows(conn, query):
        yield FindingRecord(
            row.digest,
            row.platform,
            row.vuln_id,
            row.package,
            row.installed_version,
            row.fixed_version,
            row.fix_state,
            row.severity,
            row.db_source,
            row.db_version,
            row.detail,
        )


def merge_findings(conn: Connection, records: Iterator[FindingRecord], ctx: MergeContext) -> None:
    """A result the bundle's copy won gets exactly the bundle's findings; an analysed one
    with none is clean. A failed attempt keeps the findings the store had (as ``run``
    keeps them), unless the bundle brings some."""
    counts = ctx.count("findings")
    f = image_findings
    replaced: set[tuple[str, str]] = set()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            conn.execute(insert(f), batch)
            batch.clear()

    for record in records:
        key = (record.digest, record.platform)
        won = ctx.won.get(key)
        if won is None:
            if not _result_exists(conn, key):
                raise RecordError(f"a finding of {key[0]} {key[1]}, a result it does not hold")
            counts.unchanged += 1
            continue
        if key not in replaced:
            flush()
            conn.execute(delete(f).where(f.c.result_id == won[0]))
            replaced.add(key)
        values = msgspec.structs.asdict(record)
        del values["digest"], values["platform"]
        batch.append({"result_id": won[0], **values})
        counts.added += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    for key, (result_id, status) in ctx.won.items():
        if key not in replaced and status == "analysed":
            conn.execute(delete(f).where(f.c.result_id == result_id))


def _result_exists(conn: Connection, key: tuple[str, str]) -> bool:
    r = image_results
    row = conn.execute(select(r.c.id).where(r.c.digest == key[0], r.c.platform == key[1]))
    return row.first() is not None


# --- evidence (history) and observations (current state) --------------------------------


class EvidenceRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    index_digest: Digest | None
    reference: Text
    repository: Name | None
    tag: Name | None
    platform: PlatformName
    evaluated_at: Aware
    os_eol_status: Word
    catalog_state: Word | None
    document: dict[str, Any]


def export_evidence(conn: Connection, scope: ExportScope) -> Iterator[EvidenceRecord]:
    e = image_evidence
    for row in _rows(conn, select(e).where(_since(e.c.evaluated_at, scope)).order_by(e.c.id)):
        yield EvidenceRecord(
            row.digest,
            row.index_digest,
            row.reference,
            row.repository,
            row.tag,
            row.platform,
            row.evaluated_at,
            row.os_eol_status,
            row.catalog_state,
            row.document,
        )


def merge_evidence(conn: Connection, records: Iterator[EvidenceRecord], ctx: MergeContext) -> None:
    """One row per (digest, reference, evaluation time), as ``evaluate`` keeps them; two
    different evaluations at one time (two stores) keep the greater content."""
    _merge_greater(
        conn,
        image_evidence,
        records,
        ctx.count("evidence"),
        ("digest", "reference", "evaluated_at"),
    )


def _merge_greater(
    conn: Connection,
    table: Table,
    records: Iterator[Any],
    counts: Counts,
    key: tuple[str, ...],
) -> None:
    """Rows that are history (evidence, verdicts): one per ``key``; when both sides hold a
    row for it, the greater content wins, so merging is order-independent and idempotent."""
    for record in records:
        mine = canonical(record)
        row = conn.execute(
            select(table).where(*(table.c[name] == getattr(record, name) for name in key))
        ).first()
        if row is not None:
            fields = {n: getattr(row, n) for n in record.__struct_fields__}
            if mine <= canonical(type(record)(**fields)):
                counts.unchanged += 1
                continue
            conn.execute(delete(table).where(table.c.id == row.id))
        conn.execute(insert(table).values(**msgspec.structs.asdict(record)))
        if row is None:
            counts.added += 1
        else:
            counts.updated += 1


class ObservationRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    index_digest: Digest | None
    healthcheck: bool | None
    attestations: list[Any]
    source: Text
    observed_at: Aware


def export_observations(conn: Connection, scope: ExportScope) -> Iterator[ObservationRecord]:
    o = image_observations
    for row in _rows(conn, select(o).where(_since(o.c.observed_at, scope)).order_by(o.c.id)):
        yield ObservationRecord(
            row.digest,
            row.index_digest,
            row.healthcheck,
            list(row.attestations or []),
            row.source,
            row.observed_at,
        )


def merge_observations(
    conn: Connection, records: Iterator[ObservationRecord], ctx: MergeContext
) -> None:
    """One row per (digest, index digest): the later observation wins."""
    counts = ctx.count("observations")
    o = image_observations
    for record in records:
        index = (
            o.c.index_digest.is_(None)
            if record.index_digest is None
            else o.c.index_digest == record.index_digest
        )
        row = conn.execute(select(o).where(o.c.digest == record.digest, index)).first()
        if row is not None:
            theirs = ObservationRecord(**{n: getattr(row, n) for n in record.__struct_fields__})
            if not _newer(
                (record.observed_at, canonical(record)), (theirs.observed_at, canonical(theirs))
            ):
                counts.unchanged += 1
                continue
            conn.execute(delete(o).where(o.c.id == row.id))
        conn.execute(insert(o).values(**msgspec.structs.asdict(record)))
        if row is None:
            counts.added += 1
        else:
            counts.updated += 1


# --- finding sets (history) and verdicts (history) ---------------------------------------


class FindingSetRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    analyser_version: Annotated[str, Meta(max_length=200)]
    db_state: list[Any]
    db_state_key: Annotated[str, Meta(max_length=64)]
    matched_at: Aware
    complete: bool
    incomplete: list[Any]
    coverage: dict[str, Any]
    not_covered: list[Any]
    counts: dict[str, Any]
    known_exploited: list[Any]
    items: list[dict[str, Any]]  # the findings (``Finding.as_dict``)
    engine: Annotated[str, Meta(max_length=32)]  # builtin, or the scanner whose report it is
    packages: list[Any] | None  # another engine's inventory, when it listed one
    engine_detail: dict[str, Any] | None


_SET_ITEM_COLUMNS = (
    "vuln_id",
    "package",
    "installed_version",
    "fixed_version",
    "fix_state",
    "severity",
    "known_exploited",
    "detail",
)


def export_finding_sets(conn: Connection, scope: ExportScope) -> Iterator[FindingSetRecord]:
    f = finding_sets
    rows = _rows(conn, select(f).where(_since(f.c.matched_at, scope)).order_by(f.c.id))
    yield from _finding_set_records(conn, rows)


def merge_finding_sets(
    conn: Connection, records: Iterator[FindingSetRecord], ctx: MergeContext
) -> None:
    """One set per (digest, analyser, engine, database state), as ``scan``, ``run`` and
    ``import`` keep them: the later matching wins (the greater content on a tie), its items
    with it."""
    counts = ctx.count("finding-sets")
    f, i = finding_sets, finding_set_items
    for record in records:
        for item in record.items:
            if not isinstance(item, dict) or set(item) != set(_SET_ITEM_COLUMNS):
                raise RecordError(f"finding set of {record.digest}: a malformed finding")
        row = conn.execute(
            select(f).where(
                f.c.digest == record.digest,
                f.c.analyser_version == record.analyser_version,
                f.c.engine == record.engine,
                f.c.db_state_key == record.db_state_key,
            )
        ).first()
        if row is not None:
            mine = (record.matched_at, canonical(record))
            stored = next(iter(_finding_set_records(conn, [row])))
            if not _newer(mine, (stored.matched_at, canonical(stored))):
                counts.unchanged += 1
                continue
            conn.execute(delete(f).where(f.c.id == row.id))
        values = msgspec.structs.asdict(record)
        items = values.pop("items")
        result = conn.execute(insert(f).values(**values))
        assert result.inserted_primary_key is not None
        set_id = int(result.inserted_primary_key[0])
        if items:
            conn.execute(insert(i), [{"set_id": set_id, **item} for item in items])
        if row is None:
            counts.added += 1
        else:
            counts.updated += 1


def _finding_set_records(conn: Connection, rows: Iterable[Any]) -> Iterator[FindingSetRecord]:
    i = finding_set_items
    for row in rows:
        items = [
            {name: getattr(item, name) for name in _SET_ITEM_COLUMNS}
            for item in conn.execute(select(i).where(i.c.set_id == row.id).order_by(i.c.id))
        ]
        yield FindingSetRecord(
            row.digest,
            row.analyser_version,
            list(row.db_state),
            row.db_state_key,
            row.matched_at,
            bool(row.complete),
            list(row.incomplete),
            dict(row.coverage),
            list(row.not_covered),
            dict(row.counts),
            list(row.known_exploited),
            items,
            row.engine,
            list(row.packages) if row.packages is not None else None,
            dict(row.engine_detail) if row.engine_detail is not None else None,
        )


class PublisherSbomRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    index_digest: Digest | None
    attestation_digest: Digest | None
    statement_digest: Digest | None
    status: Word
    reason: Text | None
    predicate_type: Name | None
    document: dict[str, Any] | None
    packages: list[Any] | None
    read_at: Aware


def export_publisher_sboms(conn: Connection, scope: ExportScope) -> Iterator[PublisherSbomRecord]:
    p = publisher_sboms
    for row in _rows(conn, select(p).where(_since(p.c.read_at, scope)).order_by(p.c.id)):
        yield _publisher_record(row)


def _publisher_record(row: Any) -> PublisherSbomRecord:
    return PublisherSbomRecord(
        **{n: getattr(row, n) for n in PublisherSbomRecord.__struct_fields__}
    )


def merge_publisher_sboms(
    conn: Connection, records: Iterator[PublisherSbomRecord], ctx: MergeContext
) -> None:
    """One row per (digest, index digest, statement) read: what an immutable index attests
    never changes, so the later read wins (the greater content on a tie)."""
    counts = ctx.count("publisher-sboms")
    p = publisher_sboms
    for record in records:
        index = (
            p.c.index_digest.is_(None)
            if record.index_digest is None
            else p.c.index_digest == record.index_digest
        )
        statement = (
            p.c.statement_digest.is_(None)
            if record.statement_digest is None
            else p.c.statement_digest == record.statement_digest
        )
        row = conn.execute(select(p).where(p.c.digest == record.digest, index, statement)).first()
        if row is not None:
            theirs = _publisher_record(row)
            if not _newer((record.read_at, canonical(record)), (theirs.read_at, canonical(theirs))):
                counts.unchanged += 1
                continue
            conn.execute(delete(p).where(p.c.id == row.id))
        conn.execute(insert(p).values(**msgspec.structs.asdict(record)))
        if row is None:
            counts.added += 1
        else:
            counts.updated += 1


class VerdictRecord(Struct, frozen=True, forbid_unknown_fields=True):
    digest: Digest
    index_digest: Digest | None
    reference: Text
    repository: Name | None
    tag: Name | None
    platform: PlatformName
    decided_at: Aware
    evaluated_at: Aware
    policy_name: Name
    policy_digest: Annotated[str, Meta(max_length=64)]
    verdict: Word
    grade: Annotated[str, Meta(max_length=8)]
    score: int
    document: dict[str, Any]


def export_verdicts(conn: Connection, scope: ExportScope) -> Iterator[VerdictRecord]:
    v = image_verdicts
    for row in _rows(conn, select(v).where(_since(v.c.decided_at, scope)).order_by(v.c.id)):
        yield VerdictRecord(**{n: getattr(row, n) for n in VerdictRecord.__struct_fields__})


def merge_verdicts(conn: Connection, records: Iterator[VerdictRecord], ctx: MergeContext) -> None:
    """One row per (digest, reference, decision time, policy), as ``save_decision`` keeps
    them; two different decisions at one time keep the greater content."""
    key = ("digest", "reference", "decided_at", "policy_digest")
    _merge_greater(conn, image_verdicts, records, ctx.count("verdicts"), key)


# --- the registry ---------------------------------------------------------------------------


class Kind(NamedTuple):
    name: str
    record: type[Struct]
    export: Callable[[Connection, ExportScope], Iterator[Any]]
    merge: Callable[[Connection, Iterator[Any], MergeContext], None]


KINDS: tuple[Kind, ...] = (
    Kind("runs", RunRecord, export_runs, merge_runs),
    Kind("errors", ErrorRecord, export_errors, merge_errors),
    Kind("repositories", RepositoryRecord, export_repositories, merge_repositories),
    Kind("catalog", CatalogRecord, export_catalog, merge_catalog),
    Kind("hub-tags", HubTagRecord, export_hub_tags, merge_hub_tags),
    Kind("tag-history", SpanRecord, export_tag_history, merge_tag_history),
    Kind("platforms", PlatformRecord, export_platforms, merge_platforms),
    Kind("sboms", SbomRecord, export_sboms, merge_sboms),
    Kind("results", ResultRecord, export_results, merge_results),
    Kind("findings", FindingRecord, export_findings, merge_findings),
    Kind("evidence", EvidenceRecord, export_evidence, merge_evidence),
    Kind("observations", ObservationRecord, export_observations, merge_observations),
    Kind("finding-sets", FindingSetRecord, export_finding_sets, merge_finding_sets),
    Kind("publisher-sboms", PublisherSbomRecord, export_publisher_sboms, merge_publisher_sboms),
    Kind("verdicts", VerdictRecord, export_verdicts, merge_verdicts),
)
KIND_NAMES = tuple(kind.name for kind in KINDS)
