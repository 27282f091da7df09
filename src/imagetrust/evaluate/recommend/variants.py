"""What a tag is made of: a version line and a variant, read the way the library files write
them, so an alternative keeps what the user chose (``slim``, ``alpine``, ``bookworm``).

A tag is split on ``-``. Leading words that never follow a version in the repository's own
tags are *channels* (``latest``, ``lts``, ``current``, Node's ``krypton``): they float, so
they are neither a variant nor something to recommend. Then the version (``3.12.1``,
``8u502``, with ``rc``/``ea``/``beta`` and build tokens such as ``b07``), then the variant.
Which words are variant words is learnt from the repository's tags (a word that follows a
version somewhere), not from a fixed list: the 144 library files use dozens of them
(``jdk``, ``fpm``, ``apache``, ``ubi9``, ``nanoserver``), and a list would always lag.

A variant is a set of *families* with optional releases: ``alpine3.24`` and ``alpine-3.24``
are family ``alpine`` release 3.24, ``bookworm`` is family ``debian`` release 12 (Debian
and Ubuntu code names are mapped, because their order is not alphabetical),
``ltsc2022`` is ``ltsc`` 2022. Two tags have the same variant when they have the same
families; an alternative may move a release forward (``alpine3.23`` -> ``alpine3.24``,
``bullseye`` -> ``bookworm``), never back, and its exact release is preferred. So a Linux
tag never gets a ``windowsservercore`` alternative: that family is not in its variant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from msgspec import Struct

WINDOWS_FAMILIES = frozenset({"windowsservercore", "nanoserver"})
PRERELEASE_WORDS = frozenset({"rc", "ea", "beta", "alpha", "preview", "dev", "pre", "a", "b"})

# Code names whose order is not their spelling's (Debian: release number; Ubuntu: YY.MM).
CODENAMES: dict[str, tuple[str, tuple[int, ...]]] = {
    "jessie": ("debian", (8,)),
    "stretch": ("debian", (9,)),
    "buster": ("debian", (10,)),
    "bullseye": ("debian", (11,)),
    "bookworm": ("debian", (12,)),
    "trixie": ("debian", (13,)),
    "forky": ("debian", (14,)),
    "duke": ("debian", (15,)),
    "xenial": ("ubuntu", (16, 4)),
    "bionic": ("ubuntu", (18, 4)),
    "focal": ("ubuntu", (20, 4)),
    "jammy": ("ubuntu", (22, 4)),
    "noble": ("ubuntu", (24, 4)),
    "oracular": ("ubuntu", (24, 10)),
    "plucky": ("ubuntu", (25, 4)),
    "questing": ("ubuntu", (25, 10)),
    "resolute": ("ubuntu", (26, 4)),
}

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:([a-z]+)(\d*))?(?:_\d+)?$")  # _10: a build
_NUMBER = re.compile(r"^\d+(?:\.\d+)*$")
_WORD_RELEASE = re.compile(r"^([a-z][a-z_]*?)(\d+(?:\.\d+)*)?$")
_BUILD = re.compile(r"^b\d+$")


class ParsedTag(Struct, frozen=True):
    """One tag read against its repository's vocabulary of variant words."""

    tag: str
    version: tuple[int, ...] | None  # None: no version (``latest``, ``slim``, ``lts-alpine``)
    prerelease: bool = False
    channel: str | None = None  # leading floating words (``lts``, ``current``, ``krypton``)
    families: frozenset[str] = frozenset()
    releases: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (family, release), sorted
    unreadable: str | None = None  # why the tag could not be read (then never a candidate)

    @property
    def variant(self) -> str:
        """``slim+debian12`` style label: the families, each with its release."""
        release = dict(self.releases)
        parts = [
            family + (release_text(family, release[family]) if family in release else "")
            for family in sorted(self.families)
        ]
        return "+".join(parts) or "default"

    @property
    def windows(self) -> bool:
        return bool(self.families & WINDOWS_FAMILIES)


def release_text(family: str, release: tuple[int, ...]) -> str:
    """``12``, ``3.24``; Ubuntu's ``24.04`` as Ubuntu writes it."""
    if family == "ubuntu" and len(release) == 2:
        return f"{release[0]}.{release[1]:02d}"
    return ".".join(str(n) for n in release)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _read_version(token: str) -> tuple[tuple[int, ...], bool] | None:
    """``3.12.1`` -> ((3, 12, 1), False); ``3.15.0rc1`` -> prerelease; ``8u502`` -> (8, 502)."""
    found = _VERSION.match(token)
    if found is None:
        return None
    numbers = _numbers(found.group(1))
    letters, digits = found.group(2), found.group(3)
    if letters is None:
        return numbers, False
    if letters in PRERELEASE_WORDS:
        return numbers, True
    if letters == "u" and digits:  # Java update releases: 8u502
        return (*numbers, int(digits)), False
    return None


def variant_words(tags: Iterable[str]) -> frozenset[str]:
    """The words that follow a version somewhere in these tags: the repository's variants."""
    words: set[str] = set()
    for tag in tags:
        tokens = tag.lower().split("-")
        for index, token in enumerate(tokens):
            if _read_version(token) is not None:
                words.update(_word(t) for t in tokens[index + 1 :] if _word(t))
                break
    return frozenset(words - PRERELEASE_WORDS)


def _word(token: str) -> str:
    found = _WORD_RELEASE.match(token)
    if found is None:
        return ""
    return found.group(1)


def parse_tag(tag: str, vocabulary: frozenset[str]) -> ParsedTag:
    """Read one tag; ``vocabulary`` is ``variant_words`` of its repository's tags."""
    tokens = tag.lower().split("-")
    if not tag or any(not t for t in tokens):
        return ParsedTag(tag, None, unreadable="not a tag of the usual NAME-VARIANT form")
    index = 0
    channel: list[str] = []
    while index < len(tokens) and _read_version(tokens[index]) is None:
        if _word(tokens[index]) in vocabulary or tokens[index] in CODENAMES:
            break
        channel.append(tokens[index])
        index += 1
    version: tuple[int, ...] | None = None
    prerelease = False
    if index < len(tokens) and (read := _read_version(tokens[index])) is not None:
        version, prerelease = read
        index += 1
        while index < len(tokens) and (
            tokens[index] in PRERELEASE_WORDS or _BUILD.match(tokens[index])
        ):
            if tokens[index] in PRERELEASE_WORDS:
                prerelease = True
                if index + 1 < len(tokens) and tokens[index + 1].isdigit():
                    index += 1  # ea-34: the build number of an early-access release
            index += 1
    families: set[str] = set()
    releases: dict[str, tuple[int, ...]] = {}
    previous: str | None = None
    for token in tokens[index:]:
        if token in CODENAMES:
            family, release = CODENAMES[token]
            families.add(family)
            releases[family] = release
            previous = family
            continue
        if _NUMBER.match(token):  # alpine-3.24, nanoserver-1809: the release of the word before
            if previous is None or previous in releases:
                return ParsedTag(tag, version, unreadable=f"a number {token!r} of no variant")
            releases[previous] = _numbers(token)
            continue
        found = _WORD_RELEASE.match(token)
        if found is None:
            return ParsedTag(tag, version, unreadable=f"an unreadable part {token!r}")
        family = found.group(1)
        families.add(family)
        if found.group(2):
            releases[family] = _numbers(found.group(2))
        previous = family
    if channel and version is not None:  # tip-20260815: a snapshot of a channel, not a line
        version, prerelease = None, True
    return ParsedTag(
        tag,
        version,
        prerelease=prerelease,
        channel="-".join(channel) or None,
        families=frozenset(families),
        releases=tuple(sorted(releases.items())),
    )


class VariantMatch(Struct, frozen=True):
    """How a candidate relates to the current tag: ranked for the recommendation."""

    candidate: ParsedTag
    same_line: bool  # the same major version (or the current tag has no version)
    exact_release: bool  # every release of the variant is the current one

    def order(self, current: ParsedTag) -> tuple[int, int, int, tuple[int, ...], int]:
        """Same major line first, then the nearest newer line; within a line, the exact
        release of the variant first, then the nearest version. A tag that floats (over its
        line, ``3-alpine``; over every line, ``alpine``) takes the newest first: it is
        already the newest, so the nearest older one would be a step back."""
        version = self.candidate.version or ()
        floating = current.version is None or len(current.version) < 2
        precision = len(current.version) if current.version is not None else 2
        major = version[0] if version else 0
        return (
            0 if self.same_line else 1,
            -major if current.version is None else major,
            0 if self.exact_release else 1,
            tuple(-n for n in version) if floating else version,
            abs(len(version) - precision),
        )


def same_variant(current: ParsedTag, candidate: ParsedTag) -> tuple[bool, bool]:
    """(same variant, with exactly the same releases). A release may only move forward."""
    if candidate.families != current.families:
        return False, False
    mine = dict(current.releases)
    theirs = dict(candidate.releases)
    if set(mine) != set(theirs):
        return False, False
    if any(theirs[family] < release for family, release in mine.items()):
        return False, False
    return True, mine == theirs


def why_not(current: ParsedTag, candidate: ParsedTag) -> str | None:
    """Why ``candidate`` can never stand in for ``current`` (None: it can)."""
    if candidate.unreadable is not None:
        return candidate.unreadable
    if candidate.tag == current.tag:
        return "the tag itself"
    if candidate.version is None or candidate.channel is not None:
        return "floating tag (no version of its own)"
    if candidate.prerelease and not current.prerelease:
        return "a pre-release"
    if candidate.windows and not current.windows:
        return "a Windows variant"
    ok, _ = same_variant(current, candidate)
    if not ok:
        return "another variant"
    if current.version is not None:
        mine = current.version
        theirs = candidate.version[: len(mine)]
        if len(candidate.version) < len(mine):
            return "less precise than the tag (floats over its line)"
        if theirs < mine:
            return "an older version"
    return None


def candidates(current: ParsedTag, others: Sequence[ParsedTag]) -> list[VariantMatch]:
    """The tags that could replace ``current`` keeping its variant, best first."""
    found = []
    for other in others:
        if why_not(current, other) is not None:
            continue
        _, exact = same_variant(current, other)
        assert other.version is not None
        same_line = current.version is None or other.version[0] == current.version[0]
        found.append(VariantMatch(other, same_line, exact))
    return sorted(found, key=lambda m: (m.order(current), m.candidate.tag))


def no_candidate_reason(current: ParsedTag) -> str:
    """Why a tag has no candidate of its variant, in words a reader can check."""
    if current.unreadable is not None:
        return f"tag not read: {current.unreadable}"
    if current.version is not None:
        return (
            f"no supported tag of variant {current.variant} at version "
            f"{'.'.join(map(str, current.version))} or newer"
        )
    return f"no versioned supported tag of variant {current.variant}"


def read_tags(tags: Sequence[str]) -> list[ParsedTag]:
    """Every tag of one repository read against that repository's vocabulary."""
    vocabulary = variant_words(tags)
    return [parse_tag(tag, vocabulary) for tag in tags]
