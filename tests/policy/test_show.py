"""``imagetrust show``: one image's verdict, evidence and history, from the store, end to end.

A tag moves: the layout's tag ``t`` holds one image, is evaluated (as python:3.12) and
checked, then holds another, evaluated and checked a month later. ``show`` judges the
newest and keeps both digests and both verdicts in the history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagetrust.cli.main import main
from imagetrust.testkit.builder import ImageSpec, Layer, build_image
from tests.evaluate.helpers import ROOTFS, layout, store_analysis


@pytest.fixture
def moved(tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    base = ["--db-url", store_url, "--home", str(tmp_path / "home")]
    digests = []
    for now, label in (("2027-01-01", "1"), ("2027-02-01", "2")):
        built = build_image(
            ImageSpec(layers=[Layer.from_dir(ROOTFS / "debian12")], labels={"build": label})
        )
        ref = layout(built, tmp_path / "img", "t")
        (sbom,) = store_analysis(store_url, ref)
        digests.append(sbom.digest)
        args = [*base, "--now", now, "evaluate", sbom.digest, "--as", "python:3.12", "--offline"]
        assert main(args) == 0, capsys.readouterr().err
        main([*base, "--now", now, "policy", "check"])
        capsys.readouterr()
    return {"base": base, "digests": digests, "reference": ref}


def show(moved: dict[str, Any], capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main([*moved["base"], "--now", "2027-02-01", "show", *args, "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_show_judges_the_newest_digest_and_keeps_the_history(
    moved: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = moved["digests"]
    document = show(moved, capsys, "python:3.12")
    assert document["kind"] == "image" and document["query"] == "python:3.12"
    (tag,) = document["tags"]
    assert (tag["image"], tag["tag"]) == ("python", "3.12")
    (platform,) = tag["platforms"]
    assert platform["digest"] == second
    assert platform["evidence"]["digest"] == second
    assert platform["evidence"]["subject"]["repository"] == "python"
    assert {r["rule"] for r in platform["reasons"]} >= {"runs-as-root", "not-covered"}
    assert platform["findings"] is None  # not stored by evaluate: unknown, not "none"
    assert platform["not_covered"] is None  # vulnerabilities not computed
    history = document["history"]
    seen = [(d["digest"], d["first_evaluated"][:10]) for d in history["evaluated_digests"]]
    assert seen == [(first, "2027-01-01"), (second, "2027-02-01")]
    assert [(v["digest"], v["decided_at"][:10]) for v in history["verdicts"]] == [
        (first, "2027-01-01"),
        (second, "2027-02-01"),
    ]


@pytest.mark.parametrize("query", ["python", "docker.io/library/python:3.12"])
def test_show_by_name_or_reference(
    moved: dict[str, Any], capsys: pytest.CaptureFixture[str], query: str
) -> None:
    (tag,) = show(moved, capsys, query)["tags"]
    assert tag["platforms"][0]["digest"] == moved["digests"][1]


def test_show_by_digest_and_by_reference(
    moved: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    second = moved["digests"][1]
    assert show(moved, capsys, second)["tags"][0]["digest"] == second
    assert show(moved, capsys, moved["reference"])["tags"][0]["digest"] == second


def test_show_as_a_table(moved: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*moved["base"], "--now", "2027-02-01", "show", "python:3.12"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("python:3.12: ")
    for part in ("reasons", "runs-as-root: no USER", "catalog name", "digests evaluated"):
        assert part in out
    assert moved["digests"][0] in out  # the older digest, in the history


def test_an_image_never_evaluated_is_an_error(
    moved: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*moved["base"], "show", "node:22"]) == 1
    assert "error: no evaluated image matches node:22" in capsys.readouterr().err


def test_show_needs_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "nothing"
    assert main(["--home", str(home), "show", "python"]) == 1
    assert not home.exists()


@pytest.mark.parametrize("command", [["policy", "check"], ["allowlist"], ["show", "python"]])
def test_the_policy_commands_create_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    home = tmp_path / "none"
    assert main(["--home", str(home), *command]) == 1
    assert "error:" in capsys.readouterr().err
    assert not home.exists()


def test_a_check_of_nothing_is_not_a_pass(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagetrust.store.database import Store

    Store.open(store_url).close()
    assert main(["--db-url", store_url, "--home", str(tmp_path), "policy", "check"]) == 1
    assert "nothing was checked" in capsys.readouterr().err
