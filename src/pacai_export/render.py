"""``pacai-export preview``: a still of a bundle's scene, drawn by the dashboard's viewer.

The scene ``.glb`` comes out of the zip the way the dashboard reads it (``api/preview.py``);
a loopback HTTP server on a port the kernel picks serves it beside ``viewer.js`` and a page
with one canvas; headless Chromium (driven by Playwright, WebGL on SwiftShader when there is
no GPU) draws it, and the canvas is saved as PNG. Chromium and Playwright are optional: when
either is missing the command says which and how to get it.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .api import static
from .api.preview import BundleError, scene_bytes
from .errors import PreviewUnavailable

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# WebGL without a GPU: ANGLE on SwiftShader, which recent Chromium only allows when asked.
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--ignore-gpu-blocklist", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RENDER_TIMEOUT_MS = 60_000

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>preview</title>
<style>html,body{margin:0;height:100%;background:#20242b}canvas{display:block;width:100vw;
height:100vh}</style></head>
<body><canvas id="scene"></canvas>
<script src="/viewer.js"></script><script src="/still.js"></script></body></html>
"""
STILL = b"""PacaiViewer.show(document.getElementById('scene'), '/scene.glb').then(
  () => { document.body.dataset.state = 'ready'; },
  (error) => { document.body.dataset.state = 'error'; document.title = String(error); });
"""


def find_chromium() -> str:
    """``PACAI_CHROMIUM``, else the first Chromium-family browser on PATH."""
    named = os.environ.get("PACAI_CHROMIUM")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise PreviewUnavailable(f"PACAI_CHROMIUM: {named} is not an executable file")
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PreviewUnavailable(
        "preview needs Chromium, which is not installed: on Debian/Ubuntu "
        "`apt-get install chromium`, or set PACAI_CHROMIUM to a Chromium binary")


def read_scene(bundle: Path) -> bytes:
    try:
        with zipfile.ZipFile(bundle) as zf:
            return scene_bytes(zf)
    except BundleError as exc:
        raise PreviewUnavailable(f"{bundle.name}: {exc}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise PreviewUnavailable(f"{bundle.name}: not a readable zip ({exc})") from None


class _Files(BaseHTTPRequestHandler):
    def __init__(self, files: dict[str, tuple[bytes, str]], *args: Any) -> None:
        self.files = files
        super().__init__(*args)

    def do_GET(self) -> None:
        body, kind = self.files.get(self.path, (b"", ""))
        self.send_response(200 if kind else 404)
        self.send_header("content-type", kind or "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@contextmanager
def _serve(scene: bytes) -> Iterator[str]:
    files = {"/": (PAGE, "text/html"), "/still.js": (STILL, "text/javascript"),
             "/viewer.js": (static.read("viewer.js"), "text/javascript"),
             "/scene.glb": (scene, "model/gltf-binary")}
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, files))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def render_still(bundle: Path, out: Path, width: int, height: int) -> None:
    """Draw ``bundle``'s scene at ``width`` x ``height`` and write it to ``out`` as PNG."""
    scene = read_scene(bundle)
    chromium = find_chromium()
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise PreviewUnavailable("preview needs Playwright to drive Chromium: "
                                 "pip install 'pacai-export[preview]'") from None
    with _serve(scene) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_selector("body[data-state]", timeout=RENDER_TIMEOUT_MS)
            if page.evaluate("document.body.dataset.state") != "ready":
                raise PreviewUnavailable(f"the viewer could not draw the scene: {page.title()}")
            page.locator("#scene").screenshot(path=str(out))
        except Error as exc:
            raise PreviewUnavailable(f"Chromium failed: {exc.message.splitlines()[0]}") from None
        finally:
            browser.close()
