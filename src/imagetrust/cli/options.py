"""Arguments and options shared by the commands that read images, so they read the same."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand


class Command(TyperCommand):
    """A command whose usage line names its arguments as its help does: ``REF``, ``PATH``.

    Typer's plain (non-Rich) usage writes a required argument as ``{ref}``, which reads
    like a set of choices; usage here is ``imagetrust scan [OPTIONS] REF``.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # Typer's vendored Click Context
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                name += "..." if param.nargs != 1 else ""
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


ImageRef = Annotated[
    str,
    typer.Argument(
        help="NAME[:TAG|@DIGEST], REGISTRY/NAME:TAG, oci-layout:DIR[:TAG] or docker-archive:FILE.",
        show_default=False,
        metavar="REF",
    ),
]

PlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        "-p",
        help="linux/amd64 (default), a comma-separated list, or all.",
        show_default=False,
    ),
]


class TagsChoice(StrEnum):
    """``--tags``; the same words as ``resolve.models.TagPolicy`` (kept here so the command
    line does not import the stage to build its options)."""

    LATEST = "latest"
    SUPPORTED = "supported"
    ALL = "all"


class StateChoice(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    REMOVED = "removed"
    ALL = "all"


RepositoriesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Repositories of the catalog by name (default: those in --state).",
        show_default=False,
    ),
]
TagsOption = Annotated[
    TagsChoice,
    typer.Option(
        "--tags",
        help="latest (else the most recently updated tag), supported (the library file's), "
        "or all (the Hub's).",
        case_sensitive=False,
    ),
]
StateOption = Annotated[
    StateChoice,
    typer.Option("--state", help="Repositories in this catalog state.", case_sensitive=False),
]
ImagesFileOption = Annotated[
    Path | None,
    typer.Option(
        "--images-file",
        help="Resolve these images instead of the catalog: one REF per line, any registry.",
        show_default=False,
    ),
]
ResolvePlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        "-p",
        help="linux/amd64 (default), a comma-separated list, or all (every linux/* image; "
        "Windows images are recorded as not covered).",
        show_default=False,
    ),
]

MaxDbAgeOption = Annotated[
    float | None,
    typer.Option(
        "--max-db-age",
        help="Refuse (exit 1) when a vulnerability source is older than this many days.",
        min=0,
        show_default=False,
    ),
]
