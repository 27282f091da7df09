"""The library manifest parser, on all 144 real files and on hostile input."""

from __future__ import annotations

import dataclasses
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.catalog.library import (
    MAX_LIBRARY_BYTES,
    load_library_dir,
    parse_library_file,
    parse_library_text,
    render_library_text,
)
from imagetrust.catalog.models import LibraryEntry, LibraryManifest, ParseError
from imagetrust.errors import UsageError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "official-images"
LIBRARY = FIXTURES / "library"
NO_TAGS = {"clefos", "gazebo", "mongo-express", "notary", "php-zendserver", "plone", "unit"}
MAINTAINER = "Maintainers: Jane Doe <jane@example.com> (@jane)\n"


@pytest.fixture(scope="module")
def real() -> dict[str, LibraryManifest]:
    result = load_library_dir(FIXTURES)
    assert result.errors == ()
    return dict(result.manifests)


def parse(text: str) -> LibraryManifest:
    return parse_library_text(text, name="test", path="library/test")


def without_lines(manifest: LibraryManifest) -> LibraryManifest:
    entries = tuple(dataclasses.replace(e, line=0) for e in manifest.entries)
    return dataclasses.replace(manifest, entries=entries)


# --- the real files -----------------------------------------------------------------------


def test_every_real_file_parses(real: dict[str, LibraryManifest]) -> None:
    assert len(real) == 144
    assert {"python", "debian", "hello-world", "busybox", "ubuntu"} <= set(real)


def test_library_folder_or_checkout_root_give_the_same_result() -> None:
    from_root = load_library_dir(FIXTURES)
    from_folder = load_library_dir(LIBRARY)
    assert from_root.directory == from_folder.directory == LIBRARY
    assert from_root.manifests == from_folder.manifests


def test_files_without_tags_are_exactly_the_deprecated_seven(
    real: dict[str, LibraryManifest],
) -> None:
    assert {name for name, m in real.items() if not m.has_tags} == NO_TAGS
    # their commented-out old entries are comments, not entries
    assert real["plone"].entries == ()
    assert real["mongo-express"].entries == ()
    assert real["notary"].global_fields["Builder"] == "buildkit"


def test_python_tags_shared_tags_constraints_and_builder(
    real: dict[str, LibraryManifest],
) -> None:
    python = real["python"]
    tags = python.supported_tags
    assert {"latest", "3.14", "3", "3.14-slim", "3.15-rc"} <= set(tags)
    assert len(tags) == len(set(tags))
    assert python.maintainers == (
        "Tianon Gravi <admwiggin@gmail.com> (@tianon)",
        "Joseph Ferguson <yosifkit@gmail.com> (@yosifkit)",
    )
    latest = [e for e in python.entries if "latest" in e.shared_tags]
    assert latest[0].tags == ("3.14.7-trixie", "3.14-trixie", "3-trixie", "trixie")
    assert latest[0].builder == "buildkit"  # from the global paragraph
    assert latest[0].git_repo == "https://github.com/docker-library/python.git"
    windows = next(e for e in python.entries if "3.14-windowsservercore-ltsc2025" in e.tags)
    assert windows.architectures == ("windows-amd64",)
    assert windows.constraints == ("windowsservercore-ltsc2025",)
    assert windows.builder == "classic"  # the entry's own value wins
    assert "windows-amd64" in python.architectures


def test_debian_global_arch_overrides_reach_every_entry(
    real: dict[str, LibraryManifest],
) -> None:
    debian = real["debian"]
    assert debian.maintainers == (
        "Tianon Gravi <tianon@debian.org> (@tianon)",
        "Paul Tagliamonte <paultag@debian.org> (@paultag)",
    )
    bookworm = next(e for e in debian.entries if "bookworm" in e.tags)
    assert bookworm.line == 34
    assert bookworm.git_commit == "7935fc7dd049cb343df42037c152f570069d274f"
    assert bookworm.field_for("amd64", "GitCommit") == "b09f23ad7aab0cafa864c696dfbf130128e5e452"
    assert bookworm.field_for("amd64", "GitFetch") == "refs/heads/dist-amd64"
    assert bookworm.field_for("arm64v8", "GitCommit") == (
        "14d91d295c23da6cc04d4bfe8b3d74a8a6c54e5c"
    )
    assert bookworm.field_for("amd64", "Directory") == "bookworm/oci"  # not overridden
    assert bookworm.builder == "oci-import"
    assert bookworm.file == "index.json"
    assert debian.global_fields["amd64-GitCommit"] == "b09f23ad7aab0cafa864c696dfbf130128e5e452"
    assert all(
        e.arch_fields["s390x"]["GitFetch"] == "refs/heads/dist-s390x" for e in debian.entries
    )


def test_entry_arch_overrides_with_a_hyphenated_architecture(
    real: dict[str, LibraryManifest],
) -> None:
    hello = real["hello-world"]
    linux, nano2025, _ = hello.entries
    assert linux.field_for("riscv64", "Directory") == "riscv64"
    assert linux.shared_tags == ("latest",)
    assert nano2025.arch_fields["windows-amd64"] == {"Directory": "amd64/nanoserver-ltsc2025"}
    assert nano2025.field_for("windows-amd64", "GitCommit") == (
        "3981a44a531e7c844d844e12cbbda232d10d5dfb"
    )


def test_busybox_global_and_entry_arch_fields_merge(real: dict[str, LibraryManifest]) -> None:
    glibc = next(e for e in real["busybox"].entries if "glibc" in e.tags)
    assert glibc.arch_fields["amd64"] == {
        "GitFetch": "refs/heads/dist-amd64",
        "GitCommit": "70ce0fb98bee360bbcce132660d727bf6ce55a99",
        "Directory": "latest/glibc/amd64",
    }


def test_whitespace_quirks_of_real_files(real: dict[str, LibraryManifest]) -> None:
    assert real["hitch"].global_fields["GitRepo"] == "https://github.com/varnish/docker-hitch.git"
    assert all(" " not in (e.git_commit or "") for e in real["orientdb"].entries)
    assert len(real["sonarqube"].maintainers) == 8  # tab-indented continuation lines
    assert real["api-firewall"].maintainers == (  # first line ends in ", "
        "Ivan Novikov <in@wallarm.com> (@d0znpp)",
        "Nikolay Tkachenko (@afr1ka)",
    )
    assert len(real["amazonlinux"].maintainers) == 10
    assert real["amazonlinux"].maintainers[1] == "Frédérick Lefebvre (@fred-lefebvre)"


_NAIVE_TAGS = re.compile(r"^(Shared)?Tags:(.*)$", re.MULTILINE)


@pytest.mark.parametrize("name", sorted(p.name for p in LIBRARY.iterdir()))
def test_tags_agree_with_a_naive_reading(name: str, real: dict[str, LibraryManifest]) -> None:
    """In the real files every Tags line fits on one line, so a regex is an independent oracle."""
    text = (LIBRARY / name).read_text(encoding="utf-8")
    naive: dict[str, None] = {}
    for match in _NAIVE_TAGS.finditer(text):
        for tag in match.group(2).split(","):
            if tag.strip():
                naive.setdefault(tag.strip(), None)
    assert set(real[name].supported_tags) == set(naive)
    assert len(real[name].entries) == text.count("\nTags:")


def test_every_real_file_survives_render_and_parse(real: dict[str, LibraryManifest]) -> None:
    for name, manifest in real.items():
        again = parse_library_text(render_library_text(manifest), name=name, path=manifest.path)
        assert without_lines(again) == without_lines(manifest), name


# --- format details -----------------------------------------------------------------------


def test_comments_between_continuation_lines_and_blank_separators() -> None:
    text = (
        "# leading comment\n"
        "Maintainers: A One (@a),\n"
        "# a comment inside the value\n"
        "\tB Two (@b)\n"
        "GitRepo: https://example.com/r.git\n"
        "   \t\n"  # whitespace only: a separator
        "Tags: 1, latest\n"
        "Architectures: arm64v8, amd64, arm64v8\n"
        "GitCommit: abc\n"
        "\n\n\n# only comments here\n\n"
        "Tags: 2\n"
        "GitCommit: def\n"
    )
    manifest = parse(text)
    assert manifest.maintainers == ("A One (@a)", "B Two (@b)")
    first, second = manifest.entries
    assert (first.line, second.line) == (7, 15)
    assert first.architectures == ("arm64v8", "amd64")  # duplicates dropped, order kept
    assert second.architectures == ("amd64",)  # bashbrew's default
    assert second.git_repo == "https://example.com/r.git"
    assert manifest.supported_tags == ("1", "latest", "2")


def test_entry_values_win_and_empty_values_inherit() -> None:
    text = (
        MAINTAINER + "GitRepo: https://g/r.git\nGitCommit: aaa\nSharedTags: s\n"
        "Architectures: amd64, s390x\nConstraints: c\n"
        "amd64-GitCommit: g-amd\ns390x-Directory: g-dir\n\n"
        "Tags: one\nGitCommit:\nSharedTags:\namd64-GitCommit: e-amd\ni386-File: e-file\n\n"
        "Tags: two\nGitCommit: bbb\nArchitectures: i386\nConstraints: x, y\n"
    )
    one, two = parse(text).entries
    assert one.git_commit == "aaa"
    assert one.shared_tags == ("s",)
    assert one.architectures == ("amd64", "s390x")
    assert one.arch_fields == {
        "amd64": {"GitCommit": "e-amd"},
        "s390x": {"Directory": "g-dir"},
        "i386": {"File": "e-file"},
    }
    assert two.git_commit == "bbb"
    assert two.architectures == ("i386",)
    assert two.constraints == ("x", "y")
    assert two.field_for("amd64", "GitCommit") == "g-amd"
    assert two.field_for("i386", "GitCommit") == "bbb"
    assert two.git_fetch is None and two.directory is None and two.file is None


def test_entry_without_tags_among_others_is_kept() -> None:
    manifest = parse(MAINTAINER + "\nTags: a\n\nDirectory: orphan\n\nTags: b\n")
    assert [e.tags for e in manifest.entries] == [("a",), (), ("b",)]
    assert manifest.has_tags


def test_crlf_and_byte_order_mark_read_like_plain_lines() -> None:
    text = (LIBRARY / "python").read_text(encoding="utf-8")
    plain = parse(text)
    assert parse("\ufeff" + text.replace("\n", "\r\n")) == plain


def test_indented_hash_is_a_continuation_as_in_bashbrew() -> None:
    manifest = parse("Maintainers: A (@a),\n  # B (@b)\n")
    assert manifest.maintainers == ("A (@a)", "# B (@b)")


# --- malformed input ----------------------------------------------------------------------

MALFORMED = [
    (MAINTAINER + "this is not a field\n", 2, "expected 'Field: value'"),
    (MAINTAINER + "Tags : 1\n", 2, "expected 'Field: value'"),
    ("  continues nothing\n", 1, "no field to continue"),
    (MAINTAINER + "\n\n  orphan continuation\n", 4, "no field to continue"),
    (MAINTAINER + "Color: blue\n", 2, "unknown field 'Color'"),
    (MAINTAINER + "\ntags: 1\n", 3, "unknown field 'tags' (did you mean 'Tags'?)"),
    (MAINTAINER + "\namd64-gitcommit: 1\n", 3, "(did you mean 'amd64-GitCommit'?)"),
    (MAINTAINER + "\namd64-Tags: 1\n", 3, "unknown field 'amd64-Tags'"),
    (MAINTAINER + "\n-GitCommit: 1\n", 3, "expected 'Field: value'"),
    (MAINTAINER + "\nTags: 1\n# c\nTags: 2\n", 5, "duplicate field Tags (first on line 3)"),
    (MAINTAINER + "amd64-GitCommit: a\namd64-GitCommit: b\n", 3, "duplicate field"),
    (MAINTAINER + "\nTags: 1\nGitCommit: abc\n  def\n", 5, "GitCommit takes one value"),
    (MAINTAINER + "Tags: 1\n", 2, "Tags in the global (first) paragraph"),
    ("# c\n\nGitRepo: x\n\nTags: 1\n", 3, "has no Maintainers"),
    ("Maintainers: ,\n", 1, "has no Maintainers"),
    ("", 1, "no fields"),
    ("# only\n# comments\n\n", 1, "no fields"),
]


@pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
def test_malformed_text_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.path == "library/test"
    assert caught.value.line == line
    assert message in caught.value.reason
    assert str(caught.value).startswith(f"library/test:{line}: ")


def test_non_utf8_bytes_are_a_parse_error_on_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(MAINTAINER.encode() + b"\nTags: 1\nDirectory: caf\xe9\n")
    with pytest.raises(ParseError) as caught:
        parse_library_file(bad)
    assert (caught.value.path, caught.value.line) == (str(bad), 4)
    assert "not UTF-8" in caught.value.reason


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    library = tmp_path / "official-images" / "library"
    library.mkdir(parents=True)
    for name in ("python", "debian", "unit"):
        shutil.copy(LIBRARY / name, library / name)
    (library / "broken").write_text(MAINTAINER + "\nTags: 1\nnonsense\n", encoding="utf-8")
    (library / "binary").write_bytes(b"\xff\xfe\x00garbage")
    result = load_library_dir(tmp_path / "official-images")
    assert sorted(result.manifests) == ["debian", "python", "unit"]
    assert [(e.path, e.line) for e in result.errors] == [
        (str(library / "binary"), 1),
        (str(library / "broken"), 4),
    ]
    assert result.manifests["python"].entries == parse_library_file(LIBRARY / "python").entries


def test_dot_files_folders_and_symlinks_are_not_manifests(tmp_path: Path) -> None:
    shutil.copy(LIBRARY / "alpine", tmp_path / "alpine")
    (tmp_path / ".gitattributes").write_text("* text\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_text(MAINTAINER, encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "alpine")
    result = load_library_dir(tmp_path)
    assert list(result.manifests) == ["alpine"]
    assert result.errors == ()


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(MAINTAINER.encode() + b"#" * MAX_LIBRARY_BYTES)
    result = load_library_dir(tmp_path)
    assert result.manifests == {}
    assert "too large" in result.errors[0].reason


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="library folder not found"):
        load_library_dir(tmp_path / "nope")


# --- properties ---------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "Maintainers: A (@a)",
        "Tags: 1, 2",
        "Tags:",
        "SharedTags: latest",
        "Architectures: amd64, arm64v8",
        "GitCommit: abc",
        "amd64-GitCommit: def",
        "windows-amd64-Directory: d",
        "Constraints: c",
        "Builder: buildkit",
        "Bogus: x",
        "  continued,",
        "\tcontinued",
        "# comment",
        "",
        " ",
        ":",
        "-",
        "Tags",
        "\r",
        "\ufeff",
    ]
)
_FORMAT_LIKE = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=25).map("\n".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), _FORMAT_LIKE))
def test_any_text_gives_a_manifest_or_a_parse_error(text: str) -> None:
    try:
        manifest = parse(text)
    except ParseError as exc:
        assert 1 <= exc.line <= text.count("\n") + 1
    else:
        assert manifest.maintainers
        assert all(entry.architectures for entry in manifest.entries)


_TOKEN = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,8}", fullmatch=True)
_MAINTAINER = st.builds(
    lambda name, handle: f"{name} <{handle}@example.com> (@{handle})",
    st.from_regex(r"[A-Z][a-z]{1,6}( [A-Z][a-z]{1,6})?", fullmatch=True),
    _TOKEN,
)
_ARCH = st.sampled_from(["amd64", "arm64v8", "s390x", "i386", "windows-amd64"])
_SCALAR = st.sampled_from(["GitRepo", "GitFetch", "GitCommit", "Directory", "File", "Builder"])
_ARCH_SCALAR = st.sampled_from(["GitRepo", "GitFetch", "GitCommit", "Directory", "File"])


@dataclass
class Paragraph:
    """What a test writes in one paragraph, before any inheritance."""

    lists: dict[str, list[str]] = field(default_factory=dict)
    scalars: dict[str, str] = field(default_factory=dict)
    arch: dict[tuple[str, str], str] = field(default_factory=dict)


def _paragraph(*, is_global: bool) -> st.SearchStrategy[Paragraph]:
    lists = {
        "SharedTags": st.lists(_TOKEN, max_size=3),
        "Architectures": st.lists(_ARCH, max_size=4),
        "Constraints": st.lists(_TOKEN, max_size=2),
    }
    if is_global:
        lists["Maintainers"] = st.lists(_MAINTAINER, min_size=1, max_size=3)
    else:
        lists["Tags"] = st.lists(_TOKEN, max_size=4, unique=True)
    return st.builds(
        Paragraph,
        lists=st.fixed_dictionaries(lists).map(lambda d: {k: v for k, v in d.items() if v}),
        scalars=st.dictionaries(_SCALAR, _TOKEN, max_size=4),
        arch=st.dictionaries(st.tuples(_ARCH, _ARCH_SCALAR), _TOKEN, max_size=3),
    )


def _write(paragraph: Paragraph, comments: bool) -> str:
    lines = []
    for key, values in paragraph.lists.items():
        if key == "Maintainers" and len(values) > 1:
            joined = ",\n# between\n\t" if comments else ",\n    "
            lines.append(f"{key}: {joined.join(values)}")
        else:
            lines.append(f"{key}: {', '.join(values)}")
    lines += [f"{key}: {value}" for key, value in paragraph.scalars.items()]
    lines += [f"{arch}-{name}: {value}" for (arch, name), value in paragraph.arch.items()]
    return "\n".join(lines)


def _expected(glob: Paragraph, own: Paragraph, line: int) -> LibraryEntry:
    arch_fields: dict[str, dict[str, str]] = {}
    for source in (glob.arch, own.arch):
        for (arch, name), value in source.items():
            arch_fields.setdefault(arch, {})[name] = value
    merged = {**glob.scalars, **own.scalars}
    archs = own.lists.get("Architectures") or glob.lists.get("Architectures") or ["amd64"]
    return LibraryEntry(
        tags=tuple(own.lists.get("Tags", [])),
        shared_tags=tuple(own.lists.get("SharedTags") or glob.lists.get("SharedTags", [])),
        architectures=tuple(dict.fromkeys(archs)),
        git_repo=merged.get("GitRepo"),
        git_fetch=merged.get("GitFetch"),
        git_commit=merged.get("GitCommit"),
        directory=merged.get("Directory"),
        file=merged.get("File"),
        builder=merged.get("Builder"),
        constraints=tuple(own.lists.get("Constraints") or glob.lists.get("Constraints", [])),
        arch_fields=arch_fields,
        line=line,
    )


def _non_empty(paragraph: Paragraph) -> bool:
    return bool(paragraph.lists or paragraph.scalars or paragraph.arch)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    glob=_paragraph(is_global=True),
    entries=st.lists(_paragraph(is_global=False).filter(_non_empty), max_size=5),
    comments=st.booleans(),
)
def test_written_manifests_parse_back_with_inheritance(
    glob: Paragraph, entries: list[Paragraph], comments: bool
) -> None:
    separator = "\n\n# comment paragraph\n\n" if comments else "\n\n"
    text = _write(glob, comments)
    lines = []
    for own in entries:
        text += separator
        lines.append(text.count("\n") + 1)
        text += _write(own, comments)
    manifest = parse(text + "\n")
    assert manifest.maintainers == tuple(glob.lists["Maintainers"])
    expected = tuple(_expected(glob, own, line) for own, line in zip(entries, lines, strict=True))
    assert manifest.entries == expected
    # and the module's own renderer is a fixed point of parsing
    again = parse(render_library_text(manifest))
    assert without_lines(again) == without_lines(manifest)
