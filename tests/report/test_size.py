"""The overview of 200 repositories stays under 2 MB (GitHub Pages, a slow link, a phone).

The store is the size ``run -p all`` leaves for the official images: 200 repositories,
each with its ``latest`` tag on four platforms, a quarter with three more tags (1,400
images), findings on every image, Hub descriptions, and deprecation notices on a tenth.
The overview shows at most 12 platform rows per repository (its image pages list all).
"""

from __future__ import annotations

from pathlib import Path

from imagetrust.catalog.models import RepoState
from imagetrust.cli.main import main
from imagetrust.store.database import Store
from tests.report.scenario import Image, Scenario, Vuln, day, digest_of, entry

REPOSITORIES = 200
PLATFORMS = ("linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/ppc64le")
LIMIT = 2 * 1024 * 1024


def test_the_overview_of_200_repositories_is_under_2_mb(tmp_path: Path) -> None:
    home = tmp_path / "home"
    names = [f"repository-{n:03d}" for n in range(REPOSITORIES)]
    with Store.open(f"sqlite:///{home / 'imagetrust.db'}") as store:
        scenario = Scenario(store)
        scenario.catalog(
            [
                entry(
                    name,
                    description="An official image with a description as long as the Hub "
                    "allows them to be, one hundred characters.",
                    state=RepoState.DEPRECATED if n % 10 == 0 else RepoState.ACTIVE,
                    notice="This image is deprecated; use another one. " * 8
                    if n % 10 == 0
                    else None,
                    pull_count=10**9 + n,
                )
                for n, name in enumerate(names)
            ],
            day(0),
        )
        images = []
        for n, name in enumerate(names):
            vulns = [
                Vuln(
                    f"CVE-2026-{n:04d}{i}",
                    f"package-{i}",
                    severity=severity,
                    fixed="2" if i % 2 else None,
                )
                for i, severity in enumerate(("CRITICAL", "HIGH", "MEDIUM", "LOW", "HIGH"))
            ]
            tags = ["latest", "3", "3.1", "3.1.4"] if n % 4 == 0 else ["latest"]
            for tag, platform in [(t, p) for t in tags for p in PLATFORMS]:
                images.append(
                    Image(
                        name,
                        tag,
                        platform=platform,
                        index_digest=digest_of(name, tag),
                        packages=[(f"package-{i}", "1.0") for i in range(5)],
                        vulns=vulns,
                        store_sbom=False,  # the overview's size is the question here
                    )
                )
        scenario.add_all(images, day(1))
    out = tmp_path / "site"
    assert (
        main(["--home", str(home), "--now", day(2).isoformat(), "report", "--out", str(out)]) == 0
    )
    size = (out / "index.html").stat().st_size
    html = (out / "index.html").read_text()
    assert html.count('<tbody class="repo"') == REPOSITORIES
    # every platform of the default tag, and no more than 12 rows per repository
    assert html.count(">linux/ppc64le</a>") == REPOSITORIES + 2 * (REPOSITORIES // 4)
    assert html.count("1 more tag: the image pages list them all") == REPOSITORIES // 4
    assert size < LIMIT, f"index.html is {size:,} bytes"
    print(f"index.html for {REPOSITORIES} repositories, {len(PLATFORMS)} platforms: {size:,} bytes")
