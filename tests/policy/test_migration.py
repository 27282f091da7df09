"""Data written at 0008 survives the 0009 upgrade (the verdicts table), and back."""

from __future__ import annotations

from sqlalchemy import text

from imagetrust.evaluate.policy.decide import decide
from imagetrust.evaluate.policy.loader import load_policy
from imagetrust.evaluate.policy.stored import current_evidence, decision_history, save_decision
from imagetrust.evaluate.stored import latest_evidence, save_evidence
from imagetrust.store.database import Store
from imagetrust.store.runs import list_runs, start_run
from tests.policy.helpers import NOW, clean_evidence


def test_evidence_written_at_0007_survives_the_upgrade_and_is_judged(store_url: str) -> None:
    evidence = clean_evidence()
    with Store.open(store_url, migrate=False) as store:
        store.upgrade("0008")
        with store.transaction() as conn:
            save_evidence(conn, evidence)
            start_run(conn, "evaluate", {}, NOW)
        store.upgrade()
        with store.read() as conn:
            assert latest_evidence(conn, evidence.digest) == [evidence]
            assert current_evidence(conn) == [evidence]
            assert [r.kind for r in list_runs(conn)] == ["evaluate"]
        decision = decide(evidence, load_policy(), now=NOW)
        with store.transaction() as conn:
            save_decision(conn, decision)
        with store.read() as conn:
            assert decision_history(conn, repository="python", tag="3.12") == [decision]
        store.downgrade("0008")  # and back: the evidence stays, the verdicts go
        with store.read() as conn:
            assert latest_evidence(conn, evidence.digest) == [evidence]
            tables = conn.execute(text("SELECT count(*) FROM image_evidence")).scalar_one()
        assert tables == 1
