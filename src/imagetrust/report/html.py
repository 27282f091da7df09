"""The static site: ``index.html`` (the overview), an image page per platform image and
tag, ``trends.html``, ``review.html``, the SBOM downloads, and two small assets.

It works from ``file://`` and from any static host (GitHub Pages): every link is relative,
every asset is in the folder, nothing is fetched (the pages' Content-Security-Policy
forbids it, and inline scripts and styles with it). Templates are Jinja2 with autoescape
on; the only markup not written by a template comes from ``text.linkify`` and ``charts``,
which escape what they interpolate.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from msgspec.structs import replace

from imagetrust.report import charts
from imagetrust.report.build import VERDICT_RANK, layer_rows, package_rows
from imagetrust.report.model import (
    NO_SBOM_STORED,
    NOT_EVALUATED,
    SEVERITIES,
    ImagePage,
    Point,
    PullFigures,
    Reason,
    Report,
    RepositoryRow,
    SbomFiles,
)
from imagetrust.report.text import compact, day, days_text, first_line, linkify, number

if TYPE_CHECKING:
    from jinja2 import Environment

    from imagetrust.report.build import BuiltReport
    from imagetrust.sbom.models import ImageSbom

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
ASSETS = HERE / "assets"
BARS_SHOWN = 15
_INDENT = re.compile(r"\n[ \t]+")


def _when(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def osv_url(ident: str) -> str | None:
    """A link to the advisory on OSV's site, for ids that look like one (no scheme games:
    the id is quoted whole into the path)."""
    if not ident or len(ident) > 100 or not ident.isprintable():
        return None
    return f"https://osv.dev/vulnerability/{quote(ident, safe='')}"


def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=day,
        when=_when,
        number=number,
        compact=compact,
        days=days_text,
        linkify=linkify,
        first_line=first_line,
        osv_url=osv_url,
        bytes=_bytes,
        spark=charts.sparkline,
    )
    env.globals.update(
        severities=SEVERITIES, verdict_rank=VERDICT_RANK, no_sbom_stored=NO_SBOM_STORED
    )
    return env


def fixable_key(row: RepositoryRow) -> int:
    """Sort key of the overview's "Fixable" column: critical first, then high, medium, low
    (-1: not known, so unknown never sorts as clean among the zeros)."""
    vulns = row.vulns
    if vulns is None or not vulns.known:
        return -1
    key = 0
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        key = key * 1000 + min(vulns.fixable_of(severity), 999)
    return key


def search_text(row: RepositoryRow) -> str:
    """What the overview's text filter looks in: name, tags, OS, state, description."""
    words = [row.name, row.os_name or "", row.state, row.verdict, first_line(row.description, 80)]
    words += [tag.tag or "" for tag in row.tags]
    return " ".join(w for w in words if w)


def totals_line(report: Report) -> str:
    counts = report.totals.repositories
    line = (
        f"{counts.get('approved', 0)} approved, {counts.get('conditional', 0)} conditional, "
        f"{counts.get('rejected', 0)} rejected"
    )
    if counts.get(NOT_EVALUATED):
        line += f", {counts[NOT_EVALUATED]} not evaluated"
    return line + " (repositories, by their default tag)"


def why(image: ImagePage) -> list[Reason]:
    """The reasons that cost the image something, worst first: what a reviewer reads."""
    costly = [
        r
        for r in image.reasons
        if r.kind in ("fired", "unknown") and (r.points or r.blocking or r.never_approved)
    ]
    return sorted(costly, key=lambda r: (not r.blocking, not r.never_approved, -r.points))


class HtmlReport:
    """Renders the site into a folder (the publisher's staging folder); ``previous`` is
    the site it will replace, whose SBOM files it may take over."""

    def __init__(self, previous: Path | None = None) -> None:
        self.previous = previous

    def write(self, built: BuiltReport, folder: Path) -> list[str]:
        report = built.report
        env = environment()
        written: list[str] = []

        def page(name: str, template: str, **context: Any) -> None:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            html = env.get_template(template).render(report=report, **context)
            if name == "index.html":
                # The overview holds no preformatted text (notices are one line there):
                # the templates' indentation is a tenth of its size, and it must stay
                # small (200 repositories under 2 MB).
                html = _INDENT.sub("\n", html)
            path.write_text(html, encoding="utf-8")
            written.append(name)

        page("index.html", "index.html.j2", root="", current="overview", **_overview(report))
        downloads = _SbomDownloads(report, folder, written, self.previous)
        sboms = built.read_sboms(image.digest for image in report.images if image.sbom_known)
        pending = next(sboms, None)
        for image in report.images:
            # Each image's SBOM is read here, once, for its package table and its download
            # files, and dropped: the model holds none (memory flat with the catalog).
            # ``read_sboms`` yields those images' SBOMs in this same order.
            if image.sbom_known:
                sbom: ImageSbom | str = "the stored SBOM is gone"
                if pending is not None and pending[0] == image.digest:
                    sbom = pending[1]
                    pending = next(sboms, None)
                image = _with_sbom(image, sbom, downloads)
            page(
                image.page,
                "image.html.j2",
                root="../",
                current="image",
                image=image,
                why=why,
                fixable_chart=charts.line_chart(
                    [("fixable", image.fixable_history)],
                    title=f"Fixable vulnerabilities of {image.name} over time",
                ),
            )
        trends = report.trends
        page(
            "trends.html",
            "trends.html.j2",
            root="",
            current="trends",
            fixable_chart=charts.line_chart(
                [
                    ("all fixable", trends.fixable),
                    ("critical and high", trends.fixable_critical_high),
                ],
                title="Fixable vulnerabilities over time",
            ),
            pulls_chart=charts.line_chart(
                [("pulls", trends.pulls)], title="Pull counts over time", width=640
            ),
            pull_rows=pull_rows(report),
        )
        downloads.finish()
        repo_pages = {row.name: row.page for row in report.repositories if row.page}
        page("review.html", "review.html.j2", root="", current="review", repo_pages=repo_pages)
        assets = folder / "assets"
        assets.mkdir(exist_ok=True)
        for asset in sorted(ASSETS.iterdir()):
            if asset.is_file():
                shutil.copyfile(asset, assets / asset.name)
                written.append(f"assets/{asset.name}")
        return written


class PullRow(NamedTuple):
    """One repository in the trends page's pulls table."""

    name: str
    page: str | None
    series: tuple[Point, ...]
    pulls: PullFigures


def pull_rows(report: Report) -> list[PullRow]:
    """Every repository with a pull count stored, most pulled first: its count and change
    as the overview shows them (since ``--since``), and its counts over time."""
    series = report.trends.pulls_by_repository
    rows = []
    for row in report.repositories:
        points = series.get(row.name, ())
        if points or row.pulls.count is not None:
            rows.append(PullRow(row.name, row.page, points, row.pulls))
    shown = {row.name for row in rows}
    for name, points in series.items():  # no longer in the catalog: its history still counts
        if name not in shown and points:
            rows.append(PullRow(name, None, points, PullFigures(count=points[-1].value)))
    rows.sort(key=lambda r: (-(r.pulls.count if r.pulls.count is not None else -1), r.name))
    return rows


def _overview(report: Report) -> dict[str, Any]:
    ranked = []
    unknown = 0
    zero = 0
    not_evaluated = 0
    for row in report.repositories:
        vulns = row.vulns
        if row.verdict == NOT_EVALUATED:
            not_evaluated += 1
            continue
        if vulns is None or not vulns.known:
            unknown += 1
            continue
        critical, high = vulns.fixable_of("CRITICAL"), vulns.fixable_of("HIGH")
        if critical + high == 0:
            zero += 1
            continue
        label = f"{row.name}:{row.default_tag}" if row.default_tag else row.name
        ranked.append(charts.Bar(label, critical, high, row.page))
    ranked.sort(key=lambda b: (-(b.first + b.second), -b.first, b.label))
    shown = ranked[:BARS_SHOWN]
    caption = ["Each repository's default tag; a fix exists for every one of these."]
    if len(ranked) > len(shown):
        caption.append(f"{len(ranked) - len(shown)} more repositories have some (see the table).")
    if zero:
        caption.append(f"{zero} {'has' if zero == 1 else 'have'} none.")
    if unknown:
        caption.append(f"{unknown} {'is' if unknown == 1 else 'are'} not known (never matched).")
    if not_evaluated:
        caption.append(f"{not_evaluated} not evaluated.")
    return {
        "chart_caption": " ".join(caption),
        "totals_line": totals_line(report),
        "bars": shown,
        "chart": charts.stacked_bars(
            shown,
            first="critical",
            second="high",
            title="Fixable critical and high vulnerabilities per repository",
        ),
        "zero_count": zero,
        "unknown_count": unknown,
        "not_evaluated_count": not_evaluated,
        "os_options": sorted({row.os_name for row in report.repositories if row.os_name}),
        "fixable_key": fixable_key,
        "search_text": search_text,
    }


SBOM_INDEX = "sbom/index.json"


def _previous_sboms(previous: Path | None) -> dict[str, Any]:
    """What the site being replaced says of its SBOM files (digest -> how it was made)."""
    import json

    if previous is None:
        return {}
    try:
        found = json.loads((previous / SBOM_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _with_sbom(image: ImagePage, sbom: ImageSbom | str, downloads: _SbomDownloads) -> ImagePage:
    """The page with its package and layer tables and its download files written; or, for a
    stored SBOM gone or unreadable since the model was built (``sbom`` says why), with why
    in place of both."""
    if isinstance(sbom, str):
        return replace(image, sbom_known=False, sbom=SbomFiles(reason=sbom))
    failure = downloads.write(image, sbom)
    image = replace(image, packages=package_rows(sbom, image.findings), layers=layer_rows(sbom))
    return image if failure is None else replace(image, sbom=SbomFiles(reason=failure))


class _SbomDownloads:
    """The CycloneDX and SPDX files of each image whose SBOM is stored, and
    ``sbom/index.json``, which says how each was made.

    An SBOM never changes for a digest and analyser, so the files of the site being
    replaced are taken over when the same imagetrust made them from the same analysis
    (most images are the same from one day to the next).
    """

    def __init__(
        self, report: Report, folder: Path, written: list[str], previous: Path | None
    ) -> None:
        self.report = report
        self.folder = folder
        self.written = written
        self.previous = previous
        self.before = _previous_sboms(previous)
        self.made: dict[str, Any] = {}
        self.failed: dict[str, str | None] = {}

    def write(self, image: ImagePage, sbom: ImageSbom) -> str | None:
        """Write this image's files (once per digest: several tags may name one image);
        returns why they could not be (its links are then left out, the rest go on)."""
        if image.digest not in self.failed:
            self.failed[image.digest] = self._write(image, sbom)
        return self.failed[image.digest]

    def _write(self, image: ImagePage, sbom: ImageSbom) -> str | None:
        from imagetrust.sbom.formats.cyclonedx import to_cyclonedx_json
        from imagetrust.sbom.formats.spdx import to_spdx_json

        files = image.sbom
        if files.cyclonedx is None or files.spdx is None:
            return None
        report = self.report
        how = {"analyser_version": sbom.analyser_version, "imagetrust": report.imagetrust_version}
        names = (files.cyclonedx, files.spdx)
        for name in names:
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
        if self.previous is not None and self.before.get(image.digest) == how:
            try:
                for name in names:
                    shutil.copyfile(self.previous / name, self.folder / name)
            except OSError:
                pass
            else:
                self.written.extend(names)
                self.made[image.digest] = how
                return None
        now = report.generated_at
        version = report.imagetrust_version
        try:
            documents = (
                to_cyclonedx_json(sbom, tool_version=version, now=now),
                to_spdx_json(sbom, tool_version=version, now=now),
            )
        except Exception as exc:  # this image's downloads only
            log.debug("SBOM files of %s failed", image.digest, exc_info=True)
            return f"its SBOM files could not be written: {exc}"
        for name, text in zip(names, documents, strict=True):
            (self.folder / name).write_text(text, encoding="utf-8")
            self.written.append(name)
        self.made[image.digest] = how
        return None

    def finish(self) -> None:
        import json

        if self.made:
            index = self.folder / SBOM_INDEX
            index.write_text(json.dumps(self.made, sort_keys=True), encoding="utf-8")
            self.written.append(SBOM_INDEX)
