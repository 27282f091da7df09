"""Real CNCF distribution registries on loopback, a token service, and a fault proxy.

The OCI client must be proven against the registry the world runs, not a mock of it, so the
tests start the Debian ``docker-registry`` binary (distribution 2.8) with a generated
config: 127.0.0.1 on a free port, filesystem storage in a temporary folder (so a test can
corrupt a blob on disk and watch the client refuse it), deletes enabled, no htpasswd.

``TokenService`` is the other half of Docker Hub's auth model: a loopback token endpoint
that signs RS256 JWTs with a key and self-signed certificate made at test time; a registry
started with ``token=`` trusts that certificate. Anonymous callers get ``pull`` on public
repositories only, known users get what they ask for, and identity (refresh) tokens work
through the OAuth POST flow, as on Docker Hub.

``FaultProxy`` sits between client and registry and misbehaves on request: 5xx bursts, 429
with ``Retry-After``, connections cut mid-body, injected rate-limit headers.
"""

from __future__ import annotations

import base64
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
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from imagetrust.testkit.registry import (  # one finder and port picker for tests and demo
    START_TIMEOUT,
    find_registry_binary,
    free_port,
)

PROXY_CHUNK = 1 << 20  # bytes the proxy passes on at a time


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------- token service


@dataclass
class TokenService:
    """A Docker-style token endpoint (``GET``/``POST /token``) for a token-auth registry."""

    service: str = "imagetrust-test-registry"
    issuer: str = "imagetrust-test-issuer"
    users: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    issued: list[dict[str, Any]] = field(default_factory=list)
    cert_path: Path | None = None
    port: int = 0
    _key: Any = None
    _cert_der: bytes = b""
    _server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = time.time()
        import datetime as dt

        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime.fromtimestamp(now - 3600, dt.UTC))
            .not_valid_after(dt.datetime.fromtimestamp(now + 86400, dt.UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = folder / "token-root.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query)
                user = self._basic_user()
                if user is False:
                    self._reply(401, {"details": "incorrect username or password"})
                    return
                self._grant(user or None, query.get("scope", []), query.get("service", [""])[0])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                grant = form.get("grant_type", [""])[0]
                user: str | None = None
                if grant == "refresh_token":
                    user = service.refresh_tokens.get(form.get("refresh_token", [""])[0])
                elif grant == "password":
                    name = form.get("username", [""])[0]
                    if service.users.get(name) == form.get("password", [None])[0]:
                        user = name
                if user is None:
                    self._reply(401, {"details": "invalid grant"})
                    return
                scopes = [s for item in form.get("scope", []) for s in item.split(" ") if s]
                self._grant(user, scopes, form.get("service", [""])[0])

            def _basic_user(self) -> str | bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return ""
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return name if service.users.get(name) == password else False

            def _grant(self, user: str | None, scopes: list[str], audience: str) -> None:
                access = []
                for scope in scopes:
                    kind, _, rest = scope.partition(":")
                    repo, _, actions = rest.rpartition(":")
                    wanted = [a for a in actions.split(",") if a]
                    if user is not None:
                        allowed = wanted
                    else:
                        allowed = ["pull"] if "pull" in wanted and repo in service.public else []
                    access.append({"type": kind, "name": repo, "actions": allowed})
                token = service.sign(user or "", access, audience or service.service)
                service.issued.append(
                    {"user": user, "scopes": scopes, "access": access, "token": token}
                )
                self._reply(
                    200,
                    {
                        "token": token,
                        "access_token": token,
                        "expires_in": 300,
                        "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    },
                )

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def sign(self, subject: str, access: list[dict[str, Any]], audience: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self._cert_der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RegistryServer:
    host: str
    port: int
    root: Path
    token: TokenService | None = None

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def blob_path(self, digest: str) -> Path:
        """Where the registry keeps a blob's bytes (manifests are blobs too)."""
        algorithm, _, hexdigest = digest.partition(":")
        return (
            self.root / "docker/registry/v2/blobs" / algorithm / hexdigest[:2] / hexdigest / "data"
        )


def _config(root: Path, port: int, token: TokenService | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if token is not None:
        config["auth"] = {
            "token": {
                "realm": token.realm,
                "service": token.service,
                "issuer": token.issuer,
                "rootcertbundle": str(token.cert_path),
            }
        }
    return config


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"registry exited with {process.returncode}: {log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/")
            status = conn.getresponse().status
            conn.close()
            if status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"registry did not answer /v2/ within {START_TIMEOUT}s: {log.read_text()}")


@contextlib.contextmanager
def running_registry(
    binary: Path, *, token: TokenService | None = None
) -> Iterator[RegistryServer]:
    """Start a registry (and its token service, if any); stop both and remove the storage."""
    base = Path(tempfile.mkdtemp(prefix="imagetrust-registry-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    process: subprocess.Popen[bytes] | None = None
    try:
        if token is not None:
            token.start(base)
        for attempt in range(3):
            port = free_port()
            config_path = base / "config.yml"
            # YAML is a superset of JSON: no YAML library needed to write the config.
            config_path.write_text(json.dumps(_config(base / "storage", port, token), indent=2))
            log_path = base / f"registry-{attempt}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [str(binary), "serve", str(config_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=base,
                )
            try:
                _wait_ready(process, port, log_path)
                break
            except RuntimeError:
                process.terminate()
                process.wait(timeout=10)
                process = None
                if attempt == 2:
                    raise
        yield RegistryServer("127.0.0.1", port, base / "storage", token)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if token is not None:
            token.stop()
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- fault proxy


@dataclass
class Fault:
    """One misbehaviour: for requests matching ``pattern`` (``"GET /v2/..."``), ``times`` times."""

    pattern: str
    times: int | None = 1
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    drop: bool = False
    add_headers: Callable[[], dict[str, str]] | None = None
    delay: float = 0.0  # seconds before answering (a slow blob, to overlap requests)

    def matches(self, line: str) -> bool:
        return re.search(self.pattern, line) is not None and (self.times is None or self.times > 0)


@dataclass
class ProxyRecord:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class FaultProxy:
    """A forwarding HTTP proxy in front of one upstream, with scripted faults."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.faults: list[Fault] = []
        self.log: list[ProxyRecord] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY the body waits for
            # the client's delayed ACK of the headers on a kept-alive connection (~40 ms a
            # response), a stall no real registry has, which the loops' figures would carry.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                line = f"{self.command} {self.path}"
                fault = proxy._take(line)
                headers = {k: v for k, v in self.headers.items()}
                if fault is not None and fault.drop:
                    proxy._record(self.command, self.path, headers, 0)
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.status is not None:
                    payload = b'{"errors":[{"code":"FAULT","message":"injected"}]}'
                    self.send_response(fault.status)
                    for key, value in fault.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    proxy._record(self.command, self.path, headers, fault.status)
                    return
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                forward = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body or None, headers=forward)
                response = conn.getresponse()
                length = response.getheader("Content-Length")
                # A body the fault leaves whole is passed on as it arrives, as a registry
                # sends it (buffering a 50 MB blob first delayed its first byte by the
                # whole transfer); a body to cut is read first.
                streaming = (
                    self.command == "GET"
                    and length is not None
                    and (fault is None or fault.cut_after is None)
                )
                data = b"" if streaming else response.read()
                if not streaming:
                    conn.close()
                proxy._record(self.command, self.path, headers, response.status)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"connection", "transfer-encoding", "content-length"}:
                        self.send_header(key, value)
                extra = fault.add_headers() if fault and fault.add_headers else {}
                for key, value in {**(fault.headers if fault else {}), **extra}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", length if streaming else str(len(data)))
                if streaming:
                    self.end_headers()
                    try:
                        while chunk := response.read(PROXY_CHUNK):
                            self.wfile.write(chunk)
                    except OSError:  # the client went away mid-body
                        self.close_connection = True
                    finally:
                        conn.close()
                    return
                if fault is not None and fault.cut_after is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: fault.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def _take(self, line: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(line):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, headers: dict[str, str], status: int) -> None:
        with self._lock:
            self.log.append(ProxyRecord(method, path, headers, status))

    def requests(self, pattern: str) -> list[ProxyRecord]:
        return [r for r in self.log if re.search(pattern, f"{r.method} {r.path}")]

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def registry_for_tests(**kwargs: Any) -> Iterator[RegistryServer]:
    """A running registry for a fixture to yield, or a skip (a failure in CI) saying why."""
    from tests.services.require import unavailable

    binary = find_registry_binary()
    if binary is None:
        unavailable(
            "The CNCF distribution registry",
            "no docker-registry binary (Debian package docker-registry)",
        )
        raise AssertionError("unreachable")
    try:
        with running_registry(binary, **kwargs) as server:
            yield server
    except RuntimeError as exc:
        unavailable("The CNCF distribution registry", f"it did not start: {exc}")
