"""The JSON envelope: C-speed encoding must give exactly what ``json.dumps(indent=2)`` gives."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from imagetrust.cli.output import OutputFormat, dumps, json_document

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def _reference(kind: str, payload: dict[str, Any]) -> str:
    return json.dumps(json_document(kind, payload), indent=2, ensure_ascii=False, default=str)


@given(st.dictionaries(st.text(), _JSON, max_size=6))
def test_dumps_is_json_dumps_with_indent_two(payload: dict[str, Any]) -> None:
    text = dumps("test", payload)
    assert text == _reference("test", payload)
    assert json.loads(text) == json_document("test", payload)


def test_dumps_writes_dates_paths_and_enums_as_text() -> None:
    moment = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    payload = {
        "at": moment,
        "day": date(2026, 11, 23),
        "path": Path("/tmp/x y"),
        "format": OutputFormat.JSON,
        "nested": [{"é": "\u2028", "empty": {}, "none": []}],
    }
    doc = json.loads(dumps("kind-x", payload))
    assert list(doc)[:2] == ["schema_version", "kind"]
    assert doc["at"] == "2026-11-23T14:00:00+00:00" and doc["day"] == "2026-11-23"
    assert doc["path"] == "/tmp/x y" and doc["format"] == "json"
    assert dumps("kind-x", payload) == _reference(
        "kind-x", {**payload, "at": moment.isoformat(), "day": "2026-11-23"}
    )
