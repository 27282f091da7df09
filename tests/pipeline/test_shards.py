"""``--shard I/N`` on the real official-images library (all 144 files, 7,935 platform
manifests): balanced for N = 2..16, stable when a repository goes, and a partition (every
unit in exactly one shard).

Each library entry is one image build; each of its ``Architectures`` one platform manifest,
the unit of work. The test keys a unit by (repository, the entry's first tag, platform)
where a run keys it by (repository, image digest, platform): the library has no digests,
and an entry is exactly one digest (its tags name one build).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from imagetrust.catalog.library import load_library_dir
from imagetrust.errors import UsageError
from imagetrust.oci.models import Platform
from imagetrust.oci.reference import parse_image_reference
from imagetrust.pipeline.shards import ShardSpec, shard_of, take_share, unit_key
from imagetrust.resolve.models import NotCovered, PlatformEntry, Problem, Resolution, TagRef, Target

LIBRARY = Path(__file__).parent.parent / "fixtures" / "official-images" / "library"
# bashbrew's architecture names as OCI platforms (bashbrew's own table)
BASHBREW = {
    "amd64": "linux/amd64",
    "arm32v5": "linux/arm/v5",
    "arm32v6": "linux/arm/v6",
    "arm32v7": "linux/arm/v7",
    "arm64v8": "linux/arm64/v8",
    "i386": "linux/386",
    "mips64le": "linux/mips64le",
    "ppc64le": "linux/ppc64le",
    "riscv64": "linux/riscv64",
    "s390x": "linux/s390x",
    "windows-amd64": "windows/amd64",
}

Unit = tuple[str, str, str]  # repository, build (first tag), platform


@pytest.fixture(scope="module")
def units() -> list[Unit]:
    result = load_library_dir(LIBRARY)
    assert not result.errors and len(result.manifests) == 144
    found = [
        (name, entry.tags[0], BASHBREW[arch])
        for name, manifest in sorted(result.manifests.items())
        for entry in manifest.entries
        if entry.tags
        for arch in entry.architectures
    ]
    assert len(found) == 7935
    return found


def owners(units: list[Unit], count: int) -> dict[Unit, int]:
    return {unit: shard_of(unit_key(*unit), count) for unit in units}


def test_the_largest_shard_is_within_115_percent_of_the_mean_for_2_to_16_shards(
    units: list[Unit],
) -> None:
    ratios = {}
    for count in range(2, 17):
        loads = Counter(owners(units, count).values())
        assert len(loads) == count  # no shard left idle
        ratios[count] = max(loads.values()) / (len(units) / count)
    assert max(ratios.values()) <= 1.15, ratios


def test_a_repository_removed_or_added_moves_only_its_own_work(units: list[Unit]) -> None:
    weight = Counter(repo for repo, _, _ in units)
    # the heaviest (php, 694 manifests), a middling one and the lightest with work
    chosen = [
        max(weight, key=lambda r: (weight[r], r)),
        sorted(weight, key=lambda r: (weight[r], r))[len(weight) // 2],
        min(weight, key=lambda r: (weight[r], r)),
    ]
    for count in (3, 8, 16):
        everything = owners(units, count)
        for repository in chosen:
            rest = [u for u in units if u[0] != repository]
            assert owners(rest, count) == {u: everything[u] for u in rest}


def target(repository: str, digest: str, platforms: list[str] | None) -> Target:
    reference = parse_image_reference(f"{repository}@sha256:{digest}")
    entries = tuple(
        PlatformEntry(Platform.parse(p), f"sha256:{p}{digest}") for p in platforms or []
    )
    return Target(
        reference,
        f"sha256:{digest}",
        (TagRef(repository, "latest"),),
        platforms=entries,
        platforms_known=platforms is not None,
    )


def test_every_unit_lands_in_exactly_one_shard(units: list[Unit]) -> None:
    """Through ``take_share`` itself: targets split by platform, targets whose platforms
    are unknown kept whole, not-covered entries and problems each recorded once."""
    builds: dict[tuple[str, str], list[str]] = {}
    for repository, build, platform in units[:1500]:
        builds.setdefault((repository, build), []).append(platform)
    resolution = Resolution(
        targets=[
            target(repo, f"{n:064x}", platforms if n % 5 else None)
            for n, ((repo, _), platforms) in enumerate(sorted(builds.items()))
        ],
        not_covered=[
            NotCovered(f"r{n}:latest", "windows/amd64", "Windows", f"d{n}") for n in range(40)
        ],
        problems=[Problem(f"r{n}:latest", "404") for n in range(40)],
        tags=len(builds),
    )
    count = 5
    shares = [take_share(resolution, ShardSpec(i, count)) for i in range(1, count + 1)]
    seen: Counter[tuple[str, str]] = Counter()
    for share in shares:
        for t in share.resolution.targets:
            for p in t.platforms or (PlatformEntry(Platform("linux", "*")),):
                seen[(t.digest, str(p.platform))] += 1
    expected = {(t.digest, str(p.platform)) for t in resolution.targets for p in t.platforms} | {
        (t.digest, "linux/*") for t in resolution.targets if not t.platforms_known
    }
    assert set(seen) == expected and set(seen.values()) == {1}
    assert sum(len(s.resolution.not_covered) for s in shares) == 40
    assert sum(len(s.resolution.problems) for s in shares) == 40
    assert sum(s.units for s in shares) == len(expected)
    assert all(len(s.resolution.targets) > 0 for s in shares)


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "x/4", "1-4", "1/999"])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        ShardSpec.parse(text)
