"""``run --shard I/N``: the stable share of the work that one of N CI jobs takes.

Every shard resolves every tag (free: the Hub's listing or a ``HEAD``), so all of them see
the same targets; each then keeps the images it owns and analyses only those. Ownership is
rendezvous hashing (highest random weight): the unit's key is hashed with each shard's
number and the highest score wins. So a unit's shard depends on its own key and N only:
adding or removing a repository moves that repository's work and nothing else, and the
shards need not agree on anything but N.

**The unit is one platform manifest** (repository, image digest, platform), not a whole
repository. A repository's weight is its platform manifests, and the weights are far from
even: on the official library, ``php`` alone has 694 of 7,935 (9 %), 1.4x the mean shard at
N = 16, so no assignment by repository can keep the largest shard within 1.15x the mean
there (at N >= 14 it is impossible). Hashing each platform manifest spreads a heavy
repository over the shards in proportion to its weight, and the largest shard stays within
1.15x the mean for N = 2..16 (``tests/pipeline/test_shards.py`` checks it on the real
library files). Locality hardly suffers: layers are per platform, and the layers that
images share most (the base images) are shared across repositories anyway. An image whose
platforms are not known before its index is read (resolved by ``HEAD``) is one unit, keyed
``(repository, digest, "*")``, so no two shards read the same index.
"""

from __future__ import annotations

import hashlib
import re

from msgspec import Struct

from imagetrust.errors import UsageError
from imagetrust.resolve.models import NotCovered, Problem, Resolution, Target

MAX_SHARDS = 256
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class ShardSpec(Struct, frozen=True):
    """Shard ``index`` (1-based, as people count jobs) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        match = _SPEC.fullmatch(text)
        if match is None:
            raise UsageError(f"--shard: expected I/N (e.g. 2/8), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise UsageError(f"--shard: N must be 1..{MAX_SHARDS}, got {count}")
        if not 1 <= index <= count:
            raise UsageError(f"--shard: I must be 1..{count}, got {index}")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index - 1


def unit_key(repository: str, image: str, platform: str) -> str:
    """The key of one unit of work: a platform manifest of an image of a repository."""
    return f"{repository}\0{image}\0{platform}"


def _mix(value: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread 64-bit permutation."""
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK
    return value ^ (value >> 31)


def shard_of(key: str, count: int) -> int:
    """The 0-based shard that owns ``key`` among ``count``: the highest random weight.

    The key is hashed once (BLAKE2b); each shard's score mixes that hash with the shard's
    number, so scoring N shards costs N integer mixes, not N hashes.
    """
    base = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    best, best_score = 0, -1
    for shard in range(count):
        score = _mix((base + (shard + 1) * _GOLDEN) & _MASK)
        if score > best_score:
            best, best_score = shard, score
    return best


def _repository(target: Target) -> str:
    names = sorted({tag.repository for tag in target.tags})
    return names[0] if names else str(target.reference)


class ShardedResolution(Struct):
    resolution: Resolution
    targets_elsewhere: int = 0  # targets wholly owned by other shards
    units: int = 0  # units this shard owns


def take_share(resolution: Resolution, shard: ShardSpec) -> ShardedResolution:
    """``resolution`` narrowed to what ``shard`` owns: targets (or some of their
    platforms), the entries not covered and the problems (each recorded by one shard)."""
    mine = Resolution(
        snapshot_id=resolution.snapshot_id, tags=resolution.tags, notes=list(resolution.notes)
    )
    result = ShardedResolution(mine)
    for target in resolution.targets:
        repository = _repository(target)
        if target.platforms_known and target.platforms:
            platforms = tuple(
                p
                for p in target.platforms
                if shard.owns(unit_key(repository, target.digest, str(p.platform)))
            )
            if not platforms:
                result.targets_elsewhere += 1
                continue
            result.units += len(platforms)
            mine.targets.append(_with_platforms(target, platforms))
        elif shard.owns(unit_key(repository, target.digest, "*")):
            result.units += 1
            mine.targets.append(target)
        else:
            result.targets_elsewhere += 1
    mine.not_covered = [n for n in resolution.not_covered if shard.owns(_not_covered_key(n))]
    mine.problems = [p for p in resolution.problems if shard.owns(_problem_key(p))]
    return result


def _with_platforms(target: Target, platforms: tuple[object, ...]) -> Target:
    from msgspec.structs import replace

    return replace(target, platforms=platforms)


def _not_covered_key(item: NotCovered) -> str:
    return unit_key(item.item, item.digest or "*", item.platform)


def _problem_key(problem: Problem) -> str:
    return unit_key(problem.item, "*", "*")
