"""One HTTP client, retry policy and wait budget shared by every registry a session talks to.

A run may touch Docker Hub, its token service, mirrors and CDNs; sharing one ``httpx``
client reuses connections, and sharing one ``WaitBudget`` means all of them together never
wait longer than ``[http] max_wait``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from msgspec import Struct, field

from imagetrust.config import HttpSettings
from imagetrust.http import RetryPolicy, WaitBudget, build_client, send_with_retries


class Transport(Struct):
    client: httpx.Client
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    wait_budget: WaitBudget = field(default_factory=lambda: WaitBudget(300.0))
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_settings(
        cls,
        settings: HttpSettings,
        *,
        policy: RetryPolicy | None = None,
        wait_budget: WaitBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Transport:
        return cls(
            build_client(settings),
            policy or RetryPolicy.from_settings(settings),
            wait_budget or WaitBudget(settings.max_wait),
            sleep,
        )

    def send(
        self, request: httpx.Request, *, stream: bool = False, what: str | None = None
    ) -> httpx.Response:
        return send_with_retries(
            self.client,
            request,
            policy=self.policy,
            budget=self.wait_budget,
            stream=stream,
            sleep=self.sleep,
            what=what,
        )

    def close(self) -> None:
        self.client.close()
