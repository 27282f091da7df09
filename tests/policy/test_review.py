"""``imagetrust evaluate --view review``: the 2020 review's tables from the store.

The catalog is recorded here with the catalog's own code (two snapshots a month apart) and
the evidence is built by hand (vulnerability counts need the findings the lead stage adds);
every expected row is read off those inputs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagetrust.catalog.assemble import assemble
from imagetrust.catalog.models import (
    DeprecationKind,
    DocsInfo,
    HubRepository,
    LibraryEntry,
    LibraryManifest,
)
from imagetrust.catalog.snapshots import record_snapshot
from imagetrust.cli.main import main
from imagetrust.evaluate.models import (
    EolEvidence,
    EolStatus,
    Evidence,
    StalenessEvidence,
    Subject,
)
from imagetrust.evaluate.stored import save_evidence
from imagetrust.store.database import Store
from tests.policy.helpers import clean_evidence, digest, vulnerabilities

SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
DEPRECATED = "This image is officially deprecated and all users are recommended to move on."


def catalog(
    store: Store, when: datetime, repos: dict[str, tuple[tuple[str, ...], bool, int]]
) -> None:
    """``name: (library tags, deprecated in the docs, pull count)``, one snapshot."""
    library = {
        name: LibraryManifest(
            name=name,
            path=f"library/{name}",
            maintainers=(),
            entries=(LibraryEntry(tags=tags),) if tags else (),
        )
        for name, (tags, _, _) in repos.items()
    }
    docs = {
        name: DocsInfo(name, DeprecationKind.DEPRECATED, DEPRECATED)
        for name, (_, deprecated, _) in repos.items()
        if deprecated
    }
    hub = {
        name: HubRepository("library", name, f"{name} image", None, pulls, None, None, None)
        for name, (_, _, pulls) in repos.items()
    }
    with store.transaction() as conn:
        record_snapshot(conn, assemble(library, docs, hub), now=when, sources={})


def image(repository: str, tag: str, char: str, pushed_day: int, **changes: Any) -> Evidence:
    return clean_evidence(
        reference=f"docker.io/library/{repository}:{tag}",
        subject=Subject(repository, tag),
        digest=digest(char),
        index_digest=None,
        staleness=StalenessEvidence(
            "current", tag_last_pushed=datetime(2026, 9, pushed_day, tzinfo=UTC), days_since_push=1
        ),
        **changes,
    )


ENDED = EolEvidence(
    "os",
    EolStatus.EOL,
    "Debian 10: eoes 2024-06-30",
    product="debian",
    cycle="10",
    eol_date=datetime(2024, 6, 30).date(),
    rule="eoes",
)


@pytest.fixture
def base(tmp_path: Path, store_url: str) -> list[str]:
    with Store.open(store_url) as store:
        catalog(
            store,
            SEPTEMBER,
            {
                "python": (("3.12", "latest"), False, 1000),
                "openjdk": (("26",), True, 500),
                "java": ((), True, 300),
            },
        )
        catalog(
            store,
            OCTOBER,
            {
                "python": (("3.12", "latest"), False, 4000),
                "openjdk": (("26",), True, 400),
                "java": ((), True, 300),
            },
        )
        with store.transaction() as conn:
            for evidence in (
                image(
                    "python",
                    "latest",
                    "1",
                    2,
                    vulnerabilities=vulnerabilities(
                        fixable={"CRITICAL": 1, "HIGH": 3}, unfixed={"LOW": 6}
                    ),
                ),
                image(
                    "python",
                    "3.12",
                    "2",
                    3,
                    os=ENDED,
                    vulnerabilities=vulnerabilities(unfixed={"HIGH": 50}),
                ),
                image("nginx", "1", "3", 1, vulnerabilities=vulnerabilities(unfixed={"LOW": 99})),
                image(
                    "nginx",
                    "1.27",
                    "4",
                    9,
                    vulnerabilities=vulnerabilities(fixable={"HIGH": 9}, unfixed={"MEDIUM": 3}),
                ),
                image("redis", "7", "5", 4, os=ENDED),
                image("node", "22", "6", 4, vulnerabilities=None),
            ):
                save_evidence(conn, evidence)
    return ["--db-url", store_url, "--home", str(tmp_path / "home"), "--now", "2026-10-02"]


def review(base: list[str], capsys: pytest.CaptureFixture[str], *more: str) -> dict[str, Any]:
    code = main([*base, "evaluate", "--offline", "--view", "review", "-f", "json", *more])
    out, err = capsys.readouterr()
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    assert document["kind"] == "review"
    return document


def test_the_review_tables(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    document = review(base, capsys, "--since", "2026-09-01")
    # one row per repository: latest, else the most recently pushed tag (nginx:1.27)
    most = [
        (r["image"], r["tag"], r["total"], r["unfixed"], r["fixable"])
        for r in document["most_vulnerable"]
    ]
    assert most == [
        ("nginx", "1.27", 12, 3, 9),
        ("python", "latest", 10, 6, 4),
        ("redis", "7", 0, 0, 0),
    ]
    assert [(r["image"], r["fixable"]) for r in document["most_fixable"]] == [
        ("nginx", 9),
        ("python", 4),
        ("redis", 0),
    ]
    assert [(r["image"], r["known"]) for r in document["vulnerabilities_unknown"]] == [
        ("node", False)
    ]
    # every evaluated tag on an ended OS, not only the default ones
    assert [(r["image"], r["tag"], r["eol_date"]) for r in document["unsupported_os"]] == [
        ("python", "3.12", "2024-06-30"),
        ("redis", "7", "2024-06-30"),
    ]
    # deprecated and still published: openjdk (library tags), not java (none)
    assert [(r["image"], r["pull_count"]) for r in document["deprecated_published"]] == [
        ("openjdk", 400)
    ]
    assert DEPRECATED.startswith(document["deprecated_published"][0]["notice"])
    pulls = {r["image"]: r for r in document["pulls"]}
    assert (pulls["python"]["base"], pulls["python"]["current"], pulls["python"]["delta"]) == (
        1000,
        4000,
        3000,
    )
    assert pulls["openjdk"]["counter_went_down"] is True and pulls["openjdk"]["delta"] is None
    assert document["pulls"][0]["image"] == "python"


def test_top_limits_the_ranked_tables(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    document = review(base, capsys, "--top", "1")
    assert [r["image"] for r in document["most_vulnerable"]] == ["nginx"]
    assert [r["image"] for r in document["most_fixable"]] == ["nginx"]


def test_the_review_as_tables(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*base, "evaluate", "--offline", "--view", "review", "--since", "2026-09-01"]) == 0
    out = capsys.readouterr().out
    for part in (
        "most fixable vulnerabilities",
        "unsupported OS versions",
        "openjdk",
        "counter went down",
        "vulnerabilities unknown (never counted as clean): node:22",
    ):
        assert part in out


def test_a_bad_since_is_a_usage_error(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*base, "evaluate", "--view", "review", "--since", "last week"]) == 2
    assert "--since" in capsys.readouterr().err
