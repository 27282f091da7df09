"""OSV range evaluation, with the real ``dpkg --compare-versions`` as the version order.

Using dpkg itself as the comparator tests the evaluation logic independently of our own
comparators (which have their own tests against dpkg, rpm and apk-tools vectors).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.sbom.models import OsRelease, Package, PackageType
from imagetrust.vulndb.match import Verdict, evaluate
from imagetrust.vulndb.matchers import DEFAULT_REGISTRY, MatchTarget, NotCoveredReason, Uncovered


@functools.cache
def dpkg_compare(a: str, b: str) -> int:
    if shutil.which("dpkg") is None:  # pragma: no cover - every Debian machine has dpkg
        pytest.fail("dpkg is needed as the reference version order")
    for op, result in (("lt", -1), ("eq", 0)):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0:
            return result
    return 1


def ranges(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"ranges": [{"type": kind, "events": list(events)}]}


# CVE-2023-0286 (openssl X.400 type confusion): Debian bookworm fixed it in 3.0.8-1.
OPENSSL_CVE_2023_0286 = ranges({"introduced": "0"}, {"fixed": "3.0.8-1"})


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        ("3.0.7-1", Verdict(True, "3.0.8-1")),
        ("3.0.8-1", Verdict(False)),
        ("3.0.8-1~deb12u1", Verdict(True, "3.0.8-1")),  # ~ sorts before the release
        ("3.0.11-1~deb12u2", Verdict(False)),
        ("1:1.0-1", Verdict(False)),  # an epoch outranks every upstream version
    ],
)
def test_introduced_and_fixed(installed: str, expected: Verdict) -> None:
    assert evaluate(installed, OPENSSL_CVE_2023_0286, dpkg_compare) == expected


def test_last_affected_and_limit() -> None:
    last = ranges({"introduced": "1.0"}, {"last_affected": "1.2"})
    assert evaluate("1.2", last, dpkg_compare) == Verdict(True, None)
    assert evaluate("1.2-1", last, dpkg_compare) == Verdict(False)  # dpkg: 1.2-1 > 1.2
    assert evaluate("0.9", last, dpkg_compare) == Verdict(False)
    limited = ranges({"introduced": "2.0"}, {"limit": "3.0"})
    assert evaluate("2.5", limited, dpkg_compare).affected
    assert not evaluate("3.0", limited, dpkg_compare).affected


def test_several_ranges_report_the_lowest_fix_above_the_installed_version() -> None:
    affected = {
        "ranges": [
            {
                "type": "ECOSYSTEM",
                "events": [
                    {"introduced": "0"},
                    {"fixed": "1.10-1"},
                    {"introduced": "2.0"},
                    {"fixed": "2.9-1"},
                ],
            },
            {"type": "ECOSYSTEM", "events": [{"introduced": "1.5"}, {"fixed": "1.9-1"}]},
        ]
    }
    assert evaluate("1.6-1", affected, dpkg_compare) == Verdict(True, "1.9-1")
    assert evaluate("1.9-1", affected, dpkg_compare) == Verdict(True, "1.10-1")
    assert evaluate("1.10-1", affected, dpkg_compare) == Verdict(False)
    assert evaluate("2.1", affected, dpkg_compare) == Verdict(True, "2.9-1")


def test_versions_list_and_git_ranges() -> None:
    listed = {"versions": ["1.2.3-1", "1.2.4-1"]}
    assert evaluate("1.2.3-1", listed, dpkg_compare) == Verdict(True, None)
    assert not evaluate("1.2.5-1", listed, dpkg_compare).affected
    git = ranges({"introduced": "0"}, {"fixed": "abcdef0"}, kind="GIT")
    assert not evaluate("1.0", git, dpkg_compare).affected


@pytest.mark.parametrize(
    "affected",
    [
        {},
        {"ranges": "nope"},
        {"ranges": [{"type": "ECOSYSTEM", "events": "x"}]},
        {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": 5}, "junk"]}]},
        {"versions": [1, None]},
    ],
)
def test_malformed_entries_are_not_affected_and_never_raise(affected: dict[str, Any]) -> None:
    assert evaluate("1.0", affected, dpkg_compare) == Verdict(False)


def test_a_version_the_order_rejects_skips_that_range_only() -> None:
    def strict(a: str, b: str) -> int:
        if "!" in a + b:
            raise ValueError("invalid version")
        return dpkg_compare(a, b)

    affected = {
        "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "bad!"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]},
        ]
    }
    assert evaluate("1.0", affected, strict) == Verdict(True, "2.0")


# OSV's own range evaluation tests (G-Rath/osv-detector pkg/database/osv_test.go
# @ c2dddabe8ac0d0738a52c10350406e0f35ef2ca9, "zeros with build strings"; the same
# evaluator went into osv-scanner): golang.org/x/sys and golang.org/x/net advisories whose
# ranges hold Go pseudo-versions. Only ``introduced: "0"`` means "before every version":
# ``fixed: "0"`` is version 0, so the x/net range covers the pseudo-versions of 0.0.0 only.
GO_X_SYS = {"introduced": "0"}, {"fixed": "0.0.0-20220412211240-33da011f77ad"}
GO_X_NET = {"introduced": "0.0.0-20180925071336-cf3bd585ca2a"}, {"fixed": "0"}


@pytest.mark.parametrize("kind", ["SEMVER", "ECOSYSTEM"])
@pytest.mark.parametrize("ecosystem", ["Go", "npm"])
@pytest.mark.parametrize(
    ("installed", "affected"),
    [("0.0.0", False), ("0.14.0", False), ("0.0.0-20180925071336-cf3bd585ca2a", True)],
)
def test_fixed_zero_is_version_zero(
    kind: str, ecosystem: str, installed: str, affected: bool
) -> None:
    from imagetrust.vulndb.versions import comparator

    compare = comparator(ecosystem)
    advisories = (GO_X_SYS, GO_X_NET)
    verdicts = [evaluate(installed, ranges(*events, kind=kind), compare) for events in advisories]
    assert any(v.affected for v in verdicts) is affected
    # the events in reverse order, as the same test file also checks ("shuffled")
    reverse = [ranges(*events[::-1], kind=kind) for events in advisories]
    assert [evaluate(installed, entry, compare) for entry in reverse] == verdicts


def test_fixed_zero_under_dpkg_is_dpkg_version_zero() -> None:
    entry = ranges({"introduced": "0~"}, {"fixed": "0"})  # dpkg: 0~ < 0 < 0.1
    assert evaluate("0~", entry, dpkg_compare) == Verdict(True, "0")
    assert not evaluate("0.1", entry, dpkg_compare).affected
    assert not evaluate("0", entry, dpkg_compare).affected


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="0123456789.-~+:ab", max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["ranges", "type", "events", "introduced", "fixed", "versions", "limit"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(affected=JSONISH)
def test_arbitrary_entries_never_raise(affected: object) -> None:
    if isinstance(affected, dict):
        evaluate("1.0-1", affected, lambda a, b: (a > b) - (a < b))


def pkg(kind: PackageType, name: str, source: str | None = None, **extra: str) -> Package:
    return Package(name, "1", kind, purl="pkg:x/y@1", source_name=source, extra=dict(extra))


@pytest.mark.parametrize(
    ("package", "os_release", "expected"),
    [
        (
            pkg(PackageType.DEB, "libssl3", "openssl"),
            OsRelease("debian", "12"),
            MatchTarget("Debian:12", "Debian", "openssl", "1"),
        ),
        (
            pkg(PackageType.DEB, "bash"),
            OsRelease("ubuntu", "22.04"),
            MatchTarget("Ubuntu:22.04:LTS", "Ubuntu", "bash", "1"),
        ),
        (
            pkg(PackageType.DEB, "bash"),
            OsRelease("ubuntu", "23.10"),
            MatchTarget("Ubuntu:23.10", "Ubuntu", "bash", "1"),
        ),
        (
            pkg(PackageType.APK, "libcrypto1.1", "openssl"),
            OsRelease("alpine", "3.16.2"),
            MatchTarget("Alpine:v3.16", "Alpine", "openssl", "1"),
        ),
        (pkg(PackageType.PYTHON, "requests"), None, MatchTarget("PyPI", "PyPI", "requests", "1")),
        (
            pkg(PackageType.JAVA, "log4j-core", group_id="org.apache.logging.log4j"),
            None,
            MatchTarget("Maven", "Maven", "org.apache.logging.log4j:log4j-core", "1"),
        ),
        # no OS: no release to match; Alpine without VERSION_ID: no branch to match
        (pkg(PackageType.DEB, "bash"), None, NotCoveredReason.NO_ADVISORY_SOURCE),
        (
            pkg(PackageType.APK, "musl"),
            OsRelease("alpine", None),
            NotCoveredReason.NO_ADVISORY_SOURCE,
        ),
    ],
)
def test_match_targets(
    package: Package, os_release: OsRelease | None, expected: MatchTarget | NotCoveredReason
) -> None:
    target = DEFAULT_REGISTRY.target(package, os_release)
    if isinstance(expected, NotCoveredReason):
        assert isinstance(target, Uncovered) and target.reason is expected
    else:
        assert target == expected


def test_go_stdlib_versions_match_without_their_go_prefix() -> None:
    from imagetrust.vulndb.scan import AdvisoryLookup, match_packages
    from imagetrust.vulndb.versions import comparator

    # GO-2023-2185 shape: net/http in the standard library, fixed in 1.20.11 and 1.21.4.
    entry = {
        "ranges": [
            {
                "type": "SEMVER",
                "events": [
                    {"introduced": "0"},
                    {"fixed": "1.20.11"},
                    {"introduced": "1.21.0-0"},
                    {"fixed": "1.21.4"},
                ],
            }
        ]
    }

    from imagetrust.vulndb.query import AffectedEntry

    record = AffectedEntry(
        record_id="GO-2023-2185",
        source="test",
        source_version=None,
        modified=None,
        published=None,
        withdrawn=None,
        aliases=[],
        upstream=[],
        summary=None,
        severity=[],
        record_database_specific=None,
        ecosystem="Go",
        package="stdlib",
        purl=None,
        ranges=entry["ranges"],
        versions=[],
        affected_severity=[],
        ecosystem_specific=None,
        database_specific=None,
    )

    stdlib = Package("stdlib", "go1.21.1", PackageType.GO, purl="pkg:golang/stdlib@1.21.1")
    advisories = AdvisoryLookup(
        lambda ecosystem, name: [record] if (ecosystem, name) == ("Go", "stdlib") else [],
        comparator,
    )
    findings = match_packages([stdlib], None, advisories).findings
    assert [(f.id, f.installed_version, f.fixed_version) for f in findings] == [
        ("GO-2023-2185", "go1.21.1", "1.21.4")
    ]
