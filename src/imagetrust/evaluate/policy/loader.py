"""The policy file: YAML read with line numbers, validated key by key, laid over the default.

Every mistake names the file and the line (``policy.yaml:14: rules.os-eol.weight: expected
a whole number >= 0, got 'sixty'``): a policy decides what gets approved, so a typo must
never be read as "rule off". Unknown keys and keys given twice are errors for the same
reason (YAML itself keeps the last of two equal keys without a word).

The file's keys replace the default's one by one: a rule the file does not mention keeps
its default settings, ``grades`` and each list under ``verdicts`` are replaced whole, and
the file's exceptions are the policy's exceptions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from imagetrust.evaluate.policy.model import (
    IfUnknown,
    Policy,
    PolicyError,
    PolicyException,
    RuleSettings,
)
from imagetrust.evaluate.policy.rules import COUNTED_RULES, RULE_IDS

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "data" / "policy.yaml"
POLICY_VERSION = 1
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TOP_KEYS = ("version", "name", "score", "grades", "verdicts", "rules", "exceptions")
_RULE_KEYS = ("weight", "blocking", "never_approved", "cap", "days", "if_unknown", "enabled")
_EXCEPTION_KEYS = ("image", "digest", "rule", "finding", "expires", "justification", "by")


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class _List(list[Any]):
    line: int = 0
    item_lines: list[int]


def _loader_class() -> type[Any]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any) -> _Map:
        loader.flatten_mapping(node)
        result = _Map()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool | date) or key is None:
                raise PolicyError(f"{loader.name}:{line}: a key must be a plain word")
            if key in result:
                raise PolicyError(f"{loader.name}:{line}: {key!r} is given twice")
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def sequence(loader: Any, node: Any) -> _List:
        result = _List(loader.construct_object(item, deep=True) for item in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [item.start_mark.line + 1 for item in node.value]
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    return Loader


def read_yaml(text: str, where: str) -> Any:
    """``text`` as YAML, with line numbers on mappings and lists; errors name the line."""
    import yaml

    loader = _loader_class()(text)
    loader.name = where
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{where}{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{where}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


class _Reader:
    """Validation with positions: each check knows the file, the line and the key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, line: int, path: str, message: str) -> PolicyError:
        return PolicyError(f"{self.where}:{line}: {path}: {message}")

    def mapping(self, value: Any, line: int, path: str, keys: Iterable[str]) -> _Map:
        if not isinstance(value, _Map):
            raise self.fail(line, path, f"expected a mapping, got {_shown(value)}")
        allowed = tuple(keys)
        for key in value:
            if key not in allowed:
                raise self.fail(
                    value.key_lines[key],
                    f"{path}.{key}" if path else str(key),
                    f"unknown key (expected one of: {', '.join(allowed)})",
                )
        return value

    def integer(self, value: Any, line: int, path: str, *, least: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.fail(line, path, f"expected a whole number >= {least}, got {_shown(value)}")
        return value

    def boolean(self, value: Any, line: int, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(line, path, f"expected true or false, got {_shown(value)}")
        return value

    def text(self, value: Any, line: int, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(line, path, f"expected some text, got {_shown(value)}")
        return value.strip()


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def load_policy(path: Path | None = None) -> Policy:
    """The default policy, with ``path``'s keys laid over it when a file is given."""
    default_bytes = DEFAULT_POLICY.read_bytes()
    digest = hashlib.sha256(default_bytes)
    base = _parse(default_bytes.decode("utf-8"), "default policy", name="default")
    if path is None:
        return _finish(base, "default", digest.hexdigest())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    digest.update(b"\0" + raw)
    overlay = _parse(text, str(path), name=None)
    return _finish(_merge(base, overlay), str(path), digest.hexdigest())


class _Parsed:
    """What one file says; None where it says nothing (so the default stays)."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.start: int | None = None
        self.grades: tuple[tuple[str, int], ...] | None = None
        self.approved: frozenset[str] | None = None
        self.conditional: frozenset[str] | None = None
        self.rules: dict[str, dict[str, Any]] = {}
        self.exceptions: tuple[PolicyException, ...] = ()
        self.grade_line = 0
        self.verdict_lines: dict[str, int] = {}
        self.where = ""


def _parse(text: str, where: str, *, name: str | None) -> _Parsed:
    data = read_yaml(text, where)
    reader = _Reader(where)
    parsed = _Parsed()
    parsed.where = where
    parsed.name = name
    if data is None:
        return parsed  # an empty file: the default as it is
    top = reader.mapping(data, 1, "", _TOP_KEYS)
    lines = top.key_lines
    if "version" in top and top["version"] != POLICY_VERSION:
        raise reader.fail(
            lines["version"], "version", f"this imagetrust reads version {POLICY_VERSION}"
        )
    if "name" in top:
        parsed.name = reader.text(top["name"], lines["name"], "name")
    if "score" in top:
        score = reader.mapping(top["score"], lines["score"], "score", ("start",))
        if "start" in score:
            parsed.start = reader.integer(
                score["start"], score.key_lines["start"], "score.start", least=1
            )
    if "grades" in top:
        parsed.grades = _grades(reader, top["grades"], lines["grades"])
        parsed.grade_line = lines["grades"]
    if "verdicts" in top:
        verdicts = reader.mapping(
            top["verdicts"], lines["verdicts"], "verdicts", ("approved", "conditional")
        )
        for key in ("approved", "conditional"):
            if key in verdicts:
                line = verdicts.key_lines[key]
                chosen = _grade_list(reader, verdicts[key], line, f"verdicts.{key}")
                setattr(parsed, key, chosen)
                parsed.verdict_lines[key] = line
    if "rules" in top:
        rules = reader.mapping(top["rules"], lines["rules"], "rules", RULE_IDS)
        for rule_id, settings in rules.items():
            parsed.rules[rule_id] = _rule(reader, rule_id, settings, rules.key_lines[rule_id])
    if "exceptions" in top:
        parsed.exceptions = _exceptions(reader, top["exceptions"], lines["exceptions"])
    return parsed


def _grades(reader: _Reader, value: Any, line: int) -> tuple[tuple[str, int], ...]:
    grades = value
    if not isinstance(grades, _Map) or not grades:
        raise reader.fail(line, "grades", "expected a mapping of grade: lowest score")
    found: list[tuple[str, int]] = []
    for grade, lowest in grades.items():
        at = grades.key_lines[grade]
        if not isinstance(grade, str) or not grade.strip():
            raise reader.fail(at, "grades", f"a grade must be a name, got {_shown(grade)}")
        score = reader.integer(lowest, at, f"grades.{grade}")
        if found and score >= found[-1][1]:
            raise reader.fail(at, f"grades.{grade}", "grades go from the best (highest) down")
        found.append((grade, score))
    if found[-1][1] != 0:
        raise reader.fail(line, "grades", "the last grade must start at 0, so every score has one")
    return tuple(found)


def _grade_list(reader: _Reader, value: Any, line: int, path: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise reader.fail(line, path, f"expected a list of grades, got {_shown(value)}")
    return frozenset(value)


def _rule(reader: _Reader, rule_id: str, value: Any, line: int) -> dict[str, Any]:
    path = f"rules.{rule_id}"
    settings = reader.mapping(value, line, path, _RULE_KEYS)
    found: dict[str, Any] = {}
    for key, raw in settings.items():
        at = settings.key_lines[key]
        where = f"{path}.{key}"
        if key == "weight":
            found[key] = reader.integer(raw, at, where)
        elif key in ("blocking", "never_approved", "enabled"):
            found[key] = reader.boolean(raw, at, where)
        elif key == "cap":
            if rule_id not in COUNTED_RULES:
                raise reader.fail(at, where, "only counted rules have a cap")
            found[key] = reader.integer(raw, at, where)
        elif key == "days":
            if rule_id != "stale":
                raise reader.fail(at, where, "only the stale rule has days")
            found[key] = reader.integer(raw, at, where, least=1)
        elif key == "if_unknown":
            choices = [c.value for c in IfUnknown]
            if raw not in choices:
                raise reader.fail(
                    at, where, f"expected one of {', '.join(choices)}, got {_shown(raw)}"
                )
            found[key] = IfUnknown(raw)
    return found


def _exceptions(reader: _Reader, value: Any, line: int) -> tuple[PolicyException, ...]:
    if value is None:
        return ()
    if not isinstance(value, _List):
        raise reader.fail(line, "exceptions", f"expected a list, got {_shown(value)}")
    found = []
    for number, (item, at) in enumerate(zip(value, value.item_lines, strict=True)):
        found.append(_exception(reader, item, at, f"exceptions[{number}]"))
    return tuple(found)


def _exception(reader: _Reader, value: Any, line: int, path: str) -> PolicyException:
    entry = reader.mapping(value, line, path, _EXCEPTION_KEYS)
    at = entry.key_lines

    def text(key: str) -> str | None:
        return reader.text(entry[key], at[key], f"{path}.{key}") if key in entry else None

    image, digest, rule, finding = text("image"), text("digest"), text("rule"), text("finding")
    if image is None and digest is None:
        raise reader.fail(line, path, "say which image it covers: image or digest")
    if digest is not None and not _DIGEST.match(digest):
        raise reader.fail(at["digest"], f"{path}.digest", "expected sha256:<64 hex digits>")
    if (rule is None) == (finding is None):
        raise reader.fail(line, path, "say what it accepts: either rule or finding")
    if rule is not None and rule not in RULE_IDS:
        raise reader.fail(
            at["rule"], f"{path}.rule", f"no rule {rule!r} (rules: {', '.join(RULE_IDS)})"
        )
    for key in ("expires", "justification", "by"):
        if key not in entry:
            raise reader.fail(line, path, f"{key} is required")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires.strip())
        except ValueError:
            expires = None
    if not isinstance(expires, date):
        raise reader.fail(at["expires"], f"{path}.expires", "expected a date, YYYY-MM-DD")
    return PolicyException(
        expires=expires,
        justification=text("justification") or "",
        by=text("by") or "",
        image=image,
        digest=digest,
        rule=rule,
        finding=finding,
        where=f"{reader.where}:{line}",
    )


def _merge(base: _Parsed, overlay: _Parsed) -> _Parsed:
    merged = _Parsed()
    merged.where = overlay.where
    merged.name = overlay.name or f"{base.name} + {overlay.where}"
    merged.start = overlay.start if overlay.start is not None else base.start
    merged.grades = overlay.grades if overlay.grades is not None else base.grades
    merged.grade_line = overlay.grade_line
    merged.approved = overlay.approved if overlay.approved is not None else base.approved
    merged.conditional = (
        overlay.conditional if overlay.conditional is not None else base.conditional
    )
    merged.verdict_lines = overlay.verdict_lines
    merged.rules = {rule: dict(settings) for rule, settings in base.rules.items()}
    for rule, settings in overlay.rules.items():
        merged.rules.setdefault(rule, {}).update(settings)
    merged.exceptions = base.exceptions + overlay.exceptions
    return merged


def _finish(parsed: _Parsed, source: str, digest: str) -> Policy:
    reader = _Reader(parsed.where)
    assert parsed.grades is not None and parsed.start is not None  # the default has them
    assert parsed.approved is not None and parsed.conditional is not None
    known = {grade for grade, _ in parsed.grades}
    for key, chosen in (("approved", parsed.approved), ("conditional", parsed.conditional)):
        unknown = sorted(chosen - known)
        if unknown:
            line = parsed.verdict_lines.get(key, parsed.grade_line)
            raise reader.fail(line, f"verdicts.{key}", f"no grade {', '.join(unknown)} in grades")
    both = sorted(parsed.approved & parsed.conditional)
    if both:
        line = parsed.verdict_lines.get("conditional", parsed.grade_line)
        raise reader.fail(line, "verdicts", f"{', '.join(both)} cannot be both")
    rules: dict[str, RuleSettings] = {}
    for rule_id in RULE_IDS:
        settings = parsed.rules.get(rule_id)
        if settings is None or "weight" not in settings:
            raise PolicyError(f"{parsed.where}: rules.{rule_id}: weight is required")
        rules[rule_id] = RuleSettings(**settings)
    return Policy(
        name=parsed.name or "policy",
        source=source,
        digest=digest,
        start=parsed.start,
        grades=parsed.grades,
        approved=parsed.approved,
        conditional=parsed.conditional,
        rules=rules,
        exceptions=parsed.exceptions,
    )
