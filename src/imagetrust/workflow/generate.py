"""The GitHub Actions workflow that runs imagetrust over the whole catalog, every day.

Four jobs, each doing one thing with the least it needs:

1. ``catalog`` refreshes the catalog once (Docker Hub's API, not its registry: no pull) and
   passes it on as a bundle, so every shard works from the same snapshot;
2. ``shard`` (a matrix of N) takes the catalog, updates the vulnerability database, runs
   ``run --no-refresh --shard I/N`` and uploads what it wrote as a bundle. Each shard keeps
   its home folder in the Actions cache (its store with the vulnerability database and the
   SBOMs, the layer cache, the downloaded feeds), so the next day's run reads only new
   images, feeds update conditionally, and a changed database re-matches stored SBOMs with
   no download. Content comes from digest-verified mirrors (Docker Hub pulls only when a
   mirror lacks a digest); digests from the Hub's tags API or ``HEAD``, both free;
3. ``history`` restores the history, merges the catalog and every shard's bundle into it in
   one transaction, saves it, and publishes: the step summary, the report (``report --out
   site`` for Pages, its Markdown into the step summary) and the issue for newly rejected
   images (``diff --fail-on new-rejected`` exits 3: one issue, opened or commented on). A
   report that fails fails the job, never a silent skip; the issue step still runs when
   the merge succeeded;
4. ``pages`` deploys the report to GitHub Pages once its artifact was uploaded.

With ``--engine trivy`` a ``trivy-db`` job fetches Trivy's database once for the run and
every shard also runs Trivy on its new images (``trivy``).

**Where the history lives.** By default in a GitHub release (``imagetrust-history``) as one
asset, ``history.bundle`` (a bundle of the whole store), replaced after every merge: no
commits, so the repository does not grow by a binary a day, and any machine can fetch and
merge it (``gh release download``). The cost: only the latest history is kept (the
shards' own bundles stay as artifacts for a week), and a release asset is limited to 2 GiB.
A team with a PostgreSQL server can keep the history there instead (``--history
postgresql``, the URL in the ``IMAGETRUST_DB_URL`` secret): the merge writes into it
directly and nothing is downloaded.

Every action is pinned by a full commit SHA (``actions``); permissions are given per job,
none at the top; ``concurrency`` queues a run behind a running one, never cancels it.
User-supplied values reach scripts through ``env``, never pasted into them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from msgspec import Struct, field

from imagetrust import __version__
from imagetrust.errors import UsageError
from imagetrust.oci.errors import InvalidReferenceError
from imagetrust.oci.mirrors import parse_mirror
from imagetrust.workflow import trivy
from imagetrust.workflow.actions import uses, version_of

DEFAULT_MIRRORS = ("https://public.ecr.aws/docker/library", "https://mirror.gcr.io/library")
HISTORY_RELEASE = "imagetrust-history"
MAX_SHARDS = 256  # GitHub runs at most 256 jobs from one matrix
ENGINES = ("builtin", "trivy")  # builtin: imagetrust's own matching, which always runs
_CRON_FIELD = re.compile(r"^[0-9*,/\-A-Za-z]+$")


class WorkflowOptions(Struct, frozen=True):
    shards: int = 4
    schedule: str = "17 3 * * *"  # daily, off the hour (the top of the hour is busiest)
    tags: str = "supported"
    platform: str = "linux/amd64"
    engine: str = "builtin"
    history: str = "release"  # release | postgresql
    install: str = f"imagetrust=={__version__}"
    python: str = "3.12"
    runs_on: tuple[str, ...] = ("ubuntu-24.04",)
    mirrors: tuple[str, ...] = DEFAULT_MIRRORS
    config: str | None = None  # a settings file in the repository
    name: str = "imagetrust"
    extra: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if not 1 <= self.shards <= MAX_SHARDS:
            raise UsageError(f"--shards: 1..{MAX_SHARDS} (a matrix runs at most that many jobs)")
        fields = self.schedule.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise UsageError(
                f"--schedule: a cron expression of five fields, e.g. '17 3 * * *'; "
                f"got {self.schedule!r}"
            )
        if self.tags not in ("latest", "supported", "all"):
            raise UsageError("--tags: latest, supported or all")
        if self.engine not in ENGINES:
            raise UsageError(f"--engine: {' or '.join(ENGINES)}; got {self.engine!r}")
        if self.history not in ("release", "postgresql"):
            raise UsageError("--history: release or postgresql")
        for value, option in ((self.install, "--install"), (self.python, "--python")):
            if not value.strip() or "\n" in value:
                raise UsageError(f"{option}: one line, not empty")
        if not self.runs_on or any(not label.strip() for label in self.runs_on):
            raise UsageError("--runs-on: at least one runner label")
        for url in self.mirrors:
            try:
                parse_mirror(url)
            except InvalidReferenceError as exc:
                raise UsageError(f"--mirror: {exc.message}") from None


def _step_install(options: WorkflowOptions) -> list[dict[str, Any]]:
    return [
        {
            "name": "Set up Python",
            "uses": uses("actions/setup-python"),
            "with": {"python-version": options.python},
        },
        {"name": "Install imagetrust", "run": 'python -m pip install "$IMAGETRUST_INSTALL"'},
    ]


def _step_checkout(options: WorkflowOptions) -> list[dict[str, Any]]:
    """The repository, only to read a settings file from it (into ``repo/``)."""
    if options.config is None:
        return []
    return [
        {
            "name": "Check out the settings",
            "uses": uses("actions/checkout"),
            "with": {"path": "repo", "persist-credentials": False},
        }
    ]


def _runs_on(options: WorkflowOptions) -> str | list[str]:
    return options.runs_on[0] if len(options.runs_on) == 1 else list(options.runs_on)


def _contents_read(options: WorkflowOptions) -> dict[str, str]:
    return {"contents": "read"} if options.config is not None else {}


CATALOG_SCRIPT = """\
imagetrust catalog{args}
imagetrust export --since last --out catalog.bundle
"""

SHARD_SCRIPT = """\
imagetrust merge catalog.bundle
# Feeds for the images this shard's store holds (conditional: unchanged ones cost a 304).
# A feed that fails keeps its previous data in use: a warning, not the end of the shard.
feeds() {
  imagetrust db update || echo "::warning::some vulnerability feeds did not update"
}
feeds
analyse() {
  imagetrust run --no-refresh --shard "$SHARD/$SHARDS" --tags "$IMAGETRUST_TAGS" \\
    --platform "$IMAGETRUST_PLATFORM" --engine "$IMAGETRUST_ENGINE" --jobs "$(nproc)" \\
    --format json > "$1" || true
  python -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["run_id"])' "$1"
}
first=$(analyse run.json)
# Images new to this store may need feeds it did not have: fetch them, then match again
# (stored SBOMs, no download).
feeds
analyse rematch.json > /dev/null
imagetrust export --since "$first" --out "shard-$SHARD.bundle"
python - <<'EOF'
import json
for name in ("run.json", "rematch.json"):
    doc = json.load(open(name))
    if doc["images"]["failed"]:
        print(f"::warning::{name}: {doc['images']['failed']} images failed; retried next run")
EOF
"""

MERGE_SCRIPT = """\
shopt -s nullglob
imagetrust merge history/*.bundle bundles/*.bundle
"""

RESTORE_SCRIPT = """\
if gh release download "$HISTORY_RELEASE" --repo "$GITHUB_REPOSITORY" \\
    --pattern history.bundle --dir history; then
  echo "restored the history from release $HISTORY_RELEASE"
else
  echo "::notice::no history release yet: this run starts it"
fi
"""

SAVE_SCRIPT = """\
imagetrust export --out history.bundle
if ! gh release view "$HISTORY_RELEASE" --repo "$GITHUB_REPOSITORY" > /dev/null 2>&1; then
  gh release create "$HISTORY_RELEASE" --repo "$GITHUB_REPOSITORY" --latest=false \\
    --title "imagetrust history" --notes "The merged imagetrust store (imagetrust merge)."
fi
gh release upload "$HISTORY_RELEASE" history.bundle --repo "$GITHUB_REPOSITORY" --clobber
"""

SUMMARY_SCRIPT = """\
{
  echo "## imagetrust"
  echo '```'
  imagetrust store status
  echo '```'
} >> "$GITHUB_STEP_SUMMARY"
"""

REPORT_SCRIPT = """\
imagetrust report --out site
imagetrust report --format md --out - >> "$GITHUB_STEP_SUMMARY"
"""

ISSUE_SCRIPT = """\
status=0
imagetrust diff --fail-on new-rejected --format md > diff.md || status=$?
if [ "$status" -eq 0 ]; then exit 0; fi
if [ "$status" -ne 3 ]; then exit "$status"; fi
gh label create imagetrust --repo "$GITHUB_REPOSITORY" --force \\
  --description "opened by the imagetrust workflow"
number=$(gh issue list --repo "$GITHUB_REPOSITORY" --label imagetrust --state open \\
  --json number --jq '.[0].number')
if [ -n "$number" ]; then
  gh issue comment "$number" --repo "$GITHUB_REPOSITORY" --body-file diff.md
else
  gh issue create --repo "$GITHUB_REPOSITORY" --label imagetrust \\
    --title "imagetrust: newly rejected images" --body-file diff.md
fi
"""


def build(options: WorkflowOptions) -> dict[str, Any]:
    """The workflow as data (``render`` writes it as YAML)."""
    options.check()
    release = options.history == "release"
    trivy_engine = options.engine == "trivy"
    env: dict[str, str] = {
        "IMAGETRUST_HOME": "${{ github.workspace }}/.imagetrust",
        "IMAGETRUST_INSTALL": options.install,
        "IMAGETRUST_TAGS": options.tags,
        "IMAGETRUST_PLATFORM": options.platform,
        "IMAGETRUST_ENGINE": options.engine,
        "IMAGETRUST_REGISTRY_MIRRORS": ",".join(options.mirrors),
        "PYTHONUNBUFFERED": "1",
    }
    if trivy_engine:
        env["TRIVY_CACHE_DIR"] = trivy.CACHE_DIR
    if options.config is not None:
        env["IMAGETRUST_CONFIG"] = f"repo/{options.config}"
    env.update(options.extra)
    hub_secrets = {
        "DOCKERHUB_USERNAME": "${{ secrets.DOCKERHUB_USERNAME }}",
        "DOCKERHUB_TOKEN": "${{ secrets.DOCKERHUB_TOKEN }}",
    }
    catalog_job: dict[str, Any] = {
        "name": "Catalog",
        "runs-on": _runs_on(options),
        "timeout-minutes": 60,
        "permissions": _contents_read(options),
        "env": hub_secrets,
        "steps": [
            *_step_checkout(options),
            *_step_install(options),
            {
                "name": "Restore the catalog store",
                "uses": uses("actions/cache"),
                "with": {
                    "path": "${{ env.IMAGETRUST_HOME }}",
                    "key": "imagetrust-catalog-${{ github.run_id }}",
                    "restore-keys": "imagetrust-catalog-",
                },
            },
            {
                "name": "Refresh the catalog",
                # every Hub tag is listed only when every tag is wanted
                "run": CATALOG_SCRIPT.format(args=" --all-tags" if options.tags == "all" else ""),
            },
            {
                "name": "Upload the catalog bundle",
                "uses": uses("actions/upload-artifact"),
                "with": {
                    "name": "imagetrust-catalog",
                    "path": "catalog.bundle",
                    "retention-days": 7,
                    "if-no-files-found": "error",
                },
            },
        ],
    }
    shard_key = f"imagetrust-shard-${{{{ matrix.shard }}}}-of-{options.shards}"
    shard_job: dict[str, Any] = {
        "name": "Shard ${{ matrix.shard }} of " + str(options.shards),
        "needs": ["catalog", "trivy-db"] if trivy_engine else "catalog",
        "runs-on": _runs_on(options),
        "timeout-minutes": 300,
        "permissions": _contents_read(options),
        "strategy": {
            "fail-fast": False,
            "matrix": {"shard": list(range(1, options.shards + 1))},
        },
        "env": {
            "SHARD": "${{ matrix.shard }}",
            "SHARDS": str(options.shards),
            "IMAGETRUST_REGISTRY_USERNAME": "${{ secrets.DOCKERHUB_USERNAME }}",
            "IMAGETRUST_REGISTRY_PASSWORD": "${{ secrets.DOCKERHUB_TOKEN }}",
        },
        "steps": [
            *_step_checkout(options),
            *_step_install(options),
            {
                "name": "Restore this shard's store, vulnerability database and layer cache",
                "uses": uses("actions/cache"),
                "with": {
                    "path": "${{ env.IMAGETRUST_HOME }}",
                    "key": shard_key + "-${{ github.run_id }}",
                    "restore-keys": shard_key + "-",
                },
            },
            {
                "name": "Download the catalog bundle",
                "uses": uses("actions/download-artifact"),
                "with": {"name": "imagetrust-catalog"},
            },
            *(trivy.shard_steps(options.mirrors) if trivy_engine else []),
            {
                "name": "Analyse this shard",
                **({"env": trivy.analyse_env()} if trivy_engine else {}),
                "run": SHARD_SCRIPT,
            },
            {
                "name": "Upload this shard's bundle",
                "if": "${{ !cancelled() }}",
                "uses": uses("actions/upload-artifact"),
                "with": {
                    "name": "imagetrust-shard-${{ matrix.shard }}",
                    "path": "shard-${{ matrix.shard }}.bundle",
                    "retention-days": 7,
                    "if-no-files-found": "warn",
                },
            },
        ],
    }
    history_env: dict[str, str] = {"GH_TOKEN": "${{ github.token }}"}
    if release:
        history_env["HISTORY_RELEASE"] = HISTORY_RELEASE
    else:
        history_env["IMAGETRUST_DB_URL"] = "${{ secrets.IMAGETRUST_DB_URL }}"
    history_steps: list[dict[str, Any]] = [
        *_step_checkout(options),
        *_step_install(options),
        {
            "name": "Download the catalog and shard bundles",
            "uses": uses("actions/download-artifact"),
            "with": {"pattern": "imagetrust-*", "path": "bundles", "merge-multiple": True},
        },
    ]
    if release:
        history_steps.append({"name": "Restore the history", "run": RESTORE_SCRIPT})
    history_steps.append(
        {"name": "Merge the shards into the history", "id": "merge", "run": MERGE_SCRIPT}
    )
    if release:
        history_steps.append({"name": "Save the history", "run": SAVE_SCRIPT})
    history_steps += [
        {"name": "Write the step summary", "run": SUMMARY_SCRIPT},
        # A report that fails fails the job; the steps after it are then skipped, except
        # the issue, which needs only the merged history.
        {"name": "Write the report", "run": REPORT_SCRIPT},
        {"name": "Configure GitHub Pages", "uses": uses("actions/configure-pages")},
        {
            "name": "Upload the report for GitHub Pages",
            "id": "site",
            "uses": uses("actions/upload-pages-artifact"),
            "with": {"path": "site"},
        },
        {
            "name": "Open or update the issue on newly rejected images",
            "if": "${{ !cancelled() && steps.merge.outcome == 'success' }}",
            "run": ISSUE_SCRIPT,
        },
    ]
    history_job: dict[str, Any] = {
        "name": "Merge and publish",
        "needs": ["catalog", "shard"],
        "if": "${{ !cancelled() && needs.catalog.result == 'success' }}",
        "runs-on": _runs_on(options),
        "timeout-minutes": 120,
        "permissions": {
            "contents": "write" if release else "read",
            "issues": "write",
        },
        # the site's artifact is uploaded: Pages deploys it even if a later step fails
        "outputs": {"site": "${{ steps.site.outcome }}"},
        "env": history_env,
        "steps": history_steps,
    }
    pages_job: dict[str, Any] = {
        "name": "Deploy the report",
        "needs": "history",
        "if": "${{ !cancelled() && needs.history.outputs.site == 'success' }}",
        "runs-on": _runs_on(options),
        "timeout-minutes": 30,
        "permissions": {"pages": "write", "id-token": "write"},
        "environment": {
            "name": "github-pages",
            "url": "${{ steps.deployment.outputs.page_url }}",
        },
        "steps": [
            {
                "name": "Deploy to GitHub Pages",
                "id": "deployment",
                "uses": uses("actions/deploy-pages"),
            }
        ],
    }
    jobs: dict[str, Any] = {"catalog": catalog_job}
    if trivy_engine:
        jobs["trivy-db"] = trivy.database_job(_runs_on(options))
    jobs |= {"shard": shard_job, "history": history_job, "pages": pages_job}
    return {
        "name": options.name,
        "on": {"schedule": [{"cron": options.schedule}], "workflow_dispatch": {}},
        "permissions": {},
        "concurrency": {"group": options.name, "cancel-in-progress": False},
        "env": env,
        "jobs": jobs,
    }


class _Dumper(yaml.SafeDumper):
    """Block scalars for scripts, and lists indented under their key as GitHub's docs do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def command_line(options: WorkflowOptions) -> str:
    """The ``imagetrust workflow`` command that writes this workflow again."""
    import shlex

    args = [
        "--shards", str(options.shards),
        "--schedule", options.schedule,
        "--tags", options.tags,
        "--platform", options.platform,
        "--history", options.history,
    ]  # fmt: skip
    if options.engine != WorkflowOptions().engine:
        args += ["--engine", options.engine]
    if options.install != WorkflowOptions().install:
        args += ["--install", options.install]
    if options.runs_on != WorkflowOptions().runs_on:
        args += ["--runs-on", ",".join(options.runs_on)]
    if options.mirrors != DEFAULT_MIRRORS:
        for mirror in options.mirrors:
            args += ["--mirror", mirror]
    if options.config is not None:
        args += ["--config", options.config]
    return "imagetrust workflow " + shlex.join(args)


def header(options: WorkflowOptions) -> str:
    return (
        f"# Generated by `{command_line(options)}`\n"
        f"# (imagetrust {__version__}).\n"
        "# Regenerate it rather than edit it: every action is pinned by a full commit SHA\n"
        "# (imagetrust/workflow/actions.py says how to refresh them).\n"
    )


def render(options: WorkflowOptions) -> str:
    """The workflow file's text: YAML, with the release beside each pinned action."""
    text = yaml.dump(build(options), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    lines = []
    for line in text.splitlines():
        match = re.match(r"^(\s*(?:- )?uses: )(\S+)$", line)
        version = version_of(match.group(2)) if match else None
        lines.append(f"{line} # {version}" if version else line)
    return header(options) + "\n".join(lines) + "\n"
