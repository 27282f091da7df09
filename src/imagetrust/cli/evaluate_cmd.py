"""``imagetrust evaluate [REF...]``: evidence per stored image (end of life, deprecation, ...).

``--view review`` shows, after evaluating, the 2020 review's tables over the newest stored
evidence of every image instead of the evidence itself (``evaluate.review``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imagetrust.cli.output import (
    OutputFormat,
    emit_json,
    print_key_values,
    printable,
    stdout_console,
)
from imagetrust.cli.state import CliState
from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from imagetrust.evaluate.batch import EvaluationRun
    from imagetrust.evaluate.evidence import EvaluationContext
    from imagetrust.evaluate.models import Evidence, Observation, Subject
    from imagetrust.evaluate.review import Review
    from imagetrust.sbom.models import ImageSbom
    from imagetrust.store.database import Store


class View(StrEnum):
    EVIDENCE = "evidence"
    REVIEW = "review"


class EvaluationIncomplete(ImagetrustError):
    """Some REF or image could not be evaluated; the others were, and are shown."""


def evaluate(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Stored images to evaluate: a reference, a repository (every tag) or a "
            "digest (default: every stored image).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TABLE,
    as_name: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Evaluate the REFs as this catalog repository and tag (NAME[:TAG]), e.g. a "
            "mirrored or locally built copy of an official image; kept for later evaluations.",
            show_default=False,
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Read no image source: attestations and HEALTHCHECK of images never "
            "observed stay unknown.",
        ),
    ] = False,
    view: Annotated[
        View,
        typer.Option(
            "--view",
            help="evidence: each image's evidence; review: the 2020 review's tables over "
            "every evaluated image (most vulnerable, unsupported OS, deprecated still "
            "published, pull changes).",
            case_sensitive=False,
        ),
    ] = View.EVIDENCE,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --view review: pull-count changes since this date (YYYY-MM-DD; "
            "default: the snapshot before the newest).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option(help="With --view review: rows per ranked table.", min=1)
    ] = 20,
) -> None:
    """Compute and store the evidence for images whose SBOMs the store holds, and show it."""
    from imagetrust.cli.db_age import warn_db_age
    from imagetrust.evaluate.batch import evaluate_stored

    state: CliState = ctx.obj
    namespace = state.settings.hub.namespace
    subject = _subject(as_name, refs, namespace)
    context = evaluation_context(state)
    since_at = _since(since)
    review: Review | None = None
    with state.open_store(create=False) as store:
        warn_db_age(state, store)
        if offline:
            result = evaluate_stored(
                store, context, refs=refs or (), namespace=namespace, subject=subject
            )
        else:
            from imagetrust.oci.sources import OciSession

            with OciSession(state.settings) as session:

                def observe(sbom: ImageSbom) -> Observation:
                    from imagetrust.evaluate.observe import observe_reference

                    return observe_reference(
                        session, sbom.reference, sbom.digest, sbom.index_digest, sbom.platform
                    )

                result = evaluate_stored(
                    store,
                    context,
                    refs=refs or (),
                    observe=observe,
                    namespace=namespace,
                    subject=subject,
                )
        if view is View.REVIEW:
            review = _review(store, context, since_at, top)
    if review is not None:
        _report_review(review, fmt)
        for problem in result.problems:
            typer.echo(printable(f"problem: {problem.item}: {problem.message}"), err=True)
        _fail_on_problems(result)
    else:
        _report(result, context, fmt)


def _since(text: str | None) -> Any:
    if text is None:
        return None
    from imagetrust.clock import parse_instant
    from imagetrust.errors import UsageError

    try:
        return parse_instant(text)
    except UsageError as exc:
        raise UsageError(f"--since: {exc.message}") from None


def _review(store: Store, context: EvaluationContext, since: Any, top: int) -> Review:
    from imagetrust.evaluate.policy.stored import current_evidence
    from imagetrust.evaluate.review import build_review

    with store.read() as conn:
        evidence = current_evidence(conn)
        return build_review(conn, evidence, now=context.now, since=since, top=top)


def _report_review(review: Review, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        emit_json("review", review.as_dict())
        return
    from imagetrust.cli.review_view import print_review

    print_review(review)


def _subject(as_name: str | None, refs: list[str] | None, namespace: str) -> Subject | None:
    """``--as NAME[:TAG]`` as a catalog subject; it needs REFs to say which images it names."""
    if as_name is None:
        return None
    from imagetrust.errors import UsageError
    from imagetrust.evaluate.models import Subject

    if not refs:
        raise UsageError("--as needs the REFs of the images it names")
    name, _, tag = as_name.strip().partition(":")
    if not name or "/" in name or "@" in as_name:
        raise UsageError(
            f"--as {as_name!r}: expected an official image's NAME[:TAG], e.g. debian:12"
        )
    return Subject(repository=name, tag=tag or None, namespace=namespace)


def evaluation_context(state: CliState) -> EvaluationContext:
    """The clock, the end-of-life data in use (bundled or refreshed) and the rule's setting."""
    from imagetrust.evaluate.eol import EolPolicy, load_eol_data
    from imagetrust.evaluate.evidence import EvaluationContext

    return EvaluationContext(
        now=state.clock.now(),
        eol_data=load_eol_data(state.home),
        eol_policy=EolPolicy.of(state.settings.eol.until_eoes),
    )


def _report(result: EvaluationRun, context: EvaluationContext, fmt: OutputFormat) -> None:
    from imagetrust.evaluate.stored import evidence_document

    if fmt is OutputFormat.JSON:
        emit_json(
            "evaluation",
            {
                "run_id": result.run_id,
                "evaluated_at": context.now,
                "eol_data": {
                    "source": context.eol_data.origin,
                    "stated_at": context.eol_data.stated_at,
                    "until_eoes": sorted(context.eol_policy.until_eoes),
                },
                "images": [evidence_document(e) for e in result.evidence],
                "problems": [{"item": p.item, "message": p.message} for p in result.problems],
            },
        )
    else:
        for number, evidence in enumerate(result.evidence):
            if number:
                stdout_console().print()
            print_key_values(evidence_rows(evidence))
        if not result.evidence:
            typer.echo("no stored image to evaluate; analyse images with `imagetrust scan` first")
        for problem in result.problems:
            typer.echo(f"problem: {problem.item}: {problem.message}", err=True)
    _fail_on_problems(result)


def _fail_on_problems(result: EvaluationRun) -> None:
    failed = [p for p in result.problems if not p.message.startswith("not observed")]
    if failed:
        raise EvaluationIncomplete(
            f"{len(failed)} of the images or REFs could not be evaluated (run #{result.run_id})"
        )


def _date(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "?"


def evidence_rows(evidence: Evidence) -> list[tuple[str, str]]:
    """The table view: one line per kind of evidence, each with its reason."""
    subject = evidence.subject
    name = f"{subject.repository}:{subject.tag or '-'}" if subject is not None else "-"
    rows = [
        ("image", evidence.reference),
        ("digest", f"{evidence.digest} ({evidence.platform})"),
        ("catalog name", name),
        ("os", f"{evidence.os_name or 'none'}: {evidence.os.status.value} ({evidence.os.reason})"),
    ]
    rows.extend(
        (f"  {item.subject}", f"{item.version}: {item.status.value} ({item.reason})")
        for item in evidence.runtimes
    )
    deprecation = evidence.deprecation
    published = {True: ", published", False: ", not published", None: ""}[deprecation.published]
    since = f" since {_date(deprecation.since)}" if deprecation.since else ""
    rows.append(("state", f"{deprecation.state}{since}{published} ({deprecation.reason})"))
    support = evidence.tag_support
    rows.append(
        ("tag", f"{_yes_no(support.supported, 'supported', 'unsupported')}: {support.reason}")
    )
    staleness = evidence.staleness
    parts = []
    if staleness.days_since_push is not None:
        parts.append(f"pushed {staleness.days_since_push} days ago")
    if staleness.image_age_days is not None:
        parts.append(f"built {staleness.image_age_days} days ago")
    parts.append(staleness.reason)
    rows.append(("staleness", "; ".join(parts)))
    hygiene = evidence.hygiene
    notes = [hygiene.root_reason]
    if hygiene.secret_env_names:
        notes.append("secret-looking ENV: " + ", ".join(hygiene.secret_env_names))
    notes.append(
        {True: "HEALTHCHECK", False: "no HEALTHCHECK", None: "HEALTHCHECK unknown"}[
            hygiene.healthcheck
        ]
    )
    for label, paths in (
        ("setuid", hygiene.setuid),
        ("setgid", hygiene.setgid),
        ("world-writable", hygiene.world_writable),
    ):
        if paths:
            notes.append(f"{len(paths)} {label}")
    rows.append(("hygiene", "; ".join(notes)))
    chain = evidence.supply_chain
    rows.append(
        (
            "supply chain",
            f"SBOM {_yes_no(chain.sbom, 'yes', 'no')}, provenance "
            f"{_yes_no(chain.provenance, 'yes', 'no')} ({chain.reason})",
        )
    )
    popularity = evidence.popularity
    pulls = f"{popularity.pull_count:,} pulls, " if popularity.pull_count is not None else ""
    rows.append(("popularity", f"{pulls}{popularity.trend} ({popularity.reason})"))
    return rows


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    return "unknown" if value is None else (yes if value else no)
