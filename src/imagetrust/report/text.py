"""Untrusted text, made safe for each format, and the small wording every format shares.

Descriptions and notices come from the Hub and the docs repository, tags and package names
from registries and images: any of them may hold markup, a formula, or a ``javascript:``
link. HTML escaping is Jinja2's (autoescape); links are made here, only for ``http`` and
``https`` URLs; Markdown and CSV cells are neutralised here.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}*_"
# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def slug(*parts: str) -> str:
    """A file name for a page: readable, made only of ``[A-Za-z0-9._-]``, never ``..``, and
    unique per input (a short hash of it), however hostile the name."""
    readable = "-".join(_UNSAFE_NAME.sub("-", part).strip("-.") for part in parts if part)
    readable = re.sub(r"-{2,}", "-", readable)[:80].strip("-.") or "image"
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{readable}-{digest[:10]}"


def safe_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None (never a link)."""
    if not value:
        return None
    text = value.strip()
    if _UNPRINTABLE.search(text) or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def linkify(text: str | None) -> Markup:
    """Escaped ``text`` with its http(s) URLs as links (opened with no referrer, no opener);
    everything else, ``javascript:`` and Markdown links included, stays text."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(str(escape(text[last : match.start()])))
        safe = safe_url(url)
        if safe is None:
            out.append(str(escape(url)))
        else:
            out.append(
                f'<a href="{escape(safe)}" rel="noopener noreferrer nofollow">{escape(url)}</a>'
            )
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704  every piece above was escaped


def first_line(text: str | None, limit: int = 200) -> str:
    """The first line with words in it, without Markdown's leading marks."""
    for line in (text or "").splitlines():
        line = line.strip().lstrip("#>*- ").strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def md_text(text: str) -> str:
    """Untrusted text in a Markdown table cell or list item: one line, no markup of its own
    (GitHub renders HTML in Markdown, so ``<`` and ``&`` are entities)."""
    cleaned = _UNPRINTABLE.sub(" ", " ".join(text.split()))
    for char, escaped in (
        ("&", "&amp;"),
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("<", "&lt;"),
        (">", "&gt;"),
    ):
        cleaned = cleaned.replace(char, escaped)
    for char in "`*_[]#~!":
        cleaned = cleaned.replace(char, "\\" + char)
    return cleaned


def csv_cell(value: object) -> str:
    """A CSV value a spreadsheet shows as text: one starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return would be read as a formula, so it gets a ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    text = _UNPRINTABLE.sub(" ", str(value))
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def day(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d")


def number(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}"


def compact(value: int | None) -> str:
    """1234567 -> 1.2M: pull counts read at a glance."""
    if value is None:
        return "-"
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            shown = f"{value / size:.1f}".removesuffix(".0")
            return f"{shown}{unit}"
    return str(value)


def days_text(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        hours = value * 24
        return f"{hours:.0f} h"
    return f"{value:.1f} d".replace(".0 d", " d")
