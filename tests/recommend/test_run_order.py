"""``run`` spends its pull budget on recommended candidates first: among the images never
tried, those a recommendation names as not yet assessed come before the most pulled."""

from __future__ import annotations

from imagetrust.oci.reference import parse_reference
from imagetrust.pipeline.plan import ImageWork, download_order
from imagetrust.pipeline.results import StoredResult
from imagetrust.resolve.models import TagRef, Target


def work(repository: str, tag: str, pulls: int, failed: bool = False) -> ImageWork:
    target = Target(
        reference=parse_reference(f"{repository}:{tag}"),
        digest="sha256:" + f"{repository}{tag}".encode().hex().ljust(64, "0")[:64],
        tags=(TagRef(repository, tag),),
        pull_count=pulls,
    )
    previous = (
        StoredResult(1, target.digest, "linux/amd64", None, "failed", None, None, 1)
        if failed
        else None
    )
    return ImageWork(target, "linux/amd64", previous=previous)


def test_candidates_first_among_the_new_then_the_most_pulled_then_the_failed() -> None:
    works = [
        work("python", "3.13-slim", 10),
        work("nginx", "1.27", 1_000_000),
        work("eclipse-temurin", "21-jdk-noble", 5),
        work("python", "3.14-slim", 20, failed=True),
        work("redis", "7", 500),
    ]
    candidates = frozenset(
        {("python", "3.13-slim"), ("python", "3.14-slim"), ("eclipse-temurin", "*")}
    )
    ordered = sorted(works, key=lambda w: download_order(w, candidates))
    assert [w.target.label for w in ordered] == [
        "python:3.13-slim",  # candidates first (by pulls among them)
        "eclipse-temurin:21-jdk-noble",  # any tag of a named replacement
        "nginx:1.27",
        "redis:7",
        "python:3.14-slim",  # failed before: after every new image, candidate or not
    ]
    # without candidates: the most pulled first, as before
    assert [w.target.label for w in sorted(works, key=download_order)][:3] == [
        "nginx:1.27",
        "redis:7",
        "python:3.13-slim",
    ]
