"""Per-image lookups the report makes go through an index, so a report over N images
does not read a table N times (it grew with the square of the catalog before 0012).

Checked with SQLite's own planner (``EXPLAIN QUERY PLAN``) on the very statements the
product runs, captured as they execute, over a store migrated to head."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from imagetrust.evaluate.policy.stored import evidence_digests
from imagetrust.store.database import Store


def _plans(store: Store, call: object) -> list[str]:
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        with store.read() as conn:
            call(conn)  # type: ignore[operator]
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    plans = []
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(str(row[-1]) for row in rows))
    return plans


def test_a_references_evaluations_are_found_through_an_index(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'imagetrust.db'}") as store:
        plans = _plans(store, lambda conn: evidence_digests(conn, ["docker.io/library/x:1"]))
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM image_evidence")).scalar() == 0
    evidence = [p for p in plans if "image_evidence" in p]
    assert evidence, plans
    for plan in evidence:
        assert "USING INDEX ix_image_evidence_reference_platform" in plan, plan
        assert "SCAN image_evidence" not in plan, plan
