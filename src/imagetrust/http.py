"""HTTP plumbing shared by every client that talks to the outside: retries and rate limits.

The Hub API, registries and vulnerability feeds all rate-limit and all have bad minutes.
One policy serves them: retry 429, 5xx and connection failures with exponential backoff and
full jitter, honour ``Retry-After``, and never wait longer in total than the run's
``WaitBudget`` allows (``[http] max_wait``): past that the request fails with
``RateLimitedError`` saying when to come back, so a run stops cleanly instead of hanging.

Only ``catalog`` (Hub client), ``oci``, ``vulndb`` and ``evaluate`` (the endoflife.date
client) import this module; it imports httpx and tenacity, so callers import it lazily.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
)

from imagetrust import __version__
from imagetrust.errors import ImagetrustError

if TYPE_CHECKING:
    from imagetrust.config import HttpSettings

log = logging.getLogger(__name__)

USER_AGENT = f"imagetrust/{__version__} (+https://github.com/imagetrust/imagetrust)"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class HttpError(ImagetrustError):
    """A request failed for good (after retries, or with a non-retryable status)."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class RateLimitedError(HttpError):
    """The service asked us to wait longer than the run's wait budget allows."""

    def __init__(self, message: str, *, url: str, retry_after: float | None) -> None:
        super().__init__(message, url=url, status=429)
        self.retry_after = retry_after


@dataclass
class WaitBudget:
    """Total seconds one run may spend sleeping on retries, shared by all its clients."""

    max_total: float
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return max(0.0, self.max_total - self.spent)

    def take(self, seconds: float) -> bool:
        if seconds > self.remaining:
            return False
        self.spent += seconds
        return True


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; tests shrink the delays, never the logic."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: Callable[[float], float] = field(default=lambda cap: random.uniform(0, cap))  # noqa: S311

    @classmethod
    def from_settings(cls, settings: HttpSettings) -> RetryPolicy:
        return cls(attempts=settings.retries + 1)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(attempt-1))]."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return self.jitter(cap)


@dataclass(frozen=True)
class RateLimitInfo:
    """What a response says about the caller's remaining quota, in either header style.

    Docker Hub's API sends ``X-RateLimit-Limit/Remaining/Reset`` (reset as epoch seconds);
    registries send ``RateLimit-Limit: 100;w=21600`` and ``RateLimit-Remaining: 76;w=21600``.
    """

    limit: int | None
    remaining: int | None
    reset_at: datetime | None = None
    window_seconds: int | None = None


_EPOCH_THRESHOLD = 1_000_000_000  # seconds: larger "delays" are epoch timestamps (2001+)
_QUOTA = re.compile(r"^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


def _quota(value: str | None) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    match = _QUOTA.match(value)
    if not match:
        return None, None
    return int(match.group(1)), (int(match.group(2)) if match.group(2) else None)


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitInfo | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    limit, window = _quota(lowered.get("x-ratelimit-limit") or lowered.get("ratelimit-limit"))
    remaining, window2 = _quota(
        lowered.get("x-ratelimit-remaining") or lowered.get("ratelimit-remaining")
    )
    if limit is None and remaining is None:
        return None
    reset_at = None
    reset = lowered.get("x-ratelimit-reset") or lowered.get("ratelimit-reset")
    if reset and reset.strip().isdigit():
        seconds = int(reset.strip())
        # Large values are epoch timestamps (Hub); small ones are delta seconds (IETF draft).
        reset_at = (
            datetime.fromtimestamp(seconds, UTC)
            if seconds > 1_000_000_000
            else datetime.fromtimestamp(time.time() + seconds, UTC)
        )
    return RateLimitInfo(limit, remaining, reset_at, window or window2)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Docker Hub's API has been seen sending an epoch timestamp here instead of seconds
    (docker/hub-feedback#2459); a value that large can only be a moment, not a delay.
    """
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
        if seconds > _EPOCH_THRESHOLD:
            return max(0.0, seconds - (now or datetime.now(UTC)).timestamp())
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def build_client(
    settings: HttpSettings,
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
) -> httpx.Client:
    """An httpx client with the configured timeout, proxy and CA bundle."""
    verify: Any = settings.ca_bundle if settings.ca_bundle else True
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=httpx.Timeout(settings.timeout),
        proxy=settings.proxy,
        verify=verify,
        follow_redirects=follow_redirects,
    )


def _is_retryable_exception(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError)


def _is_retryable_response(response: httpx.Response | None) -> bool:
    return response is not None and response.status_code in RETRYABLE_STATUS


def _what_failed(outcome: Any) -> str:
    if outcome is None:
        return "failed"
    if outcome.failed:
        return type(outcome.exception()).__name__
    return f"HTTP {outcome.result().status_code}"


def send_with_retries(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    budget: WaitBudget,
    stream: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    what: str | None = None,
) -> httpx.Response:
    """Send ``request``; retry transient failures within ``policy`` and ``budget``.

    Returns the final response whatever its status (the caller decides what a 404 means),
    except that a retryable status still failing after the last attempt raises
    ``HttpError``, and a wait past the budget raises ``RateLimitedError``. With ``stream``
    the caller must close the response.
    """
    label = what or f"{request.method} {request.url.copy_with(query=None)}"
    url = str(request.url)

    attempts = max(1, policy.attempts)

    def wait(state: RetryCallState) -> float:
        # Tenacity asks for the wait before it checks the attempt limit: after the last
        # attempt there is no wait to take from the budget, announce or refuse.
        if state.attempt_number >= attempts:
            return 0.0
        outcome = state.outcome
        delay = policy.backoff(state.attempt_number)
        if outcome is not None and not outcome.failed:
            response: httpx.Response = outcome.result()
            asked = parse_retry_after(response.headers.get("retry-after"))
            if asked is not None:
                delay = asked
        if not budget.take(delay):
            raise RateLimitedError(
                f"{label}: asked to wait {delay:.0f}s, more than the {budget.remaining:.0f}s "
                "left of this run's wait budget ([http] max_wait); try again later",
                url=url,
                retry_after=delay,
            )
        return delay

    def before_sleep(state: RetryCallState) -> None:
        """Runs only when a retry will happen: the log names the attempt about to be made."""
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            outcome.result().close()
        log.info(
            "%s: %s; attempt %d of %d in %.1fs",
            label,
            _what_failed(outcome),
            state.attempt_number + 1,
            attempts,
            state.upcoming_sleep,
        )

    def give_up(state: RetryCallState) -> httpx.Response:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            exc = outcome.exception()
            raise HttpError(
                f"{label}: {type(exc).__name__}: {exc} (after {state.attempt_number} attempts)",
                url=url,
            ) from exc
        response: httpx.Response = outcome.result()
        response.close()
        if response.status_code == 429:
            raise RateLimitedError(
                f"{label}: still rate limited (HTTP 429) after {state.attempt_number} attempts",
                url=url,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        raise HttpError(
            f"{label}: HTTP {response.status_code} after {state.attempt_number} attempts",
            url=url,
            status=response.status_code,
        )

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception(_is_retryable_exception) | retry_if_result(_is_retryable_response),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
        sleep=sleep,
        reraise=False,
    )
    response: httpx.Response = retrying(client.send, request, stream=stream)
    return response
