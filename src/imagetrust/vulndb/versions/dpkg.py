"""Debian package version order, exactly as ``dpkg --compare-versions`` (dpkg 1.21).

Why a key and not a comparator: the matcher compares each installed version against many
range bounds, so a version is parsed once into a tuple whose plain tuple order *is* dpkg's
order, and every later comparison runs in C.

The rules reproduced (lib/dpkg/version.c, lib/dpkg/parsehelp.c):

* ``[epoch:]upstream[-revision]``; the epoch ends at the first ``:``, the revision starts
  after the last ``-``; a missing revision compares like ``0``.
* Upstream and revision are compared as alternating runs of non-digits and digits. In a
  non-digit run ``~`` sorts before the end of the run, the end before letters, letters
  (by ASCII) before bytes >= 0x80, and those before every other character. Digit runs
  compare as numbers of any length (leading zeros ignored).
* dpkg only *warns* about bad characters or a version not starting with a digit and still
  compares, so those compare here too. The hard syntax errors dpkg refuses to compare
  (empty or spaced version, bad epoch, nothing after the colon, empty revision) raise
  :class:`~imagetrust.vulndb.errors.VersionError`. The empty string is dpkg's "blank"
  version, lower than any other, as ``dpkg --compare-versions`` treats an empty argument.
"""

from __future__ import annotations

from functools import lru_cache

from imagetrust.vulndb.errors import VersionError

_INT_MAX = 2**31 - 1
_BLANK_CHARS = " \t"
_STRTOL_SPACE = " \t\n\v\f\r"
_DIGITS = frozenset(b"0123456789")


def _order(byte: int) -> int:
    """dpkg's ``order()`` for one byte of a non-digit run (chars are signed on dpkg's side)."""
    if 65 <= byte <= 90 or 97 <= byte <= 122:
        return byte
    if byte == 0x7E:  # '~'
        return -1
    if byte >= 0x80:  # a negative signed char: c + 256 == the unsigned byte
        return byte
    return byte + 256


_ORDER = tuple(_order(b) for b in range(256))
#: dpkg's "blank" version (an empty argument): lower than every real version, even "~".
_BLANK: tuple[object, ...] = (-1,)
#: The state of a string that has run out: an empty non-digit run, then the number 0.
_END = ((0,), 0)


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _part_key(data: bytes) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Key of an upstream version or revision: (non-digit run, number) pairs, then _END.

    Only the first pair can have an empty non-digit run, so no pair after the first ever
    equals _END and a string that ran out compares against the other's next pair exactly
    as dpkg compares the end of a string against it.
    """
    pairs: list[tuple[tuple[int, ...], int]] = []
    i, n = 0, len(data)
    while True:
        start = i
        while i < n and data[i] not in _DIGITS:
            i += 1
        run = (*(_ORDER[b] for b in data[start:i]), 0)
        start = i
        while i < n and data[i] in _DIGITS:
            i += 1
        pairs.append((run, int(data[start:i]) if i > start else 0))
        if i >= n:
            break
    pairs.append(_END)
    return tuple(pairs)


def _strtol_epoch(text: str, version: str) -> int:
    """The epoch as dpkg reads it with ``strtol`` and then checks it."""
    i, n = 0, len(text)
    while i < n and text[i] in _STRTOL_SPACE:
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    start = i
    while i < n and "0" <= text[i] <= "9":
        i += 1
    if i == start:
        raise VersionError(f"dpkg version {version!r}: epoch in version is empty")
    if i != n:
        raise VersionError(f"dpkg version {version!r}: epoch in version is not number")
    value = sign * int(text[start:i])
    if value < 0:
        raise VersionError(f"dpkg version {version!r}: epoch in version is negative")
    if value > _INT_MAX:
        raise VersionError(f"dpkg version {version!r}: epoch in version is too big")
    return value


@lru_cache(maxsize=131072)
def sort_key(version: str) -> tuple[object, ...]:
    """A tuple whose order is dpkg's version order; raises VersionError where dpkg refuses."""
    # A C string ends at the first NUL: dpkg never sees anything after it.
    text = version.split("\0", 1)[0]
    if text == "":
        return _BLANK
    text = text.strip(_BLANK_CHARS)
    if not text:
        raise VersionError(f"dpkg version {version!r}: version string is empty")
    if any(c in _BLANK_CHARS for c in text):
        raise VersionError(f"dpkg version {version!r}: version string has embedded spaces")
    epoch = 0
    colon = text.find(":")
    if colon >= 0:
        epoch = _strtol_epoch(text[:colon], version)
        text = text[colon + 1 :]
        if not text:
            raise VersionError(f"dpkg version {version!r}: nothing after colon in version")
    upstream, hyphen, revision = text.rpartition("-")
    if not hyphen:
        upstream, revision = text, ""
    elif not revision:
        raise VersionError(f"dpkg version {version!r}: revision number is empty")
    if not upstream:
        raise VersionError(f"dpkg version {version!r}: version number is empty")
    return (epoch, _part_key(_to_bytes(upstream)), _part_key(_to_bytes(revision)))
