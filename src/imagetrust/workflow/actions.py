"""The GitHub Actions the generated workflow uses, each pinned by a full commit SHA.

A tag (``@v7``) is whatever its owner points it at today; a commit SHA is the code that was
reviewed. Each entry records the release the SHA is, and where the pair was found, so a
reviewer can check it. The table was built offline (this project's machines cannot reach
GitHub) from public workflows and release records that pin these actions with a version
comment, taking a pair only when independent repositories agreed on it.

**Refreshing the table** (on a machine that reaches GitHub), for each action:

1. find its latest release: ``gh release view --repo actions/checkout`` (or the Releases
   page);
2. resolve the tag to the commit it names (``^{}`` peels an annotated tag):
   ``git ls-remote https://github.com/actions/checkout 'refs/tags/v7.0.1*'`` and take the
   ``^{}`` line if there is one, else the tag's own line; or
   ``gh api repos/actions/checkout/commits/v7.0.1 --jq .sha``;
3. read the release notes for breaking changes (inputs renamed, a newer Node runtime that
   self-hosted runners must support), update ``sha``, ``version`` and ``source`` below,
   and run ``make test`` (the workflow tests validate the result with check-jsonschema and
   actionlint).

**Trivy** (``--engine trivy``) is installed by ``aquasecurity/setup-trivy`` at the commit
below, which runs Trivy's own install script from a pinned commit of the Trivy repository:
it downloads the release archive of ``TRIVY_VERSION`` and checks its SHA-256 against the
release's checksum file before installing it. Refresh ``TRIVY_VERSION`` from ``gh release
view --repo aquasecurity/trivy`` after reading its notes; in March 2026 both projects' tags
were hijacked and Trivy v0.69.4 was a malicious release, so take a version only once its
release has stood for a while and independent users run it, and re-check the setup-trivy
SHA against the project's own pins (``trivy-action``'s ``action.yaml``).
"""

from __future__ import annotations

from typing import NamedTuple


class PinnedAction(NamedTuple):
    sha: str
    version: str
    source: str  # where the SHA and version were found together

    def ref(self, name: str) -> str:
        return f"{name}@{self.sha}"


ACTIONS: dict[str, PinnedAction] = {
    "actions/checkout": PinnedAction(
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
        "public workflows pinning `actions/checkout@3d3c42e5... # v7.0.1` (many, 2026)",
    ),
    "actions/setup-python": PinnedAction(
        "5fda3b95a4ea91299a34e894583c3862153e4b97",
        "v7.0.0",
        "public workflows pinning `actions/setup-python@5fda3b95... # v7.0.0` (many, 2026)",
    ),
    "actions/cache": PinnedAction(
        "55cc8345863c7cc4c66a329aec7e433d2d1c52a9",
        "v6.1.0",
        "a 2026-10-05 audit of actions/cache's refs (`v6.1.0` and `v6` both at this commit); "
        "workflows pinning it `# v6.1.0`",
    ),
    "actions/upload-artifact": PinnedAction(
        "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a",
        "v7.0.1",
        "public workflows pinning `actions/upload-artifact@043fb46d... # v7.0.1` (many, 2026)",
    ),
    "actions/download-artifact": PinnedAction(
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
        "public workflows pinning `actions/download-artifact@3e5f45b2... # v8.0.1` (2026)",
    ),
    "actions/configure-pages": PinnedAction(
        "45bfe0192ca1faeb007ade9deae92b16b8254a0d",
        "v6.0.0",
        "public workflows pinning `actions/configure-pages@45bfe019... # v6.0.0` (2026)",
    ),
    "actions/upload-pages-artifact": PinnedAction(
        "fc324d3547104276b827a68afc52ff2a11cc49c9",
        "v5.0.0",
        "public workflows pinning `actions/upload-pages-artifact@fc324d35... # v5.0.0` (2026)",
    ),
    "actions/deploy-pages": PinnedAction(
        "cd2ce8fcbc39b97be8ca5fce6e763baed58fa128",
        "v5.0.0",
        "public workflows pinning `actions/deploy-pages@cd2ce8fc... # v5.0.0` (2026)",
    ),
    "aquasecurity/setup-trivy": PinnedAction(
        "3fb12ec12f41e471780db15c232d5dd185dcb514",
        "v0.2.6",
        "aquasecurity/trivy-action PR #539 (2026-03-19) pinning it `# equivalent to v0.2.6`, "
        "the release made after the March 2026 tag compromise; public workflows pinning "
        "`aquasecurity/setup-trivy@3fb12ec1... # v0.2.6` (many, 2026)",
    ),
}

# The Trivy release the shard jobs install (setup-trivy's ``version`` input): trivy-action's
# own update to it (PR #559, 2026-04-17), and public workflows running it with the
# setup-trivy commit above (2026). Never v0.69.4 (the malicious release of March 2026).
TRIVY_VERSION = "v0.70.0"


def uses(name: str) -> str:
    """``name@sha`` for a ``uses:`` line; an action missing from the table is a bug."""
    return ACTIONS[name].ref(name)


def version_of(ref: str) -> str | None:
    """The release a pinned ``uses:`` value is, for the comment beside it."""
    name, _, sha = ref.partition("@")
    pinned = ACTIONS.get(name)
    return pinned.version if pinned is not None and pinned.sha == sha else None
