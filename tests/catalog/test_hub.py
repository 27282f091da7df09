"""The Docker Hub API client against a loopback server serving recorded-shape answers.

Fixtures in ``tests/fixtures/hub`` carry the field shapes the Hub returns, with ``next``
links on https://hub.docker.com; each test rewrites that origin to the loopback server's,
so the production client follows absolute links exactly as it would in production.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from imagetrust.catalog.hub import (
    HubClient,
    HubCredentials,
    HubError,
    Secret,
    parse_repositories_page,
)
from imagetrust.catalog.models import CatalogError
from imagetrust.config import HttpSettings
from imagetrust.errors import ConfigError
from imagetrust.http import RateLimitedError, RetryPolicy, WaitBudget, build_client
from imagetrust.testkit.hub_recording import bundled_recording, load_recording

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hub"
REPOS = "/v2/namespaces/library/repositories"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02, jitter=lambda cap: cap)
PAT = "dckr_pat_9Zq3-NEVER-LOG-ME-f00d"
ACCESS = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWFjY2Vzcy10b2tlbg.SIGNATURE-NEVER-LOG-ME"


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def origin(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def fixture(name: str, server: HTTPServer) -> Any:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text.replace("https://hub.docker.com", origin(server)))


def sequence(*responses: Response) -> Callable[[Request], Response]:
    queue = list(responses)

    def handler(_: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def quota(remaining: int, reset: int | str | None = None) -> dict[str, str]:
    """The Hub's rate-limit headers (180 requests per window, as anonymous callers get)."""
    headers = {"X-RateLimit-Limit": "180", "X-RateLimit-Remaining": str(remaining)}
    if reset is not None:
        headers["X-RateLimit-Reset"] = str(reset)
    return headers


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status, headers=headers, content_type="application/json")


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(httpserver: HTTPServer, sleeps: Recorder) -> Iterator[Callable[..., HubClient]]:
    clients: list[HubClient] = []

    def make(**options: Any) -> HubClient:
        options.setdefault("policy", FAST)
        options.setdefault("budget", WaitBudget(60))
        options.setdefault("sleep", sleeps)
        client = HubClient(
            build_client(HttpSettings()), base_url=origin(httpserver), owns_http=True, **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def serve_three_pages(server: HTTPServer, headers: dict[str, str] | None = None) -> None:
    server.expect_request(REPOS, query_string="page_size=3").respond_with_json(
        fixture("repositories-page-1.json", server), headers=headers
    )
    for number in (2, 3):
        server.expect_request(REPOS, query_string=f"page={number}&page_size=3").respond_with_json(
            fixture(f"repositories-page-{number}.json", server), headers=headers
        )


# --- pagination and parsing -------------------------------------------------------------


def test_three_pages_are_followed_through_absolute_next_links(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_three_pages(httpserver)
    progress: list[tuple[int, int | None]] = []
    client = make_client(page_size=3)
    repos = list(
        client.iter_repositories(on_page=lambda done, total: progress.append((done, total)))
    )
    names = ["python", "node", "alpine", "debian", "nginx", "java", "centos", "xss-probe"]
    assert [r.name for r in repos] == names
    assert progress == [(3, 8), (6, 8), (8, 8)]
    assert len(httpserver.log) == 3 and client.skipped == []
    python = repos[0]
    assert python.namespace == "library" and python.status == "active"
    assert python.pull_count == 9143552108 and python.star_count == 10142
    assert python.last_updated == datetime(2026, 8, 20, 23, 41, 7, 553171, tzinfo=UTC)
    assert python.date_registered is not None and python.date_registered.tzinfo is UTC
    assert python.categories == ("languages-and-frameworks",)
    java = repos[5]
    assert java.description is not None and java.description.startswith("DEPRECATED; use")
    assert java.categories == ()


def test_untrusted_description_is_kept_verbatim_as_data(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_three_pages(httpserver)
    repos = {r.name: r for r in make_client(page_size=3).iter_repositories()}
    assert repos["xss-probe"].description is not None
    assert repos["xss-probe"].description.startswith("<script>alert(1)</script>")


def test_a_next_link_to_another_host_is_refused(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    page = fixture("repositories-page-1.json", httpserver)
    page["next"] = "https://hub.docker.com.evil.example/v2/namespaces/library/repositories?page=2"
    httpserver.expect_request(REPOS).respond_with_json(page)
    listing = make_client(page_size=3).iter_repositories()
    assert [next(listing).name for _ in range(3)] == ["python", "node", "alpine"]
    with pytest.raises(HubError, match="refusing to follow the next link to another origin"):
        next(listing)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.2:{port}/v2/namespaces/library/repositories?page=2",  # another host
        "http://localhost:1/v2/namespaces/library/repositories?page=2",  # another port
        "https://localhost:{port}/v2/namespaces/library/repositories?page=2",  # another scheme
    ],
)
def test_next_links_must_keep_scheme_host_and_port(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], link: str
) -> None:
    page = fixture("repositories-page-1.json", httpserver)
    page["next"] = link.format(port=httpserver.port)
    httpserver.expect_request(REPOS).respond_with_json(page)
    with pytest.raises(HubError, match="another origin"):
        list(make_client(page_size=3).iter_repositories())
    assert len(httpserver.log) == 1


def test_a_relative_next_link_is_resolved_on_the_same_origin(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    first = fixture("repositories-page-1.json", httpserver)
    first["next"] = f"{REPOS}?page=2&page_size=3"
    last = fixture("repositories-page-3.json", httpserver)
    httpserver.expect_request(REPOS, query_string="page_size=3").respond_with_json(first)
    httpserver.expect_request(REPOS, query_string="page=2&page_size=3").respond_with_json(last)
    assert len(list(make_client(page_size=3).iter_repositories())) == 5


def test_a_next_link_that_loops_is_an_error(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    page = fixture("repositories-page-1.json", httpserver)
    page["next"] = f"{origin(httpserver)}{REPOS}?page_size=3"
    httpserver.expect_request(REPOS).respond_with_json(page)
    with pytest.raises(HubError, match="loops back"):
        list(make_client(page_size=3).iter_repositories())


def test_an_empty_page_that_still_links_onwards_is_an_error(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    page = {"count": 400, "next": f"{origin(httpserver)}{REPOS}?page=2", "results": []}
    httpserver.expect_request(REPOS).respond_with_json(page)
    with pytest.raises(HubError, match="empty page"):
        list(make_client().iter_repositories())


def test_one_malformed_result_is_skipped_with_its_reason(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], caplog: pytest.LogCaptureFixture
) -> None:
    page = fixture("repositories-page-1.json", httpserver)
    page["next"] = None
    page["results"][1]["pull_count"] = "lots"  # node
    page["results"].append("not an object")
    impostor = dict(page["results"][0], name="python", namespace="someone-else")
    page["results"].append(impostor)
    httpserver.expect_request(REPOS).respond_with_json(page)
    client = make_client()
    with caplog.at_level(logging.INFO, logger="imagetrust.catalog.hub"):
        repos = list(client.iter_repositories())
    assert [r.name for r in repos] == ["python", "alpine"]
    reasons = [(s.index, s.name, s.reason) for s in client.skipped]
    assert reasons[0][:2] == (1, "node") and reasons[0][2].startswith("pull_count:")
    assert reasons[1] == (3, None, "not an object")
    assert reasons[2] == (4, "python", "namespace is not 'library'")
    assert all(REPOS in str(s) for s in client.skipped)
    assert "'node') skipped: pull_count" in caplog.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "../../etc"),  # would change the tags URL
        ("star_count", -1),
        ("is_private", "no"),
        ("last_updated", "yesterday"),
        ("categories", [{"name": "x"}]),
        ("pull_count", True),  # a bool is not a count
    ],
)
def test_results_with_wrong_types_are_skipped(field: str, value: object) -> None:
    item = json.loads((FIXTURES / "repositories-page-1.json").read_text())["results"][0]
    item[field] = value
    page = parse_repositories_page({"count": 1, "next": None, "results": [item]}, "u")
    assert page.items == () and page.skipped[0].reason.startswith(field)


def test_timestamps_become_aware_utc_and_missing_ones_none() -> None:
    item = json.loads((FIXTURES / "repositories-page-1.json").read_text())["results"][0]
    item["last_updated"] = "2026-08-20T23:41:07.5+02:00"
    item["date_registered"] = "2014-06-05T19:54:00"  # no offset: the Hub means UTC
    del item["status_description"]
    for absent in ("description", "star_count", "categories"):
        item[absent] = None
    (repo,) = parse_repositories_page({"results": [item]}, "u").items
    assert repo.last_updated == datetime(2026, 8, 20, 21, 41, 7, 500000, tzinfo=UTC)
    assert repo.date_registered == datetime(2014, 6, 5, 19, 54, tzinfo=UTC)
    assert repo.status == "active"  # from the numeric status 1
    assert (repo.description, repo.star_count, repo.categories) == (None, None, ())


# --- malformed pages --------------------------------------------------------------------


def test_malformed_json_is_a_hub_error_naming_the_url(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    httpserver.expect_request(REPOS).respond_with_data(
        "<html>Bad gateway, sort of</html>", content_type="text/html"
    )
    with pytest.raises(HubError, match="not valid JSON") as info:
        list(make_client().iter_repositories())
    assert f"{origin(httpserver)}{REPOS}?page_size=100" in str(info.value)
    assert isinstance(info.value, CatalogError) and info.value.url is not None


@pytest.mark.parametrize(
    "body",
    [
        {"count": 3, "next": None},  # no results
        {"count": "three", "results": []},
        {"results": {"python": {}}},
        ["python", "node"],
        {"results": [], "next": 7},
    ],
)
def test_a_page_of_the_wrong_shape_is_a_hub_error(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], body: object
) -> None:
    httpserver.expect_request(REPOS).respond_with_json(body)
    with pytest.raises(HubError, match="not a Docker Hub result page") as info:
        list(make_client().iter_repositories())
    assert REPOS in str(info.value)


# --- retries and rate limits ------------------------------------------------------------


def test_429_with_retry_after_then_success(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], sleeps: Recorder
) -> None:
    page = fixture("repositories-page-3.json", httpserver)
    httpserver.expect_request(REPOS).respond_with_handler(
        sequence(Response("slow down", 429, headers={"Retry-After": "7"}), json_response(page))
    )
    budget = WaitBudget(10)
    assert len(list(make_client(budget=budget).iter_repositories())) == 2
    assert sleeps.sleeps == [7.0] and budget.remaining == 3


def test_429_with_an_epoch_retry_after_as_the_hub_sends_it(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], sleeps: Recorder
) -> None:
    """docker/hub-feedback#2459: the Hub put the reset's epoch time in Retry-After."""
    page = fixture("repositories-page-3.json", httpserver)
    reset = str(int(time.time()) + 30)
    limited = Response("{}", 429, headers={"Retry-After": reset, **quota(0, reset)})
    httpserver.expect_request(REPOS).respond_with_handler(
        sequence(limited, json_response(page, headers=quota(179)))
    )
    client = make_client(budget=WaitBudget(300))
    assert len(list(client.iter_repositories())) == 2
    assert len(sleeps.sleeps) == 1 and 25 <= sleeps.sleeps[0] <= 31
    assert client.rate_limit is not None and client.rate_limit.remaining == 179


def test_5xx_burst_then_success(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], sleeps: Recorder
) -> None:
    page = fixture("repositories-page-3.json", httpserver)
    httpserver.expect_request(REPOS).respond_with_handler(
        sequence(Response("bad gw", 502), Response("oops", 503), json_response(page))
    )
    assert len(list(make_client().iter_repositories())) == 2
    assert sleeps.sleeps == [0.01, 0.02] and len(httpserver.log) == 3


def test_persistent_5xx_is_a_clear_hub_error(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    httpserver.expect_request(REPOS).respond_with_data("down", status=503)
    with pytest.raises(HubError, match=r"Docker Hub API GET .*: HTTP 503 after 4 attempts") as info:
        list(make_client().iter_repositories())
    assert info.value.status == 503 and len(httpserver.log) == 4


def test_quota_used_up_with_a_far_reset_stops_without_sleeping(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], sleeps: Recorder
) -> None:
    reset = int(time.time()) + 3600
    serve_three_pages(httpserver, headers=quota(0, reset))
    client = make_client(page_size=3, budget=WaitBudget(300))
    listing = client.iter_repositories()
    assert [next(listing).name for _ in range(3)] == ["python", "node", "alpine"]
    with pytest.raises(RateLimitedError) as info:
        next(listing)
    message = str(info.value)
    assert "all 180 requests" in message and "try again after" in message
    assert datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") in message
    assert "DOCKERHUB_TOKEN" in message  # anonymous: say how to get a larger quota
    assert info.value.retry_after is not None and info.value.retry_after > 3500
    assert sleeps.sleeps == [] and len(httpserver.log) == 1
    assert client.rate_limit is not None and client.rate_limit.remaining == 0


def test_quota_used_up_with_a_near_reset_waits_within_the_budget(
    httpserver: HTTPServer, make_client: Callable[..., HubClient], sleeps: Recorder
) -> None:
    now = datetime(2026, 8, 21, 12, 0, tzinfo=UTC)
    reset = int((now + timedelta(seconds=20)).timestamp())
    serve_three_pages(httpserver, headers=quota(0, reset))
    budget = WaitBudget(60)
    client = make_client(page_size=3, budget=budget, now=lambda: now)
    assert len(list(client.iter_repositories())) == 8
    assert sleeps.sleeps == [21.0]  # one wait for one reset, plus a second of slack
    assert budget.remaining == 39


def test_the_last_quota_seen_is_exposed(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_three_pages(httpserver, headers=quota(150, 1787400000))
    client = make_client(page_size=3)
    assert client.rate_limit is None
    list(client.iter_repositories())
    assert client.rate_limit is not None
    assert (client.rate_limit.limit, client.rate_limit.remaining) == (180, 150)
    assert client.rate_limit.reset_at == datetime.fromtimestamp(1787400000, UTC)


# --- tags -------------------------------------------------------------------------------


def test_tags_with_multi_arch_images(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    httpserver.expect_request(
        f"{REPOS}/python/tags", query_string="ordering=last_updated&page_size=100"
    ).respond_with_json(fixture("tags-python-page-1.json", httpserver))
    listing = make_client().list_tags("python")
    assert (listing.count, listing.complete) == (3, True)
    latest = listing.tags[0]
    assert latest.name == "latest" and latest.digest is not None
    assert latest.digest.startswith("sha256:") and len(latest.digest) == 71
    assert latest.tag_status == "active" and latest.full_size == latest.images[0].size
    assert latest.tag_last_pushed == datetime(2026, 8, 20, 23, 41, 7, 553171, tzinfo=UTC)
    platforms = {(i.os, i.architecture, i.variant) for i in latest.images}
    assert ("linux", "arm64", "v8") in platforms and ("linux", "arm", "v5") in platforms
    assert sum(1 for i in latest.images if i.os == "windows") == 2
    assert len({i.digest for i in latest.images}) == len(latest.images) == 10
    assert all(i.last_pushed is not None and i.status == "active" for i in latest.images)


def test_tags_can_stop_after_the_first_page_and_still_know_the_total(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    page = fixture("tags-alpine-page-1.json", httpserver)
    page["count"] = 1234
    page["next"] = f"{origin(httpserver)}{REPOS}/alpine/tags?page=2&page_size=100"
    httpserver.expect_request(f"{REPOS}/alpine/tags").respond_with_json(page)
    progress: list[tuple[int, int | None]] = []
    listing = make_client().list_tags(
        "alpine", max_pages=1, on_page=lambda done, total: progress.append((done, total))
    )
    assert [t.name for t in listing.tags] == ["latest", "3.24", "3.23", "edge"]
    assert (listing.count, listing.complete) == (1234, False)
    assert progress == [(4, 1234)] and len(httpserver.log) == 1


def test_tags_of_an_unknown_repository_is_a_404_hub_error(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    httpserver.expect_request(f"{REPOS}/nope/tags").respond_with_json(
        {"message": "object not found", "errinfo": {}}, status=404
    )
    with pytest.raises(HubError, match="HTTP 404: no such namespace or repository") as info:
        list(make_client().iter_tags("nope"))
    assert info.value.status == 404


@pytest.mark.parametrize("name", ["../etc", "Python", "a/b", "", "x" * 300])
def test_repository_names_are_checked_before_they_reach_a_url(
    make_client: Callable[..., HubClient], name: str
) -> None:
    with pytest.raises(ConfigError, match="not a valid Docker Hub repository name"):
        list(make_client().iter_tags(name))


def test_a_bad_tag_digest_skips_that_tag_only(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    page = fixture("tags-alpine-page-1.json", httpserver)
    page["results"][1]["digest"] = "sha256:../../etc/passwd"
    page["results"][2]["images"][0]["size"] = "3 MB"
    httpserver.expect_request(f"{REPOS}/alpine/tags").respond_with_json(page)
    client = make_client()
    assert [t.name for t in client.iter_tags("alpine")] == ["latest", "edge"]
    assert [(s.name, s.reason.split(":")[0]) for s in client.skipped] == [
        ("3.24", "digest"),
        ("3.23", "images.0.size"),
    ]


def test_settings_validate_the_base_url_and_namespace() -> None:
    http = build_client(HttpSettings())
    try:
        with pytest.raises(ConfigError, match=r"\[hub\] url"):
            HubClient(http, base_url="hub.docker.com")
        with pytest.raises(ConfigError, match="namespace"):
            HubClient(http, namespace="Library/../x")
    finally:
        http.close()


# --- authentication ---------------------------------------------------------------------


def credentials() -> HubCredentials:
    return HubCredentials("alice", Secret(PAT))


def serve_token(server: HTTPServer) -> None:
    server.expect_request(
        "/v2/auth/token", method="POST", json={"identifier": "alice", "secret": PAT}
    ).respond_with_json({"access_token": ACCESS})


def test_token_exchange_then_bearer_on_every_request(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_token(httpserver)
    serve_three_pages(httpserver)
    client = make_client(page_size=3, credentials=credentials())
    assert len(list(client.iter_repositories())) == 8
    methods = [(request.method, request.path) for request, _ in httpserver.log]
    assert methods == [("POST", "/v2/auth/token")] + [("GET", REPOS)] * 3
    login = httpserver.log[0][0]
    assert "Authorization" not in login.headers
    for request, _ in httpserver.log[1:]:
        assert request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_anonymous_requests_carry_no_authorization(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_three_pages(httpserver)
    list(make_client(page_size=3).iter_repositories())
    assert all("Authorization" not in request.headers for request, _ in httpserver.log)


def test_the_legacy_login_is_used_when_the_token_endpoint_is_missing(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    httpserver.expect_request("/v2/auth/token", method="POST").respond_with_data("", status=404)
    httpserver.expect_request(
        "/v2/users/login", method="POST", json={"username": "alice", "password": PAT}
    ).respond_with_json({"token": ACCESS})
    httpserver.expect_request(f"{REPOS}/alpine/tags").respond_with_json(
        fixture("tags-alpine-page-1.json", httpserver)
    )
    client = make_client(credentials=credentials())
    assert len(list(client.iter_tags("alpine"))) == 4
    assert httpserver.log[-1][0].headers["Authorization"] == f"Bearer {ACCESS}"


def test_an_expired_access_token_is_renewed_once(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    serve_token(httpserver)
    page = fixture("repositories-page-3.json", httpserver)
    httpserver.expect_request(REPOS).respond_with_handler(
        sequence(json_response({"detail": "token expired"}, 401), json_response(page))
    )
    assert len(list(make_client(credentials=credentials()).iter_repositories())) == 2
    paths = [request.path for request, _ in httpserver.log]
    assert paths == ["/v2/auth/token", REPOS, "/v2/auth/token", REPOS]


def test_the_token_never_appears_in_logs_errors_or_reprs(
    httpserver: HTTPServer,
    make_client: Callable[..., HubClient],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another test may have run configure_logging(), which stops propagation to caplog.
    monkeypatch.setattr(logging.getLogger("imagetrust"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    serve_token(httpserver)
    httpserver.expect_request(REPOS).respond_with_data("{not json", status=200)
    httpserver.expect_request(f"{REPOS}/python/tags").respond_with_data("down", status=503)
    creds = credentials()
    client = make_client(credentials=creds)
    errors: list[BaseException] = []
    for listing in (client.iter_repositories, lambda: client.iter_tags("python")):
        with pytest.raises(HubError) as info:
            list(listing())
        errors.append(info.value)

    httpserver.clear()
    httpserver.expect_request("/v2/auth/token", method="POST").respond_with_json(
        {"detail": f"bad credentials {PAT}"},
        status=401,  # even if the Hub echoed it back
    )
    with pytest.raises(HubError, match="login as 'alice' failed: HTTP 401") as info:
        list(make_client(credentials=creds).iter_repositories())
    errors.append(info.value)

    assert "GET" in caplog.text and "HTTP Request" in caplog.text  # the capture did work
    shown = [caplog.text, repr(client), repr(creds), str(creds), repr(creds.token)]
    for error in errors:
        while error is not None:
            shown += [str(error), repr(error), repr(error.args)]
            error = error.__cause__ or error.__context__  # type: ignore[assignment]
    for text in shown:
        assert PAT not in text and ACCESS not in text
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_credentials_come_from_both_variables_or_neither() -> None:
    assert HubCredentials.from_env({}) is None
    creds = HubCredentials.from_env({"DOCKERHUB_USERNAME": "alice", "DOCKERHUB_TOKEN": PAT})
    assert creds is not None and creds.username == "alice" and creds.token.reveal() == PAT
    with pytest.raises(ConfigError, match="DOCKERHUB_TOKEN is not set"):
        HubCredentials.from_env({"DOCKERHUB_USERNAME": "alice"})
    with pytest.raises(ConfigError, match="DOCKERHUB_USERNAME is not set") as info:
        HubCredentials.from_env({"DOCKERHUB_TOKEN": PAT})
    assert PAT not in str(info.value)


# --- the recording ----------------------------------------------------------------------


def test_the_bundled_recording_loads_through_the_live_parsers() -> None:
    repos, tags = load_recording(bundled_recording())
    by_name = {r.name: r for r in repos}
    assert set(by_name) == {
        "alpine",
        "almalinux",
        "debian",
        "python",
        "nginx",
        "node",
        "openjdk",
        "java",
        "sentry",
    }
    assert set(tags) == set(by_name)
    assert by_name["java"].description == (
        'DEPRECATED; use "openjdk" (or other JDK implementations) instead'
    )
    assert by_name["sentry"].last_updated is not None
    assert by_name["sentry"].last_updated.year == 2021
    assert all(r.pull_count and r.pull_count > 1_000_000 for r in repos)
    assert by_name["nginx"].pull_count > by_name["java"].pull_count  # type: ignore[operator]
    python_latest = next(t for t in tags["python"] if t.name == "latest")
    assert len(python_latest.images) >= 8 and python_latest.digest is not None
    assert all(t.digest and len(t.images) == 1 for t in tags["java"])


def test_the_recording_and_the_live_client_read_the_same(
    httpserver: HTTPServer, make_client: Callable[..., HubClient]
) -> None:
    root = Path(str(bundled_recording()))
    httpserver.expect_request(REPOS).respond_with_data(
        (root / "repositories" / "page-1.json").read_text(), content_type="application/json"
    )
    for folder in (root / "tags").iterdir():
        httpserver.expect_request(f"{REPOS}/{folder.name}/tags").respond_with_data(
            (folder / "page-1.json").read_text(), content_type="application/json"
        )
    client = make_client()
    live_repos = list(client.iter_repositories())
    live_tags = {r.name: list(client.iter_tags(r.name)) for r in live_repos}
    assert (live_repos, live_tags) == load_recording(bundled_recording())


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    target = tmp_path / "hub"
    shutil.copytree(Path(str(bundled_recording())), target)
    return target


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_recording_with_a_malformed_result_is_rejected(recording: Path) -> None:
    page = recording / "repositories" / "page-1.json"
    _edit(page, lambda d: d["results"][0].update(pull_count="many"))
    with pytest.raises(HubError, match="malformed result in a recording"):
        load_recording(recording)


def test_a_recording_must_chain_its_pages(recording: Path) -> None:
    tags = recording / "tags" / "alpine"
    shutil.copy(tags / "page-1.json", tags / "page-2.json")
    with pytest.raises(HubError, match="page 1 of 2 should have a next link"):
        load_recording(recording)
    (tags / "page-2.json").rename(tags / "page-3.json")
    with pytest.raises(HubError, match="without gaps"):
        load_recording(recording)


def test_a_recording_count_must_match_its_results(recording: Path) -> None:
    _edit(recording / "tags" / "java" / "page-1.json", lambda d: d.update(count=99))
    with pytest.raises(HubError, match="count=99 but hold 4"):
        load_recording(recording)


def test_a_recording_cannot_hold_tags_of_an_unlisted_repository(recording: Path) -> None:
    shutil.copytree(recording / "tags" / "alpine", recording / "tags" / "busybox")
    with pytest.raises(HubError, match="'busybox', which is not a listed repository"):
        load_recording(recording)
