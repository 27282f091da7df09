"""``imagetrust inspect REF``: what an image is, before anything is scanned.

Digest, platforms, layers, config and attestations, read through the same verified client
every later stage uses, so what ``inspect`` shows is exactly what a run would analyse.
The pull budget is reported too: an inspect of a Docker Hub image spends real pulls.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from imagetrust.cli.options import ImageRef, PlatformOption
from imagetrust.cli.output import OutputFormat, emit_json, print_key_values, stdout_console
from imagetrust.cli.state import CliState

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover


def inspect(
    ctx: typer.Context,
    ref: ImageRef,
    fmt: FormatOption = OutputFormat.TABLE,
    platform: PlatformOption = None,
) -> None:
    """Show an image's digest, platforms, layers, config and attestations."""
    from imagetrust.oci.image import PlatformSelection, load_image
    from imagetrust.oci.sources import OciSession

    state: CliState = ctx.obj
    selection = PlatformSelection.parse(platform)
    with OciSession(state.settings) as session, session.open(ref) as source:
        image = load_image(source, selection)
        budget = session.budget.snapshot()
    payload: dict[str, Any] = {**image.as_dict(), "pull_budget": budget}
    if fmt is OutputFormat.JSON:
        emit_json("image-inspection", payload)
        return
    _print_table(payload)


def _print_table(payload: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    attestations = payload["attestations"]
    rows = [
        ("reference", payload["reference"]),
        (
            "digest",
            payload["digest"] + (" (synthesised)" if payload["synthesized_manifest"] else ""),
        ),
        ("media type", payload["media_type"]),
        ("platforms", ", ".join(payload["platforms_available"]) or "-"),
        ("attestations", str(len(attestations)) if attestations else "none"),
    ]
    for quota in payload["pull_budget"]:
        if quota["remaining"] is not None:
            rows.append(
                (
                    "pull budget",
                    f"{quota['registry']}: {quota['remaining']} of {quota['limit']} left",
                )
            )
    for event in payload["events"]:
        rows.append(("note", event))
    print_key_values(rows)
    console = stdout_console()
    for image in payload["images"]:
        config = image["config"]
        console.print()
        console.print(
            f"[bold]{escape(image['platform'])}[/]  {escape(image['digest'])}", markup=True
        )
        details = [
            ("media type", image["media_type"]),
            ("created", config["created"] or "-"),
            ("user", config["user"] or "(root)"),
            ("env", ", ".join(config["env"]) or "-"),
            ("exposed ports", ", ".join(config["exposed_ports"]) or "-"),
            ("entrypoint", " ".join(config["entrypoint"] or []) or "-"),
            ("cmd", " ".join(config["cmd"] or []) or "-"),
        ]
        details += [(f"label {k}", v) for k, v in sorted(config["labels"].items())]
        for attestation in image["attestations"]:
            kinds = ", ".join(attestation["predicate_types"]) or "not fetched"
            details.append(("attestation", f"{attestation['digest']} ({kinds})"))
        print_key_values(details)
        table = Table(box=None, pad_edge=False)
        table.add_column("#", justify="right")
        table.add_column("layer digest", overflow="fold")
        table.add_column("size", justify="right")
        table.add_column("media type", overflow="fold")
        for number, layer in enumerate(image["layers"], start=1):
            table.add_row(str(number), layer["digest"], _size(layer["size"]), layer["media_type"])
        console.print(table)
