"""Where a refresh reads from: local checkouts, downloads, the live Hub or a recording.

Every path ends in the same ``CatalogInputs``. Per-item trouble (a malformed library file,
a Hub result that does not parse, one repository whose tags could not be listed) becomes an
``ItemProblem``; only a source that cannot be read at all stops the refresh. When the Hub's
rate limit runs out part-way through the tag listings, the repositories already listed
keep their tags and the rest are reported, so the next run picks up where this one stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from imagetrust.catalog.models import HubRepository, HubTag
from imagetrust.catalog.refresh import CatalogInputs, ItemProblem

if TYPE_CHECKING:
    from imagetrust.catalog.hub import HubClient
    from imagetrust.config import Settings

Progress = Callable[[str, int, int | None], None]


def _no_progress(_task: str, _done: int, _total: int | None) -> None:
    return None


@dataclass(frozen=True)
class SourceOptions:
    offline: bool = False
    library_dir: Path | None = None
    docs_dir: Path | None = None
    hub_recording: Path | None = None
    all_tags: bool = False
    cache_dir: Path | None = None

    def as_parameters(self) -> dict[str, Any]:
        return {
            "offline": self.offline,
            "library_dir": str(self.library_dir) if self.library_dir else None,
            "docs_dir": str(self.docs_dir) if self.docs_dir else None,
            "hub_recording": str(self.hub_recording) if self.hub_recording else None,
            "all_tags": self.all_tags,
        }


class RecordedHub(NamedTuple):
    """Docker Hub's answers read from somewhere else than the live API (a recording).

    The catalog takes them as data: reading a recording's files is test and demo tooling
    (``imagetrust.testkit.hub_recording``), which the stage does not depend on.
    """

    repositories: list[HubRepository]
    tags: dict[str, list[HubTag]]


def load_inputs(
    options: SourceOptions,
    settings: Settings,
    *,
    progress: Progress = _no_progress,
    recorded_hub: RecordedHub | None = None,
) -> CatalogInputs:
    """``recorded_hub`` replaces the live Hub (``options.hub_recording`` says where from)."""
    inputs = CatalogInputs()
    _load_library(inputs, options, settings, progress)
    _load_docs(inputs, options, settings, progress)
    if recorded_hub is not None:
        _use_recording(inputs, recorded_hub, options.hub_recording)
    elif options.hub_recording is not None:
        raise ValueError("SourceOptions.hub_recording needs the recorded answers (recorded_hub)")
    elif not options.offline:
        from imagetrust.catalog.hub import HubClient
        from imagetrust.http import WaitBudget

        budget = WaitBudget(settings.http.max_wait)
        with HubClient.from_settings(settings, budget=budget) as client:
            load_hub(inputs, client, all_tags=options.all_tags, progress=progress)
            inputs.sources["hub"] = settings.hub.url
    return inputs


def _download(
    what: str,
    url: str,
    dest: Path,
    wanted: Callable[[str], bool],
    member_max: int,
    settings: Settings,
    progress: Progress,
) -> Path:
    from imagetrust.catalog.fetch import fetch_source
    from imagetrust.http import RetryPolicy, WaitBudget, build_client

    progress(f"download {what}", 0, None)
    with build_client(settings.http) as client:
        fetch_source(
            client,
            url,
            dest,
            wanted,
            member_max=member_max,
            max_bytes=settings.sources.max_archive_bytes,
            policy=RetryPolicy.from_settings(settings.http),
            budget=WaitBudget(settings.http.max_wait),
        )
    progress(f"download {what}", 1, 1)
    return dest


def _cache(options: SourceOptions) -> Path:
    if options.cache_dir is None:
        raise ValueError("a download needs SourceOptions.cache_dir")
    return options.cache_dir


def _load_library(
    inputs: CatalogInputs, options: SourceOptions, settings: Settings, progress: Progress
) -> None:
    from imagetrust.catalog.fetch import LIBRARY_MEMBER_MAX, library_member
    from imagetrust.catalog.library import load_library_dir

    if options.library_dir is not None:
        folder = options.library_dir
        inputs.sources["library"] = str(folder)
    else:
        url = settings.sources.library_url
        folder = _download(
            "official-images",
            url,
            _cache(options) / "official-images",
            library_member,
            LIBRARY_MEMBER_MAX,
            settings,
            progress,
        )
        inputs.sources["library"] = url
    result = load_library_dir(folder)
    inputs.library = dict(result.manifests)
    inputs.sources["library_files"] = len(result.manifests) + len(result.errors)
    for error in result.errors:
        inputs.problems.append(ItemProblem("library", error.path, error.message))


def _load_docs(
    inputs: CatalogInputs, options: SourceOptions, settings: Settings, progress: Progress
) -> None:
    from imagetrust.catalog.docs import load_docs_dir
    from imagetrust.catalog.fetch import DOCS_MEMBER_MAX, docs_member

    if options.docs_dir is not None:
        folder = options.docs_dir
        inputs.sources["docs"] = str(folder)
    elif options.offline:
        inputs.sources["docs"] = None
        return
    else:
        url = settings.sources.docs_url
        folder = _download(
            "docs", url, _cache(options) / "docs", docs_member, DOCS_MEMBER_MAX, settings, progress
        )
        inputs.sources["docs"] = url
    result = load_docs_dir(folder)
    inputs.docs = dict(result.docs)
    inputs.sources["docs_folders"] = len(result.docs) + len(result.errors)
    for error in result.errors:
        inputs.problems.append(ItemProblem("docs", error.path, error.message))


def _use_recording(inputs: CatalogInputs, recorded: RecordedHub, folder: Path | None) -> None:
    inputs.hub = {repo.name: repo for repo in recorded.repositories}
    inputs.tags = {name: list(listing) for name, listing in recorded.tags.items()}
    inputs.tag_counts = {name: len(listing) for name, listing in recorded.tags.items()}
    inputs.sources["hub"] = f"recording:{folder}"
    inputs.sources["hub_repositories"] = len(recorded.repositories)


def load_hub(
    inputs: CatalogInputs,
    client: HubClient,
    *,
    all_tags: bool,
    progress: Progress = _no_progress,
) -> None:
    """Repositories, then each one's tags (first page unless ``all_tags``)."""
    from imagetrust.catalog.hub import HubError
    from imagetrust.http import HttpError, RateLimitedError

    repositories: dict[str, HubRepository] = {}
    for repo in client.iter_repositories(
        on_page=lambda done, total: progress("Docker Hub repositories", done, total)
    ):
        repositories[repo.name] = repo
    inputs.hub = repositories
    inputs.sources["hub_repositories"] = len(repositories)
    tags: dict[str, list[HubTag]] = {}
    counts: dict[str, int] = {}
    names = sorted(repositories)
    for index, name in enumerate(names):
        progress("Docker Hub tags", index, len(names))
        try:
            listing = client.list_tags(name, max_pages=None if all_tags else 1)
        except RateLimitedError as exc:
            left = names[index:]
            inputs.problems.append(
                ItemProblem(
                    "hub",
                    f"tags of {len(left)} repositories ({', '.join(left[:5])}...)",
                    f"not listed: {exc.message}",
                )
            )
            break
        except (HubError, HttpError) as exc:
            inputs.problems.append(ItemProblem("hub", f"{name} tags", exc.message))
            continue
        tags[name] = list(listing.tags)
        if listing.count is not None:
            counts[name] = listing.count
    progress("Docker Hub tags", len(names), len(names))
    for skipped in client.skipped:
        inputs.problems.append(ItemProblem("hub", skipped.name or skipped.url, str(skipped)))
    inputs.tags = tags
    inputs.tag_counts = counts
    inputs.sources["all_tags"] = all_tags
