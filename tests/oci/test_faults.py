"""5xx, 429, dropped and cut connections, through a loopback proxy in front of the registry."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from imagetrust.http import HttpError, RateLimitedError, WaitBudget
from imagetrust.oci.image import load_image
from imagetrust.oci.sources import OciSession
from imagetrust.testkit.builder import ImageSpec, Layer, build_image
from tests.oci.conftest import SleepRecorder
from tests.oci.helpers import publish, sha, single
from tests.services.registry import Fault, FaultProxy, RegistryServer


def test_5xx_burst_on_a_manifest_is_retried(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    session: OciSession,
    sleeps: SleepRecorder,
    repo_name: str,
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    fault_proxy.add(Fault(r"^GET /v2/.*/manifests/sha256", times=1, status=503))
    fault_proxy.add(Fault(r"^GET /v2/.*/manifests/sha256", times=1, status=502))
    with session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source:
        assert load_image(source).digest == built.descriptor.digest
    assert sleeps.sleeps == [0.01, 0.02]
    statuses = [r.status for r in fault_proxy.requests(r"^GET .*/manifests/sha256")]
    assert statuses == [503, 502, 200]


def test_429_retry_after_is_honoured(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    session: OciSession,
    sleeps: SleepRecorder,
    repo_name: str,
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    fault_proxy.add(
        Fault(r"^HEAD /v2/.*/manifests/latest", status=429, headers={"Retry-After": "7"})
    )
    with session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source:
        assert load_image(source).digest == built.descriptor.digest
    assert sleeps.sleeps == [7.0]


def test_429_beyond_the_wait_budget_stops_cleanly(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    make_session: Callable[..., OciSession],
    repo_name: str,
) -> None:
    session = make_session(wait_budget=WaitBudget(60))
    publish(session, registry, single(repo_name), repo_name)
    fault_proxy.add(
        Fault(r"^HEAD /v2/.*/manifests/", times=None, status=429, headers={"Retry-After": "3600"})
    )
    with (
        session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source,
        pytest.raises(RateLimitedError) as info,
    ):
        load_image(source)
    assert info.value.retry_after == 3600 and "wait budget" in info.value.message


def test_persistent_5xx_fails_after_the_attempts(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    session: OciSession,
    repo_name: str,
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    fault_proxy.add(Fault(r"^GET /v2/.*/blobs/", times=None, status=500))
    with (
        session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source,
        pytest.raises(HttpError, match="HTTP 500 after 4 attempts"),
    ):
        load_image(source)


def test_dropped_connection_is_retried(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    session: OciSession,
    repo_name: str,
) -> None:
    built = single(repo_name)
    publish(session, registry, built, repo_name)
    fault_proxy.add(Fault(r"^GET /v2/.*/manifests/sha256", times=2, drop=True))
    with session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source:
        assert load_image(source).digest == built.descriptor.digest
    assert [r.status for r in fault_proxy.requests(r"^GET .*/manifests/sha256")] == [0, 0, 200]


def test_cut_blob_download_resumes_with_range(
    registry: RegistryServer,
    fault_proxy: FaultProxy,
    session: OciSession,
    repo_name: str,
) -> None:
    noise = Layer.from_files({"noise.bin": os.urandom(200_000)})  # does not compress
    built = build_image(ImageSpec(layers=[noise]))
    publish(session, registry, built, repo_name)
    layer = built.layers[0]
    first_cut, second_cut = 50_000, 30_000
    fault_proxy.add(Fault(rf"^GET /v2/.*/blobs/{layer.digest}", times=1, cut_after=first_cut))
    fault_proxy.add(Fault(rf"^GET /v2/.*/blobs/{layer.digest}", times=1, cut_after=second_cut))
    with session.open(f"{fault_proxy.netloc}/{repo_name}:latest") as source:
        image = load_image(source)
        data = source.read_blob(image.images[0].layers[0])
    assert sha(data) == layer.digest and len(data) == layer.descriptor.size > first_cut + second_cut
    ranges = [
        r.headers.get("Range") for r in fault_proxy.requests(rf"^GET .*/blobs/{layer.digest}")
    ]
    assert ranges == [None, f"bytes={first_cut}-", f"bytes={first_cut + second_cut}-"]
