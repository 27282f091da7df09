"""Tag history: every (tag, platform) -> digest observation is kept with its time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from imagetrust.catalog.models import CatalogEntry, HubTag, HubTagImage, RepoState
from imagetrust.catalog.snapshots import record_snapshot
from imagetrust.sbom.stored import stored_sboms
from imagetrust.store.database import Store
from imagetrust.store.schema import image_sboms, tag_history
from imagetrust.store.tags import digest_at, tag_observations

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def digest(label: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def entry(name: str) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        state=RepoState.ACTIVE,
        state_reason="library file",
        notice=None,
        supported_tags=("3.12",),
        tag_count=1,
        architectures=("amd64",),
        pull_count=10,
        last_updated=None,
        categories=(),
        description=None,
    )


def hub_tag(index: str, amd64: str) -> HubTag:
    return HubTag(
        name="3.12",
        digest=index,
        last_updated=None,
        tag_last_pushed=None,
        tag_status="active",
        images=(
            HubTagImage("amd64", "linux", None, amd64, 1000),
            HubTagImage("unknown", "unknown", None, digest("attestation"), 10),
        ),
    )


def test_a_moving_tag_keeps_every_digest_it_had_with_its_time(store_url: str) -> None:
    # The Hub listing says A, A, B, then A again (a rollback): four catalog refreshes.
    seen = ["A", "A", "B", "A"]
    with Store.open(store_url) as store:
        for day, label in enumerate(seen):
            tags = {"python": [hub_tag(digest(label), digest(f"{label}-amd64"))]}
            with store.transaction() as conn:
                record_snapshot(conn, [entry("python")], now=T0 + day * DAY, sources={}, tags=tags)
        with store.read() as conn:
            spans = tag_observations(conn, "python", "3.12")
            platform = tag_observations(conn, "python", "3.12", platform="linux/amd64")
            answers = {
                day: digest_at(conn, "python", "3.12", T0 + day * DAY + timedelta(hours=1))
                for day in range(4)
            }
            before = digest_at(conn, "python", "3.12", T0 - DAY)
            attestations = conn.execute(
                select(tag_history).where(tag_history.c.platform.like("unknown%"))
            ).all()
    assert [(s.digest, s.first_seen, s.last_seen) for s in spans] == [
        (digest("A"), T0, T0 + DAY),
        (digest("B"), T0 + 2 * DAY, T0 + 2 * DAY),
        (digest("A"), T0 + 3 * DAY, T0 + 3 * DAY),
    ]
    assert [s.digest for s in platform] == [digest(f"{x}-amd64") for x in ("A", "B", "A")]
    assert {day: a.digest if a else None for day, a in answers.items()} == {
        day: digest(label) for day, label in enumerate(seen)
    }
    assert before is None and attestations == []


def test_catalog_tags_at_0005_become_the_first_observations(store_url: str) -> None:
    """0006 adds tables only; what repository_tags knew is copied into the history, and
    what earlier stages stored (SBOMs, runs) is untouched."""
    when = datetime(2026, 2, 1, tzinfo=UTC)
    images = [
        {"architecture": "amd64", "os": "linux", "variant": None, "digest": digest("m1")},
        {"architecture": "arm64", "os": "linux", "variant": "v8", "digest": digest("m2")},
        {"architecture": "unknown", "os": "unknown", "variant": None, "digest": digest("att")},
        {"architecture": "amd64", "os": "windows", "variant": None, "digest": None},
    ]
    with Store.open(store_url, migrate=False) as store:
        store.upgrade("0005")
        with store.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO repositories (id, registry, namespace, name, first_seen,"
                    " last_seen) VALUES (7, 'docker.io', 'library', 'python', :t, :t)"
                ),
                {"t": when},
            )
            conn.execute(
                text(
                    "INSERT INTO repository_tags (repository_id, name, digest, supported, images,"
                    " first_seen, last_seen) VALUES (7, '3.12', :d, true, :i, :t, :t)"
                ),
                {"d": digest("index"), "i": json.dumps(images), "t": when},
            )
            conn.execute(
                text(
                    "INSERT INTO repository_tags (repository_id, name, digest, supported, images,"
                    " first_seen, last_seen) VALUES (7, 'old', NULL, false, '[]', :t, :t)"
                ),
                {"t": when},
            )
            conn.execute(
                text(
                    "INSERT INTO image_sboms (digest, analyser_version, reference, platform,"
                    " package_count, document, created_at) VALUES"
                    " (:d, 'v1', 'python:3.12', 'linux/amd64', 0, :doc, :t)"
                ),
                {"d": digest("m1"), "doc": json.dumps({"broken": True}), "t": when},
            )
        store.upgrade()
        with store.read() as conn:
            rows = conn.execute(
                select(tag_history.c.tag, tag_history.c.platform, tag_history.c.digest)
            ).all()
            found = digest_at(conn, "python", "3.12", when)
            amd64 = digest_at(conn, "python", "3.12", when, platform="linux/amd64")
            kept = conn.execute(select(image_sboms.c.digest)).scalars().all()
            assert list(stored_sboms(conn)) == []  # the broken document is still skipped
    assert sorted(rows) == [
        ("3.12", "*", digest("index")),
        ("3.12", "linux/amd64", digest("m1")),
        ("3.12", "linux/arm64/v8", digest("m2")),
    ]
    assert found is not None and (found.digest, found.first_seen) == (digest("index"), when)
    assert amd64 is not None and amd64.digest == digest("m1")
    assert kept == [digest("m1")]
