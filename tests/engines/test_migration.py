"""Finding sets written at 0010 survive the 0011 upgrade as the builtin engine's, and back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from imagetrust.store.database import Store
from imagetrust.store.schema import finding_set_items, finding_sets
from imagetrust.vulndb.findings_store import (
    finding_items,
    finding_set_for,
    finding_set_history,
    newest_sets,
    state_key,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DIGEST = "sha256:" + "cd" * 32
STATE = (("osv:Debian", 3),)
DETAIL = {"id": "DEBIAN-CVE-2023-4911", "package": "libc6", "severity": "HIGH"}


def _write_0010_set(conn: object) -> None:
    """A set as the 0010 code wrote it: no engine column existed."""
    result = conn.execute(  # type: ignore[attr-defined]
        insert(finding_sets).values(
            digest=DIGEST,
            analyser_version="imagetrust-sbom 7",
            db_state=[list(pair) for pair in STATE],
            db_state_key=state_key(STATE),
            matched_at=NOW,
            complete=True,
            incomplete=[],
            coverage={"os": "covered"},
            not_covered=[],
            counts={"all": {"HIGH": 1}, "fixable": {"HIGH": 1}},
            known_exploited=["CVE-2023-4911"],
        )
    )
    conn.execute(  # type: ignore[attr-defined]
        insert(finding_set_items).values(
            set_id=result.inserted_primary_key[0],
            vuln_id="DEBIAN-CVE-2023-4911",
            package="libc6",
            installed_version="2.36-9",
            fixed_version="2.36-9+deb12u3",
            fix_state="fixed",
            severity="HIGH",
            known_exploited=True,
            detail=DETAIL,
        )
    )


def test_sets_written_at_0010_survive_the_upgrade_as_builtin(store_url: str) -> None:
    with Store.open(store_url, migrate=False) as store:
        store.upgrade("0010")
        with store.transaction() as conn:
            _write_0010_set(conn)
        store.upgrade()
        with store.read() as conn:
            found = finding_set_for(conn, DIGEST, state=STATE)
            assert found is not None and found.engine == "builtin"
            assert found.known_exploited == ("CVE-2023-4911",) and found.packages is None
            assert finding_items(conn, found.id) == [DETAIL]
            assert list(newest_sets(conn, DIGEST)) == ["builtin"]
        with store.transaction() as conn:  # another engine's set for the same image and key
            conn.execute(
                insert(finding_sets).values(
                    digest=DIGEST,
                    analyser_version="imagetrust-sbom 7",
                    engine="trivy",
                    db_state=[list(pair) for pair in STATE],
                    db_state_key=state_key(STATE),
                    matched_at=NOW,
                    complete=True,
                    incomplete=[],
                    coverage={},
                    not_covered=[],
                    counts={},
                    known_exploited=[],
                )
            )
        with store.read() as conn:
            assert [s.engine for s in finding_set_history(conn, DIGEST, engine=None)] == [
                "builtin",
                "trivy",
            ]
        store.downgrade("0010")  # and back: ours stays whole, the other engine's goes
        with store.read() as conn:
            rows = conn.execute(select(finding_sets.c.digest, finding_sets.c.id)).all()
            assert len(rows) == 1
            items = conn.execute(select(finding_set_items.c.detail)).all()
            assert [dict(i.detail) for i in items] == [DETAIL]
