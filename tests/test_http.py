"""Retries, Retry-After, wait budget and rate-limit headers against a loopback server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from imagetrust.config import HttpSettings
from imagetrust.http import (
    HttpError,
    RateLimitedError,
    RetryPolicy,
    WaitBudget,
    build_client,
    parse_rate_limit,
    parse_retry_after,
    send_with_retries,
)

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02, jitter=lambda cap: cap)


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def sequence(*responses: Response):  # type: ignore[no-untyped-def]
    queue = list(responses)

    def handler(_: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def get(
    server: HTTPServer,
    path: str,
    budget: WaitBudget | None = None,
    policy: RetryPolicy = FAST,
    sleep: Recorder | None = None,
) -> httpx.Response:
    with build_client(HttpSettings()) as client:
        request = client.build_request("GET", server.url_for(path))
        return send_with_retries(
            client,
            request,
            policy=policy,
            budget=budget or WaitBudget(60),
            sleep=sleep or Recorder(),
        )


def test_5xx_burst_then_success(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_handler(
        sequence(Response("oops", 503), Response("bad gw", 502), Response("ok", 200))
    )
    sleeps = Recorder()
    response = get(httpserver, "/x", sleep=sleeps)
    assert response.status_code == 200 and response.text == "ok"
    assert sleeps.sleeps == [0.01, 0.02]
    assert len(httpserver.log) == 3


def test_429_retry_after_is_honoured_and_charged_to_the_budget(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_handler(
        sequence(Response("slow down", 429, headers={"Retry-After": "7"}), Response("ok", 200))
    )
    sleeps, budget = Recorder(), WaitBudget(10)
    assert get(httpserver, "/x", budget=budget, sleep=sleeps).status_code == 200
    assert sleeps.sleeps == [7.0] and budget.remaining == 3


def test_wait_past_the_budget_stops_at_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(
        "later", status=429, headers={"Retry-After": "3600"}
    )
    sleeps = Recorder()
    with pytest.raises(RateLimitedError, match="wait budget") as info:
        get(httpserver, "/x", budget=WaitBudget(300), sleep=sleeps)
    assert info.value.retry_after == 3600 and sleeps.sleeps == []
    assert len(httpserver.log) == 1


def test_persistent_5xx_gives_up_with_status(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("down", status=500)
    with pytest.raises(HttpError, match="HTTP 500 after 4 attempts") as info:
        get(httpserver, "/x")
    assert info.value.status == 500 and len(httpserver.log) == 4


def test_the_retry_log_names_each_attempt_it_makes_and_no_wait_it_skips(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/x").respond_with_data("down", status=503)
    sleeps, budget = Recorder(), WaitBudget(60)
    caplog.set_level(logging.INFO, logger="imagetrust.http")
    with pytest.raises(HttpError, match="HTTP 503 after 4 attempts"):
        get(httpserver, "/x", budget=budget, sleep=sleeps)
    announced = [r.getMessage() for r in caplog.records if r.name == "imagetrust.http"]
    made = len(httpserver.log)
    # one line per retry actually made, each naming that attempt and the wait before it
    assert made == 4 and len(announced) == made - 1 == len(sleeps.sleeps)
    for number, (line, slept) in enumerate(zip(announced, sleeps.sleeps, strict=True), 2):
        assert line.endswith(f"HTTP 503; attempt {number} of {made} in {slept:.1f}s"), line
    # the budget pays for the waits that happened, not for one after the last attempt
    assert budget.spent == pytest.approx(sum(sleeps.sleeps))


def test_a_last_attempt_asked_to_wait_past_the_budget_still_reports_the_attempts(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/x").respond_with_data(
        "later", status=429, headers={"Retry-After": "30"}
    )
    budget = WaitBudget(65)  # room for the two waits between three attempts, not a third
    policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, jitter=lambda cap: cap)
    with pytest.raises(RateLimitedError, match=r"still rate limited .* after 3 attempts"):
        get(httpserver, "/x", budget=budget, policy=policy)
    assert budget.spent == 60 and len(httpserver.log) == 3


def test_non_retryable_status_is_returned_to_the_caller(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("nope", status=404)
    assert get(httpserver, "/x").status_code == 404
    assert len(httpserver.log) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    from tests.services.postgres import free_port

    port = free_port()
    sleeps = Recorder()
    with build_client(HttpSettings()) as client, pytest.raises(HttpError, match="ConnectError"):
        send_with_retries(
            client,
            client.build_request("GET", f"http://127.0.0.1:{port}/"),
            policy=FAST,
            budget=WaitBudget(5),
            sleep=sleeps,
        )
    assert len(sleeps.sleeps) == 3


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now) == 90.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_rate_limit_headers_both_styles() -> None:
    hub = parse_rate_limit(
        {
            "X-RateLimit-Limit": "180",
            "X-RateLimit-Remaining": "12",
            "X-RateLimit-Reset": "1795000000",
        }
    )
    assert hub is not None and (hub.limit, hub.remaining) == (180, 12)
    assert hub.reset_at == datetime.fromtimestamp(1795000000, UTC)
    registry = parse_rate_limit(
        {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"}
    )
    assert registry is not None
    assert (registry.limit, registry.remaining, registry.window_seconds) == (100, 76, 21600)
    assert parse_rate_limit({"content-type": "text/plain"}) is None


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=8, jitter=lambda cap: cap)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    randomised = RetryPolicy(base_delay=1, max_delay=8)
    assert all(0 <= randomised.backoff(5) <= 8 for _ in range(50))
