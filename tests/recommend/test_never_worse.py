"""A candidate worse than the current tag is never recommended, whatever the verdicts.

Hypothesis draws verdicts, scores and platforms for tags of the real python, openjdk
(deprecated, with its real notice) and eclipse-temurin library files; every recommendation
made over them must be strictly better than the tag it replaces (a better verdict, or the
same verdict and a higher score), share a platform with it, keep its variant when it comes
from the same repository, and never be a Windows image for a Linux tag. And when a better
tag of the same variant was judged, there is a recommendation: the property cannot hold by
recommending nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.catalog.library import parse_library_file
from imagetrust.catalog.models import CatalogEntry, RepoState
from imagetrust.evaluate.policy.check import PolicyCheck
from imagetrust.evaluate.policy.model import Decision, Verdict
from imagetrust.evaluate.policy.rollup import TagVerdict, tag_verdicts
from imagetrust.evaluate.recommend.build import Recommender
from imagetrust.evaluate.recommend.model import KIND_SAME_VARIANT
from imagetrust.evaluate.recommend.variants import candidates, parse_tag, variant_words
from imagetrust.store.database import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 11, 29, tzinfo=UTC)
NAMES = ("python", "openjdk", "eclipse-temurin")
SUPPORTED = {
    name: parse_library_file(FIXTURES / "official-images" / "library" / name).supported_tags
    for name in NAMES
}
WORDS = {name: variant_words(tags) for name, tags in SUPPORTED.items()}
NOTICE = (FIXTURES / "docs" / "openjdk" / "deprecated.md").read_text(encoding="utf-8")
CATALOG = {
    name: CatalogEntry(
        name=name,
        state=RepoState.DEPRECATED if name == "openjdk" else RepoState.ACTIVE,
        state_reason="",
        notice=NOTICE if name == "openjdk" else None,
        supported_tags=SUPPORTED[name],
        tag_count=None,
        architectures=(),
        pull_count=None,
        last_updated=None,
        categories=(),
        description=None,
    )
    for name in NAMES
}
# a few variants of each repository, so that drawn tags often meet candidates of theirs
VARIANTS = {"slim", "alpine", "default", "windowsservercore", "jdk+ubuntu24.04", "jdk+slim"}
POOL = [
    (name, tag)
    for name in NAMES
    for tag in SUPPORTED[name]
    if parse_tag(tag, WORDS[name]).variant in VARIANTS
]
LINUX = [("linux/amd64",), ("linux/amd64", "linux/arm64/v8"), ("linux/arm64/v8",)]


def digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def decisions_of(
    name: str, tag: str, verdict: Verdict, score: int, platforms: tuple[str, ...]
) -> list[Decision]:
    if parse_tag(tag, WORDS[name]).windows:
        platforms = ("windows/amd64",)
    return [
        Decision(
            digest=digest(name, tag, platform),
            reference=f"docker.io/library/{name}:{tag}",
            platform=platform,
            verdict=verdict,
            grade="X",
            score=score,
            reasons=(),
            decided_at=NOW,
            evaluated_at=NOW,
            policy_name="p",
            policy_digest="0" * 64,
            index_digest=digest(name, tag),
            repository=name,
            tag=tag,
        )
        for platform in platforms
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("store") / "imagetrust.db"
    with Store.open(f"sqlite:///{path}") as opened:
        yield opened


def key(tag: TagVerdict) -> tuple[int, int]:
    return tag.verdict.rank, -tag.score


judged_tags = st.lists(
    st.tuples(
        st.sampled_from(POOL),
        st.sampled_from(list(Verdict)),
        st.integers(min_value=0, max_value=100),
        st.sampled_from(LINUX),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda item: item[0],
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=judged_tags)
def test_no_recommendation_is_worse_than_its_tag(
    store: Store, drawn: list[tuple[tuple[str, str], Verdict, int, tuple[str, ...]]]
) -> None:
    decisions = [
        d
        for (name, tag), verdict, score, platforms in drawn
        for d in decisions_of(name, tag, verdict, score, platforms)
    ]
    tags = tag_verdicts(decisions)
    check = PolicyCheck(tuple(decisions), tuple(tags), ())
    judged = {(t.image, t.tag): t for t in tags}
    with store.read() as conn:
        recommender = Recommender(conn, check, now=NOW, catalog=CATALOG)
        for current in tags:
            if current.verdict is Verdict.APPROVED:
                continue
            found = recommender.recommend(current)
            assert len(found.alternatives) <= 3
            mine = parse_tag(current.tag or "", WORDS[current.image])
            platforms = {d.platform for d in current.decisions}
            for alternative in found.alternatives:
                other = judged[(alternative.image, alternative.tag)]
                assert key(other) < key(current), (current.name, alternative.name)
                assert alternative.digest != current.digest
                assert alternative.gains
                assert {g.platform for g in alternative.gains} <= platforms
                theirs = parse_tag(alternative.tag or "", WORDS[alternative.image])
                if not mine.windows:
                    assert not theirs.windows
                if alternative.kind == KIND_SAME_VARIANT:
                    assert alternative.image == current.image
                    assert theirs.families == mine.families
            for pending in found.not_assessed:
                assert (pending.image, pending.tag) not in judged
            # a better judged tag of the same variant on a shared platform: recommended
            pool = [parse_tag(t, WORDS[current.image]) for t in SUPPORTED[current.image]]
            better = [
                judged[(current.image, m.candidate.tag)]
                for m in candidates(mine, pool)
                if (current.image, m.candidate.tag) in judged
            ]
            better = [
                t
                for t in better
                if key(t) < key(current) and platforms & {d.platform for d in t.decisions}
            ]
            if better:
                assert found.alternatives, current.name
