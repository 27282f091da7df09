"""RPM version order: rpmvercmp over epoch, version and release (rpm 4.18).

Used for Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, Photon OS and the other rpm
distributions. rpmvercmp splits a string into maximal runs of ASCII letters or digits;
everything else separates runs and is otherwise ignored, except ``~`` (sorts before
everything, even the end of the string) and ``^`` (sorts after the end of the string but
before any further run). Digit runs compare numerically (leading zeros ignored, so any
length works); a digit run beats a letter run; letter runs compare by ASCII; the string
with runs left over wins.

A full version is ``[epoch:]version[-release]`` split the way rpm's parseEVR does (the
epoch is the leading digits before ``:``, the release follows the last ``-``). rpm itself
ignores the release when one side has none; that is not a total order, so here a missing
release compares as an empty one (lower than any release), which is what ``rpm.vercmp``
from rpm's Lua API also answers. Any string compares; nothing raises.

The key is a flat tuple of (rank, value) pairs whose tuple order is rpmvercmp's.
"""

from __future__ import annotations

from functools import lru_cache

_TILDE, _END, _CARET, _ALPHA, _NUM = range(5)
_DIGITS = frozenset("0123456789")
_ALPHAS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def vercmp_key(text: str) -> tuple[object, ...]:
    """Key of one rpmvercmp operand (a version or a release on its own)."""
    key: list[object] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _DIGITS:
            j = i + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            key += (_NUM, int(text[i:j]))
            i = j
        elif c in _ALPHAS:
            j = i + 1
            while j < n and text[j] in _ALPHAS:
                j += 1
            key += (_ALPHA, text[i:j])
            i = j
        else:
            if c == "~":
                key += (_TILDE, 0)
            elif c == "^":
                key += (_CARET, 0)
            i += 1
    key += (_END, 0)
    return tuple(key)


def split_evr(evr: str) -> tuple[int, str, str]:
    """(epoch, version, release) the way rpm's parseEVR splits them."""
    i = 0
    while i < len(evr) and evr[i] in _DIGITS:
        i += 1
    epoch = 0
    rest = evr
    if i < len(evr) and evr[i] == ":":
        epoch = int(evr[:i]) if i else 0
        rest = evr[i + 1 :]
    version, hyphen, release = rest.rpartition("-")
    if not hyphen:
        version, release = rest, ""
    return epoch, version, release


@lru_cache(maxsize=131072)
def sort_key(evr: str) -> tuple[object, ...]:
    """A tuple whose order is rpm's EVR order (never raises)."""
    epoch, version, release = split_evr(evr)
    return (epoch, vercmp_key(version), vercmp_key(release))
