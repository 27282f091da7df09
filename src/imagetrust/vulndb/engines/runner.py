"""Run ``trivy`` or ``grype`` on an image when the binary is installed, and read its report.

The tool is found on ``PATH`` and run without a shell, with its arguments as a list, for
one image pinned by digest where the source allows it (a registry image), else by path and
platform (an OCI layout or docker archive), or on an SBOM file. Its output is untrusted
and bounded: past ``max_bytes`` of output the tool is killed and the run fails, as it does
past ``timeout`` seconds; a non-zero exit is an error quoting the tool's last words. The
tools keep their own databases and credentials (``docker login``): imagetrust passes no
secret to them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from typing import IO, Literal

from msgspec import Struct

from imagetrust.vulndb.engines import EngineName
from imagetrust.vulndb.engines.report import EngineError

DEFAULT_TIMEOUT = 1800.0  # a cold trivy run downloads its database first
STDERR_KEPT = 4096
TargetKind = Literal["image", "oci-layout", "docker-archive", "sbom"]


class EngineTarget(Struct, frozen=True):
    """What the tool scans: ``location`` is a reference (``image``) or a path."""

    kind: TargetKind
    location: str
    platform: str | None = None
    insecure: bool = False  # a registry over plain HTTP (loopback, ``[registry] insecure``)


def command(engine: EngineName, binary: str, target: EngineTarget) -> list[str]:
    """The tool's command line for ``target``, its report as JSON on stdout."""
    if engine is EngineName.TRIVY:
        if target.kind == "sbom":
            return [binary, "sbom", "--format", "json", "--quiet", target.location]
        args = [binary, "image", "--format", "json", "--quiet", "--list-all-pkgs"]
        args += ["--scanners", "vuln"]
        if target.platform:
            args += ["--platform", target.platform]
        if target.insecure:
            args.append("--insecure")
        if target.kind == "image":
            return [*args, target.location]
        return [*args, "--input", target.location]
    if engine is EngineName.GRYPE:
        scheme = {
            "image": "registry:",
            "oci-layout": "oci-dir:",
            "docker-archive": "docker-archive:",
            "sbom": "sbom:",
        }[target.kind]
        args = [binary, f"{scheme}{target.location}", "-o", "json", "-q"]
        if target.platform and target.kind != "sbom":
            args += ["--platform", target.platform]
        return args
    raise EngineError(f"{engine}: imagetrust does not run this engine")


def environment(engine: EngineName, target: EngineTarget) -> dict[str, str]:
    env = dict(os.environ)
    if engine is EngineName.GRYPE and target.insecure:
        env["GRYPE_REGISTRY_INSECURE_USE_HTTP"] = "true"
    return env


def find_binary(engine: EngineName) -> str:
    found = shutil.which(engine.value)
    if found is None:
        raise EngineError(
            f"{engine.value} is not installed (not found on PATH)",
            hint=f"install {engine.value}, or run it yourself and "
            f"`imagetrust import FILE --engine {engine.value}`",
        )
    return found


def run_engine(
    engine: EngineName,
    target: EngineTarget,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The tool's JSON report on ``target`` (stdout), within the bounds."""
    binary = find_binary(engine)
    args = command(engine, binary, target)
    return _run(args, environment(engine, target), engine.value, max_bytes, timeout)


def _run(
    args: Sequence[str], env: dict[str, str], name: str, max_bytes: int, timeout: float
) -> bytes:
    try:
        process = subprocess.Popen(  # a list of arguments, no shell
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        raise EngineError(f"{name} could not be started: {exc.strerror or exc}") from None
    assert process.stdout is not None and process.stderr is not None
    out = _Drain(process.stdout, max_bytes, process)
    err = _Drain(process.stderr, None, process)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise EngineError(f"{name} did not finish within {timeout:g} seconds") from None
    finally:
        out.join()
        err.join()
    if out.overflow:
        raise EngineError(f"{name} wrote more than {max_bytes} bytes: not a report read here")
    if code != 0:
        last = err.tail().strip().splitlines()[-1:] or [f"exit status {code}"]
        raise EngineError(f"{name} failed (exit status {code}): {last[0][:300]}")
    return out.data()


class _Drain:
    """Reads one pipe on a thread: all of it within ``limit`` (else kills the process), or
    only its last ``STDERR_KEPT`` bytes when there is no limit."""

    def __init__(self, pipe: IO[bytes], limit: int | None, process: subprocess.Popen[bytes]):
        self.pipe = pipe
        self.limit = limit
        self.process = process
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.pipe.read(1 << 16):
            if self.overflow:
                continue  # keep draining, so the process never blocks on a full pipe
            self.chunks.append(chunk)
            self.size += len(chunk)
            if self.limit is None:
                kept = b"".join(self.chunks)[-STDERR_KEPT:]
                self.chunks, self.size = [kept], len(kept)
            elif self.size > self.limit:
                self.overflow = True
                self.chunks = []
                self.process.kill()

    def join(self) -> None:
        self.thread.join()
        self.pipe.close()

    def data(self) -> bytes:
        return b"".join(self.chunks)

    def tail(self) -> str:
        return self.data().decode("utf-8", "replace")
