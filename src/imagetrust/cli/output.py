"""Output conventions shared by every command.

Every JSON document is an object whose first keys are ``schema_version`` and ``kind``, so
consumers can dispatch and detect format changes. Tables go to stdout through Rich;
messages and progress go to stderr so that stdout stays machine-readable.

Package names, advisory ids, registry errors and notices are untrusted text, and a
terminal obeys what it is sent: an escape sequence in a package name can retitle the
window, hide lines or plant a hyperlink. So every console here shows control characters
(C0, DEL, C1) and bidirectional overrides as visible escapes (``\x1b``), and reads no Rich
markup unless a call asks for it (and then escapes what it interpolates). JSON needs
nothing: its encoder escapes control characters itself.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA_VERSION = 1

# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_document(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **payload}


def dumps(kind: str, payload: dict[str, Any]) -> str:
    """The document indented by two spaces, exactly as ``json.dumps(..., indent=2)`` writes it.

    ``json.dumps`` with ``indent`` falls back to its pure-Python encoder (4 ms of a warm
    ``sbom``'s 10 ms of work); encoding compactly in C and re-indenting with msgspec's C
    formatter gives the same text.
    """
    import msgspec.json

    compact = json.dumps(json_document(kind, payload), default=_default, ensure_ascii=False)
    return msgspec.json.format(compact, indent=2)


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(dumps(kind, payload) + "\n")


def emit_foreign_json(document: dict[str, Any]) -> None:
    """A document in another project's format (SARIF), as it is: no ``schema_version`` or
    ``kind`` of ours in front."""
    import msgspec.json

    compact = json.dumps(document, default=_default, ensure_ascii=False)
    sys.stdout.write(msgspec.json.format(compact, indent=2) + "\n")


PIPE_WIDTH = 240  # when stdout is a file or pipe, do not wrap at Rich's default 80 columns


_SAFE_CONSOLE: Any = None


def _safe_console_class() -> Any:
    """A Rich Console whose strings are made printable and read as plain text (markup only
    when a call passes ``markup=True``); built on first use, Rich being a lazy import."""
    global _SAFE_CONSOLE
    if _SAFE_CONSOLE is None:
        from rich.console import Console
        from rich.text import Text

        class SafeConsole(Console):
            def render_str(self, text: str, **kwargs: Any) -> Text:
                return super().render_str(printable(text), **kwargs)

        _SAFE_CONSOLE = SafeConsole
    return _SAFE_CONSOLE


def stdout_console() -> Console:
    width = None if sys.stdout.isatty() else PIPE_WIDTH
    console: Console = _safe_console_class()(
        highlight=False, soft_wrap=False, width=width, markup=False
    )
    return console


def say(text: str) -> None:
    """One plain line on stderr, for status and problems that need no styling.

    Commands whose result may come straight from a cache (a warm ``sbom``) use this rather
    than a Rich console, whose import alone costs about as much as the cached work.
    """
    sys.stderr.write(printable(text) + "\n")
    sys.stderr.flush()


def stderr_console() -> Console:
    console: Console = _safe_console_class()(stderr=True, highlight=False, markup=False)
    return console


def safe_text(text: str, style: str = "") -> Any:
    """A Rich ``Text`` of untrusted ``text``: printable, never read as markup."""
    from rich.text import Text

    return Text(printable(text), style=style)


def print_key_values(rows: list[tuple[str, str]]) -> None:
    """Two columns, keys left; values wrap instead of being cut, so paths stay whole."""
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    stdout_console().print(table)


class ProgressBar:
    """Rich progress bars on stderr, one per task, fed by ``report(task, done, total)``.

    Stages take a plain callback so they never import Rich; quiet mode makes it a no-op.
    """

    def __init__(self, console: Any, *, quiet: bool) -> None:
        self._console = console
        self._quiet = quiet
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self._quiet:
            from rich.progress import Progress

            self._bar = Progress(console=self._console, transient=True)
            self._bar.start()
        return self.report

    def report(self, task: str, done: int, total: int | None) -> None:
        if self._bar is None:
            return
        if task not in self._tasks:
            self._tasks[task] = self._bar.add_task(task, total=total)
        self._bar.update(self._tasks[task], completed=done, total=total)

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()
