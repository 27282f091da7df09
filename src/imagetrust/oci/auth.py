"""Registry authentication: challenges, credentials and bearer tokens.

Registries answer ``401`` with a ``WWW-Authenticate`` challenge; for ``Bearer`` we fetch a
token for exactly the repository scope we need from the realm it names (anonymously, or
with credentials), for ``Basic`` we send the credentials. Credentials come, in this order,
from the environment (``IMAGETRUST_REGISTRY_USERNAME`` / ``IMAGETRUST_REGISTRY_PASSWORD``
for ``IMAGETRUST_REGISTRY_LOGIN_SERVER``, Docker Hub by default) and from Docker's own
``config.json`` (``credHelpers``, then ``credsStore``, then ``auths``), so whatever
``docker login`` set up works unchanged. They are never settings (config files get shared).

Secrets stay out of logs and errors: ``Credentials`` and ``Token`` do not show them in
``repr``, and messages name where credentials came from, never what they are.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imagetrust.oci.errors import AuthError, OciError
from imagetrust.oci.reference import DOCKER_HUB
from imagetrust.oci.transport import Transport

log = logging.getLogger(__name__)

ENV_USERNAME = "IMAGETRUST_REGISTRY_USERNAME"
ENV_PASSWORD = "IMAGETRUST_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name, not a secret
ENV_LOGIN_SERVER = "IMAGETRUST_REGISTRY_LOGIN_SERVER"
DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"
_HUB_KEYS = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
HELPER_TIMEOUT = 30.0
DEFAULT_TOKEN_LIFETIME = 60
CLIENT_ID = "imagetrust"


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""

    def basic_header(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercase: "bearer" or "basic"
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
_SCHEME = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` header (quoted values may hold commas)."""
    challenges: list[Challenge] = []
    pos = 0
    while pos < len(header):
        scheme_match = _SCHEME.match(header, pos)
        if not scheme_match:
            break
        pos = scheme_match.end()
        params: dict[str, str] = {}
        while pos < len(header):
            param = _PARAM.match(header, pos)
            if not param:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            pos = param.end()
        challenges.append(Challenge(scheme_match.group(1).lower(), params))
    return challenges


def normalize_server(server: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``http://host:5000/x`` -> ``host:5000``."""
    text = server.strip()
    if "://" in text:
        text = urlsplit(text).netloc or text
    text = text.split("/", 1)[0].lower()
    return DOCKER_HUB if text in _HUB_KEYS else text


def docker_config_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get("DOCKER_CONFIG")
    if configured:
        return Path(configured)
    return Path(environ.get("HOME") or Path.home()) / ".docker"


HelperRunner = Callable[[list[str], str], subprocess.CompletedProcess[str]]


def _run_helper(cmd: list[str], server_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        input=server_url,
        capture_output=True,
        text=True,
        timeout=HELPER_TIMEOUT,
        check=False,
    )


class CredentialStore:
    """Finds credentials for a registry host; looks each host up once per session."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        config_dir: Path | None = None,
        run_helper: HelperRunner = _run_helper,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._config_dir = config_dir or docker_config_dir(self._environ)
        self._run_helper = run_helper
        self._cache: dict[str, Credentials | None] = {}

    def lookup(self, registry: str) -> Credentials | None:
        host = normalize_server(registry)
        if host not in self._cache:
            self._cache[host] = self._from_env(host) or self._from_docker_config(host)
            found = self._cache[host]
            log.debug("credentials for %s: %s", host, found.source if found else "anonymous")
        return self._cache[host]

    def _from_env(self, host: str) -> Credentials | None:
        username = self._environ.get(ENV_USERNAME)
        password = self._environ.get(ENV_PASSWORD)
        if not username or not password:
            return None
        server = normalize_server(self._environ.get(ENV_LOGIN_SERVER) or DOCKER_HUB)
        if server != host:
            return None
        return Credentials(username, password, source=f"${ENV_USERNAME}/${ENV_PASSWORD}")

    def _load_config(self) -> dict[str, Any]:
        path = self._config_dir / "config.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable docker config %s: %s", path, type(exc).__name__)
            return {}
        return doc if isinstance(doc, dict) else {}

    def _from_docker_config(self, host: str) -> Credentials | None:
        config = self._load_config()
        if not config:
            return None
        helpers = {normalize_server(k): v for k, v in (config.get("credHelpers") or {}).items()}
        helper = helpers.get(host) or config.get("credsStore")
        if isinstance(helper, str) and helper:
            found = self._from_helper(helper, host)
            if found is not None:
                return found
        path = self._config_dir / "config.json"
        for key, entry in (config.get("auths") or {}).items():
            if normalize_server(key) == host and isinstance(entry, dict):
                found = _from_auth_entry(entry, f"{path} auths")
                if found is not None:
                    return found
        return None

    def _from_helper(self, helper: str, host: str) -> Credentials | None:
        program = f"docker-credential-{helper}"
        server_url = DOCKER_HUB_SERVER_URL if host == DOCKER_HUB else host
        try:
            result = self._run_helper([program, "get"], server_url)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("credential helper %s failed: %s", program, type(exc).__name__)
            return None
        if result.returncode != 0:
            # "credentials not found in native keychain" is the normal "no login" answer.
            if "not found" not in (result.stdout + result.stderr).lower():
                log.warning("credential helper %s exited with %d", program, result.returncode)
            return None
        try:
            doc = json.loads(result.stdout)
        except ValueError:
            log.warning("credential helper %s printed something that is not JSON", program)
            return None
        username, secret = doc.get("Username"), doc.get("Secret")
        if not secret:
            return None
        if username == "<token>":
            return Credentials(identity_token=secret, source=f"credential helper {program}")
        return Credentials(username, secret, source=f"credential helper {program}")


def _from_auth_entry(entry: Mapping[str, Any], source: str) -> Credentials | None:
    if entry.get("identitytoken"):
        return Credentials(identity_token=str(entry["identitytoken"]), source=source)
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"])).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            log.warning("ignoring an auths entry in %s whose auth is not base64", source)
            return None
        username, sep, password = decoded.partition(":")
        if sep and username:
            return Credentials(username, password, source=source)
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]), source=source)
    return None


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float

    def valid(self, now: float) -> bool:
        return now < self.expires_at - 5


def fetch_token(
    transport: Transport,
    challenge: Challenge,
    scopes: list[str],
    credentials: Credentials | None,
    *,
    registry: str,
) -> Token:
    """A bearer token for ``scopes`` from the challenge's realm (Docker token protocol)."""
    realm = challenge.params.get("realm")
    if not realm or not realm.startswith(("http://", "https://")):
        raise AuthError(f"{registry}: bearer challenge without a usable realm")
    service = challenge.params.get("service")
    client = transport.client
    started = time.time()
    if credentials is not None and credentials.identity_token:
        form: dict[str, str | list[str]] = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.identity_token,
            "client_id": CLIENT_ID,
            "scope": " ".join(scopes),
        }
        if service:
            form["service"] = service
        request = client.build_request("POST", realm, data=form)
    else:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("scope", scope) for scope in scopes
        ]
        if service:
            params.insert(0, ("service", service))
        headers = {}
        basic = credentials.basic_header() if credentials else None
        if basic:
            headers["Authorization"] = basic
        request = client.build_request("GET", realm, params=params, headers=headers)
    response = transport.send(request, what=f"token for {registry}")
    if response.status_code in (401, 403):
        who = f"the credentials from {credentials.source}" if credentials else "anonymous access"
        raise AuthError(
            f"{registry}: the token service refused {who} (HTTP {response.status_code})",
            hint="check `docker login` or the IMAGETRUST_REGISTRY_USERNAME/PASSWORD variables",
        )
    if response.status_code != 200:
        raise AuthError(f"{registry}: token service answered HTTP {response.status_code}")
    try:
        doc = response.json()
    except ValueError:
        raise AuthError(f"{registry}: token service answered something that is not JSON") from None
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise OciError(f"{registry}: token service answer has no token")
    lifetime = doc.get("expires_in")
    seconds = (
        lifetime if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_TOKEN_LIFETIME
    )
    return Token(value, started + float(seconds))
