"""Severity normalisation and fix state, checked against published scores and real records.

Every expected score or rating below comes from a published source (NVD, a CNA, GHSA, the
Debian or Ubuntu trackers) named in tests/fixtures/severity/README.md, never from running
the code under test.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetrust.errors import EXIT_USAGE, UsageError
from imagetrust.vulndb.errors import VulnDbError
from imagetrust.vulndb.fixstate import FixState, fix_state
from imagetrust.vulndb.severity import (
    Severity,
    SeverityInfo,
    level_from_score,
    parse_severity_filter,
    record_severity,
    score_vector,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "severity"
PUBLISHED = json.loads((FIXTURES / "published_cvss_scores.json").read_text())


def osv(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "osv" / f"{name}.json").read_text())
    return data


def affected_for(record: dict[str, Any], ecosystem: str) -> dict[str, Any]:
    for entry in record["affected"]:
        if entry["package"]["ecosystem"] == ecosystem:
            return dict(entry)
    raise AssertionError(f"no affected entry for {ecosystem}")


def osv_type(vector: str) -> str:
    if vector.startswith("CVSS:4.0/"):
        return "CVSS_V4"
    if vector.startswith("CVSS:3"):
        return "CVSS_V3"
    return "CVSS_V2"


class TestPublishedScores:
    @pytest.mark.parametrize(
        "row", PUBLISHED, ids=[f"{r['cve']}-{r['vector'][:8]}" for r in PUBLISHED]
    )
    def test_base_score_matches_the_published_one(self, row: dict[str, Any]) -> None:
        score, _version = score_vector(row["vector"], osv_type(row["vector"]))
        assert score == pytest.approx(row["baseScore"], abs=1e-9)

    @pytest.mark.parametrize(
        "row", PUBLISHED, ids=[f"{r['cve']}-{r['vector'][:8]}" for r in PUBLISHED]
    )
    def test_rating_matches_the_published_one(self, row: dict[str, Any]) -> None:
        record = {
            "id": row["cve"],
            "severity": [{"type": osv_type(row["vector"]), "score": row["vector"]}],
        }
        info = record_severity(record)
        assert info.level == Severity(row["baseSeverity"])
        assert info.score == pytest.approx(row["baseScore"], abs=1e-9)
        assert info.vector == row["vector"]
        assert info.source == osv_type(row["vector"])

    def test_the_nvd_band_edges(self) -> None:
        # NVD qualitative ratings (v3/v4 and v2 tables).
        assert level_from_score(9.0, 3) is Severity.CRITICAL
        assert level_from_score(8.9, 3) is Severity.HIGH
        assert level_from_score(7.0, 4) is Severity.HIGH
        assert level_from_score(6.9, 4) is Severity.MEDIUM
        assert level_from_score(4.0, 3) is Severity.MEDIUM
        assert level_from_score(3.9, 3) is Severity.LOW
        assert level_from_score(0.1, 3) is Severity.LOW
        assert level_from_score(10.0, 2) is Severity.HIGH  # v2 has no CRITICAL
        assert level_from_score(3.9, 2) is Severity.LOW

    def test_a_zero_score_is_low_by_decision(self) -> None:
        # CVSS v3.1 spec: with no C/I/A impact the base score is 0.0 ("None").
        vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"
        info = record_severity({"severity": [{"type": "CVSS_V3", "score": vector}]})
        assert info.score == 0.0
        assert info.level is Severity.LOW


class TestPrecedence:
    def test_the_newest_cvss_version_wins(self) -> None:
        rows = [r for r in PUBLISHED if r["cve"] == "CVE-2024-12999"]
        assert len(rows) == 3
        for order in (rows, rows[::-1], [rows[1], rows[2], rows[0]]):
            record = {
                "severity": [{"type": osv_type(r["vector"]), "score": r["vector"]} for r in order]
            }
            info = record_severity(record)
            assert info.source == "CVSS_V4"
            assert info.score == pytest.approx(5.3)  # VulDB's published v4 score

    def test_v3_beats_v2(self) -> None:
        rows = [
            r for r in PUBLISHED if r["cve"] == "CVE-2016-1585" and r["scorer"] == "nvd@nist.gov"
        ]
        record = {
            "severity": [{"type": osv_type(r["vector"]), "score": r["vector"]} for r in rows[::-1]]
        }
        info = record_severity(record)
        assert (info.source, info.level) == ("CVSS_V3", Severity.CRITICAL)

    def test_a_mistyped_vector_is_scored_as_what_it_is(self) -> None:
        row = next(r for r in PUBLISHED if r["cve"] == "CVE-2025-4565")
        info = record_severity({"severity": [{"type": "CVSS_V3", "score": row["vector"]}]})
        assert info.source == "CVSS_V4"
        assert info.score == pytest.approx(row["baseScore"])

    def test_affected_level_beats_record_level(self) -> None:
        low = next(r for r in PUBLISHED if r["baseSeverity"] == "LOW")
        critical = next(r for r in PUBLISHED if r["baseSeverity"] == "CRITICAL")
        record = {"severity": [{"type": "CVSS_V3", "score": critical["vector"]}]}
        affected = {"severity": [{"type": "CVSS_V3", "score": low["vector"]}]}
        assert record_severity(record, affected).level is Severity.LOW
        assert record_severity(record).level is Severity.CRITICAL


class TestRealRecords:
    def test_ghsa_log4shell(self) -> None:
        record = osv("GHSA-jfh8-c2jp-5v3q")
        info = record_severity(record, record["affected"][0])
        # NVD and GHSA both publish 10.0 / CRITICAL for CVE-2021-44228.
        assert info == SeverityInfo(
            Severity.CRITICAL, 10.0, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "CVSS_V3"
        )

    def test_ghsa_word_is_used_when_there_is_no_vector(self) -> None:
        record = osv("GHSA-jfh8-c2jp-5v3q")
        del record["severity"]
        info = record_severity(record, record["affected"][0])
        assert (info.level, info.source, info.score) == (Severity.CRITICAL, "ghsa", None)

    def test_ghsa_moderate_is_medium(self) -> None:
        record = osv("GHSA-9wx4-h78v-vm56")
        assert record["database_specific"]["severity"] == "MODERATE"
        assert record_severity(record, record["affected"][0]).level is Severity.MEDIUM
        record["severity"] = []
        info = record_severity(record, record["affected"][0])
        assert (info.level, info.source) == (Severity.MEDIUM, "ghsa")

    def test_debian_urgency_beats_nvd_for_the_release(self) -> None:
        record = osv("DEBIAN-CVE-2016-1585")
        info = record_severity(record, affected_for(record, "Debian:12"))
        # Debian's tracker rates it "unimportant" although NVD scores 9.8.
        assert (info.level, info.source) == (Severity.LOW, "debian-urgency")
        assert record_severity(record).level is Severity.CRITICAL

    def test_debian_not_yet_assigned_falls_back_to_the_cvss_vector(self) -> None:
        record = osv("DEBIAN-CVE-2017-6507")
        info = record_severity(record, affected_for(record, "Debian:12"))
        assert (info.level, info.source) == (Severity.MEDIUM, "CVSS_V3")
        assert info.score == pytest.approx(5.9)  # NVD's published v3.0 score

    def test_ubuntu_vector_and_priority_agree(self) -> None:
        record = osv("UBUNTU-CVE-2025-6491")
        affected = affected_for(record, "Ubuntu:22.04:LTS")
        assert record_severity(record, affected).level is Severity.MEDIUM
        record["severity"] = [s for s in record["severity"] if s["type"] == "Ubuntu"]
        info = record_severity(record, affected)
        assert (info.level, info.source) == (Severity.MEDIUM, "ubuntu-priority")

    @pytest.mark.parametrize(
        ("urgency", "level"),
        [
            ("high", Severity.HIGH),
            ("medium", Severity.MEDIUM),
            ("medium**", Severity.MEDIUM),
            ("low", Severity.LOW),
            ("unimportant", Severity.LOW),
            ("not yet assigned", Severity.UNKNOWN),
            ("end-of-life", Severity.UNKNOWN),
        ],
    )
    def test_debian_urgencies(self, urgency: str, level: Severity) -> None:
        affected = {"ecosystem_specific": {"urgency": urgency}}
        assert record_severity({"id": "DEBIAN-CVE-1"}, affected).level is level

    @pytest.mark.parametrize(
        ("priority", "level"),
        [
            ("critical", Severity.CRITICAL),
            ("high", Severity.HIGH),
            ("medium", Severity.MEDIUM),
            ("low", Severity.LOW),
            ("negligible", Severity.LOW),
        ],
    )
    def test_ubuntu_priorities(self, priority: str, level: Severity) -> None:
        record = {"severity": [{"type": "Ubuntu", "score": priority}]}
        assert record_severity(record).level is level

    def test_nothing_usable_is_unknown(self) -> None:
        info = record_severity(
            {"id": "ALPINE-CVE-2020-1"}, {"package": {"ecosystem": "Alpine:v3.11"}}
        )
        assert info == SeverityInfo(Severity.UNKNOWN, None, None, "none")


BAD_VECTORS = (
    "",
    "garbage",
    "CVSS:3.1/AV:N",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:Q",
    "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
    "CVSS:4.0/AV:N/AC:L",
    "CVSS:9.9/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
    "AV:N/AC:L/Au:N/C:P/I:N",
    "9.8",
    "CVSS:3.1/" + "AV:N/" * 500,
)


class TestMalformed:
    @pytest.mark.parametrize("vector", BAD_VECTORS)
    def test_score_vector_raises_only_vulndb_error(self, vector: str) -> None:
        with pytest.raises(VulnDbError):
            score_vector(vector, "CVSS_V3")

    def test_invalid_vectors_are_skipped_with_a_warning(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        good = next(r for r in PUBLISHED if r["cve"] == "CVE-2023-4863")
        record = {
            "id": "TEST-1",
            "severity": [{"type": "CVSS_V4", "score": v} for v in BAD_VECTORS]
            + [{"type": "CVSS_V3", "score": good["vector"]}],
        }
        with caplog.at_level(logging.WARNING, logger="imagetrust.vulndb.severity"):
            info = record_severity(record)
        assert (info.level, info.score) == (Severity.HIGH, pytest.approx(8.8))
        assert any("TEST-1" in r.getMessage() for r in caplog.records)

    def test_only_invalid_vectors_fall_through_to_the_database_word(self) -> None:
        record = {
            "id": "GHSA-xxxx-xxxx-xxxx",
            "severity": [{"type": "CVSS_V3", "score": v} for v in BAD_VECTORS],
            "database_specific": {"severity": "HIGH"},
        }
        assert record_severity(record) == SeverityInfo(Severity.HIGH, None, None, "ghsa")

    def test_a_non_mapping_record_is_a_vulndb_error(self) -> None:
        with pytest.raises(VulnDbError):
            record_severity(["not", "a", "record"])  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
severity_entries = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu", "x"]) | json_values,
            "score": st.sampled_from([r["vector"] for r in PUBLISHED] + list(BAD_VECTORS))
            | st.text(max_size=60)
            | json_values,
        }
    ),
    max_size=4,
)
text_block = st.dictionaries(
    st.sampled_from(["urgency", "priority", "severity", "nodsa_reason", "state", "status"]),
    st.sampled_from(["unimportant", "MODERATE", "high**", "Will not fix", "ignored"]) | json_values,
    max_size=4,
)
osv_shaped = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=20) | json_values,
        "severity": severity_entries | json_values,
        "database_specific": text_block | json_values,
        "ecosystem_specific": text_block | json_values,
    },
)


class TestNeverCrashes:
    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(
        record=osv_shaped | st.dictionaries(st.text(max_size=12), json_values), affected=osv_shaped
    )
    def test_record_severity(self, record: dict[str, Any], affected: dict[str, Any]) -> None:
        try:
            info = record_severity(record, affected)
        except VulnDbError:
            return
        assert isinstance(info.level, Severity)
        assert info.score is None or 0.0 <= info.score <= 10.0

    @settings(max_examples=300)
    @given(fixed=st.none() | st.text(max_size=10), affected=osv_shaped)
    def test_fix_state(self, fixed: str | None, affected: dict[str, Any]) -> None:
        assert fix_state(fixed, affected) in set(FixState)


class TestFixState:
    def test_a_fixed_version_is_fixed_even_when_unimportant(self) -> None:
        record = osv("DEBIAN-CVE-2016-1585")
        affected = affected_for(record, "Debian:13")
        assert affected["ranges"][0]["events"][-1] == {"fixed": "3.0.12-1"}
        assert fix_state("3.0.12-1", affected) is FixState.FIXED

    def test_debian_unimportant_without_fix_is_wont_fix(self) -> None:
        record = osv("DEBIAN-CVE-2016-1585")
        assert fix_state(None, affected_for(record, "Debian:12")) is FixState.WONT_FIX

    def test_debian_end_of_life_is_wont_fix(self) -> None:
        assert (
            fix_state(None, {"ecosystem_specific": {"urgency": "end-of-life"}}) is FixState.WONT_FIX
        )

    def test_debian_not_yet_assigned_without_fix_is_not_fixed(self) -> None:
        record = osv("DEBIAN-CVE-2017-6507")
        affected = copy.deepcopy(affected_for(record, "Debian:12"))
        assert fix_state("", affected) is FixState.NOT_FIXED
        assert fix_state("2.11.0-3", affected) is FixState.FIXED

    def test_tracker_nodsa_reasons(self) -> None:
        ignored = {
            "ecosystem_specific": {
                "urgency": "low",
                "nodsa": "Minor issue",
                "nodsa_reason": "ignored",
            }
        }
        postponed = {
            "ecosystem_specific": {
                "urgency": "low",
                "nodsa": "Minor issue",
                "nodsa_reason": "postponed",
            }
        }
        assert fix_state(None, ignored) is FixState.WONT_FIX
        assert fix_state(None, postponed) is FixState.NOT_FIXED

    def test_ubuntu_has_no_wont_fix_marker(self) -> None:
        record = osv("UBUNTU-CVE-2025-6491")
        assert fix_state(None, affected_for(record, "Ubuntu:Pro:14.04:LTS")) is FixState.NOT_FIXED
        assert (
            fix_state("8.1.2-1ubuntu2.22", affected_for(record, "Ubuntu:22.04:LTS"))
            is FixState.FIXED
        )

    def test_red_hat_will_not_fix_state(self) -> None:
        assert (
            fix_state(None, {"database_specific": {"state": "Will not fix"}}) is FixState.WONT_FIX
        )
        assert (
            fix_state(None, {"database_specific": {"fix_state": "wont-fix"}}) is FixState.WONT_FIX
        )
        assert fix_state(None, {"database_specific": {"state": "Affected"}}) is FixState.NOT_FIXED

    def test_values_are_the_report_strings(self) -> None:
        assert [s.value for s in FixState] == ["fixed", "not-fixed", "wont-fix"]


class TestFilterAndOrder:
    def test_parse(self) -> None:
        assert parse_severity_filter("HIGH,CRITICAL") == {Severity.HIGH, Severity.CRITICAL}
        assert parse_severity_filter(" high , Critical ") == {Severity.HIGH, Severity.CRITICAL}
        assert parse_severity_filter("unknown") == {Severity.UNKNOWN}

    @pytest.mark.parametrize("text", ["", "  ", "HIGH,,LOW", "SEVERE", "HIGH,MODERATE"])
    def test_bad_filters_are_usage_errors(self, text: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse_severity_filter(text)
        assert caught.value.exit_code == EXIT_USAGE
        assert caught.value.hint is not None and "CRITICAL" in caught.value.hint

    def test_rank_orders_by_severity(self) -> None:
        ranked = sorted(Severity, key=lambda s: s.rank)
        assert ranked == [
            Severity.UNKNOWN,
            Severity.LOW,
            Severity.MEDIUM,
            Severity.HIGH,
            Severity.CRITICAL,
        ]
        assert list(Severity.ordered()) == ranked[::-1]
