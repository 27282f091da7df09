"""Challenges, credentials from the environment, config.json and credential helpers."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest

from imagetrust.oci.auth import (
    Challenge,
    Credentials,
    CredentialStore,
    normalize_server,
    parse_www_authenticate,
)


def test_parse_bearer_challenge_with_commas_in_quotes() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/python:pull,push"'
    )
    assert parse_www_authenticate(header) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/python:pull,push",
            },
        )
    ]


def test_parse_several_challenges_and_escapes() -> None:
    header = (
        'Basic realm="Registry \\"x\\"", Bearer realm=https://t.example/token, error=invalid_token'
    )
    challenges = parse_www_authenticate(header)
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].params == {"realm": 'Registry "x"'}
    assert challenges[1].params == {"realm": "https://t.example/token", "error": "invalid_token"}
    assert parse_www_authenticate("") == []


@pytest.mark.parametrize(
    ("server", "normalized"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("http://LOCALHOST:5000/v2/", "localhost:5000"),
        ("ghcr.io", "ghcr.io"),
    ],
)
def test_normalize_server(server: str, normalized: str) -> None:
    assert normalize_server(server) == normalized


def write_config(folder: Path, doc: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(doc))
    return folder


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_env_credentials_win_and_only_for_their_server(tmp_path: Path) -> None:
    env = {"IMAGETRUST_REGISTRY_USERNAME": "bob", "IMAGETRUST_REGISTRY_PASSWORD": "pw-from-env"}
    config = write_config(
        tmp_path / "d", {"auths": {"https://index.docker.io/v1/": {"auth": b64("x:y")}}}
    )
    store = CredentialStore(env, config_dir=config)
    found = store.lookup("docker.io")
    assert found is not None and (found.username, found.password) == ("bob", "pw-from-env")
    assert store.lookup("ghcr.io") is None
    scoped = CredentialStore(
        {**env, "IMAGETRUST_REGISTRY_LOGIN_SERVER": "ghcr.io"}, config_dir=tmp_path / "none"
    )
    assert scoped.lookup("docker.io") is None
    assert scoped.lookup("ghcr.io") is not None


def test_config_json_auths(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "d",
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
                "localhost:5000": {"username": "u", "password": "p"},
                "http://127.0.0.1:9999": {"identitytoken": "refresh-me"},
                "broken.example": {"auth": "%%%not-base64"},
            }
        },
    )
    store = CredentialStore({}, config_dir=config)
    hub = store.lookup("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("hubuser", "hubpass")
    assert "config.json" in hub.source
    local = store.lookup("localhost:5000")
    assert local is not None and local.basic_header() == "Basic " + b64("u:p")
    ident = store.lookup("127.0.0.1:9999")
    assert ident is not None and ident.identity_token == "refresh-me" and ident.username is None
    assert store.lookup("broken.example") is None
    assert store.lookup("elsewhere.example") is None


def test_docker_config_env_var_is_honoured(tmp_path: Path) -> None:
    config = write_config(tmp_path / "custom", {"auths": {"ghcr.io": {"auth": b64("a:b")}}})
    store = CredentialStore({"DOCKER_CONFIG": str(config)})
    found = store.lookup("ghcr.io")
    assert found is not None and found.username == "a"


def install_helper(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


HELPER = """\
read server
echo "$1 $server" >> "$(dirname "$0")/calls.log"
case "$server" in
  https://index.docker.io/v1/)
    echo '{"ServerURL":"'$server'","Username":"hub","Secret":"hub-secret"}' ;;
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"<token>","Secret":"identity-xyz"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def test_credential_helpers_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    install_helper(bin_dir, "fake", HELPER)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = write_config(
        tmp_path / "d",
        {
            "credsStore": "fake",
            "credHelpers": {"quay.io": "missing"},
            "auths": {"localhost:5000": {"auth": b64("fallback:pw")}},
        },
    )
    store = CredentialStore({}, config_dir=config)
    hub = store.lookup("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("hub", "hub-secret")
    assert hub.source == "credential helper docker-credential-fake"
    gh = store.lookup("ghcr.io")
    assert gh is not None and gh.identity_token == "identity-xyz" and gh.username is None
    # helper says "not found": the auths entry still counts
    local = store.lookup("localhost:5000")
    assert local is not None and local.username == "fallback"
    assert store.lookup("quay.io") is None  # named helper not installed: anonymous
    store.lookup("docker.io")  # cached: the helper is not asked twice
    calls = (bin_dir / "calls.log").read_text().splitlines()
    assert calls == ["get https://index.docker.io/v1/", "get ghcr.io", "get localhost:5000"]


def test_secrets_never_in_repr_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = write_config(tmp_path / "d", {"auths": {"ghcr.io": {"auth": b64("me:topsecretpw")}}})
    caplog.set_level(logging.DEBUG, logger="imagetrust")
    found = CredentialStore({}, config_dir=config).lookup("ghcr.io")
    assert found is not None
    assert "topsecretpw" not in repr(found)
    assert "topsecretpw" not in caplog.text
    assert "topsecret" not in repr(Credentials("a", "topsecret", "tok"))
