"""The images a deprecation notice names as replacements.

``deprecated.md`` is prose, but its replacements are written in two ways only: a link to an
image's Docker Hub page (``https://hub.docker.com/_/eclipse-temurin`` for an official image,
``/r/emqx/emqx`` for another namespace) or a name in backticks (`` `amazonlinux:2023` ``,
`` `liquibase/liquibase` ``). A backticked word counts only when it is a repository the
catalog knows, or names a namespace or a tag, so the tags the notice lists as ended
(`` `1` ``, `` `2018.03` ``) are not read as images.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from msgspec import Struct

_HUB_LINK = re.compile(
    r"hub\.docker\.com/(?:_/(?P<official>[a-z0-9][a-z0-9._-]*)"
    r"|r/(?P<namespace>[a-z0-9][a-z0-9._-]*)/(?P<name>[a-z0-9][a-z0-9._-]*))"
)
_BACKTICKED = re.compile(
    r"`(?P<name>[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)?)(?::(?P<tag>[A-Za-z0-9_][\w.-]*))?`"
)


class NamedReplacement(Struct, frozen=True):
    """An image the notice names: an official repository (``official``) or another one."""

    name: str  # ``eclipse-temurin``, ``amazonlinux``, ``emqx/emqx``
    tag: str | None = None
    official: bool = True

    @property
    def label(self) -> str:
        return f"{self.name}:{self.tag}" if self.tag else self.name


def named_replacements(
    notice: str | None, *, name: str, known: Collection[str]
) -> list[NamedReplacement]:
    """The replacements ``notice`` (of repository ``name``) names, in the order it names
    them, each once. ``known`` is the catalog's repository names."""
    if not notice:
        return []
    found: dict[tuple[str, str | None], tuple[int, NamedReplacement]] = {}

    def add(position: int, item: NamedReplacement) -> None:
        if item.name == name and item.tag is None:
            return  # the image itself, untagged: nothing to move to
        found.setdefault((item.name, item.tag), (position, item))

    for match in _HUB_LINK.finditer(notice):
        if match.group("official"):
            add(match.start(), NamedReplacement(match.group("official")))
        else:
            full = f"{match.group('namespace')}/{match.group('name')}"
            add(match.start(), NamedReplacement(full, official=False))
    for match in _BACKTICKED.finditer(notice):
        target, tag = match.group("name"), match.group("tag")
        if target.startswith("library/"):
            target = target.removeprefix("library/")
        if "/" in target:
            add(match.start(), NamedReplacement(target, tag, official=False))
        elif target in known:
            add(match.start(), NamedReplacement(target, tag))
    return [item for _, item in sorted(found.values(), key=lambda pair: pair[0])]
