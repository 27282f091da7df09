"""A registry on loopback for the demo: the real ``docker-registry``, else the OCI layouts.

The demo's ``run`` reads its images from a registry exactly as it reads Docker Hub's (the
``[registry] default`` setting points at this one), so every pull, ``HEAD`` and verified
blob goes through the same client. When Debian's ``docker-registry`` (the CNCF
distribution registry) is installed, it is started on 127.0.0.1 with filesystem storage in
a temporary folder and the images are pushed to it. When it is not, ``LayoutRegistry``
serves the demo's OCI layouts read-only over the same API (``GET``/``HEAD`` of ``/v2/``,
manifests by tag or digest, blobs), from the files as they are on disk; the demo says which
one it used.

Only for the demo and tests: no auth, no uploads in the fallback, nothing but loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from imagetrust.oci import media

REGISTRY_BINARIES = ("/usr/bin/docker-registry", "docker-registry", "registry")
START_TIMEOUT = 20.0
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_BLOB_PATH = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def find_registry_binary() -> Path | None:
    for candidate in REGISTRY_BINARIES:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    return None


def free_port() -> int:
    """A loopback port nobody listens on now (the tests' servers take it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/v2/")
        status = conn.getresponse().status
        conn.close()
    except OSError:
        return False
    return status in (200, 401)


@contextlib.contextmanager
def docker_registry(binary: Path) -> Iterator[str]:
    """Start ``docker-registry`` on a free loopback port; yields its URL; stops it and
    removes its storage on exit."""
    base = Path(tempfile.mkdtemp(prefix="imagetrust-demo-registry-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(3):
            port = free_port()
            config = {
                "version": 0.1,
                "log": {"level": "error", "accesslog": {"disabled": True}},
                "storage": {
                    "filesystem": {"rootdirectory": str(base / "storage")},
                    "maintenance": {"uploadpurging": {"enabled": False}},
                },
                "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
            }
            path = base / "config.yml"
            path.write_text(json.dumps(config, indent=2))  # YAML is a superset of JSON
            log_path = base / f"registry-{attempt}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [str(binary), "serve", str(path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=base,
                )
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None:
                if _answers(port):
                    break
                time.sleep(0.05)
            if process.poll() is None and _answers(port):
                break
            _stop(process)
            process = None
            if attempt == 2:
                raise RuntimeError(f"docker-registry did not start: {log_path.read_text()[-500:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LayoutRegistry:
    """The distribution API's read side over OCI layouts: ``library/NAME`` is the layout
    ``layouts[NAME]``, a tag is an ``org.opencontainers.image.ref.name`` of its index."""

    def __init__(self, layouts: Mapping[str, Path]) -> None:
        self.layouts = dict(layouts)
        self.requests = 0
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LayoutRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def layout(self, name: str) -> Path | None:
        short = name.removeprefix("library/")
        return self.layouts.get(short)

    def manifest(self, name: str, reference: str) -> tuple[bytes, str, str] | None:
        """(bytes, media type, digest) of a manifest by tag or digest."""
        layout = self.layout(name)
        if layout is None:
            return None
        if reference.startswith("sha256:"):
            data = self.blob(name, reference)
            if data is None:
                return None
            try:
                kind = str(json.loads(data).get("mediaType") or media.OCI_MANIFEST)
            except ValueError:
                return None
            return data, kind, reference
        if _TAG.match(reference) is None:
            return None
        index = json.loads((layout / "index.json").read_text())
        for entry in index.get("manifests") or []:
            if (entry.get("annotations") or {}).get(media.ANNOTATION_REF_NAME) == reference:
                data = self.blob(name, entry["digest"])
                if data is not None:
                    return data, str(entry["mediaType"]), str(entry["digest"])
        return None

    def blob(self, name: str, digest: str) -> bytes | None:
        layout = self.layout(name)
        if layout is None or not digest.startswith("sha256:"):
            return None
        path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK on a kept-alive connection (~40 ms a response).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _missing(self, code: str) -> None:
                body = json.dumps({"errors": [{"code": code, "message": code.lower()}]})
                self._send(404, body.encode(), {"Content-Type": "application/json"})

            def do_GET(self) -> None:
                registry.requests += 1
                path = self.path.split("?", 1)[0]
                if path in ("/v2/", "/v2"):
                    self._send(200, b"{}", {"Content-Type": "application/json"})
                    return
                if (match := _MANIFEST_PATH.match(path)) is not None:
                    found = registry.manifest(match["name"], match["ref"])
                    if found is None:
                        self._missing("MANIFEST_UNKNOWN")
                        return
                    data, kind, digest = found
                    self._send(200, data, {"Content-Type": kind, "Docker-Content-Digest": digest})
                    return
                if (match := _BLOB_PATH.match(path)) is not None:
                    blob = registry.blob(match["name"], match["digest"])
                    if blob is None:
                        self._missing("BLOB_UNKNOWN")
                        return
                    headers = {
                        "Content-Type": "application/octet-stream",
                        "Docker-Content-Digest": match["digest"],
                    }
                    self._send(200, blob, headers)
                    return
                self._missing("NAME_UNKNOWN")

            do_HEAD = do_GET

        return Handler
