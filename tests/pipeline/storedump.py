"""A store as data: every table as a multiset of rows, independent of row ids and times.

Two stores built by different routes (a run killed and resumed, shards merged) are equal
when they hold the same facts, whatever ids their rows got and whenever they were written.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Table, select

from imagetrust.store.database import Store
from imagetrust.store.schema import metadata
from imagetrust.store.types import UtcDateTime

RUN_LOG = frozenset({"runs", "run_errors"})
VULNDB = frozenset({"vuln_sources", "vuln_records", "vuln_affected", "kev_catalog", "kev_entries"})


def dump(url: str, *, skip: frozenset[str] = RUN_LOG) -> dict[str, Counter[Any]]:
    """Every table but ``skip`` as a multiset of rows: no surrogate ids, no timestamps, and
    each foreign key replaced by the row it points at (so ids given in another order compare
    equal); a key into the run log reads ``<run>``."""
    with Store.open(url) as store, store.read() as conn:
        rows = {
            table.name: {row.id: row._mapping for row in conn.execute(select(table))}
            for table in metadata.sorted_tables
        }

    def canonical(table: Table, row: Any) -> tuple[Any, ...]:
        values: list[tuple[str, Any]] = []
        for column in table.columns:
            if column.primary_key or isinstance(column.type, UtcDateTime):
                continue
            value = row[column.name]
            keys = list(column.foreign_keys)
            if keys and value is not None:
                target = keys[0].column.table
                value = (
                    "<run>"
                    if target.name in RUN_LOG
                    else canonical(target, rows[target.name][value])
                )
            elif isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True)
            values.append((column.name, value))
        return tuple(values)

    return {
        table.name: Counter(canonical(table, row) for row in rows[table.name].values())
        for table in metadata.sorted_tables
        if table.name not in skip
    }
