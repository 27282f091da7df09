"""``imagetrust sbom REF``: every package in an image, from its layers, with provenance.

Layers are analysed once and cached under ``HOME/cache/layers`` by digest and analyser
version, so the second SBOM of an image (or of any image sharing its base layers) reads no
blob at all. Standard formats (CycloneDX, SPDX) are for other tools; the native JSON keeps
everything imagetrust knows, including the layer each package came from.
"""

# No ``from __future__ import annotations`` here or in ``app.py``: Typer would have to
# compile every parameter's annotation from its string on each run.
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.options import ImageRef, PlatformOption
from imagetrust.cli.output import emit_json, print_key_values, say, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError, UsageError

if TYPE_CHECKING:
    from imagetrust.sbom.models import ImageSbom


class SbomFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CYCLONEDX_JSON = "cyclonedx-json"
    SPDX_JSON = "spdx-json"


class SbomProblemsError(ImagetrustError):
    """The SBOM was written, but some package database could not be read."""


def sbom(
    ctx: typer.Context,
    ref: ImageRef,
    fmt: Annotated[
        SbomFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = SbomFormat.TABLE,
    platform: PlatformOption = None,
    reanalyse: Annotated[
        bool,
        typer.Option("--reanalyse", help="Ignore the layer cache and analyse every layer again."),
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the layer cache.")
    ] = False,
) -> None:
    """List the packages in an image (OS and language packages), layer by layer."""
    from imagetrust.oci.image import PlatformSelection
    from imagetrust.oci.reference import parse_reference
    from imagetrust.pipeline.analysis import analyse_image

    state: CliState = ctx.obj
    reference = parse_reference(ref)
    selection = PlatformSelection.parse(platform)
    quiet = state.verbosity < 0

    def on_layer(descriptor: Any, cached: bool) -> None:
        if not quiet:
            how = "cached" if cached else "analysed"
            say(f"layer {descriptor.digest[:19]}… {how}")

    sboms = analyse_image(
        state.context(),
        reference,
        selection,
        reanalyse=reanalyse,
        use_cache=not no_cache,
        on_layer=on_layer,
    )
    if fmt in (SbomFormat.CYCLONEDX_JSON, SbomFormat.SPDX_JSON) and len(sboms) != 1:
        raise UsageError(
            f"{fmt.value} describes one image; {len(sboms)} platforms were selected",
            hint="choose one with --platform",
        )
    _emit(sboms, fmt, state)
    problems = [f"{s.platform}: {e}" for s in sboms for e in s.errors]
    incomplete = [f"{s.platform}: {reason}" for s in sboms for reason in s.incomplete]
    for problem in problems:
        if problem not in incomplete:
            say(f"error: {problem}")
    if incomplete:
        for reason in incomplete[:-1]:
            say(f"incomplete: {reason}")
        raise SbomProblemsError(
            f"the SBOM is incomplete: {incomplete[-1]}"
            + (f" (and {len(incomplete) - 1} more above)" if len(incomplete) > 1 else ""),
            hint="packages may be missing; the image cannot be assessed until this is fixed",
        )
    if problems:
        raise SbomProblemsError(problems[0])


def _emit(sboms: "list[ImageSbom]", fmt: SbomFormat, state: CliState) -> None:
    from imagetrust import __version__

    if fmt is SbomFormat.CYCLONEDX_JSON:
        from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json

        text = to_cyclonedx_json(sboms[0], tool_version=__version__, now=state.clock.now())
        sys.stdout.write(text.rstrip("\n") + "\n")
    elif fmt is SbomFormat.SPDX_JSON:
        from imagetrust.sbom.formats.spdx import to_spdx_json

        text = to_spdx_json(sboms[0], tool_version=__version__, now=state.clock.now())
        sys.stdout.write(text.rstrip("\n") + "\n")
    elif fmt is SbomFormat.JSON:
        from imagetrust.sbom.formats.native import to_native

        emit_json("sbom", {"images": [to_native(s) for s in sboms]})
    else:
        for number, item in enumerate(sboms):
            if number:
                stdout_console().print()
            _print_table(item)


def _print_table(item: "ImageSbom") -> None:
    from rich.table import Table

    os_name = "unknown"
    if item.os is not None:
        os_name = item.os.pretty_name or f"{item.os.id} {item.os.version_id or ''}".strip()
    cached = sum(1 for layer in item.layers if layer.from_cache)
    rows = [
        ("reference", item.reference),
        ("digest", item.digest),
        ("platform", item.platform),
        ("os", os_name),
        ("packages", str(len(item.packages))),
        ("layers", f"{len(item.layers)} ({cached} from cache)"),
    ]
    rows.extend(("INCOMPLETE", reason) for reason in item.incomplete)
    if item.facts.runtimes:
        rows.append(
            ("runtimes", ", ".join(f"{k} {v}" for k, v in sorted(item.facts.runtimes.items())))
        )
    rows.append(("user", item.facts.user or "(root)"))
    if item.setuid:
        rows.append(("setuid files", str(len(item.setuid))))
    print_key_values(rows)
    layer_number = {layer.digest: n for n, layer in enumerate(item.layers, start=1)}
    table = Table(box=None, pad_edge=False)
    for column in ("name", "version", "type", "source", "layer"):
        table.add_column(column, overflow="fold")
    for package in item.packages:
        source = ""
        if package.source_name and package.source_name != package.name:
            source = package.source_name
        table.add_row(
            package.name,
            package.version,
            package.type.value,
            source,
            str(layer_number.get(package.layer or "", "-")),
        )
    stdout_console().print(table)
