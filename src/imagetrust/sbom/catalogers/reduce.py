"""Text package databases reduced as they stream past: no whole-file limit, no padding kept.

A dpkg ``status`` file is mostly ``Description`` and ``Conffiles`` lines nobody matches on,
and a hostile one can be padded to any size: read whole, 64 MiB of padding once hid every
package of an image (the file was skipped as too large, and the scan said "0
vulnerabilities"). These reducers see the file a chunk at a time and keep only the lines
their parser reads, so the kept text, cached and parsed later, is a few lines a package
whatever the file's size, and the parser gives the same packages and the same errors as
it would on the whole file.

Bounds, each a ``CatalogerError`` naming the file (the SBOM is then incomplete, never
short of packages without saying so): NUL bytes (binary data is no text database), a line
the parser needs longer than ``MAX_LINE`` (no real field comes near), and kept text over
``MAX_KEPT``. A long line the parser does not need is skipped without being held.
"""

from __future__ import annotations

import re

from imagetrust.sbom.models import CatalogerError

MAX_LINE = 1 << 20
MAX_KEPT = 64 << 20


class LineReducer:
    """Feeds whole lines, in order, to ``keep``; holds at most one partial line."""

    #: which database the error messages name (``dpkg``, ``apk``)
    kind = "text"

    def __init__(self, path: str) -> None:
        self.path = path
        self.kept = bytearray()
        self._carry = b""
        self._skipping = False  # inside an over-long line nobody needs
        self.seen_content = False

    def feed(self, chunk: bytes) -> None:
        if b"\x00" in chunk:
            raise CatalogerError(self.path, f"binary data (NUL bytes) in a {self.kind} database")
        data = self._carry + chunk if self._carry else chunk
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                self._carry = b""
                return
            data = data[newline + 1 :]
            self._skipping = False
            self.after_skipped_line()
        cut = data.rfind(b"\n")
        if cut < 0:
            self._carry = data
        else:
            self._carry = data[cut + 1 :]
            self._lines(data[: cut + 1])
        if len(self._carry) > MAX_LINE:
            if self.needs(self._carry):
                raise CatalogerError(self.path, f"a line longer than {MAX_LINE} bytes")
            self._carry = b""
            self._skipping = True

    def finish(self) -> bytes | None:
        if self._carry and not self._skipping:
            self._lines(self._carry + b"\n")  # no final newline: the last line still counts
        self._carry = b""
        self.check()
        return bytes(self.kept)

    def _lines(self, complete: bytes) -> None:
        if b"\r" in complete:
            complete = complete.replace(b"\r\n", b"\n")
        if not self.seen_content and not complete.isspace():
            self.seen_content = True
        self.keep(complete)
        if len(self.kept) > MAX_KEPT:
            raise CatalogerError(
                self.path, f"over {MAX_KEPT} bytes of package fields: not a real database"
            )

    # --- what a subclass decides --------------------------------------------------------

    def keep(self, complete: bytes) -> None:
        """Append to ``self.kept`` what the parser needs of these whole lines."""
        raise NotImplementedError

    def needs(self, partial: bytes) -> bool:
        """Whether the parser needs the line that begins with ``partial``."""
        raise NotImplementedError

    def after_skipped_line(self) -> None:
        """An over-long line was dropped (it was not blank)."""

    def check(self) -> None:
        """Errors only the whole file shows (called once, at the end)."""


class Dpkg822Reducer(LineReducer):
    """dpkg ``status`` and ``status.d`` stanzas: each stanza's first line (the parser's
    corruption checks read it), the fields in ``FIELDS``, and the blank lines between."""

    kind = "dpkg"
    FIELDS = (b"Package", b"Version", b"Source", b"Architecture", b"Maintainer", b"Status")
    # a line after a non-blank line (so not a stanza's first) that is no kept field
    _DROP = re.compile(
        rb"(?<=[^\n]\n)(?!(?:" + b"|".join(FIELDS) + rb"):)[^\n]+\n",
    )
    _NEEDED = re.compile(rb"(?:" + b"|".join(FIELDS) + rb"):")

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._at_stanza_start = True

    def keep(self, complete: bytes) -> None:
        context = b"\n" if self._at_stanza_start else b"x\n"
        reduced = self._DROP.sub(b"", context + complete)
        self.kept += reduced[len(context) :]
        self._at_stanza_start = complete.endswith(b"\n\n") or complete == b"\n"

    def needs(self, partial: bytes) -> bool:
        return self._at_stanza_start or self._NEEDED.match(partial) is not None

    def after_skipped_line(self) -> None:
        self._at_stanza_start = False


class ApkInstalledReducer(LineReducer):
    """apk ``installed``: the ``X:value`` lines the parser and the owner lookup read (name,
    version, arch, origin, license, url, maintainer, commit; folders and files) and the
    blank lines between packages; checksums, permissions and the rest go."""

    kind = "apk"
    KEYS = b"PVAoLUmcFR"
    _DROP = re.compile(rb"^(?![" + KEYS + rb"]:)[^\n]+\n", re.MULTILINE)
    _FIELD = re.compile(rb"^[^\n:]+:[^\n]", re.MULTILINE)

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._any_field = False

    def keep(self, complete: bytes) -> None:
        if not self._any_field and self._FIELD.search(complete):
            self._any_field = True
        self.kept += self._DROP.sub(b"", complete)

    def needs(self, partial: bytes) -> bool:
        return partial[:1] in (b"P", b"V", b"A", b"o", b"L", b"U", b"m", b"c", b"F", b"R") and (
            partial[1:2] == b":"
        )

    def check(self) -> None:
        if self.seen_content and not self._any_field:
            raise CatalogerError(self.path, "no apk fields found: not an apk installed database")
