"""Arguments and options shared by the commands that read images, so they read the same."""

from __future__ import annotations

from typing import Annotated

import typer

ImageRef = Annotated[
    str,
    typer.Argument(
        help="NAME[:TAG|@DIGEST], REGISTRY/NAME:TAG, oci-layout:DIR[:TAG] or docker-archive:FILE.",
        show_default=False,
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
