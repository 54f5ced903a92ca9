"""The dashboard in headless Chromium (Debian's ``chromium`` driven by Playwright): a job
enqueued through the API appears on an open dashboard, reaches ``completed`` by polling,
its page links the bundle, the link downloads it; a phone-sized viewport does not overflow.

The worker stores bundles under EXPORTS_DIR and a static HTTP server on loopback serves that
folder as EXPORT_BUCKET_URL, as a bucket or CDN would.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pacai_export.settings import Settings
from tests.api.conftest import TOKEN, ApiProcess
from tests.helpers import CHROMIUM, job_data, require_playwright

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 740}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP: (EXPORTS_DIR, EXPORT_BUCKET_URL)."""
    root = tmp_path / "bucket"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()




def test_dashboard_in_chromium_follows_a_job_to_its_download(
        api_settings: Settings, bucket: tuple[Path, str], start_worker: Any, start_api: Any,
        tmp_path: Path) -> None:
    exports, bucket_url = bucket
    s = dataclasses.replace(api_settings, exports_dir=exports, export_bucket_url=bucket_url)
    api: ApiProcess = start_api(s)
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            _desktop_session(browser, api, s, start_worker, tmp_path)
            _phone_layout(browser, api, tmp_path)
        finally:
            browser.close()


def _desktop_session(browser: Any, api: ApiProcess, s: Settings, start_worker: Any,
                     tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)

    sign_in(page, api)
    problems.clear()  # the login form itself answers 401
    assert page.title() == "Export queue · PacAI exports"
    page.wait_for_selector("#live:text-matches('^live ')")

    # Enqueue while the page is open: the row can only appear through live updates.
    with api.client() as http:
        data = job_data("browser-arena", include_assets=False)
        job_id = http.post("/v5/export", json=data).json()["id"]
    row = page.locator(f'li.job[data-id="{job_id}"]')
    row.wait_for(timeout=15_000)
    assert row.locator(".project").inner_text() == "browser-arena"
    start_worker(s)
    page.wait_for_selector(f'li.job[data-id="{job_id}"][data-state="completed"]',
                           timeout=90_000)
    assert row.locator(".pct").inner_text() == "100%"
    assert row.locator("progress").get_attribute("value") == "100"
    assert page.locator('.count[data-state="completed"] .n').inner_text() == "1"
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    row.locator("a.id").click()
    page.wait_for_url(f"{api.base}/dashboard/jobs/{job_id}")
    with api.client() as http:
        result = http.get(f"/v5/export/{job_id}").json()["result"]
    link = page.locator("#download")
    assert link.get_attribute("href") == result["download_url"]
    assert result["download_url"].startswith(s.export_bucket_url + "/browser-arena/")
    assert page.locator("#state").inner_text() == "completed"
    assert page.locator("#retry").is_hidden()
    page.wait_for_selector("#logs:text-matches('stage=done key=')")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "downloaded.zip"
    info.value.save_as(saved)
    bundle = saved.read_bytes()
    assert (len(bundle), hashlib.sha256(bundle).hexdigest()) == (result["bytes"],
                                                                  result["sha256"])
    page.screenshot(path=str(tmp_path / "job.png"), full_page=True)
    assert problems == []
    context.close()


def sign_in(page: Any, api: ApiProcess) -> None:
    """The login form, as a person uses it (a same-origin POST)."""
    page.goto(f"{api.base}/dashboard")
    page.fill("#token", TOKEN)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == f"{api.base}/dashboard", page.content()[:3000]


def _phone_layout(browser: Any, api: ApiProcess, tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    sign_in(page, api)
    page.wait_for_selector("li.job")
    widths = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        widest: Math.max(...[...document.querySelectorAll('li.job, .count, header')]
                         .map(e => e.getBoundingClientRect().right)),
    })""")
    assert widths["client"] == PHONE["width"]
    assert widths["scroll"] <= widths["client"], widths
    assert widths["widest"] <= widths["client"], widths
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    context.close()
