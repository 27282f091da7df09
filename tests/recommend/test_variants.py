"""Variant matching on the real library files: every supported tag of python, node,
postgres, golang and openjdk maps to candidates of its own variant, or to none with a reason.

The oracle is the library file itself, read apart from the tags: each entry's ``Directory``
is the variant its maintainers build (``3.14/slim-trixie``, ``1.27/windows/nanoserver-
ltsc2022``) and its ``Architectures`` say whether it is a Windows build. A candidate must come
from an entry built as the same variant (a Debian or Alpine release may move forward, as the
recommendation allows), and a Linux tag never gets a Windows-only candidate.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from imagetrust.catalog.library import parse_library_file
from imagetrust.catalog.models import LibraryManifest
from imagetrust.evaluate.recommend.variants import (
    ParsedTag,
    candidates,
    no_candidate_reason,
    parse_tag,
    read_tags,
    variant_words,
)

LIBRARY = Path(__file__).resolve().parent.parent / "fixtures" / "official-images" / "library"
REPOSITORIES = ("python", "node", "postgres", "golang", "openjdk")
# Distribution code names in the library's directories, as Debian publishes them.
DEBIAN = {"buster", "bullseye", "bookworm", "trixie", "forky"}


def directory_variant(directory: str) -> frozenset[str]:
    """``3.14/slim-trixie`` -> {slim, debian}; ``17/alpine3.22`` -> {alpine}."""
    words: set[str] = set()
    for part in directory.split("/")[1:]:  # the first folder is the version line's
        if part == "windows":
            continue  # the folder grouping Windows builds
        for token in part.split("-"):
            token = "debian" if token in DEBIAN else re.sub(r"[\d.]+$", "", token)
            if token:
                words.add(token)
    return frozenset(words)


def entries_of(manifest: LibraryManifest) -> dict[str, list[tuple[frozenset[str], bool]]]:
    """Tag -> (the directory variant, Windows only?) of every entry that names it."""
    found: dict[str, list[tuple[frozenset[str], bool]]] = {}
    for entry in manifest.entries:
        windows = all(arch.startswith("windows-") for arch in entry.architectures)
        for tag in (*entry.tags, *entry.shared_tags):
            found.setdefault(tag, []).append((directory_variant(entry.directory or ""), windows))
    return found


@pytest.mark.parametrize("name", REPOSITORIES)
def test_every_supported_tag_maps_to_its_own_variant_or_says_why_not(name: str) -> None:
    manifest = parse_library_file(LIBRARY / name)
    built = entries_of(manifest)
    parsed = read_tags(manifest.supported_tags)
    with_candidates = 0
    for current in parsed:
        assert current.unreadable is None, current
        found = candidates(current, parsed)
        if not found:
            reason = no_candidate_reason(current)
            assert reason and current.variant in reason, current.tag
            continue
        with_candidates += 1
        mine = built[current.tag]
        linux = any(not windows for _, windows in mine)
        for match in found:
            other = match.candidate
            theirs = built[other.tag]
            shared = {v for v, _ in mine} & {v for v, _ in theirs}
            assert shared, f"{name}:{current.tag} -> {other.tag}: another variant"
            if linux:
                assert any(not windows for _, windows in theirs), (current.tag, other.tag)
            assert other.families == current.families
            assert other.channel is None and other.version is not None
            if not current.prerelease:
                assert not other.prerelease, (current.tag, other.tag)
            if current.version is not None:
                assert other.version[: len(current.version)] >= current.version
    assert with_candidates > len(parsed) / 2  # most tags have somewhere to go


def test_the_issue_example_python_3_9_slim_goes_to_a_newer_slim() -> None:
    manifest = parse_library_file(LIBRARY / "python")
    parsed = read_tags(manifest.supported_tags)
    old = parse_tag("3.9-slim", variant_words(manifest.supported_tags))
    found = [m.candidate.tag for m in candidates(old, parsed)]
    assert "3.12-slim" in found
    assert found[0] == "3.10-slim"  # the nearest line first (3.10 is the oldest supported)
    assert all(tag.endswith("-slim") for tag in found)


@pytest.mark.parametrize(
    ("name", "tag", "first", "never"),
    [
        # read off the library files by hand
        ("golang", "1.26.7-nanoserver-ltsc2022", "1.27.0-nanoserver-ltsc2022", "windowsservercore"),
        ("golang", "1.26-alpine3.23", "1.26.7-alpine3.23", "bookworm"),
        ("postgres", "16-alpine3.23", "16.15-alpine3.23", "trixie"),
        ("node", "22-bullseye-slim", "22.23-bullseye-slim", "alpine"),
        ("node", "lts-slim", "26-slim", "alpine"),  # a channel floats: the newest line first
        ("python", "3.13-slim-bookworm", "3.13.15-slim-bookworm", "alpine"),
    ],
)
def test_known_candidates(name: str, tag: str, first: str, never: str) -> None:
    manifest = parse_library_file(LIBRARY / name)
    parsed = read_tags(manifest.supported_tags)
    current = next(p for p in parsed if p.tag == tag)
    found = [m.candidate.tag for m in candidates(current, parsed)]
    assert found[0] == first
    assert not any(never in other for other in found)
    if current.version is not None:  # the same line first, then newer lines, nearest first
        lines = [m.candidate.version[0] for m in candidates(current, parsed) if m.candidate.version]
        assert lines == sorted(lines, key=lambda major: (major != current.version[0], major))


def test_a_linux_tag_never_gets_a_windows_candidate_and_a_release_only_moves_forward() -> None:
    words = frozenset({"alpine", "slim", "windowsservercore", "ltsc"})
    current = parse_tag("3.12-alpine3.23", words)
    others = [
        parse_tag(tag, words)
        for tag in (
            "3.13-windowsservercore-ltsc2022",
            "3.13-alpine3.22",  # an older Alpine: never
            "3.13-alpine3.23",
            "3.13-alpine3.24",
            "3.13-slim",
        )
    ]
    assert [m.candidate.tag for m in candidates(current, others)] == [
        "3.13-alpine3.23",
        "3.13-alpine3.24",
    ]


def test_unusual_tags_are_read_or_refused_never_guessed() -> None:
    words = variant_words(
        ["8u502-b07-jdk-alpine-3.24", "21-jdk-noble", "26.0.2_10-jdk-alpine-3.23"]
    )
    temurin = parse_tag("8u502-b07-jdk-alpine-3.24", words)
    assert (temurin.version, temurin.variant) == ((8, 502), "alpine3.24+jdk")
    assert parse_tag("26.0.2_10-jdk-alpine-3.23", words).version == (26, 0, 2)
    assert parse_tag("21-jdk-noble", words).variant == "jdk+ubuntu24.04"
    broken: ParsedTag = parse_tag("3.12--slim", words)
    assert broken.unreadable is not None
    assert no_candidate_reason(broken).startswith("tag not read")
