"""A run's re-match asks the database once per package for all its batches, and finds what
matching each image afresh finds.

``Engine.match_stored`` matches stored SBOMs in batches, each in its own read snapshot. The
advisory lookups, verdicts and KEV answers carry over from batch to batch while the
database state is the same (``vulndb.scan.SharedAdvisories``); a database change between
two batches (here a KEV update, as CISA publishes them) must be seen by the next one. The
record is real (ALPINE-CVE-2025-26519: musl, one ``affected`` entry per Alpine branch with
its own fix), the packages are the fixtures' real Alpine database (musl and musl-utils
1.2.3-r0, affected on every branch the record names, fixed in a different version on
each), the catalog is
the real KEV fixture; a copy of it lists the record's CVE, as the run test does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import imagetrust.pipeline.engine as engine_module
from imagetrust.clock import Clock
from imagetrust.config import Settings
from imagetrust.paths import HomeLayout
from imagetrust.pipeline.analysis import image_analyser
from imagetrust.pipeline.context import PipelineContext
from imagetrust.pipeline.engine import Counters, RunObserver
from imagetrust.sbom.catalogers.apk import parse_apk_installed
from imagetrust.sbom.models import ImageFacts, ImageSbom, OsRelease
from imagetrust.sbom.stored import save_sbom
from imagetrust.store.database import Store
from imagetrust.vulndb import kev, query
from imagetrust.vulndb.findings_store import finding_items, finding_set_history
from imagetrust.vulndb.importer import import_path
from imagetrust.vulndb.kev import import_kev_file
from imagetrust.vulndb.scan import scan_sboms
from tests.pipeline.stored_pass import run_stored_pass
from tests.pipeline.world import KEV_CATALOG, kev_catalog_listing

FIXTURES = Path(__file__).parent.parent / "fixtures"
RECORD = FIXTURES / "vulndb/boundaries/ALPINE-CVE-2025-26519.json"
INSTALLED = FIXTURES / "rootfs/alpine/lib/apk/db/installed"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
# five images, two per batch: each branch comes back in a later batch
RELEASES = ("3.16.2", "3.17.1", "3.18.0", "3.16.2", "3.17.1")


def context(tmp_path: Path, store_url: str) -> PipelineContext:
    return PipelineContext(
        home=HomeLayout(tmp_path / "home"),
        settings=Settings(),
        clock=Clock.from_text(NOW.isoformat()),
        db_url=store_url,
    )


def alpine_sboms(analyser_version: str) -> list[ImageSbom]:
    sboms = []
    for number, release in enumerate(RELEASES):
        os_release = OsRelease("alpine", release)
        digest = f"sha256:{number + 1:064x}"
        packages = parse_apk_installed(str(INSTALLED), INSTALLED.read_bytes(), os_release)
        sboms.append(
            ImageSbom(
                reference=f"docker.io/library/alpine-{number}:latest",
                digest=digest,
                index_digest=None,
                platform="linux/amd64",
                config_digest=f"sha256:{number + 100:064x}",
                analyser_version=analyser_version,
                os=os_release,
                packages=tuple(packages),
                layers=(),
                facts=ImageFacts(None, (), (), {}, {}),
            )
        )
    return sboms


def run_pass(
    ctx: PipelineContext, store: Store, sboms: Sequence[ImageSbom], observer: RunObserver
) -> Counters:
    """What ``run`` does for images whose SBOMs are stored: plan, then ``match_stored``."""
    done = run_stored_pass(
        ctx, store, [(s.reference, s.digest) for s in sboms], now=NOW, observer=observer
    )
    assert done.planned == len(sboms)
    assert done.missing == []
    return done.counters


@pytest.fixture
def stored(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[PipelineContext, Store, list[ImageSbom]]]:
    """Five stored SBOMs, matched once before the database held anything (the earlier
    run), then the record and the real KEV catalog imported: the next run re-matches."""
    monkeypatch.setattr(engine_module, "MATCH_BATCH", 2)
    ctx = context(tmp_path, store_url)
    sboms = alpine_sboms(image_analyser(ctx).version)
    with ctx.open_store() as store:
        with store.transaction() as conn:
            for sbom in sboms:
                save_sbom(conn, sbom, NOW)
        assert run_pass(ctx, store, sboms, RunObserver()).new == len(sboms)
        import_path(store, RECORD, now=NOW)
        import_kev_file(store, KEV_CATALOG, now=NOW)
        yield ctx, store, sboms


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Record the arguments of every call of ``module.name`` (looked up when called)."""
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def newest_items(store: Store, digest: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        return finding_items(conn, finding_set_history(conn, digest)[-1].id)


def test_a_rematch_asks_once_per_package_for_all_batches_and_finds_what_a_fresh_match_finds(
    stored: tuple[PipelineContext, Store, list[ImageSbom]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagetrust.evaluate.vulns import _oldest_fixable_days, vulnerability_evidence

    ctx, store, sboms = stored
    lookups = spy(monkeypatch, query, "affected_records")
    related = spy(monkeypatch, kev, "_related")
    assert run_pass(ctx, store, sboms, RunObserver()).rematched == len(sboms)
    monkeypatch.undo()
    # every (release, package) asked of the index once, though the branches recur in
    # later batches; each finding's record asked for its related CVEs once
    asked = Counter((ecosystem, name) for ecosystem, name in lookups)
    assert asked[("Alpine:v3.16", "musl")] == 1 and max(asked.values()) == 1
    assert set(asked) >= {(f"Alpine:v{r.rsplit('.', 1)[0]}", "musl") for r in RELEASES}
    assert Counter(i for (ids,) in related for i in ids) == {"ALPINE-CVE-2025-26519": 1}
    for sbom in sboms:
        # the stored findings are those of matching the image alone, afresh
        with store.read() as conn:
            [alone] = scan_sboms(conn, [sbom])
            evidence = vulnerability_evidence(conn, sbom, NOW)
        items = newest_items(store, sbom.digest)
        assert items == [f.as_dict() for f in alone.findings]
        assert [(i["id"], i["package"]) for i in items] == [
            ("ALPINE-CVE-2025-26519", "musl"),
            ("ALPINE-CVE-2025-26519", "musl-utils"),  # built from musl too
        ]
        # the evidence reads the fixable findings only; the age is the same as from all
        assert evidence.oldest_fixable_days == _oldest_fixable_days(items, NOW) is not None
    fixes = {
        release: newest_items(store, sbom.digest)[0]["fixed_version"]
        for release, sbom in zip(RELEASES, sboms, strict=True)
    }
    assert fixes == {"3.16.2": "1.2.3-r4", "3.17.1": "1.2.3-r6", "3.18.0": "1.2.4-r3"}


class ImportAfterFirstBatch(RunObserver):
    """A KEV update lands between the first and the second batch of the re-match."""

    def __init__(self, store: Store, catalog: Path) -> None:
        self.store = store
        self.catalog = catalog
        self.batches = 0

    def stage(self, name: str, done: int, total: int | None) -> None:
        if name == "match":
            self.batches += 1
            if self.batches == 1:
                import_kev_file(self.store, self.catalog, now=NOW)


def test_a_database_change_between_batches_is_seen_by_the_next_batch(
    stored: tuple[PipelineContext, Store, list[ImageSbom]], tmp_path: Path
) -> None:
    ctx, store, sboms = stored
    updated = kev_catalog_listing("CVE-2025-26519", tmp_path / "kev.json")
    observer = ImportAfterFirstBatch(store, updated)
    assert run_pass(ctx, store, sboms, observer).rematched == len(sboms)
    assert observer.batches == 3
    flagged = [
        [(i["id"], (i["known_exploited"] or {}).get("cve")) for i in newest_items(store, s.digest)]
        for s in sboms
    ]
    before = [("ALPINE-CVE-2025-26519", None)] * 2  # musl and musl-utils
    after = [("ALPINE-CVE-2025-26519", "CVE-2025-26519")] * 2
    assert flagged == [before, before, after, after, after]
