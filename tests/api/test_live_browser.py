"""The live dashboard and the 3D preview in headless Chromium (Debian's ``chromium`` driven by
Playwright, WebGL on SwiftShader), against ``pacai-export api`` and a real worker.

A scene with a known layout (green ground, a red box left of centre, a blue ball right of it)
is exported; the job page must follow it live over SSE with no poll request, then draw the
scene where the viewer's own camera says each object is, list every node, and be usable by
keyboard at 1280x800 and 390x844. Screenshots are saved under the test's tmp folder and their
paths printed (pytest -rA shows them).
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from pacai_export.render import CHROMIUM_ARGS
from pacai_export.settings import Settings
from tests.api.conftest import TOKEN, ApiProcess
from tests.helpers import CHROMIUM, LAYOUT, NODE_NAMES, VENV_BIN, require_playwright

pytestmark = pytest.mark.slow

BACKGROUND = (0x20, 0x24, 0x2B)
LAYOUTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _near(pixel: tuple[int, ...], colour: str) -> bool:
    r, g, b = pixel[:3]
    return {"red": r > 150 and r > 3 * g and r > 3 * b,
            "green": g > 120 and g > r + 40 and g > b + 40,
            "blue": b > 150 and b > r + 80 and b > g + 80,
            "background": max(abs(a - e) for a, e in zip((r, g, b), BACKGROUND,
                                                         strict=True)) <= 3}[colour]


def _launch(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _sign_in(page: Any, base: str) -> None:
    """Through the login form, as a person would (the token never enters a URL)."""
    page.goto(f"{base}/dashboard")
    page.fill("#token", TOKEN)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def test_job_page_is_live_then_previews_the_scene(
        api_settings: Settings, start_worker: Any, start_api: Any, tmp_path: Path) -> None:
    s = dataclasses.replace(api_settings, concurrency=1)
    api: ApiProcess = start_api(s)
    with api.client() as http:
        job_id = http.post("/v5/export", json={
            "project_id": "layout", "engines": ["godot", "ue5"], "include_assets": False,
            "quality": "low", "manifest": LAYOUT}).json()["id"]
    sync_playwright = require_playwright()
    shots: list[Path] = []
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            context = browser.new_context(viewport=LAYOUTS["desktop"])
            page = context.new_page()
            _sign_in(page, api.base)  # (the login page itself answers 401)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(urlsplit(r.url).path))
            page.goto(f"{api.base}/dashboard/jobs/{job_id}")
            page.wait_for_selector("#live:text-matches('^live ')")
            page.evaluate("""() => {
                window.seenProgress = [];
                new MutationObserver(() => window.seenProgress.push(
                    document.getElementById('pct').textContent))
                  .observe(document.getElementById('pct'), {childList: true});
            }""")
            start_worker(s)
            page.wait_for_selector("#state:text('completed')", timeout=90_000)
            seen = page.evaluate("window.seenProgress")
            _live_without_polling(page, requests, seen, job_id)
            canvas = page.locator("#scene")
            page.wait_for_selector("#scene[data-state=ready]", timeout=60_000)
            _scene_drawn_where_the_layout_puts_it(page, canvas, tmp_path, shots)
            names = page.locator("#node-tree .node-name").all_inner_texts()
            assert names == NODE_NAMES
            assert page.locator("#summary").inner_text().count("godot, ue5") == 1
            _keyboard(page, canvas, tmp_path, shots)
            for name, viewport in LAYOUTS.items():
                _readable(page, name, viewport, tmp_path, shots)
            assert problems == []
            context.close()
        finally:
            browser.close()
    print("screenshots:", *map(str, shots), sep="\n  ")


def _live_without_polling(page: Any, requests: list[str], seen: list[str], job_id: str) -> None:
    # The page heard intermediate progress values while the job ran...
    percents = [int(v.rstrip("%")) for v in seen]
    assert any(0 < v < 100 for v in percents), percents
    assert percents == sorted(percents) and percents[-1] == 100
    assert page.locator("#logs").inner_text().splitlines()[-1].startswith("stage=done key=")
    # ...from its event stream alone: never from the JSON it used to poll.
    polls = [path for path in requests if path.startswith("/dashboard/api/jobs")]
    assert polls == []
    assert requests.count(f"/dashboard/api/events/{job_id}") == 1


def _scene_drawn_where_the_layout_puts_it(page: Any, canvas: Any, tmp_path: Path,
                                          shots: list[Path]) -> None:
    shot = tmp_path / "preview-canvas.png"
    canvas.screenshot(path=str(shot))
    shots.append(shot)
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    where = page.evaluate("""() => {
        const v = document.getElementById('scene').pacaiViewer;
        return {red: v.project(-5, 1, 0), blue: v.project(5, 1, 0), ground: v.project(0, 0, 3)};
    }""")
    width, height = image.size
    assert _near(image.getpixel((width // 2, height // 2)), "green")  # the ground, centred
    for colour in ("red", "blue", "ground"):
        x, y = round(where[colour]["x"]), round(where[colour]["y"])
        assert 0 <= x < width and 0 <= y < height, (colour, x, y)
        expected = "green" if colour == "ground" else colour
        assert _near(image.getpixel((x, y)), expected), (colour, image.getpixel((x, y)))
    red_x, blue_x = where["red"]["x"], where["blue"]["x"]
    assert red_x < width / 2 < blue_x  # left and right, as the manifest puts them
    assert _near(image.getpixel((16, 16)), "background")  # inside the rounded corner


def _keyboard(page: Any, canvas: Any, tmp_path: Path, shots: list[Path]) -> None:
    page.locator("body").focus()
    for _ in range(40):  # the view is reachable with Tab alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "scene":
            break
    else:
        raise AssertionError("the 3D view cannot be reached with Tab")
    project = "() => document.getElementById('scene').pacaiViewer.project(-5, 1, 0)"
    before = page.evaluate(project)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    turned = page.evaluate(project)
    assert abs(turned["x"] - before["x"]) > 5 or abs(turned["y"] - before["y"]) > 5
    shot = tmp_path / "preview-orbited.png"
    canvas.screenshot(path=str(shot))
    shots.append(shot)
    page.keyboard.press("r")
    again = page.evaluate(project)
    assert abs(again["x"] - before["x"]) < 0.5 and abs(again["y"] - before["y"]) < 0.5
    # The per-engine file lists open from the keyboard too.
    godot = page.locator('#engine-files details[data-engine="godot"]')
    godot.locator("summary").focus()
    page.keyboard.press("Enter")
    assert godot.get_attribute("open") is not None
    assert "project.godot" in godot.locator("ul.files").inner_text().splitlines()


def _readable(page: Any, name: str, viewport: dict[str, int], tmp_path: Path,
              shots: list[Path]) -> None:
    page.set_viewport_size(viewport)
    page.wait_for_timeout(200)  # let the ResizeObserver redraw
    sizes = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        canvas: document.getElementById('scene').getBoundingClientRect().right,
        font: parseFloat(getComputedStyle(document.body).fontSize),
    })""")
    assert sizes["client"] == viewport["width"]
    assert sizes["scroll"] <= sizes["client"], sizes
    assert sizes["canvas"] <= sizes["client"], sizes
    assert sizes["font"] >= 14
    shot = tmp_path / f"job-{name}-{viewport['width']}x{viewport['height']}.png"
    page.screenshot(path=str(shot), full_page=True)
    shots.append(shot)


def test_preview_command_renders_the_scene_and_says_what_is_missing(
        tmp_path: Path) -> None:
    manifest = tmp_path / "layout.json"
    manifest.write_text(__import__("json").dumps(LAYOUT))
    cli = str(VENV_BIN / "pacai-export")
    subprocess.run([cli, "export", str(manifest), "--engines", "godot,ue5", "--quality", "low",
                    "--out", str(tmp_path / "out")], check=True, capture_output=True)
    bundle = tmp_path / "out" / "layout.zip"
    require_playwright()
    out = tmp_path / "still.png"
    done = subprocess.run([cli, "preview", str(bundle), "--out", str(out), "--size", "640x400"],
                          capture_output=True, text=True, timeout=180)
    assert (done.returncode, done.stdout.strip()) == (0, str(out)), done.stderr
    image = Image.open(out).convert("RGB")
    assert image.size == (640, 400)
    assert _near(image.getpixel((320, 200)), "green")
    assert _near(image.getpixel((2, 2)), "background")
    assert any(_near(image.getpixel((x, y)), "red") for x in range(0, 320, 4)
               for y in range(100, 300, 4))
    print("still:", out)

    no_browser = subprocess.run([cli, "preview", str(bundle), "--out", str(out)],
                                capture_output=True, text=True, timeout=60,
                                env={"PATH": "/nonexistent", "HOME": str(tmp_path)})
    assert (no_browser.returncode, no_browser.stderr) == (1, (
        "pacai-export: preview needs Chromium, which is not installed: on Debian/Ubuntu "
        "`apt-get install chromium`, or set PACAI_CHROMIUM to a Chromium binary\n"))

    godot_only = tmp_path / "godot.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(godot_only, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("ue5/"):
                dst.writestr(info, src.read(info))
    no_scene = subprocess.run([cli, "preview", str(godot_only)], capture_output=True,
                              text=True, timeout=60)
    assert (no_scene.returncode, no_scene.stderr) == (1, (
        "pacai-export: godot.zip: the bundle has no scene .glb (only the ue5 folder carries "
        "one)\n"))


def test_a_browser_without_event_source_keeps_polling(
        api_settings: Settings, start_worker: Any, start_api: Any) -> None:
    api: ApiProcess = start_api(api_settings)
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            context = browser.new_context(viewport=LAYOUTS["desktop"])
            context.add_init_script("delete window.EventSource;")
            page = context.new_page()
            _sign_in(page, api.base)
            requests: list[str] = []
            page.on("request", lambda r: requests.append(urlsplit(r.url).path))
            with api.client() as http:
                job_id = http.post("/v5/export", json={
                    "project_id": "layout", "engines": ["godot"], "include_assets": False,
                    "quality": "low", "manifest": LAYOUT}).json()["id"]
            page.goto(f"{api.base}/dashboard")
            start_worker(api_settings)
            page.wait_for_selector(f'li.job[data-id="{job_id}"][data-state="completed"]',
                                   timeout=90_000)
            context.close()
        finally:
            browser.close()
    assert requests.count("/dashboard/api/jobs") >= 1
    assert not any(path.startswith("/dashboard/api/events") for path in requests)
