"""The pull budget: stop before a registry's manifest quota runs out, and say what is left.

Docker Hub counts every manifest GET as a pull (per IP when anonymous, per account when
logged in) and reports the quota on each response as ``RateLimit-Limit: 100;w=21600`` and
``RateLimit-Remaining: 76;w=21600``; ``HEAD`` is free and reports it too. A run that
ignores this gets 429s halfway through the catalog. So every manifest GET asks the budget
first: once the last known remaining count is at the reserve (or a local cap is reached)
the run stops with ``PullBudgetExhaustedError``, and ``snapshot()`` tells the next run
where things stand. Blobs are not counted: registries do not count them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct

from imagetrust.oci.errors import PullBudgetExhaustedError


class RegistryQuota(Struct):
    registry: str
    limit: int | None = None
    remaining: int | None = None
    window_seconds: int | None = None
    reset_at: datetime | None = None
    pulls: int = 0
    in_flight: int = 0  # pulls allowed whose response has not come yet

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "limit": self.limit,
            "remaining": self.remaining,
            "window_seconds": self.window_seconds,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "pulls": self.pulls,
        }


class PullBudget:
    """Per-registry quota state shared by all clients of one run (thread-safe)."""

    def __init__(self, *, reserve: int = 0, max_pulls: int | None = None) -> None:
        self.reserve = max(0, reserve)
        self.max_pulls = max_pulls
        self._quotas: dict[str, RegistryQuota] = {}
        self._lock = threading.Lock()

    def quota(self, registry: str) -> RegistryQuota:
        with self._lock:
            return self._quotas.setdefault(registry, RegistryQuota(registry))

    def before_pull(self, registry: str, what: str) -> None:
        """Raise instead of spending a pull the budget does not allow; else hold one until
        the response is observed (or ``release`` gives it back).

        Manifests are fetched from several threads at once (``run`` fetches ahead): the
        pulls already allowed but not yet answered count against the budget, so two
        threads can never both take the last one.
        """
        quota = self.quota(registry)
        with self._lock:
            spent = quota.pulls + quota.in_flight
            if self.max_pulls is not None and spent >= self.max_pulls:
                problem = (
                    f"{registry}: pull budget spent ({spent} of {self.max_pulls} manifest "
                    f"pulls this run); not fetching {what}"
                )
            elif quota.remaining is not None and quota.remaining - quota.in_flight <= self.reserve:
                left = quota.remaining - quota.in_flight
                problem = (
                    f"{registry}: only {left} pulls left of {quota.limit or '?'} "
                    f"(keeping {self.reserve} in reserve); not fetching {what}"
                )
            else:
                quota.in_flight += 1
                return
        raise PullBudgetExhaustedError(problem, hint=self.describe(registry))

    def release(self, registry: str) -> None:
        """A pull ``before_pull`` allowed got no response (the request failed)."""
        quota = self.quota(registry)
        with self._lock:
            quota.in_flight = max(0, quota.in_flight - 1)

    def observe(
        self, registry: str, headers: Mapping[str, str], *, pulled: bool, held: bool = False
    ) -> None:
        """Account for one response: a manifest GET (``pulled``) or a free HEAD; ``held``:
        the answer to a GET ``before_pull`` allowed, whose hold ends here."""
        from imagetrust.http import parse_rate_limit  # HTTP only matters once we speak it

        info = parse_rate_limit(headers)
        quota = self.quota(registry)
        with self._lock:
            if held:
                quota.in_flight = max(0, quota.in_flight - 1)
            if pulled:
                quota.pulls += 1
            if info is None:
                if pulled and quota.remaining is not None:
                    quota.remaining = max(0, quota.remaining - 1)
                return
            quota.limit = info.limit if info.limit is not None else quota.limit
            quota.remaining = info.remaining if info.remaining is not None else quota.remaining
            quota.window_seconds = info.window_seconds or quota.window_seconds
            quota.reset_at = info.reset_at or quota.reset_at

    def describe(self, registry: str) -> str:
        quota = self.quota(registry)
        parts = [f"{quota.pulls} manifest pulls made"]
        if quota.remaining is not None:
            parts.append(f"{quota.remaining} of {quota.limit or '?'} left")
        if quota.window_seconds:
            parts.append(f"window {quota.window_seconds}s")
        if quota.reset_at is not None:
            parts.append(f"resets at {quota.reset_at:%Y-%m-%d %H:%M:%SZ}")
        return f"{registry}: " + ", ".join(parts)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [q.as_dict() for q in sorted(self._quotas.values(), key=lambda q: q.registry)]
