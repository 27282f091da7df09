"""The architecture's one rule, checked on the source: data flows one way between stages.

A stage imports only the stages to its left and ``store``; ``pipeline`` joins the stages,
``cli`` parses and prints, and the test and demo tooling (``testkit``) sits beside them, so
no stage can come to depend on how a fixture was made. Every ``import`` counts, including
the lazy ones inside functions and those only for type checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import imagetrust

SRC = Path(imagetrust.__file__).parent
STAGES = ["catalog", "oci", "resolve", "sbom", "vulndb", "evaluate", "report"]
SHARED = {"__init__", "clock", "config", "errors", "failpoints", "fsutil", "http", "logs", "paths"}


def allowed_for(part: str) -> set[str]:
    """The top-level parts of ``imagetrust`` that ``part`` may import."""
    if part == "__main__":
        return {"cli"}
    if part in SHARED:
        return set(SHARED)
    if part == "store":
        return SHARED | {"store"}
    if part in STAGES:
        return SHARED | {"store"} | set(STAGES[: STAGES.index(part) + 1])
    if part == "testkit":
        return SHARED | {"store", "testkit", *STAGES}
    if part == "pipeline":
        return SHARED | {"store", "testkit", "pipeline", *STAGES}
    if part == "demo":
        return SHARED | {"store", "testkit", "pipeline", "demo", *STAGES}
    if part == "workflow":  # generates the CI workflow; reads the stored catalog to project
        return SHARED | {"store", "workflow", *STAGES}
    if part == "cli":
        return SHARED | {"store", "testkit", "pipeline", "demo", "workflow", "cli", *STAGES}
    raise AssertionError(f"{part}: a new top-level part of imagetrust needs a rule here")


def is_part(name: str) -> bool:
    return (SRC / f"{name}.py").is_file() or (SRC / name / "__init__.py").is_file()


def imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "imagetrust":  # from imagetrust import clock (not __version__)
                names += [f"imagetrust.{a.name}" for a in node.names if is_part(a.name)]
    return {name.split(".")[1] for name in names if name.startswith("imagetrust.") and "." in name}


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_each_module_imports_only_what_its_place_allows(path: Path) -> None:
    relative = path.relative_to(SRC)
    part = relative.parts[0].removesuffix(".py")
    wrong = imported_parts(path) - allowed_for(part)
    assert not wrong, f"{relative} ({part}) imports {sorted(wrong)}"
