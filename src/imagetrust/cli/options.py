"""Arguments and options shared by the commands that read images, so they read the same."""

from __future__ import annotations

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
