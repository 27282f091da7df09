"""A finding's KEV listing read back from what was stored: the real catalog's entries
round-trip, and a stored document that is not one is no listing (never a crash)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from imagetrust.vulndb.kev import KnownExploited, parse_kev

KEV = Path(__file__).parent.parent / "fixtures" / "vulndb" / "kev"


def test_every_real_entry_reads_back_as_stored() -> None:
    data = (KEV / "known_exploited_vulnerabilities.json").read_bytes()
    catalog = parse_kev(data, "fixture")
    assert catalog.entries
    for entry in catalog.entries:
        assert KnownExploited.from_json(entry.to_json()) == entry
    [pwnkit] = [e for e in catalog.entries if e.cve == "CVE-2021-4034"]
    assert pwnkit.dates == "added 2022-06-27, due 2022-07-18"  # as the catalog says


def test_what_is_not_a_listing_reads_as_none_and_bad_dates_as_unknown() -> None:
    for value in (None, True, "CVE-2021-4034", [], {"cve": "ALSA-2022:0267"}, {"cve": 7}):
        assert KnownExploited.from_json(value) is None
    entry = KnownExploited.from_json(
        {"cve": "CVE-2021-4034", "date_added": "yesterday", "due_date": 20220718}
    )
    assert entry is not None and (entry.date_added, entry.due_date) == (None, None)
    assert entry.dates == "no dates"
    partial = KnownExploited.from_json({"cve": "CVE-2021-4034", "due_date": "2022-07-18"})
    assert partial is not None and partial.due_date == date(2022, 7, 18)
    assert partial.dates == "due 2022-07-18"
