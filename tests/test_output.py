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


# --- untrusted text on a terminal ------------------------------------------------------

_CONTROL = st.characters(
    codec="utf-8", categories=["Cc", "Cf"], exclude_characters="\t\n"
) | st.sampled_from(["\x1b", "\x9b", "\u202e", "\u2066", "\x7f"])


@given(st.lists(st.text(max_size=5) | _CONTROL, max_size=12).map("".join))
def test_printable_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    from imagetrust.cli.output import printable

    shown = printable(text)
    for char in shown:
        code = ord(char)
        assert not (code < 0x20 and char not in "\t\n")
        assert not (0x7F <= code <= 0x9F)
        assert not (0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069)
    clean = "".join(c for c in text if c.isprintable() or c in "\t\n")
    if clean == text:
        assert shown == text  # ordinary text is shown as it is


def test_escape_sequences_and_markup_in_an_image_are_shown_inert(
    tmp_path: Path, capsys: Any
) -> None:
    """A package whose name retitles the terminal, clears it and plants a hyperlink: the
    table shows the characters, the terminal receives none of them."""
    from imagetrust.cli.main import main
    from imagetrust.testkit.builder import ImageSpec, Layer, build_image, write_oci_layout

    name = "evil\x1b]0;pwned\x07\x1b[2J\u202epkg"
    version = "1.0[link=http://attacker.example]x[/link]"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    layer = Layer.from_files({"usr/lib/python3/site-packages/e-1.0.dist-info/METADATA": metadata})
    write_oci_layout(build_image(ImageSpec(layers=[layer])), tmp_path / "img", tag="t")
    code = main(["--home", str(tmp_path / "h"), "sbom", f"oci-layout:{tmp_path / 'img'}:t"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2j\\u202epkg" in out.replace("\n", "").lower()
    assert "[link=http://attacker.example]x[/link]" in out  # shown, not obeyed


def test_an_error_quoting_untrusted_text_is_printable(capsys: Any, tmp_path: Path) -> None:
    from imagetrust.cli.main import main

    code = main(["--home", str(tmp_path), "inspect", "oci-layout:/nonexistent\x1b[31m/x:t"])
    err = capsys.readouterr().err
    assert code != 0 and "\x1b" not in err and "\\x1b[31m" in err
