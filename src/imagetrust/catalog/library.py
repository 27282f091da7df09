"""Parse the official-images ``library/`` manifest files (the bashbrew "RFC 2822" format).

The file is what bashbrew builds from, so imagetrust must read it the way bashbrew does or
it would review tags that are never built (or miss ones that are):

- Paragraphs are separated by blank (or whitespace-only) lines. The first paragraph is the
  *global* one: its values are the defaults of every later *entry* paragraph, and an
  entry's own value wins. Architecture overrides (``arm64v8-GitCommit``) merge the same
  way, per architecture and field: global ones first, then the entry's.
- A line starting with ``#`` (in the first column) is a comment and is dropped before
  anything else, so a comment may sit between two continuation lines without ending the
  field, and a paragraph of comments only is no paragraph at all (deprecated files keep
  their old entries commented out this way). An indented ``#`` is a continuation, as in
  bashbrew.
- A line starting with a space or tab continues the previous field (RFC 2822 folding).
  List fields (``Maintainers``, ``Tags``, ``SharedTags``, ``Architectures``,
  ``Constraints``) are unfolded and split on commas; single-value fields may not continue,
  because a folded ``GitCommit`` or ``Directory`` can only be a mistake.
- An empty value means "not given here", so the global value (or the default) applies.
  ``Architectures`` defaults to ``amd64``, as in bashbrew. ``GitFetch``, ``Directory`` and
  ``File`` keep ``None`` when absent; bashbrew's defaults for them are below
  (``DEFAULT_GIT_FETCH`` ...) for the stages that need them.
- Field names are exact (bashbrew's decoder is case-sensitive). An unknown field, a
  duplicate field in one paragraph, ``Tags`` in the global paragraph or a global paragraph
  without ``Maintainers`` is an error, as bashbrew treats them; so is any line that is not
  ``Field: value``, a continuation, a comment or blank. A file without any ``Tags`` is valid:
  it means the image is deprecated.

Every error is a ``ParseError`` with the file and the 1-based line, never another exception,
and ``load_library_dir`` collects them per file so one broken file never stops the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from imagetrust.catalog.models import LibraryEntry, LibraryManifest, ParseError
from imagetrust.errors import UsageError

LIST_FIELDS = ("Maintainers", "Tags", "SharedTags", "Architectures", "Constraints")
SCALAR_FIELDS = ("GitRepo", "GitFetch", "GitCommit", "Directory", "File", "Builder")
KNOWN_FIELDS = frozenset((*LIST_FIELDS, *SCALAR_FIELDS))
# Fields bashbrew lets an architecture override (``s390x-GitCommit``); Builder is included
# because ``LibraryEntry.field_for`` resolves it per architecture too.
ARCH_FIELDS = frozenset(SCALAR_FIELDS)

DEFAULT_ARCHITECTURES = ("amd64",)
DEFAULT_GIT_FETCH = "refs/heads/master"
DEFAULT_DIRECTORY = "."
DEFAULT_FILE = "Dockerfile"

# A real library file is a few KB (the largest is under 40 KB); the fetcher keeps none over
# 1 MiB either, so a bigger file is refused before it is read into memory.
MAX_LIBRARY_BYTES = 1024 * 1024

_FIELD_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*):(.*)", re.DOTALL)
_BLANKS = " \t"
_RENDER_ORDER = ("Tags", "SharedTags", "Architectures", *SCALAR_FIELDS, "Constraints")


@dataclass(frozen=True)
class LibraryResult:
    """Everything read from one ``library/`` folder: the good files and the broken ones.

    A broken file is an error in ``errors`` and absent from ``manifests``; the catalog goes
    on with the rest and records the errors with the run.
    """

    directory: Path
    manifests: Mapping[str, LibraryManifest]
    errors: tuple[ParseError, ...] = ()


# --- lines into paragraphs --------------------------------------------------------------


@dataclass
class _Field:
    key: str
    line: int
    parts: list[str]  # the first line's value, then each continuation line, all stripped

    @property
    def is_list(self) -> bool:
        return self.key in LIST_FIELDS

    def items(self) -> tuple[str, ...]:
        """List values: unfolded (RFC 2822), split on commas, blanks dropped."""
        unfolded = " ".join(self.parts)
        return tuple(item.strip(_BLANKS) for item in unfolded.split(",") if item.strip(_BLANKS))

    def scalar(self) -> str | None:
        value = self.parts[0]
        return value or None


@dataclass
class _Paragraph:
    line: int
    fields: dict[str, _Field] = field(default_factory=dict)


class _Reader:
    """Turns text into paragraphs of fields, raising ``ParseError`` at the offending line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.paragraphs: list[_Paragraph] = []
        self._current: _Paragraph | None = None
        self._last: _Field | None = None

    def error(self, line: int, message: str) -> ParseError:
        return ParseError(self.path, line, message)

    def feed(self, text: str) -> list[_Paragraph]:
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw[:-1] if raw.endswith("\r") else raw
            if line.startswith("#"):
                continue
            if not line.strip(_BLANKS):
                self._current, self._last = None, None
            elif line[0] in _BLANKS:
                self._continue(number, line.strip(_BLANKS))
            else:
                self._start_field(number, line)
        return self.paragraphs

    def _continue(self, number: int, value: str) -> None:
        if self._last is None:
            raise self.error(number, "continuation line with no field to continue")
        if not self._last.is_list:
            raise self.error(
                number, f"{self._last.key} takes one value; it cannot continue on this line"
            )
        self._last.parts.append(value)

    def _start_field(self, number: int, line: str) -> None:
        match = _FIELD_LINE.fullmatch(line)
        if match is None:
            raise self.error(
                number,
                f"expected 'Field: value', a continuation, a comment or a blank line, "
                f"got {_preview(line)}",
            )
        key, value = match.group(1), match.group(2).strip(_BLANKS)
        self._check_known(number, key)
        if self._current is None:
            self._current = _Paragraph(line=number)
            self.paragraphs.append(self._current)
        previous = self._current.fields.get(key)
        if previous is not None:
            raise self.error(number, f"duplicate field {key} (first on line {previous.line})")
        self._last = _Field(key=key, line=number, parts=[value])
        self._current.fields[key] = self._last

    def _check_known(self, number: int, key: str) -> None:
        if key in KNOWN_FIELDS or _split_arch_key(key) is not None:
            return
        message = f"unknown field {key!r}"
        hint = _closest_field(key)
        if hint is not None:
            message += f" (did you mean {hint!r}?)"
        raise self.error(number, message)


def _split_arch_key(key: str) -> tuple[str, str] | None:
    """``windows-amd64-Directory`` -> (``windows-amd64``, ``Directory``); else None."""
    arch, sep, name = key.rpartition("-")
    if sep and arch and name in ARCH_FIELDS:
        return arch, name
    return None


def _closest_field(key: str) -> str | None:
    """The valid key a mistyped one differs from only in case, to make the error useful."""
    prefix, _, base = key.rpartition("-")
    for known in KNOWN_FIELDS:
        if known.lower() == base.lower():
            candidate = f"{prefix}-{known}" if prefix else known
            if candidate in KNOWN_FIELDS or _split_arch_key(candidate) is not None:
                return candidate
    return None


def _preview(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


# --- paragraphs into a manifest ---------------------------------------------------------


@dataclass(frozen=True)
class _Defaults:
    """What the global paragraph gives every entry (after bashbrew's own defaults)."""

    shared_tags: tuple[str, ...] = ()
    architectures: tuple[str, ...] = DEFAULT_ARCHITECTURES
    constraints: tuple[str, ...] = ()
    scalars: Mapping[str, str] = field(default_factory=dict)
    arch_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_global(cls, values: Mapping[str, str]) -> _Defaults:
        """From the normalised global fields, the same mapping kept in ``global_fields``."""
        return cls(
            shared_tags=_split_list(values.get("SharedTags", "")),
            architectures=_dedupe(_split_list(values.get("Architectures", "")))
            or DEFAULT_ARCHITECTURES,
            constraints=_split_list(values.get("Constraints", "")),
            scalars={k: v for k, v in values.items() if k in SCALAR_FIELDS and v},
            arch_fields=_arch_fields(values.items()),
        )


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip(_BLANKS) for item in value.split(",") if item.strip(_BLANKS))


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _arch_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        split = _split_arch_key(key)
        if split is not None and value:
            result.setdefault(split[0], {})[split[1]] = value
    return result


def _normalised(paragraph: _Paragraph) -> dict[str, str]:
    """Field -> value, lists joined with ", "; empty values left out (they mean "not given")."""
    values: dict[str, str] = {}
    for key, fld in paragraph.fields.items():
        value = ", ".join(fld.items()) if fld.is_list else (fld.scalar() or "")
        if value:
            values[key] = value
    return values


def _merge_arch(
    base: Mapping[str, Mapping[str, str]], own: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    merged = {arch: dict(fields) for arch, fields in base.items()}
    for arch, fields in own.items():
        merged.setdefault(arch, {}).update(fields)
    return merged


def _entry(values: Mapping[str, str], defaults: _Defaults, line: int) -> LibraryEntry:
    """One entry with the global values applied where the entry gives none."""

    def scalar(name: str) -> str | None:
        return values.get(name) or defaults.scalars.get(name)

    return LibraryEntry(
        tags=_split_list(values.get("Tags", "")),
        shared_tags=_split_list(values.get("SharedTags", "")) or defaults.shared_tags,
        architectures=_dedupe(_split_list(values.get("Architectures", "")))
        or defaults.architectures,
        git_repo=scalar("GitRepo"),
        git_fetch=scalar("GitFetch"),
        git_commit=scalar("GitCommit"),
        directory=scalar("Directory"),
        file=scalar("File"),
        builder=scalar("Builder"),
        constraints=_split_list(values.get("Constraints", "")) or defaults.constraints,
        arch_fields=_merge_arch(defaults.arch_fields, _arch_fields(values.items())),
        line=line,
    )


def _check_global(reader: _Reader, paragraphs: list[_Paragraph]) -> _Paragraph:
    if not paragraphs:
        raise reader.error(1, "no fields: a library file starts with a paragraph of Maintainers")
    first = paragraphs[0]
    tags = first.fields.get("Tags")
    if tags is not None:
        raise reader.error(
            tags.line, "Tags in the global (first) paragraph: separate it with a blank line"
        )
    maintainers = first.fields.get("Maintainers")
    if maintainers is None or not maintainers.items():
        raise reader.error(first.line, "the global (first) paragraph has no Maintainers")
    return first


def parse_library_text(text: str, *, name: str, path: str) -> LibraryManifest:
    """Parse one library file's text; ``name`` is the repository, ``path`` is for errors."""
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark from an editor is not part of the first key
    reader = _Reader(path)
    paragraphs = reader.feed(text)
    first = _check_global(reader, paragraphs)
    global_fields = _normalised(first)
    defaults = _Defaults.from_global(global_fields)
    entries = tuple(_entry(_normalised(p), defaults, p.line) for p in paragraphs[1:])
    return LibraryManifest(
        name=name,
        path=path,
        maintainers=first.fields["Maintainers"].items(),
        entries=entries,
        global_fields=global_fields,
    )


# --- files and folders ------------------------------------------------------------------


def decode_utf8(data: bytes, path: str) -> str:
    """UTF-8 text, or a ``ParseError`` on the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(path, line, f"not UTF-8 (byte {exc.start})") from None


def parse_library_file(path: Path) -> LibraryManifest:
    """Parse ``library/NAME``; the repository name is the file name."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_LIBRARY_BYTES:
            raise ParseError(where, 1, f"{size} bytes is too large for a library file")
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(where, 1, f"cannot read: {exc.strerror or exc}") from None
    return parse_library_text(decode_utf8(data, where), name=path.name, path=where)


def library_folder(path: Path) -> Path:
    """The ``library/`` folder itself, given it or the official-images checkout around it."""
    if (path / "library").is_dir():
        return path / "library"
    if path.is_dir():
        return path
    raise UsageError(
        f"library folder not found: {path}",
        hint="pass the official-images checkout or its library/ folder",
    )


def _library_files(folder: Path) -> Iterator[Path]:
    """Regular files only: no dot-files, no folders, no symlinks (they may point anywhere)."""
    for child in sorted(folder.iterdir()):
        if child.name.startswith(".") or child.is_symlink() or not child.is_file():
            continue
        yield child


def load_library_dir(path: Path) -> LibraryResult:
    """Every manifest under ``library/``; a malformed file becomes an error, not a stop."""
    folder = library_folder(path)
    manifests: dict[str, LibraryManifest] = {}
    errors: list[ParseError] = []
    for file in _library_files(folder):
        try:
            manifests[file.name] = parse_library_file(file)
        except ParseError as exc:
            errors.append(exc)
    return LibraryResult(directory=folder, manifests=manifests, errors=tuple(errors))


# --- back to text -----------------------------------------------------------------------


def render_library_text(manifest: LibraryManifest) -> str:
    """The manifest as a library file that parses back to the same manifest.

    Entries list only what differs from the global paragraph, as bashbrew writes them.
    Meant for manifests this module parsed: a value the format cannot carry (a comma in a
    tag, a newline anywhere, an entry ``None`` where the global paragraph has a value) does
    not survive the trip.
    """
    blocks = [_render_global(manifest)]
    defaults = _Defaults.from_global(manifest.global_fields)
    blocks.extend(_render_entry(entry, defaults) for entry in manifest.entries)
    return "\n\n".join(blocks) + "\n"


def _render_global(manifest: LibraryManifest) -> str:
    lines: list[str] = []
    for key, value in manifest.global_fields.items():
        if key == "Maintainers":
            indent = " " * len("Maintainers: ")
            lines.append("Maintainers: " + f",\n{indent}".join(_split_list(value)))
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _scalars(entry: LibraryEntry) -> dict[str, str | None]:
    return {
        "GitRepo": entry.git_repo,
        "GitFetch": entry.git_fetch,
        "GitCommit": entry.git_commit,
        "Directory": entry.directory,
        "File": entry.file,
        "Builder": entry.builder,
    }


def _render_entry(entry: LibraryEntry, defaults: _Defaults) -> str:
    own: dict[str, str] = {}
    lists = {
        "Tags": (entry.tags, ()),
        "SharedTags": (entry.shared_tags, defaults.shared_tags),
        "Architectures": (entry.architectures, defaults.architectures),
        "Constraints": (entry.constraints, defaults.constraints),
    }
    for key, (values, inherited) in lists.items():
        if values and values != inherited:
            own[key] = ", ".join(values)
    for key, value in _scalars(entry).items():
        if value is not None and value != defaults.scalars.get(key):
            own[key] = value
    arch_lines = [
        f"{arch}-{name}: {value}"
        for arch in sorted(entry.arch_fields)
        for name, value in sorted(entry.arch_fields[arch].items())
        if defaults.arch_fields.get(arch, {}).get(name) != value
    ]
    if not own and not arch_lines:
        # a paragraph with nothing in it would vanish; say something true instead
        own["Architectures"] = ", ".join(entry.architectures)
    return "\n".join([*(f"{key}: {own[key]}" for key in _RENDER_ORDER if key in own), *arch_lines])
