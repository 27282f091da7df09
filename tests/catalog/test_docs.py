"""The docs repository reader and the deprecated.md rules, on the real 145 folders."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.catalog.docs import (
    MAX_DOCS_FILE_BYTES,
    classify_deprecation,
    explain_deprecation,
    load_docs_dir,
    parse_metadata,
    read_docs_folder,
)
from imagetrust.catalog.models import DeprecationKind, DocsInfo, ParseError
from imagetrust.errors import UsageError

DOCS = Path(__file__).resolve().parent.parent / "fixtures" / "docs"
DEPRECATED = DeprecationKind.DEPRECATED
NOTICE = DeprecationKind.NOTICE

# Every deprecated.md in the data, with the kind and the rule that must decide it.
REAL_DEPRECATIONS = {
    "amazonlinux": (NOTICE, "partial"),  # only the 1 / 2018.03 tags are EOL
    "clearlinux": (DEPRECATED, "whole-image"),
    "clefos": (DEPRECATED, "whole-image"),
    "emqx": (DEPRECATED, "whole-image"),  # "we stopped publishing the emqx ... image"
    "liquibase": (DEPRECATED, "whole-image"),
    "mongo-express": (DEPRECATED, "whole-image"),
    "nextcloud": (NOTICE, "note"),
    "notary": (DEPRECATED, "whole-image"),
    "openjdk": (DEPRECATED, "whole-image"),
    "php-zendserver": (DEPRECATED, "whole-image"),
    "plone": (DEPRECATED, "heading"),
    "rockylinux": (NOTICE, "note"),
    "unit": (DEPRECATED, "whole-image"),
}


@pytest.fixture(scope="module")
def real() -> dict[str, DocsInfo]:
    result = load_docs_dir(DOCS)
    assert result.errors == ()
    return dict(result.docs)


def test_every_real_folder_loads(real: dict[str, DocsInfo]) -> None:
    assert len(real) == 145
    assert "scratch" in real  # in the docs, not in the library


def test_the_real_deprecated_files_are_exactly_the_known_ones(real: dict[str, DocsInfo]) -> None:
    """A new deprecated.md in the fixtures must get its own expectation below."""
    assert {n for n, d in real.items() if d.deprecated_text is not None} == set(REAL_DEPRECATIONS)
    assert {n for n, d in real.items() if d.deprecation is DeprecationKind.NONE} == (
        set(real) - set(REAL_DEPRECATIONS)
    )


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_DEPRECATIONS.items()))
def test_real_deprecated_md_classification(
    name: str, expected: tuple[DeprecationKind, str], real: dict[str, DocsInfo]
) -> None:
    text = (DOCS / name / "deprecated.md").read_text(encoding="utf-8")
    verdict = explain_deprecation(text, name=name)
    assert (verdict.kind, verdict.rule) == expected
    assert real[name].deprecation is expected[0]
    assert real[name].deprecated_text == text  # kept as published


def test_evidence_is_the_deciding_clause() -> None:
    def evidence(name: str) -> str:
        text = (DOCS / name / "deprecated.md").read_text(encoding="utf-8")
        return explain_deprecation(text, name=name).evidence or ""

    assert evidence("openjdk").startswith("this image is officially deprecated")
    assert evidence("unit") == "nginx unit is archived and unmaintained"
    assert evidence("notary") == "the upstream notary project was archived as of july 30"
    assert "tags of this image are eol" in evidence("amazonlinux")
    assert "deprecation notice" in evidence("plone")
    assert evidence("emqx") == "we stopped publishing the emqx docker official image"
    assert evidence("nextcloud") == ""


def test_real_metadata_description_and_repo(real: dict[str, DocsInfo]) -> None:
    python = real["python"]
    assert python.categories == ("languages-and-frameworks",)
    assert python.github_repo == "https://github.com/docker-library/python"
    assert python.description is not None
    assert python.description.startswith("Python is an interpreted, interactive")
    assert python.deprecation is DeprecationKind.NONE and python.deprecated_text is None
    scratch = real["scratch"]
    assert scratch.github_repo is None
    assert scratch.categories == ()
    assert scratch.description == (
        'an explicitly empty image, especially for building images "FROM scratch"'
    )
    assert sum(1 for d in real.values() if "operating-systems" in d.categories) == 17


# --- the rules on their own ---------------------------------------------------------------

RULE_CASES = [
    ("This image is deprecated.", DEPRECATED, "whole-image"),
    ("This image is **not** deprecated.", NOTICE, "note"),
    ("This image is not deprecated; it moved.", NOTICE, "note"),
    ("The project has been officially discontinued.", DEPRECATED, "whole-image"),
    ("Foo Bar will no longer receive security updates.", DEPRECATED, "whole-image"),
    ("The `1.x` and `2.0` tags are deprecated.", NOTICE, "partial"),
    ("The alpine variants are no longer supported.", NOTICE, "partial"),
    ("Foo 3.2 is end-of-life, use 4.", NOTICE, "partial"),
    ("Users are deprecated here.", NOTICE, "note"),
    ("See https://example.com/this-image-is-deprecated for news.", NOTICE, "note"),
    ("See [why](https://example.com/this-image-is-deprecated).", NOTICE, "note"),
    ("# Deprecated\n\nMove along.", DEPRECATED, "heading"),
    ("## Deprecation of the 2.x tags\n\nMove along.", NOTICE, "note"),
    ("We stopped publishing this image.", DEPRECATED, "whole-image"),
    ("We stopped publishing the 2.x tags.", NOTICE, "partial"),
    ("This image is being deprecated.", DEPRECATED, "whole-image"),
    ("The image is no longer published or updated.", DEPRECATED, "whole-image"),
    ("This repository is no longer updated.", DEPRECATED, "whole-image"),
    ("This image will no longer be updated.", DEPRECATED, "whole-image"),
    ("Constraints are preventing Foo from publishing updates here.", NOTICE, "note"),
    ("Users are no longer published here.", NOTICE, "note"),
    ("", NOTICE, "note"),
]


@pytest.mark.parametrize(("text", "kind", "rule"), RULE_CASES)
def test_rules(text: str, kind: DeprecationKind, rule: str) -> None:
    verdict = explain_deprecation(text, name="foo-bar")
    assert (verdict.kind, verdict.rule) == (kind, rule)
    assert classify_deprecation(text, name="foo-bar") is kind


def test_the_image_name_counts_as_the_subject() -> None:
    assert classify_deprecation("Foo Bar is archived.", name="foo-bar") is DEPRECATED
    assert classify_deprecation("Foo Bar is archived.", name="other") is NOTICE


@settings(max_examples=300)
@given(st.text(), st.text(max_size=20))
def test_any_text_is_classified_deterministically(text: str, name: str) -> None:
    first = explain_deprecation(text, name=name)
    assert first == explain_deprecation(text, name=name)
    assert first.kind in (DEPRECATED, NOTICE)


def test_a_huge_clause_is_classified_in_linear_time() -> None:
    text = "word " * (MAX_DOCS_FILE_BYTES // 5)
    started = time.monotonic()
    assert classify_deprecation(text + "is deprecated", name="x") is NOTICE
    assert time.monotonic() - started < 5


# --- folders and broken files -------------------------------------------------------------


def copy_images(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name in names:
        shutil.copytree(DOCS / name, root / name)
    return root


def test_non_image_folders_are_ignored(tmp_path: Path) -> None:
    root = copy_images(tmp_path, "python", "unit")
    for helper in (".template-helpers", ".common-templates", ".github"):
        (root / helper).mkdir()
        (root / helper / "metadata.json").write_text("not json", encoding="utf-8")
    (root / "notes").mkdir()
    (root / "notes" / "content.md").write_text("# hi\n", encoding="utf-8")
    (root / "README.md").write_text("# docs\n", encoding="utf-8")
    (root / "linked").symlink_to(root / "python")
    result = load_docs_dir(root)
    assert list(result.docs) == ["python", "unit"]
    assert result.errors == ()
    assert result.docs["unit"].deprecation is DEPRECATED


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{\n  "hub": {\n    "categories": [,]\n  }\n}\n', 3, "invalid JSON"),
        ("", 1, "invalid JSON"),
        ("[]", 1, "expected a JSON object"),
        ('{"hub": []}', 1, '"hub" must be an object'),
        ('{"hub": {"categories": "web"}}', 1, "must be a list of strings"),
        ('{"hub": {"categories": [1]}}', 1, "must be a list of strings"),
        ("[" * 100_000, 1, "invalid JSON"),
    ],
)
def test_malformed_metadata_is_a_folder_error(
    tmp_path: Path, content: str, line: int, message: str
) -> None:
    root = copy_images(tmp_path, "python", "redis")
    (root / "redis" / "metadata.json").write_text(content, encoding="utf-8")
    result = load_docs_dir(root)
    assert list(result.docs) == ["python"]
    (error,) = result.errors
    assert (error.path, error.line) == (str(root / "redis" / "metadata.json"), line)
    assert message in error.reason


def test_metadata_without_hub_or_categories_is_empty() -> None:
    assert parse_metadata("{}", path="m.json") == ()
    assert parse_metadata('{"hub": {}}', path="m.json") == ()
    assert parse_metadata('{"hub": {"categories": ["a", " a", "b", ""]}}', path="m") == ("a", "b")


def test_non_utf8_and_oversized_files_are_folder_errors(tmp_path: Path) -> None:
    root = copy_images(tmp_path, "python", "nginx", "redis")
    (root / "nginx" / "deprecated.md").write_bytes(b"This image\nis \xff deprecated\n")
    (root / "redis" / "README-short.txt").write_bytes(b"x" * (MAX_DOCS_FILE_BYTES + 1))
    result = load_docs_dir(root)
    assert list(result.docs) == ["python"]
    assert [(e.path, e.line) for e in result.errors] == [
        (str(root / "nginx" / "deprecated.md"), 2),
        (str(root / "redis" / "README-short.txt"), 1),
    ]
    assert "not UTF-8" in result.errors[0].reason
    assert "too large" in result.errors[1].reason


def test_read_one_folder_raises_parse_error(tmp_path: Path) -> None:
    root = copy_images(tmp_path, "redis")
    (root / "redis" / "metadata.json").write_text("{", encoding="utf-8")
    with pytest.raises(ParseError):
        read_docs_folder(root / "redis")


def test_blank_files_mean_absent_values(tmp_path: Path) -> None:
    folder = tmp_path / "thing"
    folder.mkdir()
    (folder / "github-repo").write_text("\n\n", encoding="utf-8")
    (folder / "README-short.txt").write_text("  \n", encoding="utf-8")
    (folder / "deprecated.md").write_text("", encoding="utf-8")
    info = read_docs_folder(folder)
    assert info == DocsInfo(name="thing", deprecation=NOTICE, deprecated_text="")


def test_missing_docs_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="docs folder not found"):
        load_docs_dir(tmp_path / "nope")
