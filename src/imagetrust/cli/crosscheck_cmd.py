"""``imagetrust crosscheck REF|--all``: where our analysis, Trivy, Grype and the publisher's
SBOM disagree about an image (``vulndb.crosscheck``). Reads the store; an image whose
publisher SBOM was never read has its index read once, unless ``--offline``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from imagetrust.cli.output import OutputFormat, emit_json, print_key_values, say, stdout_console
from imagetrust.cli.state import CliState
from imagetrust.errors import UsageError

SHOWN = 10  # detail lines per kind of disagreement in the table; JSON has them all


def crosscheck(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="An analysed image: a reference as scanned, or a digest.",
            show_default=False,
            metavar="REF",
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every image in the store.")] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Read no registry (publisher SBOMs never read stay so)."),
    ] = False,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
) -> None:
    """Where the sources disagree: packages, findings, fixed versions, severities."""
    from imagetrust.pipeline.crosscheck import crosscheck as run_crosscheck

    state: CliState = ctx.obj
    if (ref is None) == (not every):
        raise UsageError("give one of REF or --all", hint="imagetrust crosscheck python:3.12")
    outcome = run_crosscheck(state.context(), ref, offline=offline)
    if fmt is OutputFormat.JSON:
        emit_json("crosscheck", {"images": outcome.images, "problems": outcome.problems})
    else:
        for number, image in enumerate(outcome.images):
            if number:
                stdout_console().print()
            _print_image(image)
    for problem in outcome.problems:
        say(f"warning: {problem}")


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _source_line(name: str, summary: dict[str, Any]) -> str:
    if not summary["known"]:
        return f"{name}: not known ({summary['reason']})"
    parts = []
    if summary["packages"] is not None:
        parts.append(f"{summary['packages']} packages")
    if summary["findings"] is not None:
        parts.append(f"{summary['findings']} findings")
    label = summary["version"] if summary["version"] and name in ("trivy", "grype") else name
    return f"{label}: {', '.join(parts) or summary['reason']}"


def _print_image(image: dict[str, Any]) -> None:
    info = image["image"]
    rows = [
        ("image", f"{info['reference'] or '(no SBOM stored)'} ({info['platform'] or '?'})"),
        ("digest", info["digest"]),
    ]
    rows.extend(("source", _source_line(n, s)) for n, s in image["sources"].items())
    if not image["pairs"]:
        rows.append(("compared", "nothing: fewer than two sources know this image"))
    for pair in image["pairs"]:
        a, b = pair["a"], pair["b"]
        rows.append((f"{a} vs {b}", _pair_line(pair)))
        rows.extend(_details(pair))
    print_key_values(rows)


def _pair_line(pair: dict[str, Any]) -> str:
    a, b = pair["a"], pair["b"]
    parts = []
    packages = pair["packages"]
    if packages is not None:
        parts.append(
            f"packages {_percent(packages['agreement'])} agree ({packages['both']} both, "
            f"{len(packages['only_a'])} only {a}, {len(packages['only_b'])} only {b}, "
            f"{len(packages['version_differs'])} other version)"
        )
    findings = pair["findings"]
    if findings is not None:
        parts.append(
            f"findings {_percent(findings['agreement'])} agree ({findings['both']} both, "
            f"{len(findings['only_a'])} only {a}, {len(findings['only_b'])} only {b}, "
            f"{len(findings['fixed_differs'])} fixed version, "
            f"{len(findings['severity_differs'])} severity)"
        )
    return "; ".join(parts)


def _details(pair: dict[str, Any]) -> list[tuple[str, str]]:
    a, b = pair["a"], pair["b"]
    lines: list[tuple[str, str]] = []

    def some(label: str, items: list[Any], show: Any) -> None:
        for item in items[:SHOWN]:
            lines.append((f"  {label}", show(item)))
        if len(items) > SHOWN:
            lines.append((f"  {label}", f"… and {len(items) - SHOWN} more (--format json)"))

    def package(item: dict[str, Any]) -> str:
        return f"{item['name']} {', '.join(item['versions'])}".rstrip()

    def finding(item: dict[str, Any]) -> str:
        fixed = f", fixed in {', '.join(item['fixed'])}" if item["fixed"] else ""
        return f"{item['vulnerability']} in {item['package']} ({item['severity']}{fixed})"

    packages = pair["packages"]
    if packages is not None:
        some(f"package only {a}", packages["only_a"], package)
        some(f"package only {b}", packages["only_b"], package)
        some(
            "version differs",
            packages["version_differs"],
            lambda d: f"{d['package']}: {', '.join(d['a'])} vs {', '.join(d['b'])}",
        )
    findings = pair["findings"]
    if findings is not None:
        some(f"finding only {a}", findings["only_a"], finding)
        some(f"finding only {b}", findings["only_b"], finding)
        some(
            "fixed differs",
            findings["fixed_differs"],
            lambda d: (
                f"{d['vulnerability']} in {d['package']}: "
                f"{', '.join(d['a'] or ['none'])} vs {', '.join(d['b'] or ['none'])}"
            ),
        )
        some(
            "severity differs",
            findings["severity_differs"],
            lambda d: f"{d['vulnerability']} in {d['package']}: {d['a']} vs {d['b']}",
        )
    return lines
