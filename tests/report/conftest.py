"""A real browser for the site tests: Playwright driving Debian's Chromium.

Never Playwright's own browser download: ``/usr/bin/chromium`` (``scripts/install-system-deps``
installs it), headless, without the sandbox when run as root (Chromium refuses to start
as root with it), with background networking, component updates and sync off, so the
browser itself sends nothing anywhere. Playwright gives each launch a fresh, temporary
profile (user data dir). One browser serves the whole session; each test gets its own
context, whose every request is checked: only ``file://`` and ``127.0.0.1`` may be reached.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.services.require import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        unavailable("Chromium", "no /usr/bin/chromium (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright", "the dev extra is not installed (make .venv/.installed-dev)")
        raise AssertionError("unreachable") from None
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=args)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """A page whose console errors, page errors and requests are recorded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


def allowed(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "file":
        return True
    return parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    seen = Watched(page)

    def route(route: Any) -> None:
        url = route.request.url
        seen.requested.append(url)
        if allowed(url):
            route.continue_()
        else:
            seen.refused.append(url)
            route.abort()

    context.route("**/*", route)
    page.on(
        "console",
        lambda message: seen.errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: seen.errors.append(f"failed: {request.url}"))
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(folder)`` -> the base URL of a loopback HTTP server for that folder."""
    servers: list[ThreadingHTTPServer] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """Saved under the test's folder, and under ``IMAGETRUST_SCREENSHOTS`` when set."""
    path = folder / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("IMAGETRUST_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)
    return path
