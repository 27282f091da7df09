"""Read the docs repository (docker-library/docs): one folder per image.

Of each folder the catalog reads four files: ``deprecated.md`` (the notice Docker Hub shows
on top of the image page), ``metadata.json`` (``{"hub": {"categories": [...]}}``),
``github-repo`` (where the image is maintained) and ``README-short.txt`` (the one-line
description). A folder with none of them is not an image (``.template-helpers``,
``.common-templates``, ``.github``), and dot-folders are never images. All of it is
untrusted text: kept as data, never interpreted beyond the rules below.

How ``deprecated.md`` is classified
-----------------------------------

The docs repository uses ``deprecated.md`` for two different things: declaring that an
image is finished (``openjdk``: "This image is officially deprecated") and attaching a note
that is no deprecation at all (``nextcloud``: "maintained by community volunteers") or that
retires only some tags (``amazonlinux``: "The `1`, `2018.03` ... tags of this image are
EOL"). Treating every file as a deprecation would flag live images; ignoring the file would
miss dead ones. The text is therefore read, by explicit rules, in this order:

1. The text is normalised: Markdown links become their text, bare URLs are dropped (a URL
   slug such as ``...-has-been-archived`` is not a statement), code backticks are dropped,
   case is folded. It is then cut into clauses at line breaks, sentence ends and
   ``, ; : ( )``, so each statement is judged with its own subject.
2. A *retirement statement* is a clause "SUBJECT is|are|was|has been|will be|is being
   [now|officially] RETIRED", where RETIRED is one of deprecated, archived, unmaintained,
   discontinued, EOL, end of life, no longer maintained / supported / published / updated,
   not (actively) maintained or updated; "SUBJECT will no longer be published|updated|...";
   "SUBJECT will not|will no longer receive ... updates"; or "... stopped|ceased publishing
   (updating, maintaining) OBJECT", whose OBJECT is then judged as the subject. Why: these
   are the words maintainers use to say the image gets no more fixes or builds, which is
   what matters for trust (emqx: "we stopped publishing the `emqx` Docker Official Image").
   Words that describe a situation rather than an end ("constraints preventing Rocky Linux
   from publishing updates here") stay a notice.
3. The statement is *partial* if its subject names tags, variants, versions or editions,
   or holds a version number ("Plone 4.x", "The `1`, `2018.03` tags"). Why: retiring some
   tags leaves the image itself alive, and the resolve stage already sees which tags are
   still in the library file.
4. It is *whole-image* if its subject is the image itself: it mentions image, repository or
   project (``this image/project``, ``the upstream Notary project``, ``the ... GitHub
   repository``), or the image's own name (``NGINX Unit`` for ``unit``). Why: a statement
   about something else ("users are ...") says nothing about this image.
5. A Markdown heading that announces a deprecation (deprecat..., end of life, EOL,
   unmaintained, archived) without naming tags, variants or versions is whole-image too.
   Why: the heading titles the whole notice, as in plone's "DEPRECATION NOTICE" whose list
   retires every version the image ever had.
6. Any whole-image statement -> ``DEPRECATED``; otherwise (only partial statements, a plain
   note, or an empty file) -> ``NOTICE``. A file that exists always says *something* a
   reviewer should see, so it is never ``NONE``; ``NONE`` means there is no file.

The rules are deterministic (no scoring, no randomness) and ``explain_deprecation`` returns
the rule and the clause that decided, so a verdict can show its evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from imagetrust.catalog.library import decode_utf8
from imagetrust.catalog.models import DeprecationKind, DocsInfo, ParseError
from imagetrust.errors import UsageError

DOCS_FILES = ("deprecated.md", "metadata.json", "github-repo", "README-short.txt")
# Real files are at most a few KB; the fetcher keeps none over 256 KiB either.
MAX_DOCS_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class DocsResult:
    """Everything read from a docs checkout: the image folders and the broken ones."""

    directory: Path
    docs: Mapping[str, DocsInfo]
    errors: tuple[ParseError, ...] = ()


@dataclass(frozen=True)
class DeprecationVerdict:
    """How a ``deprecated.md`` was classified, with the rule and the clause that decided."""

    kind: DeprecationKind
    rule: str  # "whole-image", "heading", "partial" or "note"
    evidence: str | None = None


# --- classification ---------------------------------------------------------------------

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*)$")
_CLAUSE_BREAK = re.compile(r"[\n,;:()]|[.!?](?=\s|$)")
_RETIRED = (
    r"(?:deprecated|archived|unmaintained|discontinued|eol|end[- ]of[- ]life"
    r"|no\s+longer\s+(?:maintained|supported|published|updated)"
    r"|not\s+(?:actively\s+)?(?:maintained|updated))"
)
# The subject is the clause text before the match: searching for the verb alone keeps the
# work linear in the clause length, where a leading ``(.*?)`` group would be quadratic.
_STATEMENT = re.compile(
    r"\b(?:is|are|was|were|has\s+been|have\s+been|will\s+be|is\s+being|are\s+being)"
    r"\s+(?:(?:now|officially|also|hereby)\s+)*" + _RETIRED + r"\b"
)
_NO_LONGER_BE = re.compile(
    r"\b(?:will|shall)\s+(?:no\s+longer|not)\s+be\s+(?:\w+\s+)?"
    r"(?:published|updated|maintained|supported)\b"
)
_NO_UPDATES = re.compile(
    r"\b(?:will\s+)?(?:not|no\s+longer)\s+receive\b(?:\s+\S+){0,5}?\s+updates\b"
)
# "we stopped publishing the image": the object, after the verb, is what is retired.
_STOPPED = re.compile(
    r"\b(?:stopped|ceased|discontinued|ended)\s+(?:publishing|updating|maintaining|building)\b"
)
_HEADING_WORDS = re.compile(r"deprecat|end[- ]of[- ]life|\beol\b|unmaintained|archived")
_SCOPE_WORDS = re.compile(r"\b(?:tags?|variants?|versions?|editions?|flavou?rs?)\b")
_VERSION = re.compile(r"\b\d+(?:\.(?:\d+|x))+\b|\b\d+\.x\b|\bv\d")
_SELF_WORDS = re.compile(r"\b(?:image|images|repository|repo|project|image/project)\b")


def _normalise(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    return text.replace("`", "").casefold()


def _clauses(text: str) -> Iterator[str]:
    for clause in _CLAUSE_BREAK.split(text):
        clause = " ".join(clause.split())
        if clause:
            yield clause


def _names_self(subject: str, name: str) -> bool:
    if _SELF_WORDS.search(subject):
        return True
    spelled = {name.casefold(), name.casefold().replace("-", " ")}
    return any(re.search(rf"\b{re.escape(s)}\b", subject) for s in spelled if s)


def _is_partial(subject: str) -> bool:
    return bool(_SCOPE_WORDS.search(subject) or _VERSION.search(subject))


def _statement_subject(clause: str) -> str | None:
    for pattern in (_STATEMENT, _NO_LONGER_BE, _NO_UPDATES):
        match = pattern.search(clause)
        if match is not None:
            return clause[: match.start()].strip()
    match = _STOPPED.search(clause)
    if match is not None:
        return clause[match.end() :].strip()
    return None


def _heading_verdict(text: str) -> DeprecationVerdict | None:
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match is None:
            continue
        heading = " ".join(match.group(1).replace("#", " ").split())
        if _HEADING_WORDS.search(heading) and not _is_partial(heading):
            return DeprecationVerdict(DeprecationKind.DEPRECATED, "heading", heading)
    return None


def explain_deprecation(text: str, *, name: str) -> DeprecationVerdict:
    """Classify a ``deprecated.md`` text of image ``name`` (rules in the module docstring)."""
    normalised = _normalise(text)
    partial: str | None = None
    for clause in _clauses(normalised):
        subject = _statement_subject(clause)
        if subject is None:
            continue
        if _is_partial(subject):
            partial = partial or clause
        elif _names_self(subject, name):
            return DeprecationVerdict(DeprecationKind.DEPRECATED, "whole-image", clause)
    heading = _heading_verdict(normalised)
    if heading is not None:
        return heading
    if partial is not None:
        return DeprecationVerdict(DeprecationKind.NOTICE, "partial", partial)
    return DeprecationVerdict(DeprecationKind.NOTICE, "note", None)


def classify_deprecation(text: str, *, name: str) -> DeprecationKind:
    """``DEPRECATED`` or ``NOTICE`` for a ``deprecated.md`` text (never ``NONE``)."""
    return explain_deprecation(text, name=name).kind


# --- files ------------------------------------------------------------------------------


def _read_text(path: Path) -> str | None:
    """The file's text, None if absent; ParseError if unreadable, too large or not UTF-8."""
    where = str(path)
    try:
        if path.is_symlink() or not path.is_file():
            return None
        size = path.stat().st_size
        if size > MAX_DOCS_FILE_BYTES:
            raise ParseError(where, 1, f"{size} bytes is too large for a docs file")
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(where, 1, f"cannot read: {exc.strerror or exc}") from None
    return decode_utf8(data, where)


def parse_metadata(text: str, *, path: str) -> tuple[str, ...]:
    """The ``hub.categories`` of a ``metadata.json``, in order, each once."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ParseError(path, 1, "invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ParseError(path, 1, "expected a JSON object")
    hub = data.get("hub", {})
    if not isinstance(hub, dict):
        raise ParseError(path, 1, '"hub" must be an object')
    categories = hub.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ParseError(path, 1, '"hub.categories" must be a list of strings')
    return tuple(dict.fromkeys(c.strip() for c in categories if c.strip()))


def _first_line(text: str | None) -> str | None:
    if text is None:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def is_image_folder(path: Path) -> bool:
    """A docs folder is an image's when it is no dot-folder and holds a file we read."""
    if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
        return False
    return any((path / name).is_file() for name in DOCS_FILES)


def read_docs_folder(path: Path) -> DocsInfo:
    """One image folder; the image name is the folder name. ParseError on a broken file."""
    name = path.name
    deprecated = _read_text(path / "deprecated.md")
    metadata = _read_text(path / "metadata.json")
    categories = (
        () if metadata is None else parse_metadata(metadata, path=str(path / "metadata.json"))
    )
    return DocsInfo(
        name=name,
        deprecation=(
            DeprecationKind.NONE
            if deprecated is None
            else classify_deprecation(deprecated, name=name)
        ),
        deprecated_text=deprecated,
        categories=categories,
        github_repo=_first_line(_read_text(path / "github-repo")),
        description=_read_text_stripped(path / "README-short.txt"),
    )


def _read_text_stripped(path: Path) -> str | None:
    text = _read_text(path)
    if text is None:
        return None
    return " ".join(text.split()) or None


def docs_folder(path: Path) -> Path:
    """The docs checkout root, which must be a folder."""
    if path.is_dir():
        return path
    raise UsageError(f"docs folder not found: {path}", hint="pass the docs repository checkout")


def load_docs_dir(path: Path) -> DocsResult:
    """Every image folder of a docs checkout; a broken folder is an error, not a stop."""
    root = docs_folder(path)
    docs: dict[str, DocsInfo] = {}
    errors: list[ParseError] = []
    for child in sorted(root.iterdir()):
        if not is_image_folder(child):
            continue
        try:
            docs[child.name] = read_docs_folder(child)
        except ParseError as exc:
            errors.append(exc)
    return DocsResult(directory=root, docs=docs, errors=tuple(errors))
