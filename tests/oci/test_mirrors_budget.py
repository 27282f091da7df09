"""Digest-verified mirrors (two real registries) and the pull budget."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from imagetrust.oci.budget import PullBudget
from imagetrust.oci.errors import PullBudgetExhaustedError
from imagetrust.oci.image import PlatformSelection, load_image
from imagetrust.oci.mirrors import parse_mirror
from imagetrust.oci.sources import OciSession
from tests.oci.helpers import flip_byte, multiplatform, publish, sha, single
from tests.services.registry import Fault, FaultProxy, RegistryServer


def mirrored_session(
    make_session: Callable[..., OciSession], origin: RegistryServer, mirror: RegistryServer
) -> OciSession:
    return make_session(mirrors={origin.netloc: [f"{mirror.url}/mirror"]})


def test_mirror_repository_mapping() -> None:
    ecr = parse_mirror("https://public.ecr.aws/docker/library/")
    assert (ecr.base_url, ecr.prefix, ecr.registry) == (
        "https://public.ecr.aws",
        "docker/library",
        "public.ecr.aws",
    )
    assert ecr.repository_for("library/python") == "docker/library/python"
    assert ecr.repository_for("bitnami/redis") == "docker/library/bitnami/redis"
    gcr = parse_mirror("mirror.gcr.io")
    assert (
        gcr.base_url == "https://mirror.gcr.io" and gcr.repository_for("library/x") == "library/x"
    )


def test_everything_from_a_matching_mirror(
    registry: RegistryServer,
    mirror_registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
) -> None:
    built = multiplatform(repo_name)
    publisher = make_session()
    ref = publish(publisher, registry, built, repo_name)
    publish(publisher, mirror_registry, built, f"mirror/{repo_name}")
    session = mirrored_session(make_session, registry, mirror_registry)
    with session.open(ref) as source:
        image = load_image(source)
        layer = image.images[0].layers[1]
        assert sha(source.read_blob(layer)) == layer.digest
    mirror_name = f"mirror {mirror_registry.url}/mirror"
    assert image.digest == built.descriptor.digest
    assert set(source.served_by.values()) == {mirror_name}
    assert len(source.served_by) == 5  # index, manifest, attestation, config, layer
    assert session.budget.quota(registry.netloc).pulls == 0  # origin: one free HEAD only
    assert session.budget.quota(mirror_registry.netloc).pulls == 3
    assert not source.events


def test_mirror_serving_other_bytes_is_skipped(
    registry: RegistryServer,
    mirror_registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
) -> None:
    built = single(repo_name)
    publisher = make_session()
    ref = publish(publisher, registry, built, repo_name)
    publish(publisher, mirror_registry, built, f"mirror/{repo_name}")
    layer = built.layers[1]  # type: ignore[union-attr]
    flip_byte(mirror_registry.blob_path(layer.digest))
    manifest_path = mirror_registry.blob_path(built.descriptor.digest)
    doc = json.loads(manifest_path.read_bytes())
    doc["annotations"] = {"evil": "yes"}
    manifest_path.write_bytes(json.dumps(doc).encode())
    session = mirrored_session(make_session, registry, mirror_registry)
    received: list[bytes] = []
    with session.open(ref) as source:
        image = load_image(source)
        count = source.consume_blob(image.images[0].layers[1], lambda s: received.append(s.read()))
    assert count is None
    assert image.images[0].manifest.annotations == {}
    assert source.served_by[built.descriptor.digest] == registry.url
    assert source.served_by[layer.digest] == registry.url
    # the consumer saw the mirror's stream fail, then the origin's verified bytes
    assert sha(received[-1]) == layer.digest
    skipped = " ".join(source.events)
    assert built.descriptor.digest in skipped and layer.digest in skipped
    assert "expected" in skipped


def test_mirror_lacking_the_image_falls_back_to_origin(
    registry: RegistryServer,
    mirror_registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
) -> None:
    built = single(repo_name)
    ref = publish(make_session(), registry, built, repo_name)
    session = mirrored_session(make_session, registry, mirror_registry)
    with session.open(ref) as source:
        image = load_image(source)
        assert source.read_blob(image.images[0].layers[0]) == built.layers[0].data  # type: ignore[union-attr]
    assert set(source.served_by.values()) == {registry.url}
    assert any("not found" in event for event in source.events)


def test_local_pull_cap_stops_before_the_next_manifest(
    registry: RegistryServer, make_session: Callable[..., OciSession], repo_name: str
) -> None:
    built = multiplatform(repo_name)
    ref = publish(make_session(), registry, built, repo_name)
    session = make_session(budget=PullBudget(max_pulls=1))
    with session.open(ref) as source, pytest.raises(PullBudgetExhaustedError) as info:
        load_image(source)
    assert "1 of 1" in info.value.message
    assert session.budget.snapshot()[0]["pulls"] == 1


@pytest.fixture
def quota_proxy(registry: RegistryServer) -> Iterator[tuple[FaultProxy, list[int]]]:
    """Answers like Docker Hub: every manifest response carries the quota; GETs spend it."""
    remaining = [3]
    proxy = FaultProxy(registry.port).start()

    def on_get() -> dict[str, str]:
        remaining[0] -= 1
        return {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": f"{remaining[0]};w=21600"}

    def on_head() -> dict[str, str]:
        return {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": f"{remaining[0]};w=21600"}

    proxy.add(Fault(r"^GET /v2/.*/manifests/", times=None, add_headers=on_get))
    proxy.add(Fault(r"^HEAD /v2/.*/manifests/", times=None, add_headers=on_head))
    yield proxy, remaining
    proxy.stop()


def test_budget_reads_ratelimit_headers_and_stops_at_the_reserve(
    registry: RegistryServer,
    make_session: Callable[..., OciSession],
    repo_name: str,
    quota_proxy: tuple[FaultProxy, list[int]],
) -> None:
    proxy, remaining = quota_proxy
    publish(make_session(), registry, multiplatform(repo_name), repo_name)
    session = make_session(budget=PullBudget(reserve=1))
    with (
        session.open(f"{proxy.netloc}/{repo_name}:latest") as source,
        pytest.raises(PullBudgetExhaustedError) as info,
    ):
        load_image(source, PlatformSelection.parse("all"))
    assert remaining == [1]  # index and one manifest pulled, then it stopped
    (quota,) = session.budget.snapshot()
    assert quota["remaining"] == 1 and quota["limit"] == 100 and quota["window_seconds"] == 21600
    assert quota["pulls"] == 2
    assert "only 1 pulls left of 100" in info.value.message
    assert info.value.hint is not None and "1 of 100 left" in info.value.hint
    assert len(proxy.requests("^GET .*/manifests/")) == 2


def test_a_pull_allowed_but_not_answered_yet_counts_against_the_cap() -> None:
    """``run`` fetches manifests on several threads: two of them must never both take the
    last pull, so a pull counts from the moment it is allowed."""
    budget = PullBudget(max_pulls=2)
    budget.before_pull("r.example", "a")
    budget.before_pull("r.example", "b")
    with pytest.raises(PullBudgetExhaustedError, match="2 of 2"):
        budget.before_pull("r.example", "c")  # a and b are still on their way
    budget.release("r.example")  # b failed without an answer: its pull comes back
    budget.before_pull("r.example", "d")
    budget.observe("r.example", {}, pulled=True, held=True)
    budget.observe("r.example", {}, pulled=True, held=True)
    with pytest.raises(PullBudgetExhaustedError, match="2 of 2"):
        budget.before_pull("r.example", "e")
    assert budget.snapshot()[0]["pulls"] == 2


def test_pulls_on_their_way_count_against_the_remaining_quota() -> None:
    headers = {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "3;w=21600"}
    budget = PullBudget(reserve=1)
    budget.observe("r.example", headers, pulled=False)  # a HEAD told us: 3 left
    budget.before_pull("r.example", "a")
    budget.before_pull("r.example", "b")
    with pytest.raises(PullBudgetExhaustedError, match="only 1 pulls left"):
        budget.before_pull("r.example", "c")  # 3 left, 2 on their way, 1 kept in reserve


def test_concurrent_manifest_gets_never_overspend_the_cap(
    registry: RegistryServer, make_session: Callable[..., OciSession], repo_name: str
) -> None:
    """Eight threads after one manifest each, two pulls allowed: two GETs reach the
    registry, six are refused before asking."""
    import threading

    proxy = FaultProxy(registry.port).start()
    try:
        proxy.add(Fault(r"^GET /v2/.*/manifests/", times=None, delay=0.3))
        built = single(repo_name)
        publish(make_session(), registry, built, repo_name)
        session = make_session(budget=PullBudget(max_pulls=2))
        refused: list[PullBudgetExhaustedError] = []

        def fetch() -> None:
            with session.open(f"{proxy.netloc}/{repo_name}:latest") as source:
                try:
                    source.fetch_manifest(built.descriptor)
                except PullBudgetExhaustedError as exc:
                    refused.append(exc)

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(proxy.requests("^GET .*/manifests/")) == 2
        assert len(refused) == 6
        assert session.budget.snapshot()[0]["pulls"] == 2
    finally:
        proxy.stop()
