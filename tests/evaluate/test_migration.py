"""Data written at 0006 survives the 0007 upgrade (published flags, evidence tables)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from imagetrust.catalog.snapshots import latest_snapshot, snapshot_entries, state_history
from imagetrust.sbom.stored import stored_sboms
from imagetrust.store.database import Store

NOW = datetime(2026, 8, 22, tzinfo=UTC)


def test_catalog_and_sboms_written_at_0005_survive_the_upgrade(store_url: str) -> None:
    """A snapshot's published flag comes from the tags it already recorded; its state rows
    share the snapshot's; the stored SBOM is untouched. On SQLite the catalog tables are
    rebuilt, which with foreign keys on would cascade into their children."""
    with Store.open(store_url, migrate=False) as store:
        store.upgrade("0006")
        with store.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO repositories (id, registry, namespace, name, first_seen,"
                    " last_seen) VALUES (1, 'docker.io', 'library', 'python', :t, :t),"
                    " (2, 'docker.io', 'library', 'unit', :t, :t)"
                ),
                {"t": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO catalog_snapshots (id, taken_at, sources, repository_count)"
                    " VALUES (1, :t, '{}', 2)"
                ),
                {"t": NOW},
            )
            for repo_id, state, tags in [
                (1, "active", '["3.14", "latest"]'),
                (2, "deprecated", "[]"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO repository_snapshots (snapshot_id, repository_id, taken_at,"
                        " state, state_reason, supported_tags, architectures, categories,"
                        f" sources) VALUES (1, :r, :t, :s, 'why', '{tags}', '[]', '[]', '[]')"
                    ),
                    {"r": repo_id, "t": NOW, "s": state},
                )
                conn.execute(
                    text(
                        "INSERT INTO repository_states (repository_id, state, reason, since,"
                        " snapshot_id) VALUES (:r, :s, 'why', :t, 1)"
                    ),
                    {"r": repo_id, "t": NOW, "s": state},
                )
            conn.execute(
                text(
                    "INSERT INTO image_sboms (digest, analyser_version, reference, platform,"
                    " package_count, document, created_at) VALUES ('sha256:aa', 'v1', 'x',"
                    " 'linux/amd64', 0, :doc, :t)"
                ),
                {"doc": _SBOM, "t": NOW},
            )
        store.upgrade()
        with store.read() as conn:
            snapshot = latest_snapshot(conn)
            assert snapshot is not None
            entries = {s.entry.name: s.entry for s in snapshot_entries(conn, snapshot.id)}
            histories = {name: state_history(conn, name) for name in ("python", "unit")}
            sboms = list(stored_sboms(conn))
        assert {n: (e.state.value, e.published) for n, e in entries.items()} == {
            "python": ("active", True),
            "unit": ("deprecated", False),
        }
        assert [(h.state.value, h.published) for h in histories["python"]] == [("active", True)]
        assert [(h.state.value, h.published) for h in histories["unit"]] == [("deprecated", False)]
        assert [s.digest for s in sboms] == ["sha256:aa"]
        store.downgrade("0006")  # and back: the rows survive that too
        with store.read() as conn:
            count = conn.execute(text("SELECT count(*) FROM repository_snapshots")).scalar_one()
        assert count == 2


_SBOM = (
    '{"reference": "x", "digest": "sha256:aa", "index_digest": null, "platform": "linux/amd64",'
    ' "config_digest": "sha256:bb", "analyser_version": "v1", "os": null, "packages": [],'
    ' "layers": [], "facts": {}}'
)
