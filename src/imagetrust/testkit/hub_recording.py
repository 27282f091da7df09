"""A Docker Hub recording: API answers saved as files, read back through the live parsers.

The demo runs offline, so it reads the Hub's answers from files instead of the network.
The files are the pages exactly as the API returns them, and they go through the same
``parse_repositories_page`` / ``parse_tags_page`` as ``HubClient``: a change to either the
models or the recording shows up in the demo's tests, so the two cannot drift apart.

Layout (one folder per listing, pages numbered from 1, as ``page-N.json``)::

    repositories/page-1.json ...          GET /v2/namespaces/{ns}/repositories
    tags/{name}/page-1.json ...           GET /v2/namespaces/{ns}/repositories/{name}/tags

A recording is our own data, so it is held to a stricter standard than a live answer: a
malformed result, a gap in the page numbers, a ``next`` link that does not match the pages
present, a ``count`` that does not match, or tags for a repository that is not listed all
raise ``HubError`` instead of being skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TypeVar

from imagetrust.catalog.hub import HubError, HubPage, parse_repositories_page, parse_tags_page
from imagetrust.catalog.models import HubRepository, HubTag

T = TypeVar("T")

_PAGE_FILE = re.compile(r"^page-([1-9][0-9]*)\.json$")


def bundled_recording() -> Traversable:
    """The recording that ships with imagetrust for ``imagetrust demo``."""
    return files("imagetrust").joinpath("demo", "data", "hub")


def load_recording(
    directory: Traversable,
) -> tuple[list[HubRepository], dict[str, list[HubTag]]]:
    """Every repository, and the tags of each repository that has a ``tags/`` folder."""
    repositories = _read_listing(directory.joinpath("repositories"), parse_repositories_page)
    known = {repository.name for repository in repositories}
    tags: dict[str, list[HubTag]] = {}
    tags_dir = directory.joinpath("tags")
    if tags_dir.is_dir():
        for folder in sorted(tags_dir.iterdir(), key=lambda entry: entry.name):
            if not folder.is_dir():
                continue
            if folder.name not in known:
                raise HubError(
                    f"{folder}: tags for {folder.name!r}, which is not a listed repository"
                )
            tags[folder.name] = _read_listing(folder, parse_tags_page)
    return repositories, tags


def _read_listing(folder: Traversable, parse: Callable[[object, str], HubPage[T]]) -> list[T]:
    """All pages of one listing, in order, checked for gaps, links and the total count."""
    pages = _page_files(folder)
    items: list[T] = []
    seen = 0
    count: int | None = None
    for number, entry in enumerate(pages, start=1):
        where = str(entry)
        page = parse(_read_json(entry), where)
        if page.skipped:
            raise HubError(f"{where}: malformed result in a recording: {page.skipped[0]}")
        is_last = number == len(pages)
        if (page.next_url is None) != is_last:
            expected = "no next link" if is_last else "a next link"
            raise HubError(f"{where}: page {number} of {len(pages)} should have {expected}")
        count = page.count if page.count is not None else count
        items.extend(page.items)
        seen += page.size
    if count is not None and count != seen:
        raise HubError(f"{folder}: the pages say count={count} but hold {seen} results")
    return items


def _page_files(folder: Traversable) -> list[Traversable]:
    if not folder.is_dir():
        raise HubError(f"{folder}: missing from the Hub recording")
    numbered: dict[int, Traversable] = {}
    for entry in folder.iterdir():
        match = _PAGE_FILE.match(entry.name)
        if match and entry.is_file():
            numbered[int(match.group(1))] = entry
    if sorted(numbered) != list(range(1, len(numbered) + 1)) or not numbered:
        raise HubError(f"{folder}: pages must be page-1.json, page-2.json, ... without gaps")
    return [numbered[number] for number in sorted(numbered)]


def _read_json(entry: Traversable) -> object:
    try:
        return json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HubError(f"{entry}: not readable JSON ({exc})") from None
