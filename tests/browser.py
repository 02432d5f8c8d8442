"""Debian's Chromium, driven by Playwright (never `playwright install`: no browser downloads),
on a page of a made-up origin whose every URL is answered from memory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def chromium_page(origin: str, served: dict[str, bytes]) -> Iterator[Any]:
    """A page at ``origin + "/"``; ``served`` maps each path (``"/"`` the page) to its bytes.
    Skips the test where Playwright or Chromium is missing, saying what installs it."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="requirements-dev.txt installs playwright"
    )
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium is not installed (scripts/setup-test.sh installs Debian's chromium)")

    def serve(route: Any) -> None:
        path = route.request.url[len(origin) :]
        kind = "text/html" if path == "/" else "application/octet-stream"
        route.fulfill(status=200, body=served[path], content_type=kind)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=exe, args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            page = browser.new_page()
            page.route(f"{origin}/**", serve)
            page.goto(f"{origin}/")
            yield page
        finally:
            browser.close()
