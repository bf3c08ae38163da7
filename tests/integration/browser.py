"""Headless Chromium for the tests that open pages (the report bundle, the demo's report, the docs
site): Debian's package (`make browser` installs it), driven by playwright, which never downloads a
browser here; and the check every cluster page of a report must pass."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"


def chromium_args(profile: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}"]


@contextmanager
def browser_page(tmp_path):
    """A page of headless Chromium, offline, and the problems (console errors and warnings, page
    errors, failed requests) and the URLs of the requests it saw."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright
    problems, requests = [], []
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    with sync_playwright() as playwright:
        # A persistent context is the only way to give Chromium a user data dir of its own; playwright
        # passes it as --user-data-dir, so it is not among the args.
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=chromium_args(profile)[:-1],
            viewport={"width": 1360, "height": 900}, offline=True)
        try:
            page = context.new_page()
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            yield page, problems, requests
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def check_cluster_page(page, href):
    """The verdict, the verdict and gate tables are visible, and every chart has a size."""
    assert page.url.endswith(href.split("#")[0]) or href.split("#")[0] in page.url, page.url
    assert page.locator(".verdict .word").first.is_visible()
    assert page.locator("table.verdicts").is_visible()
    assert page.locator("table.gates").is_visible()
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
        const box = svg.getBoundingClientRect();
        return {width: box.width, height: box.height, compare: svg.closest('.compare') !== null,
                marks: svg.querySelectorAll('rect, circle, polyline, path').length};
    })""")
    charts = [box for box in boxes if not box["compare"]]  # five per test, and one per comparison of a test
    assert len(charts) >= 5 and len(charts) % 5 == 0, boxes
    assert len(boxes) - len(charts) == page.locator(".compare").count()
    for box in boxes:
        assert box["width"] > 100 and box["height"] > 50 and box["marks"] > 1, (href, box)
