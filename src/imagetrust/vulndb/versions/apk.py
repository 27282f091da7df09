"""Alpine package version order: apk-tools 3 (src/version.c), read as leniently as apk-tools 2.

Alpine, Wolfi and Chainguard all use apk, so one order serves the three. A version is
``digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}``: suffixes ``_alpha``, ``_beta``,
``_pre``, ``_rc`` sort before the plain release and ``_cvs``, ``_svn``, ``_git``, ``_hg``,
``_p`` after it; ``-rN`` is the package revision; ``~hash`` a git commit (compared as a
string). A dot-separated component with a leading zero is compared as a string (Gentoo's
rule), so ``8.2.0 < 8.2.001``. Numbers are unsigned 64-bit as in apk (they wrap).

apk never refuses to compare: it tokenizes both strings in lock step and, where a string
stops being a valid version, treats the rest as an "invalid" token, which sorts below
anything still valid. Two rules go beyond apk-tools 3, because Alpine's own data needs them
and apk-tools 3 would otherwise call different versions equal (losing a finding when an
installed ``-r3`` "equals" a fix in ``-r4``):

* A digit right after a letter starts a new number, as apk-tools 2.x's ``next_token`` does
  (opensmtpd ``6.6.2p1-r0`` in Alpine's secdb): ``6.0.2p1-r3 < 6.0.2p1-r4``. Like apk-tools
  2.x it is a plain number (``1.0a01 = 1.0a1``). ``is_valid`` stays apk-tools 3's: such a
  version is still invalid there, it just orders.
* Where two strings turn invalid at the same point after equal prefixes (apk: equal), the
  unread rest is compared as text, and a trailing ``-rN`` after it as the revision number
  (secdb's xen ``4.10-1-r1``). This only splits pairs apk calls equal, so every pair apk
  orders keeps its order.

The key is a flat tuple of (rank, value) pairs whose plain tuple order is apk's order:
when two token streams first differ in type, apk decides by token type (a pre-release
suffix loses to anything, otherwise the earlier token type wins), and the ranks encode
exactly that.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Token types, in apk-tools' order.
_INITIAL_DIGIT, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _COMMIT_HASH, _REVISION_NO = range(7)
_END, _INVALID = 7, 8

_SUFFIX_NONE = 5
_SUFFIXES = {
    "alpha": 1,
    "beta": 2,
    "pre": 3,
    "rc": 4,
    "cvs": 6,
    "svn": 7,
    "git": 8,
    "hg": 9,
    "p": 10,
}
_U64 = 2**64
_HEX = frozenset("0123456789abcdef")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")
_PRE_RANK = -100  # a pre-release suffix loses against any other token
_REVISION_TAIL = re.compile(r"(.*)-r([0-9]+)", re.DOTALL)

Token = tuple[int, object, int]  # (type, comparable value, suffix value or 0)


def _digits(text: str, i: int) -> int:
    j = i
    while j < len(text) and text[j] in _DIGITS:
        j += 1
    return j


def tokens(version: str, *, lenient: bool = True) -> list[Token]:
    """apk's token stream, ending with an END token or an INVALID one.

    ``lenient`` (for ordering) reads a digit after a letter as apk-tools 2.x does and keeps
    an invalid string's unread rest and trailing ``-rN``: INVALID carries the rest as text
    and a REVISION_NO token may follow it. ``lenient=False`` is apk-tools 3's validation.
    """
    out: list[Token] = []
    n = len(version)
    j = _digits(version, 0)
    if j == 0:
        return _invalid(out, version, 0, lenient)
    out.append((_INITIAL_DIGIT, int(version[:j]) % _U64, 0))
    prev, i = _INITIAL_DIGIT, j
    while True:
        if i >= n:
            out.append((_END, 0, 0))
            return out
        c = version[i]
        if c in _LOWER:
            if prev > _DIGIT:
                break
            out.append((_LETTER, ord(c), 0))
            prev, i = _LETTER, i + 1
        elif c == "." or c in _DIGITS:
            if c == ".":
                if prev > _DIGIT:
                    break
                i += 1
            after_letter = c != "." and prev == _LETTER and lenient
            if prev in (_INITIAL_DIGIT, _DIGIT) or after_letter:
                kind = _DIGIT
            elif prev == _SUFFIX:
                kind = _SUFFIX_NO
            else:
                break
            j = _digits(version, i)
            if j == i:
                break
            text = version[i:j]
            if kind == _DIGIT and text[0] == "0" and not after_letter:
                value: object = (0, text)  # Gentoo: a leading zero compares as a string
            elif kind == _DIGIT:
                value = (1, int(text) % _U64)
            else:
                value = int(text) % _U64
            out.append((kind, value, 0))
            prev, i = kind, j
        elif c == "_":
            if prev > _SUFFIX_NO:
                break
            j = i + 1
            while j < n and version[j] in _LOWER:
                j += 1
            suffix = _SUFFIXES.get(version[i + 1 : j], 0)
            if not suffix:
                break
            out.append((_SUFFIX, suffix, suffix))
            prev, i = _SUFFIX, j
        elif c == "~":
            if prev >= _COMMIT_HASH:
                break
            j = i + 1
            while j < n and version[j] in _HEX:
                j += 1
            if j == i + 1:
                break
            out.append((_COMMIT_HASH, version[i + 1 : j], 0))
            prev, i = _COMMIT_HASH, j
        elif c == "-":
            if prev >= _REVISION_NO or not version.startswith("-r", i):
                break
            j = _digits(version, i + 2)
            if j == i + 2:
                break
            out.append((_REVISION_NO, int(version[i + 2 : j]) % _U64, 0))
            prev, i = _REVISION_NO, j
        else:
            break
    return _invalid(out, version, i, lenient)


def _invalid(out: list[Token], version: str, i: int, lenient: bool) -> list[Token]:
    """End ``out`` with INVALID at ``i``; leniently, keep the rest and its ``-rN``."""
    if not lenient:
        out.append((_INVALID, "", 0))
        return out
    rest = version[i:]
    tail = _REVISION_TAIL.fullmatch(rest)
    if tail is None:
        out.append((_INVALID, rest, 0))
    else:
        out.append((_INVALID, tail.group(1), 0))
        out.append((_REVISION_NO, int(tail.group(2)) % _U64, 0))
    return out


def _rank(token: Token) -> int:
    kind, _, suffix = token
    if kind == _SUFFIX and suffix < _SUFFIX_NONE:
        return _PRE_RANK
    return -kind


@lru_cache(maxsize=131072)
def sort_key(version: str) -> tuple[object, ...]:
    """A flat tuple whose order is apk's version order (never raises)."""
    key: list[object] = []
    for token in tokens(version):
        key.append(_rank(token))
        key.append(token[1])
    return tuple(key)


def is_valid(version: str) -> bool:
    """apk_version_validate (apk-tools 3): the whole string is a well-formed apk version."""
    return tokens(version, lenient=False)[-1][0] == _END


def compare_fuzzy(a: str, b: str, fuzzy: bool = False) -> int:
    """apk's comparison, with its fuzzy mode (``b`` a prefix of ``a`` matches) for ``~``."""
    ta, tb = tokens(a), tokens(b)
    for x, y in zip(ta, tb, strict=False):
        if x[0] != y[0]:
            if y[0] == _END and fuzzy:
                return 0
            rx, ry = _rank(x), _rank(y)
            return -1 if rx < ry else 1
        if x[1] != y[1]:
            return -1 if x[1] < y[1] else 1  # type: ignore[operator]
        if x[0] == _END:
            return 0
    # equal up to the shorter stream: only an invalid string's trailing -rN is left
    return (len(ta) > len(tb)) - (len(ta) < len(tb))
