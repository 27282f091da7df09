"""Replacements named by the real ``deprecated.md`` notices of the docs repository.

Each expectation was read off the notice itself (tests/fixtures/docs, copied unchanged):
openjdk links five official images, amazonlinux names its own ``2023`` tag, emqx and
liquibase name images of their own namespaces; notices that name nothing yield nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagetrust.evaluate.recommend.notices import NamedReplacement, named_replacements

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DOCS = FIXTURES / "docs"
KNOWN = {p.name for p in (FIXTURES / "official-images" / "library").iterdir()} | {
    p.name for p in DOCS.iterdir() if p.is_dir()
}


def named(image: str) -> list[str]:
    notice = (DOCS / image / "deprecated.md").read_text(encoding="utf-8")
    found = named_replacements(notice, name=image, known=KNOWN)
    return [item.label if item.official else f"{item.label} (other)" for item in found]


def test_openjdk_names_its_official_replacements_in_order() -> None:
    assert named("openjdk") == [
        "amazoncorretto",
        "eclipse-temurin",
        "ibm-semeru-runtimes",
        "ibmjava",
        "sapmachine",
    ]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("amazonlinux", ["amazonlinux:2023"]),  # not the ended tags `1`, `2018.03`
        ("emqx", ["emqx/emqx (other)", "emqx/emqx-enterprise (other)"]),
        ("liquibase", ["liquibase/liquibase (other)", "liquibase/liquibase-secure (other)"]),
        ("rockylinux", ["rockylinux/rockylinux (other)"]),
        ("mongo-express", []),
        ("unit", []),
        ("php-zendserver", []),
        ("clearlinux", []),
    ],
)
def test_what_each_notice_names(image: str, expected: list[str]) -> None:
    assert named(image) == expected


def test_no_notice_names_nothing_and_the_image_itself_is_not_a_replacement() -> None:
    assert named_replacements(None, name="x", known=KNOWN) == []
    text = "Use `python` or [`python`](https://hub.docker.com/_/python), not `node:18`."
    assert named_replacements(text, name="python", known=KNOWN) == [NamedReplacement("node", "18")]
