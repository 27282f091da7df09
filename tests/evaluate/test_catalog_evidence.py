"""Deprecation, tag support, staleness and popularity: the catalog as of the clock.

The catalog comes from the real library files and docs (the issue's table), or from
snapshots recorded here with the catalog's own code; images are built here. Expected
values are the facts the test put in (dates, digests, pull counts) and arithmetic on them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imagetrust.catalog.assemble import assemble
from imagetrust.catalog.models import (
    DeprecationKind,
    DocsInfo,
    HubRepository,
    HubTag,
    HubTagImage,
    LibraryEntry,
    LibraryManifest,
)
from imagetrust.catalog.snapshots import record_snapshot
from imagetrust.evaluate.eol import bundled_eol_data
from imagetrust.evaluate.evidence import EvaluationContext, evaluate_image
from imagetrust.evaluate.models import Evidence, Subject
from imagetrust.evaluate.stored import evidence_history, latest_evidence, save_evidence
from imagetrust.sbom.models import ImageSbom
from imagetrust.store.database import Store
from imagetrust.testkit.builder import ImageSpec, Layer, build_image, build_multiplatform
from tests.evaluate.helpers import FIXTURES, ROOTFS, analyse, cli_json, layout, store_analysis

DAY0 = datetime(2026, 9, 1, tzinfo=UTC)
CREATED = datetime(2024, 1, 1, tzinfo=UTC)  # the builder's default config "created"


def manifest(name: str, *tags: str) -> LibraryManifest:
    return LibraryManifest(
        name=name, path=f"library/{name}", maintainers=(), entries=(LibraryEntry(tags=tags),)
    )


def hub(name: str, pulls: int | None) -> HubRepository:
    return HubRepository("library", name, f"{name} image", None, pulls, None, None, None)


def snapshot(
    store: Store,
    when: datetime,
    library: LibraryManifest,
    *,
    pulls: int | None = None,
    docs: DocsInfo | None = None,
    tags: list[HubTag] | None = None,
) -> None:
    name = library.name
    entries = assemble({name: library}, {name: docs} if docs else {}, {name: hub(name, pulls)})
    with store.transaction() as conn:
        record_snapshot(
            conn, entries, now=when, sources={}, tags={name: tags} if tags is not None else None
        )


def evaluate(store: Store, sbom: ImageSbom, subject: Subject, now: datetime) -> Evidence:
    context = EvaluationContext(now=now, eol_data=bundled_eol_data())
    with store.transaction() as conn:
        evidence = evaluate_image(conn, sbom, context, subject=subject)
        save_evidence(conn, evidence)
    return evidence


@pytest.fixture(scope="module")
def index_sbom(tmp_path_factory: pytest.TempPathFactory) -> ImageSbom:
    """linux/amd64 of a two-platform index."""
    folder = tmp_path_factory.mktemp("index")
    (sbom,) = analyse(layout(build_multiplatform([Layer.from_dir(ROOTFS / "alpine")]), folder))
    assert sbom.index_digest is not None
    return sbom


@pytest.fixture(scope="module")
def single_sbom(tmp_path_factory: pytest.TempPathFactory) -> ImageSbom:
    folder = tmp_path_factory.mktemp("single")
    built = build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")], labels={"s": "1"}))
    (sbom,) = analyse(layout(built, folder))
    assert sbom.index_digest is None
    return sbom


# --- the real catalog through the command line ----------------------------------------------


@pytest.mark.parametrize(
    ("as_name", "state", "published", "tag_supported", "reason_part"),
    [
        ("emqx:5.8", "deprecated", True, True, "5.8 is in the library file"),
        ("unit:1.34", "deprecated", False, False, "the library file lists no tags"),
        ("alpine:3.16", "active", True, False, "3.16 is no longer in the library file"),
        ("nextcloud:latest", "active", True, True, "latest is in the library file"),
    ],
)
def test_the_real_catalog_as_evidence(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_name: str,
    state: str,
    published: bool,
    tag_supported: bool,
    reason_part: str,
) -> None:
    home = tmp_path / "home"
    base = ["--home", str(home), "--now", "2026-08-22"]
    code, _, err = cli_json(
        capsys,
        *base,
        "catalog",
        "--offline",
        "--library-dir",
        str(FIXTURES / "official-images"),
        "--docs-dir",
        str(FIXTURES / "docs"),
    )
    assert code == 0, err
    ref = layout(build_image(ImageSpec(layers=[Layer.from_dir(ROOTFS / "alpine")])), tmp_path / "i")
    store_analysis(f"sqlite:///{home / 'imagetrust.db'}", ref)
    code, doc, err = cli_json(capsys, *base, "evaluate", ref, "--as", as_name)
    assert code == 0, err
    (evidence,) = doc["images"]
    assert (evidence["deprecation"]["state"], evidence["deprecation"]["published"]) == (
        state,
        published,
    )
    assert evidence["deprecation"]["since"] == "2026-08-22T00:00:00Z"
    assert evidence["tag_support"]["supported"] is tag_supported
    assert reason_part in evidence["tag_support"]["reason"]
    # the link is kept: evaluating the same image later needs no --as
    code, doc, err = cli_json(capsys, *base, "evaluate", ref)
    assert code == 0, err
    name, _, tag = as_name.partition(":")
    assert doc["images"][0]["subject"]["repository"] == name
    assert doc["images"][0]["subject"]["tag"] == tag


def test_as_needs_refs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli_json(capsys, "--home", str(tmp_path), "evaluate", "--as", "debian:12")
    assert code == 2 and "--as needs the REFs" in err


# --- as of the clock ----------------------------------------------------------------------


def test_a_tag_that_drops_out_of_the_library_file(store_url: str, index_sbom: ImageSbom) -> None:
    subject = Subject("alpine", "3.16")
    with Store.open(store_url) as store:
        snapshot(store, DAY0, manifest("alpine", "3.16", "3.17"))
        snapshot(store, DAY0 + timedelta(days=10), manifest("alpine", "3.17"))
        before = evaluate(store, index_sbom, subject, DAY0 + timedelta(days=5))
        after = evaluate(store, index_sbom, subject, DAY0 + timedelta(days=12))
    assert before.tag_support.supported is True
    assert after.tag_support.supported is False
    assert "no longer in the library file" in after.tag_support.reason


def test_deprecation_as_of_the_clock_with_its_start(store_url: str, index_sbom: ImageSbom) -> None:
    retired = DocsInfo("java", DeprecationKind.DEPRECATED, "This image is deprecated.")
    with Store.open(store_url) as store:
        snapshot(store, DAY0, manifest("java", "8"))
        snapshot(store, DAY0 + timedelta(days=10), manifest("java", "8"), docs=retired)
        snapshot(store, DAY0 + timedelta(days=20), manifest("java"), docs=retired)
        early = evaluate(store, index_sbom, Subject("java", "8"), DAY0 + timedelta(days=5))
        middle = evaluate(store, index_sbom, Subject("java", "8"), DAY0 + timedelta(days=15))
        late = evaluate(store, index_sbom, Subject("java", "8"), DAY0 + timedelta(days=25))
    assert (early.deprecation.state, early.deprecation.published) == ("active", True)
    assert (middle.deprecation.state, middle.deprecation.published) == ("deprecated", True)
    assert (late.deprecation.state, late.deprecation.published) == ("deprecated", False)
    assert middle.deprecation.since == late.deprecation.since == DAY0 + timedelta(days=10)
    assert late.deprecation.snapshot_at == DAY0 + timedelta(days=20)


def test_not_in_the_catalog_is_unknown(store_url: str, index_sbom: ImageSbom) -> None:
    with Store.open(store_url) as store:
        nothing = evaluate(store, index_sbom, Subject("alpine", "3"), DAY0)
        snapshot(store, DAY0, manifest("debian", "12"))
        other = evaluate(store, index_sbom, Subject("alpine", "3"), DAY0)
    for evidence in (nothing, other):
        assert evidence.deprecation.state == "unknown"
        assert evidence.tag_support.supported is None
        assert evidence.popularity.trend == "unknown"
    assert "no catalog snapshot" in nothing.deprecation.reason
    assert "not in the catalog snapshot" in other.deprecation.reason


# --- staleness ----------------------------------------------------------------------------


def tag(name: str, digest: str, pushed: datetime, images: tuple[HubTagImage, ...] = ()) -> HubTag:
    return HubTag(name, digest, pushed, pushed, "active", images)


def test_staleness_follows_the_tag(store_url: str, index_sbom: ImageSbom) -> None:
    rebuilt = build_multiplatform([Layer.from_dir(ROOTFS / "alpine")], labels={"rebuilt": "1"})
    pushed = DAY0 - timedelta(days=3)
    repushed = DAY0 + timedelta(days=1)
    now = DAY0 + timedelta(days=7)
    assert index_sbom.index_digest is not None
    with Store.open(store_url) as store:
        snapshot(
            store, DAY0, manifest("alpine", "3"), tags=[tag("3", index_sbom.index_digest, pushed)]
        )
        current = evaluate(store, index_sbom, Subject("alpine", "3"), now)
        snapshot(
            store,
            DAY0 + timedelta(days=2),
            manifest("alpine", "3"),
            tags=[tag("3", rebuilt.index.digest, repushed)],
        )
        old = evaluate(store, index_sbom, Subject("alpine", "3"), now)
    assert (current.staleness.lags, current.staleness.days_since_push) == (False, 10)
    assert (old.staleness.lags, old.staleness.current_digest) == (True, rebuilt.index.digest)
    assert old.staleness.days_since_push == 6
    assert old.staleness.image_created == CREATED
    assert old.staleness.image_age_days == (now - CREATED).days


def test_staleness_of_a_single_platform_image_uses_its_platform_digest(
    store_url: str, single_sbom: ImageSbom
) -> None:
    """Docker Hub's tag digest is the index's; the per-platform digest is the one to match."""
    other_index = "sha256:" + "e" * 64
    mine = HubTagImage("amd64", "linux", None, single_sbom.digest, 1)
    theirs = HubTagImage("arm64", "linux", "v8", "sha256:" + "f" * 64, 1)
    with Store.open(store_url) as store:
        snapshot(
            store,
            DAY0,
            manifest("alpine", "3"),
            tags=[tag("3", other_index, DAY0, (theirs, mine))],
        )
        evidence = evaluate(store, single_sbom, Subject("alpine", "3"), DAY0)
    assert (evidence.staleness.lags, evidence.staleness.current_digest) == (
        False,
        single_sbom.digest,
    )


def test_no_hub_tag_data_leaves_the_tag_questions_open(
    store_url: str, index_sbom: ImageSbom
) -> None:
    with Store.open(store_url) as store:
        snapshot(store, DAY0, manifest("alpine", "3"))
        evidence = evaluate(store, index_sbom, Subject("alpine", "3"), DAY0)
    assert evidence.staleness.lags is None and evidence.staleness.days_since_push is None
    assert evidence.staleness.image_age_days == (DAY0 - CREATED).days


# --- popularity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "trend"),
    [
        ((1_000, 4_000, 10_000), "rising"),  # 100 then 200 pulls a day
        ((1_000, 7_000, 10_000), "falling"),  # 200 then 100
        ((1_000, 4_000, 7_300), "steady"),  # 100 then 110: within 10 %
        ((1_000, 4_000, 3_000), "unknown"),  # the counter went down
        ((None, None, 10_000), "unknown"),  # one count only
    ],
)
def test_popularity_trend(
    store_url: str, index_sbom: ImageSbom, counts: tuple[int | None, ...], trend: str
) -> None:
    with Store.open(store_url) as store:
        for days, count in zip((0, 30, 60), counts, strict=True):
            snapshot(store, DAY0 + timedelta(days=days), manifest("nginx", "1"), pulls=count)
        evidence = evaluate(store, index_sbom, Subject("nginx", "1"), DAY0 + timedelta(days=60))
    popularity = evidence.popularity
    assert (popularity.trend, popularity.pull_count) == (trend, counts[-1])
    if trend in ("rising", "falling", "steady"):
        first, middle, last = (c for c in counts if c is not None)
        assert popularity.pulls_per_day == round((last - middle) / 30, 1)
        assert popularity.previous_pulls_per_day == round((middle - first) / 30, 1)


# --- the store ----------------------------------------------------------------------------


def test_evidence_is_kept_per_evaluation(store_url: str, index_sbom: ImageSbom) -> None:
    with Store.open(store_url) as store:
        snapshot(store, DAY0, manifest("alpine", "3"))
        first = evaluate(store, index_sbom, Subject("alpine", "3"), DAY0)
        evaluate(store, index_sbom, Subject("alpine", "3"), DAY0)  # the same run again
        second = evaluate(store, index_sbom, Subject("alpine", "3"), DAY0 + timedelta(days=1))
        with store.read() as conn:
            history = list(evidence_history(conn, index_sbom.digest))
            (latest,) = latest_evidence(conn, index_sbom.digest)
    assert history == [first, second]
    assert latest == second


def test_popularity_as_of_the_clock(store_url: str, index_sbom: ImageSbom) -> None:
    with Store.open(store_url) as store:
        for days, count in ((0, 1_000), (30, 4_000), (60, 10_000)):
            snapshot(store, DAY0 + timedelta(days=days), manifest("nginx", "1"), pulls=count)
        evidence = evaluate(store, index_sbom, Subject("nginx", "1"), DAY0 + timedelta(days=45))
    assert evidence.popularity.pull_count == 4_000
    assert evidence.popularity.as_of == DAY0 + timedelta(days=30)
    assert evidence.popularity.pulls_per_day == 100.0
