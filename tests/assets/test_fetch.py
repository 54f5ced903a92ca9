"""Guarded fetching against real HTTP servers on loopback: limits, statuses, retries,
redirects, and the address guard (loopback and private addresses refused unless allowed)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pacai_export.assets.fetch import Fetcher, FetchPolicy, refused_reason
from pacai_export.assets.location import located
from pacai_export.errors import InvalidInput, LimitExceeded, TransientError
from tests.hostile.bad_http import (
    bad_chunk,
    cut_short,
    garbage,
    redirect,
    reset,
    serve_badly,
    silent,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


class Routes:
    """path → (status, headers, body); a list of statuses is served in turn."""

    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.hits: dict[str, int] = {}


@pytest.fixture
def server() -> Iterator[tuple[str, Routes]]:
    routes = Routes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.hits[self.path] = routes.hits.get(self.path, 0) + 1
            entry = routes.table.get(self.path, (404, {}, b"missing"))
            if isinstance(entry, list):
                entry = entry.pop(0) if len(entry) > 1 else entry[0]
            status, headers, body = entry
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()


def fetcher(allow: tuple[str, ...] = ("127.0.0.1",), asset_bytes: int = 10_000,
            job_bytes: int = 100_000) -> Fetcher:
    return Fetcher(FetchPolicy(allowlist=allow, backoff=0.01, total_timeout=10),
                   asset_bytes, job_bytes)


async def fetch(f: Fetcher, url: str, dest: Path) -> Any:
    """``f.fetch`` at an asset's boundary, as the gatherer calls it: errors name the asset."""
    try:
        with located("assets[0] 'tex'"):
            return await f.fetch(url, dest)
    finally:
        await f.aclose()


async def test_allowlisted_http_fetch_streams_to_disk(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/t.png"] = (200, {}, PNG)
    got = await fetch(fetcher(), f"{base}/t.png", tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes() == PNG
    assert (got.bytes, got.sha256) == (len(PNG), hashlib.sha256(PNG).hexdigest())


async def test_loopback_is_refused_unless_allowed(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/t.png"] = (200, {}, PNG)
    url = base.replace("http://", "https://")
    with pytest.raises(InvalidInput) as info:
        await fetch(fetcher(allow=()), f"{url}/t.png", tmp_path / "t.png")
    assert str(info.value) == ("assets[0] 'tex': refused: 127.0.0.1 resolves to 127.0.0.1, "
                               "a loopback address")
    assert routes.hits == {}


async def test_a_name_resolving_to_loopback_is_refused(tmp_path: Path) -> None:
    # "localhost" looks like a name but resolves to loopback: the check is on the address.
    with pytest.raises(InvalidInput, match=r"refused: localhost resolves to (127\.0\.0\.1|::1), "
                                           r"a loopback address$"):
        await fetch(fetcher(allow=()), "https://localhost:9/t.png", tmp_path / "t.png")


async def test_plain_http_only_for_allowlisted_hosts(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        await fetch(fetcher(allow=()), "http://cdn.example.test/t.png", tmp_path / "t.png")
    assert str(info.value) == ("assets[0] 'tex': http:// is only fetched from "
                               "ASSET_HTTP_ALLOWLIST hosts, not 'cdn.example.test'")


async def test_redirect_to_a_refused_address_is_caught(server: Any, tmp_path: Path) -> None:
    base, routes = server
    port = base.rsplit(":", 1)[1]
    # 127.0.0.2 is loopback too, but not on the allowlist: the hop is checked again.
    routes.table["/r"] = (302, {"location": f"https://127.0.0.2:{port}/t.png"}, b"")
    with pytest.raises(InvalidInput) as info:
        await fetch(fetcher(), f"{base}/r", tmp_path / "t.png")
    assert str(info.value) == ("assets[0] 'tex': refused: 127.0.0.2 resolves to 127.0.0.2, "
                               "a loopback address")


async def test_too_many_redirects(server: Any, tmp_path: Path) -> None:
    base, routes = server
    for i in range(5):
        routes.table[f"/r{i}"] = (302, {"location": f"/r{i + 1}"}, b"")
    with pytest.raises(InvalidInput, match=r"^assets\[0\] 'tex': more than 3 redirects$"):
        await fetch(fetcher(), f"{base}/r0", tmp_path / "t.png")


async def test_404_is_permanent_and_not_retried(server: Any, tmp_path: Path) -> None:
    base, routes = server
    with pytest.raises(InvalidInput, match=r"^assets\[0\] 'tex': the server answered HTTP 404$"):
        await fetch(fetcher(), f"{base}/nope.png", tmp_path / "t.png")
    assert routes.hits == {"/nope.png": 1}


async def test_5xx_is_retried_then_succeeds(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/t.png"] = [(503, {}, b""), (500, {}, b""), (200, {}, PNG)]
    got = await fetch(fetcher(), f"{base}/t.png", tmp_path / "t.png")
    assert got.bytes == len(PNG)
    assert routes.hits["/t.png"] == 3


async def test_5xx_forever_is_transient(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/t.png"] = (503, {}, b"")
    with pytest.raises(TransientError, match=r"^assets\[0\] 'tex': the server answered HTTP 503, "
                                             r"after 4 attempts$"):
        await fetch(fetcher(), f"{base}/t.png", tmp_path / "t.png")
    assert routes.hits["/t.png"] == 4


async def test_size_limit_before_and_while_reading(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/big.png"] = (200, {}, PNG * 200)
    with pytest.raises(LimitExceeded, match=r"^assets\[0\] 'tex': 21600 bytes exceed the limit "
                                            r"of 10000$"):
        await fetch(fetcher(), f"{base}/big.png", tmp_path / "t.png")


async def test_job_byte_budget(server: Any, tmp_path: Path) -> None:
    base, routes = server
    routes.table["/t.png"] = (200, {}, PNG)
    f = fetcher(job_bytes=150)
    try:
        await f.fetch(f"{base}/t.png", tmp_path / "a.png")
        budget = r"^assets\[1\] 'b': the job's assets exceed 150 bytes$"
        with pytest.raises(LimitExceeded, match=budget), located("assets[1] 'b'"):
            await f.fetch(f"{base}/t.png", tmp_path / "b.png")
    finally:
        await f.aclose()


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("10.1.2.3", "a private address"),
    ("192.168.1.1", "a private address"), ("fd00::1", "a private address"),
    ("169.254.169.254", "a link-local address (cloud metadata lives there)"),
    ("100.64.0.1", "not a public address"),
    ("0.0.0.0", "the unspecified address (it reaches this host)"),
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
    # IPv6 transition forms reach the IPv4 they embed where NAT64 or 6to4 exists.
    ("::7f00:1", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe",
     "an IPv6 form of 169.254.169.254, a link-local address (cloud metadata lives there)"),
    ("2002:a9fe:a9fe::1",
     "an IPv6 form of 169.254.169.254, a link-local address (cloud metadata lives there)"),
    ("::ffff:0:7f00:1", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("64:ff9b::a00:1", "an IPv6 form of 10.0.0.1, a private address"),
    ("64:ff9b:1::a00:1", "a local-use NAT64 address"),
    ("64:ff9b::808:808", None), ("2002:808:808::1", None),
    ("fec0::1", "a site-local address"), ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("::", "the unspecified address (it reaches this host)"),
])
def test_address_classes(address: str, reason: str | None) -> None:
    assert refused_reason(address) == reason


@pytest.fixture
def bad_server() -> Iterator[str]:
    server = serve_badly({"/garbage.png": garbage, "/chunk.png": bad_chunk,
                          "/cut.png": cut_short, "/reset.png": reset, "/silent.png": silent,
                          "/bad-location.png": redirect("https://[::1/x.png")})
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.parametrize(("path", "error", "message"), [
    ("/garbage.png", InvalidInput, "the server's answer is not valid HTTP"),
    ("/chunk.png", InvalidInput, "the server's answer is not valid HTTP"),
    ("/bad-location.png", InvalidInput, "the server's answer is not valid HTTP"),
    ("/cut.png", TransientError,
     "the server closed the connection before the whole body arrived, after 2 attempts"),
    ("/reset.png", TransientError,
     "the connection broke while the server was answering, after 2 attempts"),
    ("/silent.png", TransientError,
     "the server closed the connection without answering, after 2 attempts"),
])
async def test_broken_answers_are_classified_in_our_words(
        bad_server: str, tmp_path: Path, path: str, error: type[Exception],
        message: str) -> None:
    f = Fetcher(FetchPolicy(allowlist=("127.0.0.1",), backoff=0.01, retries=1), 1 << 20,
                1 << 22)
    with pytest.raises(error) as info:
        await fetch(f, f"{bad_server}{path}", tmp_path / "t.png")
    assert type(info.value) is error
    assert str(info.value) == f"assets[0] 'tex': {message}"
