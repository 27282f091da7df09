"""From one verdict per platform to a verdict per tag and per repository.

A tag is as trustworthy as its worst platform: ``docker pull`` on an arm64 node gets the
arm64 image, so an approved amd64 image does not make the tag approved. A repository is
shown with its default tag's verdict (``latest``, else the tag the Hub says was pushed
most recently, as the 2020 review chose which tag to scan) and counts for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from msgspec import Struct

from imagetrust.evaluate.policy.model import Decision, Verdict

LATEST = "latest"
_NEVER = datetime.min.replace(tzinfo=UTC)


class TagVerdict(Struct, frozen=True):
    image: str
    tag: str | None
    verdict: Verdict
    grade: str
    score: int
    digest: str  # what the tag pins: the index digest, else the one platform manifest
    decisions: tuple[Decision, ...]
    last_pushed: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.image}:{self.tag}" if self.tag is not None else self.image

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tag": self.tag,
            "verdict": self.verdict.value,
            "grade": self.grade,
            "score": self.score,
            "digest": self.digest,
            "platforms": [
                {
                    "platform": d.platform,
                    "digest": d.digest,
                    "verdict": d.verdict.value,
                    "grade": d.grade,
                    "score": d.score,
                }
                for d in self.decisions
            ],
        }


class RepositoryVerdict(Struct, frozen=True):
    image: str
    default: TagVerdict
    others: dict[str, int]  # verdict -> number of the other tags with it
    tags: tuple[TagVerdict, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "default_tag": self.default.tag,
            "verdict": self.default.verdict.value,
            "grade": self.default.grade,
            "score": self.default.score,
            "other_tags": self.others,
        }


def worst(decisions: Sequence[Decision]) -> tuple[Verdict, str, int]:
    verdict = max((d.verdict for d in decisions), key=lambda v: v.rank)
    lowest = min(decisions, key=lambda d: d.score)
    return verdict, lowest.grade, lowest.score


def tag_verdicts(decisions: Iterable[Decision]) -> list[TagVerdict]:
    grouped: dict[tuple[str, str | None], list[Decision]] = {}
    for decision in decisions:
        grouped.setdefault(decision.name, []).append(decision)
    tags = []
    for (image, tag), members in sorted(grouped.items(), key=lambda item: _order(item[0])):
        members.sort(key=lambda d: d.platform)
        verdict, grade, score = worst(members)
        index_digests = {d.index_digest for d in members if d.index_digest}
        if len(index_digests) == 1:
            digest = next(iter(index_digests))
        else:
            digest = members[0].index_digest or members[0].digest
        pushed = [d.tag_last_pushed for d in members if d.tag_last_pushed is not None]
        tags.append(
            TagVerdict(
                image=image,
                tag=tag,
                verdict=verdict,
                grade=grade,
                score=score,
                digest=digest,
                decisions=tuple(members),
                last_pushed=max(pushed) if pushed else None,
            )
        )
    return tags


def _order(key: tuple[str, str | None]) -> tuple[str, str]:
    return key[0], key[1] or ""


def default_tag(tags: Sequence[TagVerdict]) -> TagVerdict:
    """``latest`` if it was judged, else the most recently pushed tag (then by name)."""
    for tag in tags:
        if tag.tag == LATEST:
            return tag
    return max(tags, key=lambda t: (t.last_pushed or _NEVER, t.tag or ""))


def repository_verdicts(tags: Iterable[TagVerdict]) -> list[RepositoryVerdict]:
    grouped: dict[str, list[TagVerdict]] = {}
    for tag in tags:
        grouped.setdefault(tag.image, []).append(tag)
    found = []
    for image, members in sorted(grouped.items()):
        chosen = default_tag(members)
        others = {v.value: 0 for v in Verdict}
        for tag in members:
            if tag is not chosen:
                others[tag.verdict.value] += 1
        found.append(RepositoryVerdict(image, chosen, others, tuple(members)))
    return found
