"""Version orders of the language ecosystems (PyPI, semver, Maven, RubyGems, NuGet, Packagist).

* PyPI: PEP 440 through ``packaging.version``. A string that is not PEP 440 (old sdists,
  vendored metadata) still gets an order instead of an error: the order of the
  ``LegacyVersion`` that ``packaging`` shipped before 22.0 - every legacy version sorts
  before every PEP 440 version; legacy strings are lower-cased and split into numbers and
  letter runs, ``pre``/``preview``/``rc`` read as ``c``, ``dev`` as ``@``, a ``-`` as
  ``final-``, trailing zeros dropped.
* semver (npm, Go, crates.io): semver 2.0.0 precedence; a leading ``v`` (Go) or ``=`` is
  dropped, missing minor/patch read as 0, build metadata (Go's ``+incompatible``) ignored;
  Go pseudo-versions are prereleases and so order by their timestamp.
* Maven: ``ComparableVersion`` of Maven 3.9 (items, sub-lists at ``-`` and at digit/letter
  transitions, a qualifier after ``.`` read as after ``-`` (MNG-7644: ``1.0.0.RC1 <
  1.0.0-RC2``, ``2.0.abc = 2-abc``), trailing nulls removed, qualifiers alpha < beta <
  milestone < rc = cr < snapshot < "" = ga = final = release < sp < other qualifiers by
  name; a sub-list against "nothing" is decided by its first non-null item, MNG-6964).
* RubyGems: ``Gem::Version#<=>`` over ``canonical_segments``: numeric and letter segments,
  trailing zeros dropped both before the first letter segment and at the end
  (``3.0.0.beta4`` reads as ``3.beta.4``, below ``3.0.pre``); a letter segment makes a
  prerelease (lower than any number at its position), shorter versions padded with 0; an
  empty string is version 0.
* NuGet: ``NuGetVersion``: up to four numeric parts (missing = 0), then semver 2
  prerelease labels compared case-insensitively; metadata ignored.
* Packagist: PHP ``version_compare`` (what Composer ranges reduce to) after dropping a
  leading ``v``: ``dev`` < ``alpha`` = ``a`` < ``beta`` = ``b`` < ``RC`` = ``rc`` < a
  number < ``pl`` = ``p``; any other word sorts before ``dev``.

semver, Maven, RubyGems, NuGet and Packagist raise VersionError only for strings with no
version in them at all (empty, or semver/NuGet strings that do not parse).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from packaging.version import InvalidVersion, Version

from imagetrust.vulndb.errors import VersionError

# --------------------------------------------------------------------------- PyPI

_LEGACY_SPLIT = re.compile(r"(\d+|[a-z]+|\.|-)")
_LEGACY_MAP = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}


def _legacy_parts(version: str) -> list[str]:
    parts: list[str] = []
    for raw in _LEGACY_SPLIT.split(version.lower()):
        part = _LEGACY_MAP.get(raw, raw)
        if not part or part == ".":
            continue
        if part[:1].isdigit() and part.isdigit():
            digits = part.lstrip("0") or "0"
            # length-prefixed so numbers of any length compare numerically
            token = f"{len(digits):06d}{digits}"
        else:
            token = "*" + part
        if token.startswith("*"):
            if token < "*final":  # noqa: S105 - a version part, not a secret
                while parts and parts[-1] == "*final-":
                    parts.pop()
            while parts and parts[-1] == "0000010":
                parts.pop()
        parts.append(token)
    while parts and parts[-1] == "0000010":
        parts.pop()
    parts.append("*final")
    return parts


@lru_cache(maxsize=65536)
def pypi_key(version: str) -> tuple[Any, ...]:
    """PEP 440 order; non-PEP 440 strings first, in packaging's old legacy order."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, tuple(_legacy_parts(version.strip())))


# --------------------------------------------------------------------------- semver

_SEMVER = re.compile(
    r"^[vV=]?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]*)?$"
)


def _prerelease_key(pre: str | None, fold: bool) -> tuple[Any, ...]:
    if pre is None:
        return (1,)
    ids: list[tuple[int, Any]] = []
    for ident in pre.split("."):
        if ident.isdigit():
            ids.append((0, int(ident)))
        else:
            ids.append((1, ident.lower() if fold else ident))
    return (0, tuple(ids))


@lru_cache(maxsize=65536)
def semver_key(version: str) -> tuple[Any, ...]:
    """semver 2.0.0 precedence (npm, Go, crates.io)."""
    match = _SEMVER.match(version.strip())
    if match is None:
        raise VersionError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor or 0), int(patch or 0), _prerelease_key(pre, False))


_NUGET = re.compile(
    r"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]*)?$"
)


@lru_cache(maxsize=65536)
def nuget_key(version: str) -> tuple[Any, ...]:
    """NuGetVersion order: four numeric parts, case-insensitive prerelease labels."""
    match = _NUGET.match(version.strip())
    if match is None:
        raise VersionError(f"not a NuGet version: {version!r}")
    *nums, pre = match.groups()
    return (*(int(n or 0) for n in nums), _prerelease_key(pre, True))


class _CmpKey:
    """A sort key for orders defined by a comparator rather than by a tuple.

    Only keys of the same class are ever compared (one ecosystem at a time).
    """

    __slots__ = ("parsed",)

    def __init__(self, parsed: Any) -> None:
        self.parsed = parsed

    def _compare(self, other: Any) -> int:
        raise NotImplementedError

    def __lt__(self, other: _CmpKey) -> bool:
        return self._compare(other.parsed) < 0

    def __le__(self, other: _CmpKey) -> bool:
        return self._compare(other.parsed) <= 0

    def __gt__(self, other: _CmpKey) -> bool:
        return self._compare(other.parsed) > 0

    def __ge__(self, other: _CmpKey) -> bool:
        return self._compare(other.parsed) >= 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _CmpKey):
            return NotImplemented
        return self._compare(other.parsed) == 0

    def __hash__(self) -> int:  # equal keys can come from different text: hash alike
        return 0


# --------------------------------------------------------------------------- Maven
# Items: ("i", int) number, ("s", qualifier) string, ("l", [items]) sub-list.

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE = str(_QUALIFIERS.index(""))


def _qualifier(value: str) -> str:
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return f"{len(_QUALIFIERS)}-{value}"


def _string_item(value: str, followed_by_digit: bool) -> tuple[str, Any]:
    if followed_by_digit and len(value) == 1:
        value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
    return ("s", _qualifier(_ALIASES.get(value, value)))


def _parse_item(is_digit: bool, text: str) -> tuple[str, Any]:
    return ("i", int(text)) if is_digit else _string_item(text, False)


def _is_null(item: tuple[str, Any]) -> bool:
    kind, value = item
    if kind == "i":
        return bool(value == 0)
    if kind == "s":
        return bool(value == _RELEASE)
    return not value


def _normalize(items: list[tuple[str, Any]]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif items[i][0] != "l":
            break


def _maven_digit(c: str) -> bool:
    """Java's ``Character.isDigit`` on one UTF-16 unit: a supplementary character is not."""
    return c.isdecimal() and c <= "\uffff"


def maven_parse(version: str) -> tuple[str, Any]:
    """Maven's ComparableVersion item tree of a version."""
    text = version.strip().lower()
    root: list[tuple[str, Any]] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0

    def push() -> None:
        nonlocal current
        sub: list[tuple[str, Any]] = []
        current.append(("l", sub))
        current = sub
        stack.append(sub)

    for i, c in enumerate(text):
        if c in ".-":
            current.append(("i", 0) if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
            if c == "-":
                push()
        elif _maven_digit(c):
            if not is_digit and i > start:
                if current:  # MNG-7644: "1.0.0.rc1" nests like "1.0.0-rc1"
                    push()
                current.append(_string_item(text[start:i], True))
                start = i
                push()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_parse_item(True, text[start:i]))
                start = i
                push()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:  # MNG-7644: a trailing ".x" nests like "-x"
            push()
        current.append(_parse_item(is_digit, text[start:]))
    while stack:
        _normalize(stack.pop())
    return ("l", root)


def _maven_cmp(a: tuple[str, Any] | None, b: tuple[str, Any] | None) -> int:
    """ComparableVersion's Item.compareTo (``b`` None means "missing")."""
    if a is None:
        return 0 if b is None else -_maven_cmp(b, None)
    kind, value = a
    if kind == "i":
        if b is None:
            return 0 if value == 0 else 1
        if b[0] == "i":
            return int(value > b[1]) - int(value < b[1])
        return 1
    if kind == "s":
        if b is None:
            return int(value > _RELEASE) - int(value < _RELEASE)
        if b[0] == "s":
            return int(value > b[1]) - int(value < b[1])
        return -1
    if b is None:  # MNG-6964: every item counts, not only the first
        return next((r for r in (_maven_cmp(item, None) for item in value) if r), 0)
    if b[0] == "i":
        return -1
    if b[0] == "s":
        return 1
    left, right = value, b[1]
    for i in range(max(len(left), len(right))):
        lhs = left[i] if i < len(left) else None
        rhs = right[i] if i < len(right) else None
        result = _maven_cmp(lhs, rhs)
        if result:
            return result
    return 0


class _MavenKey(_CmpKey):
    __slots__ = ()

    def _compare(self, other: Any) -> int:
        return _maven_cmp(self.parsed, other)


@lru_cache(maxsize=65536)
def maven_key(version: str) -> _MavenKey:
    """Maven ComparableVersion order."""
    return _MavenKey(maven_parse(version))


# --------------------------------------------------------------------------- RubyGems

_GEM_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")


def _gem_cmp(a: list[Any], b: list[Any]) -> int:
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x == y:
            continue
        if isinstance(x, str) != isinstance(y, str):
            return -1 if isinstance(x, str) else 1
        return -1 if x < y else 1
    return 0


class _GemKey(_CmpKey):
    __slots__ = ()

    def _compare(self, other: Any) -> int:
        return _gem_cmp(self.parsed, other)


def _without_trailing_zeros(segments: list[Any]) -> list[Any]:
    end = len(segments)
    while end and segments[end - 1] == 0:
        end -= 1
    return segments[:end]


@lru_cache(maxsize=65536)
def rubygems_key(version: str) -> _GemKey:
    """Gem::Version order (``-`` reads as ``.pre.``, as Gem::Version does).

    Compared on ``canonical_segments``, as ``Gem::Version#<=>`` does: the numbers before the
    first letter segment and the segments from it on each lose their trailing zeros, so
    ``1.0.0.a.1.0`` is ``[1, "a", 1]`` and equals ``1.a.1``.
    """
    text = version.strip() or "0"  # Gem::Version: an empty version string is "0"
    text = text.replace("-", ".pre.")
    segments: list[Any] = [int(s) if s.isdigit() else s for s in _GEM_SEGMENT.findall(text)]
    if not segments:
        raise VersionError(f"not a RubyGems version: {version!r}")
    first = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    canonical = _without_trailing_zeros(segments[:first]) + _without_trailing_zeros(
        segments[first:]
    )
    return _GemKey(canonical)


# --------------------------------------------------------------------------- Packagist

_PHP_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3),
              ("rc", 3), ("#", 4), ("pl", 5), ("p", 5))  # fmt: skip


def _isdigits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _php_form(part: str) -> int:
    for name, order in _PHP_FORMS:
        if part.startswith(name):
            return order
    return -1


def _php_canonical(version: str) -> list[str]:
    out: list[str] = []
    prev = ""
    for c in version:
        dig, prev_dig = _isdigits(c), _isdigits(prev)
        if c in "-_+":
            if out and out[-1] != ".":
                out.append(".")
        elif prev and prev != "." and c != "." and dig != prev_dig:
            if out and out[-1] != ".":
                out.append(".")
            out.append(c)
        elif not (c.isascii() and c.isalnum()):
            if out and out[-1] != ".":
                out.append(".")
        else:
            out.append(c)
        prev = c
    return [p for p in "".join(out).split(".") if p]


def _php_part_cmp(x: str, y: str) -> int:
    if _isdigits(x) and _isdigits(y):
        return (int(x) > int(y)) - (int(x) < int(y))
    fx = 4 if _isdigits(x) else _php_form(x)
    fy = 4 if _isdigits(y) else _php_form(y)
    return (fx > fy) - (fx < fy)


def _php_cmp(a: list[str], b: list[str]) -> int:
    for x, y in zip(a, b, strict=False):
        result = _php_part_cmp(x, y)
        if result:
            return result
    if len(a) > len(b):
        return 1 if _isdigits(a[len(b)]) else _php_part_cmp(a[len(b)], "#")
    if len(b) > len(a):
        return -1 if _isdigits(b[len(a)]) else _php_part_cmp("#", b[len(a)])
    return 0


class _PhpKey(_CmpKey):
    __slots__ = ()

    def _compare(self, other: Any) -> int:
        return _php_cmp(self.parsed, other)


@lru_cache(maxsize=65536)
def packagist_key(version: str) -> _PhpKey:
    """PHP version_compare order, after dropping a leading ``v``."""
    text = version.strip()
    if text[:1] in ("v", "V") and _isdigits(text[1:2]):
        text = text[1:]
    parts = _php_canonical(text)
    if not parts:
        raise VersionError(f"not a Packagist version: {version!r}")
    return _PhpKey(parts)
