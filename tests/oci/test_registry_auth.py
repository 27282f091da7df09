"""Bearer-token auth against a real token-auth registry and its loopback token service."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from imagetrust.oci.auth import CredentialStore
from imagetrust.oci.errors import AuthError
from imagetrust.oci.image import load_image
from imagetrust.oci.sources import OciSession
from tests.oci.conftest import TEST_PASSWORD, TEST_REFRESH_TOKEN, TEST_USER
from tests.oci.helpers import multiplatform, publish, single
from tests.services.registry import RegistryServer, TokenService


def env_credentials(server: RegistryServer, password: str = TEST_PASSWORD) -> CredentialStore:
    return CredentialStore(
        {
            "IMAGETRUST_REGISTRY_USERNAME": TEST_USER,
            "IMAGETRUST_REGISTRY_PASSWORD": password,
            "IMAGETRUST_REGISTRY_LOGIN_SERVER": server.netloc,
        }
    )


def token_service(server: RegistryServer) -> TokenService:
    assert server.token is not None
    return server.token


def test_anonymous_pull_of_a_public_repository(
    token_registry: RegistryServer, make_session: Callable[..., OciSession], repo_name: str
) -> None:
    tokens = token_service(token_registry)
    pusher = make_session(credentials=env_credentials(token_registry))
    built = multiplatform(repo_name)
    ref = publish(pusher, token_registry, built, repo_name)
    tokens.public.add(repo_name)
    anonymous = make_session()
    with anonymous.open(ref) as source:
        image = load_image(source)
    assert image.digest == built.descriptor.digest
    issued = [
        t for t in tokens.issued if t["user"] is None and any(repo_name in s for s in t["scopes"])
    ]
    assert issued and issued[0]["access"][0]["actions"] == ["pull"]
    # one token for the repository scope, reused for every manifest and blob
    assert len(issued) == 1


def test_private_repository_needs_credentials(
    token_registry: RegistryServer, make_session: Callable[..., OciSession], repo_name: str
) -> None:
    pusher = make_session(credentials=env_credentials(token_registry))
    ref = publish(pusher, token_registry, single(repo_name), repo_name)
    with make_session().open(ref) as source, pytest.raises(AuthError, match="anonymously"):
        load_image(source)
    with pusher.open(ref) as source:
        assert load_image(source).images[0].config.os == "linux"


def test_wrong_password_is_a_clear_error_without_the_password(
    token_registry: RegistryServer, make_session: Callable[..., OciSession], repo_name: str
) -> None:
    session = make_session(credentials=env_credentials(token_registry, "wrong-password-123"))
    with (
        session.open(f"{token_registry.netloc}/{repo_name}:x") as source,
        pytest.raises(AuthError) as info,
    ):
        source.resolve()
    assert "refused" in info.value.message and "IMAGETRUST_REGISTRY_USERNAME" in info.value.message
    assert "wrong-password-123" not in info.value.message


def test_identity_token_from_config_json_uses_the_oauth_flow(
    token_registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
    tmp_path: Path,
) -> None:
    pusher = make_session(credentials=env_credentials(token_registry))
    built = single(repo_name)
    ref = publish(pusher, token_registry, built, repo_name)
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"auths": {token_registry.netloc: {"identitytoken": TEST_REFRESH_TOKEN}}})
    )
    session = make_session(credentials=CredentialStore({}, config_dir=config))
    with session.open(ref) as source:
        assert load_image(source).digest == built.descriptor.digest
    tokens = token_service(token_registry)
    assert any(t["user"] == TEST_USER and repo_name in " ".join(t["scopes"]) for t in tokens.issued)


def test_credential_helper_and_config_auth_against_the_registry(
    token_registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pusher = make_session(credentials=env_credentials(token_registry))
    built = single(repo_name)
    ref = publish(pusher, token_registry, built, repo_name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-testhelper"
    answer = json.dumps({"Username": TEST_USER, "Secret": TEST_PASSWORD})
    helper.write_text(f"#!/bin/sh\nread server\necho '{answer}'\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"credHelpers": {token_registry.netloc: "testhelper"}})
    )
    caplog.set_level(logging.DEBUG)
    session = make_session(credentials=CredentialStore({}, config_dir=config))
    with session.open(ref) as source:
        assert load_image(source).digest == built.descriptor.digest
    basic = base64.b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    tokens = token_service(token_registry)
    issued = [t["token"] for t in tokens.issued if repo_name in " ".join(t["scopes"])]
    assert issued
    for secret in (TEST_PASSWORD, basic, *issued):
        assert secret not in caplog.text
    assert "credential helper docker-credential-testhelper" in caplog.text
