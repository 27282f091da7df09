"""``--images-file FILE``: a company's own images, one reference per line, any registry.

Blank lines and ``#`` comments (a whole line, or after a space) are skipped. A line that
is not a reference is a problem naming the file and line; the other lines are resolved.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from imagetrust.errors import ImagetrustError
from imagetrust.oci.reference import Reference, parse_reference
from imagetrust.resolve.models import Problem, ResolveError

MAX_FILE_BYTES = 16 * 1024 * 1024


class FileEntry(Struct, frozen=True):
    line: int
    reference: Reference


def read_images_file(path: Path) -> tuple[list[FileEntry], list[Problem]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ResolveError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not an images list")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResolveError(f"cannot read the images file {path}: {exc}") from None
    entries: list[FileEntry] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].strip()  # a comment after the reference
        try:
            entries.append(FileEntry(number, parse_reference(line)))
        except ImagetrustError as exc:
            problems.append(Problem(f"{path}:{number}", exc.message))
    if not entries and not problems:
        raise ResolveError(f"{path}: lists no image", hint="one reference per line")
    return entries, problems
